//! ScreenInvoice and ScreenInvoices end to end through a real server.
mod common;

use common::*;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;
use tradescreen::pb;

#[tokio::test]
async fn harmless_goods_to_an_ordinary_destination_are_clear() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let inv = invoice(
        "INV-CLEAR",
        "Hamburger Kaffeerösterei GmbH",
        "DE",
        &["0901.21.00"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Clear, "{v:#?}");
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert_eq!(v.invoice_id, "INV-CLEAR");
    assert_eq!(v.exporter_id, "TR1234567890");
    assert_eq!(v.verdict_id.len(), 26);
    assert_eq!(v.policy_version, "2024-02.1");
    let lists: Vec<&str> = v.list_versions.iter().map(|l| l.list_id.as_str()).collect();
    assert_eq!(
        lists,
        ["chpl", "hs2022", "ofac-sdn", "ofac-consolidated", "policy"]
    );
    assert!(v.screened_at.is_some());
}

#[tokio::test]
async fn chpl_bearings_to_kyrgyzstan_need_review() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // TR GTIP, 12 digits: the first six are HS 8482.10 (ball bearings, CHPL tier 3.B).
    let inv = invoice(
        "INV-KG",
        "Bishkek Machinery Trading",
        "KG",
        &["8482.10.10.00.00"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Review, "{v:#?}");
    assert_eq!(
        kinds(&v),
        [pb::FindingKind::ChplGoods, pb::FindingKind::Transshipment]
    );
    let goods = &v.findings[0];
    assert_eq!(
        (
            goods.hs_code.as_str(),
            goods.chpl_tier.as_str(),
            goods.line_number
        ),
        ("848210", "3.B", 1)
    );
    let route = &v.findings[1];
    assert_eq!(route.country, "KG");
    assert_eq!(route.severity, pb::Decision::Review as i32);
    assert!(
        route.explanation.contains("transshipment hub"),
        "{}",
        route.explanation
    );
}

#[tokio::test]
async fn transit_through_turkey_raises_review_but_turkey_as_destination_does_not() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut inv = invoice("INV-TRANSIT", "Wien Elektronik GmbH", "AT", &["8542.31"]);
    inv.transit_countries = vec!["TR".into()];
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Review);
    assert!(
        v.findings
            .iter()
            .any(|f| f.kind == pb::FindingKind::Transshipment as i32 && f.country == "TR")
    );

    let inv = invoice("INV-TR-DEST", "Istanbul Elektronik Ltd", "TR", &["8542.31"]);
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Clear, "{:#?}", v.findings);
}

#[tokio::test]
async fn chpl_chips_to_russia_are_blocked() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // EU CN 8 digits with spaces: HS 8542.31, processors, CHPL tier 1.
    let inv = invoice(
        "INV-RU",
        "Moscow Components Trading",
        "RU",
        &["8542 31 90", "0901.21"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block, "{v:#?}");
    let destination = v
        .findings
        .iter()
        .find(|f| f.kind == pb::FindingKind::Destination as i32)
        .unwrap();
    assert_eq!(destination.severity, pb::Decision::Block as i32);
    assert_eq!(destination.country, "RU");
    let goods = v
        .findings
        .iter()
        .find(|f| f.kind == pb::FindingKind::ChplGoods as i32)
        .unwrap();
    assert_eq!((goods.chpl_tier.as_str(), goods.line_number), ("1", 1));
}

#[tokio::test]
async fn occupied_region_and_russian_end_user_are_prohibited_destinations() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // 8471.50 (processing units) is CHPL tier 3.A.
    let inv = invoice(
        "INV-CRIMEA",
        "Sevastopol Marine Supply",
        "UA-43",
        &["8471.50"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block);
    // Goods off the CHPL to a prohibited destination still get a human look (policy).
    let inv = invoice(
        "INV-CRIMEA-2",
        "Sevastopol Marine Supply",
        "UA-43",
        &["8471.30"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Review);
    assert_eq!(kinds(&v), [pb::FindingKind::Destination]);
    // The rest of Ukraine is not prohibited.
    let inv = invoice("INV-KYIV", "Kyiv Elektronika", "UA-30", &["8471.50"]);
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Clear, "{:#?}", v.findings);

    let mut inv = invoice("INV-EU", "Yerevan Electronics", "AM", &["8471.50"]);
    let mut end_user = party("Novosibirsk Instrument Works", "RU");
    end_user.role = pb::PartyRole::EndUser as i32;
    inv.other_parties = vec![end_user];
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block, "{:#?}", v.findings);
    assert!(
        v.findings
            .iter()
            .any(|f| f.kind == pb::FindingKind::Destination as i32 && f.country == "RU")
    );
}

