//! Operating the service: health, reflection, list reload, SIGTERM, the offline `screen`.
mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tradescreen::audit::AuditStore;
use tradescreen::lists::ListSource;
use tradescreen::pb;

const SERVICES: [&str; 2] = [
    "tradescreen.v1.ScreeningService",
    "tradescreen.v1.AuditService",
];

#[tokio::test]
async fn health_is_serving_and_turns_not_serving_when_shutdown_begins() {
    let dir = temp_dir();
    let mut server = TestServer::start(dir.path()).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in std::iter::once("").chain(SERVICES) {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICES[0].into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    server.begin_shutdown();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap();
    assert_eq!(
        next.unwrap().unwrap().status,
        ServingStatus::NotServing as i32
    );
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    use tonic_reflection::pb::{v1, v1alpha};
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "tradescreen.v1.ScreeningService".into(),
            ),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("no file descriptor");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

#[tokio::test]
async fn a_bad_list_file_is_rejected_with_its_line_and_the_old_lists_keep_serving() {
    let dir = temp_dir();
    let lists = temp_dir();
    copy_dir(&repo_data_dir(), lists.path());
    let server = TestServer::start_with(dir.path(), ListSource::Dir(lists.path().to_owned())).await;
    let before = server.state.lists().versions.clone();

    let chpl = lists.path().join("chpl.csv");
    let text = std::fs::read_to_string(&chpl).unwrap();
    let mut rows: Vec<&str> = text.lines().collect();
    rows[4] = "8542.3X,1,Broken,Broken";
    std::fs::write(&chpl, rows.join("\n")).unwrap();
    let err = server
        .state
        .reload()
        .err()
        .expect("a broken CHPL must be rejected");
    assert!(err.to_string().contains("chpl.csv line 5"), "{err}");

    let mut client = server.screening().await;
    let v = verdict_of(
        client
            .screen_invoice(request(invoice(
                "INV-AFTER",
                "Bishkek Machinery Trading",
                "KG",
                &["8542.31"],
            )))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(decision(&v), pb::Decision::Review);
    let served: Vec<String> = v
        .list_versions
        .iter()
        .map(|l| l.content_hash.clone())
        .collect();
    let loaded: Vec<String> = before.iter().map(|l| l.content_hash.clone()).collect();
    assert_eq!(served, loaded);

    // A good file is picked up by the next reload, and verdicts name the new version.
    std::fs::write(&chpl, text.replace("8542.31,1,", "8542.31,2,")).unwrap();
    let snapshot = server.state.reload().unwrap();
    let v = verdict_of(
        client
            .screen_invoice(request(invoice(
                "INV-NEW",
                "Bishkek Machinery Trading",
                "KG",
                &["8542.31"],
            )))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(v.findings[0].chpl_tier, "2");
    assert_eq!(
        v.list_versions[0].content_hash,
        snapshot.versions[0].content_hash
    );
    assert_ne!(v.list_versions[0].content_hash, before[0].content_hash);
}

#[tokio::test]
async fn sigterm_drains_flushes_and_exits_zero() {
    let dir = temp_dir();
    let (mut child, addr, mut stderr) = spawn_binary(dir.path());
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::screening_service_client::ScreeningServiceClient::new(channel);
    let v = verdict_of(
        client
            .screen_invoice(request(invoice(
                "INV-TERM",
                "Moscow Components Trading",
                "RU",
                &["8542.31"],
            )))
            .await
            .unwrap()
            .into_inner(),
    );
    // The shell's built-in kill, so the test needs no signal crate or procps.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    // Wait off the runtime: the client's connection must stay responsive (it answers the
    // server's GOAWAY), as an ERP's would.
    let (exit, rest) = tokio::task::spawn_blocking(move || {
        let exit = child.wait().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        (exit, rest)
    })
    .await
    .unwrap();
    assert!(exit.success(), "exit {exit:?}\n{rest}");
    assert!(rest.contains("audit store flushed"), "{rest}");
    assert!(
        !rest.contains("drain deadline passed"),
        "an idle client must not hold shutdown: {rest}"
    );
    // Every log line is JSON, and the RPC span carried the verdict's fields.
    assert!(
        rest.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    let store = AuditStore::open(dir.path()).unwrap();
    let stored = store.get(&v.verdict_id).unwrap().unwrap();
    assert_eq!(stored.verdict.invoice_id, "INV-TERM");
}

#[test]
fn the_screen_command_prints_the_verdict_and_exits_by_decision() {
    let dir = temp_dir();
    let write = |name: &str, json: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, json).unwrap();
        path
    };
    let review = write(
        "review.json",
        r#"{"invoiceId": "INV-CLI", "exporter": {"id": "TR1"}, "consignee": {"name": "Bishkek Machinery Trading"},
            "destinationCountry": "KG", "lineItems": [{"hsCode": "8482.10.10.00.00", "description": "bearings"}]}"#,
    );
    let block = write(
        "block.json",
        r#"{"invoice_id": "INV-CLI-2", "exporter": {"id": "TR1"}, "consignee": {"name": "Elektrokom VPK LLC"},
            "destination_country": "KZ", "line_items": [{"hs_code": "0901.21"}]}"#,
    );
    let invalid = write(
        "invalid.json",
        r#"{"invoiceId": "INV-CLI-3", "exporter": {"id": "TR1"}, "consignee": {"name": "X"},
            "destinationCountry": "KG", "lineItems": [{"hsCode": "84"}]}"#,
    );
    let not_json = write("broken.json", "{\"invoiceId\": ");
    let run = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_tradescreen"))
            .arg("screen")
            .arg(path)
            .output()
            .unwrap()
    };

    let out = run(&review);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["decision"], "DECISION_REVIEW");
    assert_eq!(verdict["invoiceId"], "INV-CLI");
    assert_eq!(verdict["findings"][0]["chplTier"], "3.B");

    let out = run(&block);
    assert_eq!(out.status.code(), Some(2));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["findings"][0]["entityId"], "45851");

    let out = run(&invalid);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invoice.line_items[0].hs_code"));

    assert_eq!(run(&not_json).status.code(), Some(3));
    assert_eq!(run(&dir.path().join("missing.json")).status.code(), Some(4));
}
