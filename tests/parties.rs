//! The party matching engine end to end through a real server and the real OFAC lists.
mod common;

use common::*;
use tradescreen::pb;

fn party_findings(v: &pb::Verdict) -> Vec<&pb::Finding> {
    v.findings
        .iter()
        .filter(|f| f.kind == pb::FindingKind::PartyMatch as i32)
        .collect()
}

#[tokio::test]
async fn a_cyrillic_consignee_is_found_under_its_transliterated_listing() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // Listed as "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM VPK" (SDN 45851).
    for name in [
        "ООО «Электроком ВПК»",
        "Общество с ограниченной ответственностью \"ЭЛЕКТРОКОМ ВПК\"",
        "ELEKTROKOM VPK, OOO",
    ] {
        let v = screen(&server, invoice("INV-CYR", name, "KZ", &["0901.21"])).await;
        assert_eq!(
            decision(&v),
            pb::Decision::Block,
            "{name}: {:#?}",
            v.findings
        );
        let f = party_findings(&v)[0];
        assert_eq!(
            (f.list_id.as_str(), f.entity_id.as_str()),
            ("ofac-sdn", "45851"),
            "{name}"
        );
        assert_eq!(f.matched_on, pb::MatchedOn::Name as i32);
        assert!(f.score >= 0.95, "{name}: {}", f.score);
        assert!(f.explanation.contains(name), "{}", f.explanation);
    }
}

#[tokio::test]
async fn look_alike_letters_and_typos_do_not_hide_a_listed_name() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // Cyrillic Е and К inside a Latin name, and a dropped letter in another.
    let v = screen(
        &server,
        invoice(
            "INV-HOMO",
            "\u{0415}LEKTRO\u{041A}OM VPK LLC",
            "KZ",
            &["0901.21"],
        ),
    )
    .await;
    assert_eq!(party_findings(&v)[0].entity_id, "45851");
    let v = screen(
        &server,
        invoice("INV-TYPO", "MIZULNA, Yelena Borisovna", "KZ", &["0901.21"]),
    )
    .await;
    let found = party_findings(&v);
    assert_eq!(found[0].entity_id, "16661", "{:#?}", v.findings);
    assert!(found[0].score >= 0.8);
}

#[tokio::test]
async fn an_identifier_alone_is_decisive() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // A generic name; the OGRN is ELEKTROKOM VPK's registration number from the SDN remarks.
    let mut inv = invoice("INV-OGRN", "Torgovy Dom", "KZ", &["0901.21"]);
    inv.consignee.as_mut().unwrap().identifiers = vec![pb::Identifier {
        scheme: "RU-OGRN".into(),
        value: "1177847049049".into(),
    }];
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Block);
    let f = party_findings(&v)[0];
    assert_eq!(
        (f.entity_id.as_str(), f.matched_on),
        ("45851", pb::MatchedOn::Identifier as i32)
    );
    assert!(f.explanation.contains("1177847049049"), "{}", f.explanation);
}

#[tokio::test]
async fn a_listed_name_mentioned_in_an_address_or_description_asks_for_review() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut inv = invoice(
        "INV-MENTION",
        "Almaty Machinery Trading LLP",
        "KZ",
        &["0901.21"],
    );
    inv.consignee.as_mut().unwrap().address =
        "c/o OOO Elektrokom VPK, Nevsky pr. 1, St. Petersburg".into();
    let v = screen(&server, inv).await;
    assert_eq!(decision(&v), pb::Decision::Review, "{:#?}", v.findings);
    let f = party_findings(&v)[0];
    assert_eq!(
        (f.entity_id.as_str(), f.matched_on),
        ("45851", pb::MatchedOn::Mention as i32)
    );
    assert_eq!(f.party_role, pb::PartyRole::Consignee as i32);
    assert!(f.explanation.contains("address"), "{}", f.explanation);

    let mut inv = invoice(
        "INV-DESC",
        "Almaty Machinery Trading LLP",
        "KZ",
        &["0901.21", "8471.30"],
    );
    inv.line_items[1].description = "Replacement boards for ELEKTROKOM VPK switchgear".into();
    let v = screen(&server, inv).await;
    let f = party_findings(&v)[0];
    assert_eq!((f.entity_id.as_str(), f.line_number), ("45851", 2));
    assert_eq!(f.matched_on, pb::MatchedOn::Mention as i32);
}

#[tokio::test]
async fn sharing_only_a_legal_form_and_common_words_raises_nothing() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    for name in [
        "Global Trade LLC",
        "Trade Company LLC",
        "ООО «Торговый Дом»",
        "Netlog Lojistik A.Ş.",
        "Technology Co., Ltd.",
    ] {
        let v = screen(&server, invoice("INV-NEG", name, "DE", &["0901.21"])).await;
        assert_eq!(
            decision(&v),
            pb::Decision::Clear,
            "{name}: {:#?}",
            v.findings
        );
        assert!(party_findings(&v).is_empty(), "{name}");
    }
}