#[tokio::test]
async fn a_listed_consignee_is_blocked_whatever_the_goods() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // OFAC SDN 45851 is "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM VPK";
    // coffee to Kazakhstan raises nothing else.
    let inv = invoice("INV-SDN", "Elektrokom VPK, LLC", "KZ", &["0901.21"]);
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block, "{v:#?}");
    assert_eq!(kinds(&v), [pb::FindingKind::PartyMatch]);
    let f = &v.findings[0];
    assert_eq!(
        (f.list_id.as_str(), f.entity_id.as_str()),
        ("ofac-sdn", "45851")
    );
    assert_eq!(f.party_role, pb::PartyRole::Consignee as i32);
    assert_eq!(f.matched_on, pb::MatchedOn::Name as i32);
    assert!(f.score >= 0.95);
    assert_eq!(f.programs, ["RUSSIA-EO14024"]);
    assert!(f.explanation.contains("45851"), "{}", f.explanation);
}

#[tokio::test]
async fn an_identifier_alone_finds_the_listed_entity() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut inv = invoice(
        "INV-INN",
        "Severnaya Torgovaya Kompaniya",
        "KZ",
        &["0901.21"],
    );
    if let Some(c) = inv.consignee.as_mut() {
        c.identifiers = vec![pb::Identifier {
            scheme: "RU-INN".into(),
            value: "7840062534".into(),
        }];
    }
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block);
    let f = &v.findings[0];
    assert_eq!(f.entity_id, "45851");
    assert_eq!(f.matched_on, pb::MatchedOn::Identifier as i32);
}

#[tokio::test]
async fn a_well_formed_code_outside_hs_2022_needs_review() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let inv = invoice(
        "INV-UNKNOWN",
        "Berlin Handel GmbH",
        "DE",
        &["0901.21", "9999.99.00"],
    );
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Review);
    assert_eq!(kinds(&v), [pb::FindingKind::UnknownHsCode]);
    assert_eq!(
        (v.findings[0].line_number, v.findings[0].hs_code.as_str()),
        (2, "999999")
    );
}

