//! Tamper evidence: a store edited directly (one record changed, deleted or moved) fails
//! verification at exactly that record, offline, through VerifyAuditLog and at start-up.
mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tradescreen::audit::record::{self, Record};
use tradescreen::audit::{AuditStore, BreakKind, ChainHead, VerifyOptions, VerifyReport};
use tradescreen::pb;

#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// One byte of the record's body changed.
    Change,
    /// The record removed.
    Delete,
    /// The record and the next one swapped.
    Swap,
}

fn chain(db: &sled::Db) -> sled::Tree {
    db.open_tree("chain").unwrap()
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn tamper(dir: &Path, seq: u64, how: Tamper) {
    let db = sled::open(dir).unwrap();
    let chain = chain(&db);
    match how {
        Tamper::Change => {
            let mut bytes = chain.get(key(seq)).unwrap().unwrap().to_vec();
            let at = bytes.len() - 3;
            bytes[at] ^= 0x01;
            chain.insert(key(seq), bytes).unwrap();
        }
        Tamper::Delete => {
            chain.remove(key(seq)).unwrap().unwrap();
        }
        Tamper::Swap => {
            let a = chain.get(key(seq)).unwrap().unwrap();
            let b = chain.get(key(seq + 1)).unwrap().unwrap();
            chain.insert(key(seq), b).unwrap();
            chain.insert(key(seq + 1), a).unwrap();
        }
    }
    db.flush().unwrap();
}

fn verify_dir(dir: &Path, anchor: Option<ChainHead>) -> VerifyReport {
    AuditStore::open(dir)
        .unwrap()
        .verify(&VerifyOptions {
            anchor,
            ..VerifyOptions::default()
        })
        .unwrap()
}

/// A store with four verdicts and a review decision (records 1..=5); returns its head.
async fn build_store(dir: &Path) -> pb::VerifyAuditLogResponse {
    let server = TestServer::start(dir).await;
    let mut last = None;
    for (i, (consignee, country, hs)) in [
        ("Moscow Components Trading", "RU", "8542.31"),
        ("Hamburger Kaffeerösterei GmbH", "DE", "0901.21"),
        ("Bishkek Machinery Trading", "KG", "8482.10"),
        ("Hamburger Kaffeerösterei GmbH", "DE", "0901.21"),
    ]
    .into_iter()
    .enumerate()
    {
        last = Some(
            screen(
                &server,
                invoice(&format!("INV-T{i}"), consignee, country, &[hs]),
            )
            .await,
        );
    }
    let last = last.unwrap();
    let mut audit = server.audit().await;
    audit
        .record_decision(pb::RecordDecisionRequest {
            verdict_id: last.verdict_id.clone(),
            reviewer: "officer".into(),
            outcome: pb::ReviewOutcome::Escalated as i32,
            reason: "check the bank".into(),
        })
        .await
        .unwrap_err(); // CLEAR: refused, nothing written
    let review = screen(
        &server,
        invoice("INV-T4", "Bishkek Machinery Trading", "KG", &["8482.10"]),
    )
    .await;
    audit
        .record_decision(pb::RecordDecisionRequest {
            verdict_id: review.verdict_id,
            reviewer: "officer".into(),
            outcome: pb::ReviewOutcome::Escalated as i32,
            reason: "check the bank".into(),
        })
        .await
        .unwrap();
    let report = audit
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await
        .unwrap()
        .into_inner();
    server.stop().await;
    report
}

#[tokio::test]
async fn every_single_record_change_deletion_and_reordering_is_found_where_it_happened() {
    let original = temp_dir();
    let intact = build_store(original.path()).await;
    assert!(intact.ok, "{intact:?}");
    let head = intact.head.unwrap();
    assert_eq!(head.sequence, 6);
    assert_eq!(verify_dir(original.path(), None).first_break, None);

    for seq in 1..=head.sequence {
        for how in [Tamper::Change, Tamper::Delete, Tamper::Swap] {
            if matches!(how, Tamper::Swap) && seq == head.sequence {
                continue; // no next record to swap with
            }
            let copy = temp_dir();
            copy_dir(original.path(), copy.path());
            tamper(copy.path(), seq, how);
            let report = verify_dir(copy.path(), None);
            let found = report
                .first_break
                .unwrap_or_else(|| panic!("{how:?} of record {seq} went unnoticed"));
            let expected = match how {
                Tamper::Change => BreakKind::ContentChanged,
                Tamper::Delete => BreakKind::RecordMissing,
                Tamper::Swap => BreakKind::OrderBroken,
            };
            assert_eq!(
                (found.sequence, found.kind),
                (seq, expected),
                "{how:?} of {seq}: {}",
                found.detail
            );
        }
    }
}

#[tokio::test]
async fn verify_audit_log_reports_each_kind_of_tampering_through_the_service() {
    let original = temp_dir();
    build_store(original.path()).await;
    for (how, reason) in [
        (Tamper::Change, pb::ChainBreak::ContentChanged),
        (Tamper::Delete, pb::ChainBreak::RecordMissing),
        (Tamper::Swap, pb::ChainBreak::OrderBroken),
    ] {
        let copy = temp_dir();
        copy_dir(original.path(), copy.path());
        tamper(copy.path(), 3, how);
        let server = TestServer::start(copy.path()).await;
        let report = server
            .audit()
            .await
            .verify_audit_log(pb::VerifyAuditLogRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(!report.ok, "{how:?}");
        assert_eq!(
            (report.first_broken_sequence, report.reason),
            (3, reason as i32),
            "{how:?}: {}",
            report.detail
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_rewritten_and_rechained_log_fails_against_a_noted_head() {
    let original = temp_dir();
    let intact = build_store(original.path()).await;
    let noted = intact.head.unwrap();
    let noted = ChainHead {
        sequence: noted.sequence,
        record_hash: tradescreen::api::validate::parse_hash(&noted.record_hash).unwrap(),
    };

    // Someone with write access changes record 3's decision and recomputes every hash after it.
    let first_hash = {
        let db = sled::open(original.path()).unwrap();
        let chain = chain(&db);
        let first_hash = {
            let bytes = chain.get(key(1)).unwrap().unwrap();
            record::check(1, &bytes, None).unwrap()
        };
        let mut previous = {
            let bytes = chain.get(key(2)).unwrap().unwrap();
            record::check(2, &bytes, None).unwrap()
        };
        for seq in 3..=noted.sequence {
            let bytes = chain.get(key(seq)).unwrap().unwrap();
            let (mut rec, _) = record::decode(seq, &bytes).unwrap();
            if let Record::Verdict(v) = &mut rec
                && seq == 3
            {
                v.decision = tradescreen::screening::model::Decision::Clear;
                v.findings.clear();
            }
            let (bytes, link) = record::encode(seq, previous, rec.as_ref()).unwrap();
            chain.insert(key(seq), bytes).unwrap();
            previous = link.record_hash;
        }
        let mut head = noted.sequence.to_be_bytes().to_vec();
        head.extend_from_slice(&previous);
        db.open_tree("meta").unwrap().insert("head", head).unwrap();
        db.flush().unwrap();
        first_hash
    };

    // The chain itself cannot tell (only the stale decision index gives this clumsy forger
    // away; one who also fixed the indexes would pass it too)...
    let chain_only = AuditStore::open(original.path())
        .unwrap()
        .verify(&VerifyOptions {
            indexes: false,
            ..VerifyOptions::default()
        })
        .unwrap();
    assert_eq!(chain_only.first_break, None);
    assert_eq!(
        verify_dir(original.path(), None)
            .first_break
            .map(|b| b.kind),
        Some(BreakKind::IndexMissing)
    );
    // ...but the head an auditor noted no longer matches, while record 1 still does.
    let report = verify_dir(original.path(), Some(noted));
    let found = report.first_break.unwrap();
    assert_eq!(
        (found.sequence, found.kind),
        (noted.sequence, BreakKind::AnchorMismatch)
    );
    let before_change = ChainHead {
        sequence: 1,
        record_hash: first_hash,
    };
    let report = AuditStore::open(original.path())
        .unwrap()
        .verify(&VerifyOptions {
            anchor: Some(before_change),
            indexes: false,
            ..VerifyOptions::default()
        })
        .unwrap();
    assert_eq!(report.first_break, None);
}

#[tokio::test]
async fn a_broken_store_is_reported_at_start_up_and_by_the_offline_command_but_left_as_found() {
    let dir = temp_dir();
    build_store(dir.path()).await;
    let cli = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tradescreen"))
            .args(["audit", "verify", "--data-dir"])
            .arg(dir)
            .output()
            .unwrap()
    };
    let ok = cli(dir.path());
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    tamper(dir.path(), 2, Tamper::Delete);
    let broken = cli(dir.path());
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(
        text.contains("BROKEN at sequence 2: RecordMissing"),
        "{text}"
    );

    let server = TestServer::start(dir.path()).await;
    let mut health = HealthClient::new(server.channel().await);
    let status = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let audit_health = health
        .check(status("tradescreen.v1.AuditService"))
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(audit_health, ServingStatus::NotServing as i32);
    let screening_health = health
        .check(status("tradescreen.v1.ScreeningService"))
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(screening_health, ServingStatus::Serving as i32);
    let report = server
        .audit()
        .await
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!report.ok);
    assert_eq!(report.first_broken_sequence, 2);
    assert_eq!(report.reason, pb::ChainBreak::RecordMissing as i32);
    server.stop().await;
    // Never repaired: the gap is still there.
    let db = sled::open(dir.path()).unwrap();
    assert!(chain(&db).get(key(2)).unwrap().is_none());
}

#[tokio::test]
async fn the_offline_export_writes_the_filtered_history_as_json_lines() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ids = Vec::new();
    for (i, (consignee, country, hs)) in [
        ("Moscow Components Trading", "RU", "8542.31"),
        ("Hamburger Kaffeerösterei GmbH", "DE", "0901.21"),
        ("Bishkek Machinery Trading", "KG", "8542.31"),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            screen(
                &server,
                invoice(&format!("INV-X{i}"), consignee, country, &[hs]),
            )
            .await
            .verdict_id,
        );
    }
    server.stop().await;

    let export = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tradescreen"))
            .args(["audit", "export", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let all = export(&[]);
    let all_ids: Vec<&str> = all
        .iter()
        .map(|v| v["verdictId"].as_str().unwrap())
        .collect();
    assert_eq!(all_ids, [&ids[2], &ids[1], &ids[0]].map(String::as_str));
    assert!(
        all.iter()
            .all(|v| v["recordHash"].as_str().unwrap().len() == 64)
    );

    let chips = export(&["--hs-code", "8542.31", "--decision", "block"]);
    assert_eq!(chips.len(), 1);
    assert_eq!(chips[0]["verdictId"], ids[0].as_str());

    let bad = Command::new(env!("CARGO_BIN_EXE_tradescreen"))
        .args(["audit", "export", "--data-dir"])
        .arg(dir.path())
        .args(["--list-id", "ofac-sdn"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--entity-id: is required with list_id"));
}

#[tokio::test]
async fn a_removed_index_entry_is_found_though_the_chain_is_intact() {
    let original = temp_dir();
    build_store(original.path()).await;
    // Record 1 is a verdict (BLOCK chips to Russia), record 6 a decision on record 5.
    let verdict_id = {
        let db = sled::open(original.path()).unwrap();
        let bytes = chain(&db).get(key(1)).unwrap().unwrap();
        match record::decode(1, &bytes).unwrap().0 {
            Record::Verdict(v) => ulid::Ulid::from_string(&v.verdict_id).unwrap(),
            Record::Decision(_) => panic!("record 1 is a verdict"),
        }
    };
    for (tree, seq) in [
        ("verdict_seq", 1),
        ("by_exporter", 1),
        ("by_invoice", 1),
        ("by_decision", 1),
        ("by_hs", 1),
        ("decisions_of", 6),
    ] {
        let copy = temp_dir();
        copy_dir(original.path(), copy.path());
        {
            let db = sled::open(copy.path()).unwrap();
            let t = db.open_tree(tree).unwrap();
            let victim = t
                .iter()
                .keys()
                .map(Result::unwrap)
                .find(|k| match tree {
                    "verdict_seq" => k.as_ref() == verdict_id.to_bytes(),
                    "decisions_of" => true,
                    _ => k.ends_with(&verdict_id.to_bytes()),
                })
                .unwrap_or_else(|| panic!("no {tree} entry to remove"));
            t.remove(victim).unwrap();
            db.flush().unwrap();
        }
        let store = AuditStore::open(copy.path()).unwrap();
        let chain_only = store
            .verify(&VerifyOptions {
                indexes: false,
                ..VerifyOptions::default()
            })
            .unwrap();
        assert_eq!(chain_only.first_break, None, "{tree}");
        let found = store
            .verify(&VerifyOptions::default())
            .unwrap()
            .first_break
            .unwrap_or_else(|| panic!("a removed {tree} entry went unnoticed"));
        assert_eq!(
            (found.sequence, found.kind),
            (seq, BreakKind::IndexMissing),
            "{tree}: {}",
            found.detail
        );
    }
}
