//! The audit log read back through AuditService, including after a restart.
mod common;

use std::collections::HashSet;

use common::*;
use tonic::Code;
use tonic_types::StatusExt;
use tradescreen::pb;

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
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert_eq!(
            status.get_details_bad_request().unwrap().field_violations[0].field,
            "verdict_id"
        );
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
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.get_details_bad_request().unwrap().field_violations[0].field,
            field
        );
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