/// Sends `inv` and returns the INVALID_ARGUMENT field paths.
async fn rejected_fields(server: &TestServer, inv: Option<pb::Invoice>) -> Vec<String> {
    let mut client = server.screening().await;
    let status = client
        .screen_invoice(pb::ScreenInvoiceRequest {
            invoice: inv,
            rescreen: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status
        .get_details_bad_request()
        .expect("BadRequest details");
    bad_request
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

#[tokio::test]
async fn invalid_invoices_are_rejected_field_by_field_and_nothing_is_stored() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let ok = || {
        invoice(
            "INV-BAD",
            "Almaty Trade",
            "KZ",
            &["0901.21", "8482.10", "8471.30"],
        )
    };

    assert_eq!(rejected_fields(&server, None).await, ["invoice"]);

    type Change = fn(&mut pb::Invoice);
    let cases: Vec<(Change, Vec<&str>)> = vec![
        (
            |inv| inv.invoice_id = "  ".into(),
            vec!["invoice.invoice_id"],
        ),
        (
            |inv| inv.exporter.as_mut().unwrap().id.clear(),
            vec!["invoice.exporter.id"],
        ),
        (|inv| inv.exporter = None, vec!["invoice.exporter"]),
        (|inv| inv.consignee = None, vec!["invoice.consignee"]),
        (
            |inv| inv.consignee.as_mut().unwrap().name.clear(),
            vec!["invoice.consignee.name"],
        ),
        (
            |inv| inv.destination_country = "Kazakhstan".into(),
            vec!["invoice.destination_country"],
        ),
        (
            |inv| {
                inv.destination_country = "XX".into();
                inv.transit_countries = vec!["AE".into(), "RUS".into()];
                inv.consignee.as_mut().unwrap().country = "K".into();
            },
            vec![
                "invoice.consignee.country",
                "invoice.destination_country",
                "invoice.transit_countries[1]",
            ],
        ),
        (
            |inv| {
                inv.line_items[2].hs_code = "8471.3O".into(); // letter O
                inv.line_items[1].hs_code = "8482".into(); // a heading, not a subheading
            },
            vec![
                "invoice.line_items[1].hs_code",
                "invoice.line_items[2].hs_code",
            ],
        ),
        (|inv| inv.line_items.clear(), vec!["invoice.line_items"]),
        (
            |inv| inv.line_items = (0..10_001).map(|_| line("0901.21", "")).collect(),
            vec!["invoice.line_items"],
        ),
        (
            |inv| inv.consignee.as_mut().unwrap().name = "A".repeat(1025),
            vec!["invoice.consignee.name"],
        ),
        (
            |inv| {
                let mut forwarder = party("Trans Logistics", "KZ");
                forwarder.role = pb::PartyRole::Unspecified as i32;
                inv.other_parties = vec![forwarder];
                inv.invoice_date = "2026-02-30".into();
                inv.line_items[0].currency = "usd".into();
            },
            vec![
                "invoice.other_parties[0].role",
                "invoice.line_items[0].currency",
                "invoice.invoice_date",
            ],
        ),
    ];
    for (change, expected) in cases {
        let mut inv = ok();
        change(&mut inv);
        assert_eq!(rejected_fields(&server, Some(inv)).await, expected);
    }

    // A valid invoice at the 10,000-line limit is screened.
    let mut inv = ok();
    inv.line_items = (0..10_000).map(|_| line("0901.21", "")).collect();
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Clear);

    // Only that one verdict was stored.
    let page = server
        .audit()
        .await
        .list_verdicts(pb::ListVerdictsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.verdicts.len(), 1);
    assert_eq!(page.verdicts[0].verdict_id, v.verdict_id);
}

#[tokio::test]
async fn the_batch_stream_reports_a_bad_invoice_and_goes_on() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut client = server.screening().await;
    let mut bad = invoice("INV-B2", "Almaty Trade", "KZ", &["85.42"]);
    bad.destination_country = "ZZ".into();
    let requests = vec![
        request(invoice(
            "INV-B1",
            "Hamburger Kaffeerösterei GmbH",
            "DE",
            &["0901.21"],
        )),
        request(bad),
        request(invoice(
            "INV-B3",
            "Bishkek Machinery Trading",
            "KG",
            &["8482.10"],
        )),
    ];
    let mut responses = client
        .screen_invoices(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut results = Vec::new();
    while let Some(r) = responses.next().await {
        results.push(r.unwrap().result.unwrap());
    }
    assert_eq!(results.len(), 3);
    let pb::screen_invoice_response::Result::Verdict(first) = &results[0] else {
        panic!("{results:?}")
    };
    assert_eq!(
        (first.invoice_id.as_str(), decision(first)),
        ("INV-B1", pb::Decision::Clear)
    );
    let pb::screen_invoice_response::Result::Error(error) = &results[1] else {
        panic!("{results:?}")
    };
    assert_eq!((error.invoice_id.as_str(), error.index), ("INV-B2", 1));
    assert_eq!(error.code, Code::InvalidArgument as i32);
    let fields: Vec<&str> = error
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "invoice.destination_country",
            "invoice.line_items[0].hs_code"
        ]
    );
    let pb::screen_invoice_response::Result::Verdict(third) = &results[2] else {
        panic!("{results:?}")
    };
    assert_eq!(
        (third.invoice_id.as_str(), decision(third)),
        ("INV-B3", pb::Decision::Review)
    );

    let stored = server
        .audit()
        .await
        .list_verdicts(pb::ListVerdictsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = stored
        .verdicts
        .iter()
        .map(|v| v.invoice_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["INV-B3", "INV-B1"],
        "newest first, the bad one not stored"
    );
}
