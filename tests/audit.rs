//! The audit log read back through AuditService, including after a restart.
mod common;

use std::collections::HashSet;

use common::*;
use tokio_stream::StreamExt;
use tonic::Code;
use tradescreen::audit::keys;
use tradescreen::lists::ListSource;
use tradescreen::pb;
use tradescreen::screening::model::{Clearance, ClearedMatch, PartyRole, party_key};

fn filtered(filter: pb::VerdictFilter) -> pb::ListVerdictsRequest {
    pb::ListVerdictsRequest {
        filter: Some(filter),
        ..Default::default()
    }
}

fn from_exporter(id: &str, mut inv: pb::Invoice) -> pb::Invoice {
    inv.exporter.as_mut().unwrap().id = id.into();
    inv
}

#[tokio::test]
async fn get_verdict_returns_what_screening_answered() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let screened = screen(
        &server,
        invoice("INV-G", "Bishkek Machinery Trading", "KG", &["8482.10"]),
    )
    .await;
    let mut audit = server.audit().await;
    let read = audit
        .get_verdict(pb::GetVerdictRequest {
            verdict_id: screened.verdict_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, screened);

    let unknown = audit
        .get_verdict(pb::GetVerdictRequest {
            verdict_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    for bad in ["", "not-a-verdict-id"] {
        let status = audit
            .get_verdict(pb::GetVerdictRequest {
                verdict_id: bad.into(),
            })
            .await
            .unwrap_err();
        assert_invalid_field(&status, "verdict_id");
    }
}

#[tokio::test]
async fn list_verdicts_pages_newest_first_with_filters() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut expected_a = Vec::new();
    for i in 0..7 {
        // Alternate CLEAR (coffee to Germany) and REVIEW (bearings to Kyrgyzstan).
        let inv = if i % 2 == 0 {
            invoice(
                &format!("A-{i}"),
                "Hamburger Kaffeerösterei GmbH",
                "DE",
                &["0901.21"],
            )
        } else {
            invoice(
                &format!("A-{i}"),
                "Bishkek Machinery Trading",
                "KG",
                &["8482.10"],
            )
        };
        expected_a.push(
            screen(&server, from_exporter("EXPORTER-A", inv))
                .await
                .verdict_id,
        );
        screen(
            &server,
            from_exporter(
                "EXPORTER-B",
                invoice(
                    &format!("B-{i}"),
                    "Hamburger Kaffeerösterei GmbH",
                    "DE",
                    &["0901.21"],
                ),
            ),
        )
        .await;
    }
    expected_a.reverse(); // newest first

    let mut audit = server.audit().await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = audit
            .list_verdicts(pb::ListVerdictsRequest {
                filter: Some(pb::VerdictFilter {
                    exporter_id: "EXPORTER-A".into(),
                    ..Default::default()
                }),
                page_size: 3,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.verdicts.len() <= 3);
        assert!(page.verdicts.iter().all(|v| v.exporter_id == "EXPORTER-A"));
        seen.extend(page.verdicts.into_iter().map(|v| v.verdict_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected_a);

    // Decision filter, alone and with the exporter.
    let review = audit
        .list_verdicts(filtered(pb::VerdictFilter {
            decision: pb::Decision::Review as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(review.verdicts.len(), 3);
    assert!(
        review
            .verdicts
            .iter()
            .all(|v| v.decision == pb::Decision::Review as i32)
    );
    let clear_a = audit
        .list_verdicts(filtered(pb::VerdictFilter {
            exporter_id: "EXPORTER-A".into(),
            decision: pb::Decision::Clear as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(clear_a.verdicts.len(), 4);

    // Time window: strictly after the 4th-newest of exporter A's verdicts was screened.
    let all = audit
        .list_verdicts(pb::ListVerdictsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.verdicts.len(), 14);
    let ids: HashSet<&str> = all.verdicts.iter().map(|v| v.verdict_id.as_str()).collect();
    assert_eq!(ids.len(), 14);
    let pivot = all.verdicts[5].screened_at.unwrap();
    let newer = audit
        .list_verdicts(filtered(pb::VerdictFilter {
            screened_after: Some(pivot),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        newer
            .verdicts
            .iter()
            .map(|v| &v.verdict_id)
            .collect::<Vec<_>>(),
        all.verdicts[..6]
            .iter()
            .map(|v| &v.verdict_id)
            .collect::<Vec<_>>()
    );
    let older = audit
        .list_verdicts(filtered(pb::VerdictFilter {
            screened_before: Some(pivot),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(older.verdicts.len(), 8);

    // Bad requests name their field.
    for (request, field) in [
        (
            pb::ListVerdictsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            filtered(pb::VerdictFilter {
                decision: 42,
                ..Default::default()
            }),
            "filter.decision",
        ),
        (
            filtered(pb::VerdictFilter {
                screened_after: Some(pivot),
                screened_before: Some(pivot),
                ..Default::default()
            }),
            "filter.screened_before",
        ),
    ] {
        let status = audit.list_verdicts(request).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
}

#[tokio::test]
async fn verdicts_survive_a_restart_on_the_same_directory() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let first = screen(
        &server,
        invoice("INV-R1", "Moscow Components Trading", "RU", &["8542.31"]),
    )
    .await;
    let second = screen(
        &server,
        invoice(
            "INV-R2",
            "Hamburger Kaffeerösterei GmbH",
            "DE",
            &["0901.21"],
        ),
    )
    .await;
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut audit = server.audit().await;
    for v in [&first, &second] {
        let read = audit
            .get_verdict(pb::GetVerdictRequest {
                verdict_id: v.verdict_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(&read, v);
    }
    // New verdicts after the restart sort after the old ones.
    let third = screen(
        &server,
        invoice(
            "INV-R3",
            "Hamburger Kaffeerösterei GmbH",
            "DE",
            &["0901.21"],
        ),
    )
    .await;
    assert!(third.verdict_id > second.verdict_id && second.verdict_id > first.verdict_id);
    let all = audit
        .list_verdicts(pb::ListVerdictsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let order: Vec<&str> = all.verdicts.iter().map(|v| v.invoice_id.as_str()).collect();
    assert_eq!(order, ["INV-R3", "INV-R2", "INV-R1"]);
}

async fn verify_log(server: &TestServer) -> pb::VerifyAuditLogResponse {
    server
        .audit()
        .await
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await
        .unwrap()
        .into_inner()
}

async fn screen_full(
    server: &TestServer,
    invoice: pb::Invoice,
    rescreen: bool,
) -> pb::ScreenInvoiceResponse {
    server
        .screening()
        .await
        .screen_invoice(pb::ScreenInvoiceRequest {
            invoice: Some(invoice),
            rescreen,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn list_ids(server: &TestServer, filter: pb::VerdictFilter) -> Vec<String> {
    server
        .audit()
        .await
        .list_verdicts(filtered(filter))
        .await
        .unwrap()
        .into_inner()
        .verdicts
        .into_iter()
        .map(|v| v.verdict_id)
        .collect()
}

#[tokio::test]
async fn an_identical_retry_returns_the_stored_verdict_and_a_change_makes_a_new_version() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let inv = invoice("INV-IDEM", "Bishkek Machinery Trading", "KG", &["8482.10"]);

    let first = screen_full(&server, inv.clone(), false).await;
    assert!(!first.replayed);
    let v1 = verdict_of(first);
    assert_eq!(v1.invoice_version, 1);
    assert!(v1.previous_version_verdict_id.is_empty());

    // An ERP retry: the stored verdict comes back and nothing is written.
    let retry = screen_full(&server, inv.clone(), false).await;
    assert!(retry.replayed);
    assert_eq!(verdict_of(retry), v1);
    assert_eq!(
        verify_log(&server).await.head.unwrap().sequence,
        v1.sequence
    );

    // Changed content under the same id: screened again, linked to the previous version.
    let mut changed = inv.clone();
    changed.line_items.push(line("0901.21", "coffee"));
    let second = screen_full(&server, changed.clone(), false).await;
    assert!(!second.replayed);
    let v2 = verdict_of(second);
    assert_eq!(v2.invoice_version, 2);
    assert_eq!(v2.previous_version_verdict_id, v1.verdict_id);
    assert_ne!(v2.invoice_hash, v1.invoice_hash);
    assert_eq!(v2.sequence, v1.sequence + 1);
    assert_eq!(v2.previous_hash, v1.record_hash);

    // An explicit re-screen of identical content is a new version too.
    let v3 = verdict_of(screen_full(&server, changed, true).await);
    assert_eq!(v3.invoice_version, 3);
    assert_eq!(v3.previous_version_verdict_id, v2.verdict_id);
    assert_eq!(v3.invoice_hash, v2.invoice_hash);

    // The same invoice number from another exporter is another invoice.
    let other = screen_full(&server, from_exporter("EXPORTER-OTHER", inv), false).await;
    assert!(!other.replayed);
    let other = verdict_of(other);
    assert_eq!(other.invoice_version, 1);

    let by_invoice = list_ids(
        &server,
        pb::VerdictFilter {
            invoice_id: "INV-IDEM".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        by_invoice,
        [&other, &v3, &v2, &v1].map(|v| v.verdict_id.clone())
    );
    let verify = verify_log(&server).await;
    assert!(verify.ok, "{verify:?}");
    assert_eq!(verify.records_checked, 4);
}

/// An invoice to Kazakhstan (no route findings) whose consignee is SDN entity 45851 in Cyrillic.
fn listed_consignee_invoice(id: &str, exporter: &str) -> pb::Invoice {
    from_exporter(
        exporter,
        invoice(id, "ООО «Электроком ВПК»", "KZ", &["0901.21"]),
    )
}

fn decision_request(
    verdict_id: &str,
    outcome: pb::ReviewOutcome,
    reason: &str,
) -> pb::RecordDecisionRequest {
    pb::RecordDecisionRequest {
        verdict_id: verdict_id.into(),
        reviewer: "officer@exporter.example".into(),
        outcome: outcome as i32,
        reason: reason.into(),
    }
}

#[tokio::test]
async fn review_decisions_are_appended_and_never_change_the_verdict() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let blocked = screen(
        &server,
        invoice("INV-D", "Moscow Components Trading", "RU", &["8542.31"]),
    )
    .await;
    assert_eq!(decision(&blocked), pb::Decision::Block);
    let mut audit = server.audit().await;
    let escalated = audit
        .record_decision(decision_request(
            &blocked.verdict_id,
            pb::ReviewOutcome::Escalated,
            "to counsel: end user unclear",
        ))
        .await
        .unwrap()
        .into_inner();
    let confirmed = audit
        .record_decision(decision_request(
            &blocked.verdict_id,
            pb::ReviewOutcome::Confirmed,
            "counsel: do not ship",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(escalated.sequence, blocked.sequence + 1);
    assert_eq!(confirmed.previous_hash, escalated.record_hash);
    assert!(escalated.cleared_matches.is_empty() && confirmed.cleared_matches.is_empty());

    let read = audit
        .get_verdict(pb::GetVerdictRequest {
            verdict_id: blocked.verdict_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.decisions, [escalated.clone(), confirmed.clone()]);
    // The verdict's own record is untouched.
    assert_eq!(
        pb::Verdict {
            decisions: Vec::new(),
            ..read
        },
        blocked
    );
    let verify = verify_log(&server).await;
    assert!(verify.ok, "{verify:?}");
    assert_eq!(verify.head.unwrap().sequence, confirmed.sequence);

    let clear = screen(
        &server,
        invoice("INV-C", "Hamburger Kaffeerösterei GmbH", "DE", &["0901.21"]),
    )
    .await;
    let status = audit
        .record_decision(decision_request(
            &clear.verdict_id,
            pb::ReviewOutcome::Released,
            "nothing to release",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = audit
        .record_decision(decision_request(
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            pb::ReviewOutcome::Released,
            "no such verdict",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let good = decision_request(&blocked.verdict_id, pb::ReviewOutcome::Released, "ok");
    for (request, field) in [
        (
            pb::RecordDecisionRequest {
                outcome: 0,
                ..good.clone()
            },
            "outcome",
        ),
        (
            pb::RecordDecisionRequest {
                outcome: 99,
                ..good.clone()
            },
            "outcome",
        ),
        (
            pb::RecordDecisionRequest {
                reviewer: " ".into(),
                ..good.clone()
            },
            "reviewer",
        ),
        (
            pb::RecordDecisionRequest {
                reason: String::new(),
                ..good.clone()
            },
            "reason",
        ),
        (
            pb::RecordDecisionRequest {
                verdict_id: "INV-D".into(),
                ..good.clone()
            },
            "verdict_id",
        ),
    ] {
        let status = audit.record_decision(request).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
    // Rejected requests wrote nothing.
    assert_eq!(
        verify_log(&server).await.head.unwrap().sequence,
        clear.sequence
    );
}

#[tokio::test]
async fn a_released_match_is_suppressed_for_that_exporter_until_the_list_changes_the_entity() {
    let dir = temp_dir();
    let lists = temp_dir();
    copy_dir(&repo_data_dir(), lists.path());
    let server = TestServer::start_with(dir.path(), ListSource::Dir(lists.path().to_owned())).await;

    let flagged = screen(&server, listed_consignee_invoice("INV-S1", "EXPORTER-A")).await;
    assert_eq!(decision(&flagged), pb::Decision::Block);
    let match_on = |v: &pb::Verdict| -> pb::Finding {
        v.findings
            .iter()
            .find(|f| f.entity_id == "45851")
            .cloned()
            .unwrap_or_else(|| panic!("no match on 45851: {v:#?}"))
    };
    let original = match_on(&flagged);
    assert!(!original.suppressed && !original.entity_version.is_empty());

    let release = server
        .audit()
        .await
        .record_decision(decision_request(
            &flagged.verdict_id,
            pb::ReviewOutcome::Released,
            "our customer is a different company of the same name (other INN)",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(release.cleared_matches.len(), 1);
    assert_eq!(release.cleared_matches[0].entity_id, "45851");
    assert_eq!(
        release.cleared_matches[0].entity_version,
        original.entity_version
    );

    // The same exporter ships to the same consignee, spelled in Latin this time: the finding
    // is recorded, suppressed, and no longer decides.
    let mut latin = listed_consignee_invoice("INV-S2", "EXPORTER-A");
    latin.consignee.as_mut().unwrap().name = "ELEKTROKOM VPK, OOO".into();
    let again = screen(&server, latin).await;
    assert_eq!(decision(&again), pb::Decision::Clear, "{again:#?}");
    let suppressed = match_on(&again);
    assert!(suppressed.suppressed);
    assert_eq!(suppressed.suppressed_by_decision_id, release.decision_id);

    // Another exporter's officers released nothing.
    let other = screen(&server, listed_consignee_invoice("INV-S3", "EXPORTER-B")).await;
    assert_eq!(decision(&other), pb::Decision::Block);
    assert!(!match_on(&other).suppressed);

    // OFAC amends the entity (a new program): the release no longer holds.
    let sdn = lists.path().join("ofac-sdn/sdn.csv");
    let text = std::fs::read_to_string(&sdn).unwrap();
    let amended = text.replacen(
        "ELEKTROKOM VPK\",-0- ,\"RUSSIA-EO14024\"",
        "ELEKTROKOM VPK\",-0- ,\"RUSSIA-EO14024] [CYBER2\"",
        1,
    );
    assert_ne!(amended, text, "the SDN row of 45851 was not found");
    std::fs::write(&sdn, amended).unwrap();
    server.state.reload().unwrap();
    let after_change = screen(&server, listed_consignee_invoice("INV-S4", "EXPORTER-A")).await;
    assert_eq!(decision(&after_change), pb::Decision::Block);
    let finding = match_on(&after_change);
    assert!(!finding.suppressed);
    assert_ne!(finding.entity_version, original.entity_version);
}

#[tokio::test]
async fn queries_by_invoice_hs_code_and_listed_entity_page_and_export() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let a = screen(&server, listed_consignee_invoice("INV-Q1", "E1")).await;
    let b = screen(
        &server,
        from_exporter(
            "E1",
            invoice(
                "INV-Q2",
                "Bishkek Machinery Trading",
                "KG",
                &["8482.10", "8542.31"],
            ),
        ),
    )
    .await;
    let c = screen(
        &server,
        from_exporter(
            "E2",
            invoice(
                "INV-Q3",
                "Hamburger Kaffeerösterei GmbH",
                "DE",
                &["8482.10"],
            ),
        ),
    )
    .await;
    let ids = |vs: &[&pb::Verdict]| vs.iter().map(|v| v.verdict_id.clone()).collect::<Vec<_>>();
    let cases = [
        (
            pb::VerdictFilter {
                hs_code: "848210".into(),
                ..Default::default()
            },
            ids(&[&c, &b]),
        ),
        (
            pb::VerdictFilter {
                hs_code: "8542.31.00".into(),
                ..Default::default()
            },
            ids(&[&b]),
        ),
        (
            pb::VerdictFilter {
                hs_code: "8482.10".into(),
                exporter_id: "E1".into(),
                ..Default::default()
            },
            ids(&[&b]),
        ),
        (
            pb::VerdictFilter {
                list_id: "ofac-sdn".into(),
                entity_id: "45851".into(),
                ..Default::default()
            },
            ids(&[&a]),
        ),
        (
            pb::VerdictFilter {
                invoice_id: "INV-Q2".into(),
                ..Default::default()
            },
            ids(&[&b]),
        ),
        (
            pb::VerdictFilter {
                exporter_id: "E1".into(),
                decision: pb::Decision::Block as i32,
                ..Default::default()
            },
            ids(&[&a]),
        ),
    ];
    let mut audit = server.audit().await;
    for (filter, expected) in cases {
        assert_eq!(
            list_ids(&server, filter.clone()).await,
            expected,
            "{filter:?}"
        );
        // The export streams the same verdicts, complete.
        let exported: Vec<pb::Verdict> = audit
            .export_verdicts(pb::ExportVerdictsRequest {
                filter: Some(filter.clone()),
            })
            .await
            .unwrap()
            .into_inner()
            .collect::<Result<_, _>>()
            .await
            .unwrap();
        assert_eq!(
            exported
                .iter()
                .map(|v| v.verdict_id.clone())
                .collect::<Vec<_>>(),
            expected,
            "export {filter:?}"
        );
    }

    // A page token only works with the filter it was issued for.
    let hs = pb::VerdictFilter {
        hs_code: "848210".into(),
        ..Default::default()
    };
    let page = audit
        .list_verdicts(pb::ListVerdictsRequest {
            filter: Some(hs.clone()),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&page.verdicts.iter().collect::<Vec<_>>()), ids(&[&c]));
    let next = audit
        .list_verdicts(pb::ListVerdictsRequest {
            filter: Some(hs),
            page_size: 1,
            page_token: page.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&next.verdicts.iter().collect::<Vec<_>>()), ids(&[&b]));
    let status = audit
        .list_verdicts(pb::ListVerdictsRequest {
            filter: None,
            page_size: 1,
            page_token: page.next_page_token,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    for (filter, field) in [
        (
            pb::VerdictFilter {
                hs_code: "84A2".into(),
                ..Default::default()
            },
            "filter.hs_code",
        ),
        (
            pb::VerdictFilter {
                list_id: "ofac-sdn".into(),
                ..Default::default()
            },
            "filter.entity_id",
        ),
    ] {
        let status = audit
            .export_verdicts(pb::ExportVerdictsRequest {
                filter: Some(filter),
            })
            .await
            .unwrap_err();
        assert_invalid_field(&status, field);
    }
}

#[tokio::test]
async fn verify_audit_log_checks_a_range_and_rejects_ranges_it_cannot_check() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    for i in 0..4 {
        screen(
            &server,
            invoice(
                &format!("INV-V{i}"),
                "Hamburger Kaffeerösterei GmbH",
                "DE",
                &["0901.21"],
            ),
        )
        .await;
    }
    let mut audit = server.audit().await;
    let range = audit
        .verify_audit_log(pb::VerifyAuditLogRequest {
            from_sequence: 2,
            to_sequence: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(range.ok);
    assert_eq!(
        (
            range.from_sequence,
            range.to_sequence,
            range.records_checked
        ),
        (2, 3, 2)
    );
    let head = range.head.unwrap();
    assert_eq!(head.sequence, 4);

    // The head noted now anchors a later verification.
    let anchored = audit
        .verify_audit_log(pb::VerifyAuditLogRequest {
            anchor_sequence: head.sequence,
            anchor_hash: head.record_hash.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(anchored.ok, "{anchored:?}");
    let wrong_anchor = audit
        .verify_audit_log(pb::VerifyAuditLogRequest {
            anchor_sequence: 3,
            anchor_hash: head.record_hash.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!wrong_anchor.ok);
    assert_eq!(wrong_anchor.reason, pb::ChainBreak::AnchorMismatch as i32);

    let beyond = audit
        .verify_audit_log(pb::VerifyAuditLogRequest {
            from_sequence: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(beyond.code(), Code::OutOfRange);
    for (request, field) in [
        (
            pb::VerifyAuditLogRequest {
                from_sequence: 3,
                to_sequence: 2,
                ..Default::default()
            },
            "to_sequence",
        ),
        (
            pb::VerifyAuditLogRequest {
                anchor_sequence: 2,
                anchor_hash: "not-hex".into(),
                ..Default::default()
            },
            "anchor_hash",
        ),
        (
            pb::VerifyAuditLogRequest {
                anchor_hash: head.record_hash.clone(),
                ..Default::default()
            },
            "anchor_sequence",
        ),
    ] {
        let status = audit.verify_audit_log(request).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
}

#[tokio::test]
async fn a_clearance_planted_in_the_store_suppresses_nothing() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let flagged = screen(&server, listed_consignee_invoice("INV-P1", "EXPORTER-P")).await;
    let finding = flagged
        .findings
        .iter()
        .find(|f| f.entity_id == "45851")
        .unwrap()
        .clone();
    // A genuine release of another verdict gives the forger a real decision to point at.
    let other = screen(
        &server,
        invoice("INV-P0", "Moscow Components Trading", "RU", &["8542.31"]),
    )
    .await;
    let unrelated = server
        .audit()
        .await
        .record_decision(decision_request(
            &other.verdict_id,
            pb::ReviewOutcome::Released,
            "unrelated",
        ))
        .await
        .unwrap()
        .into_inner();
    server.stop().await;

    // Someone with access to the files writes a clearance for the listed consignee, pointing
    // at a real release (of another verdict).
    {
        let db = sled::open(dir.path()).unwrap();
        let clearance = Clearance {
            matched: ClearedMatch {
                party_role: PartyRole::Consignee,
                party_name: "ООО «Электроком ВПК»".into(),
                party_key: party_key("ООО «Электроком ВПК»"),
                list_id: "ofac-sdn".into(),
                entity_id: "45851".into(),
                entity_version: finding.entity_version.clone(),
            },
            decision_id: unrelated.decision_id.clone(),
            decision_sequence: unrelated.sequence,
        };
        let key = keys::parts(&[
            "EXPORTER-P",
            "ofac-sdn",
            "45851",
            &clearance.matched.party_key,
        ]);
        db.open_tree("clearances")
            .unwrap()
            .insert(key, serde_json::to_vec(&clearance).unwrap())
            .unwrap();
        db.flush().unwrap();
    }

    let server = TestServer::start(dir.path()).await;
    let again = screen(&server, listed_consignee_invoice("INV-P2", "EXPORTER-P")).await;
    assert_eq!(decision(&again), pb::Decision::Block);
    assert!(again.findings.iter().all(|f| !f.suppressed), "{again:#?}");
}
