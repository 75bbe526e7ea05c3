//! A real tradescreen server on 127.0.0.1:0 with a sled store in a temporary directory,
//! called through the generated clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tradescreen::api::AppState;
use tradescreen::lists::ListSource;
use tradescreen::pb;
use tradescreen::pb::audit_service_client::AuditServiceClient;
use tradescreen::pb::screening_service_client::ScreeningServiceClient;
use tradescreen::server::{self, ServeError, ServeOptions};

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServeError>>,
}

impl TestServer {
    /// Starts on the embedded lists and default policy.
    pub async fn start(data_dir: &Path) -> TestServer {
        TestServer::start_with(data_dir, ListSource::Embedded).await
    }

    pub async fn start_with(data_dir: &Path, lists: ListSource) -> TestServer {
        let options = ServeOptions {
            data_dir: data_dir.to_owned(),
            lists,
            policy: None,
            drain_deadline: Duration::from_secs(5),
            max_commit_batch: tradescreen::audit::DEFAULT_MAX_BATCH,
        };
        let state = tokio::task::spawn_blocking(move || server::open(&options))
            .await
            .unwrap()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(
            Arc::clone(&state),
            listener,
            async move {
                let _ = rx.await;
            },
            Duration::from_secs(5),
        ));
        // The chain is verified in the background; wait for it so that tests see the
        // audit service's settled health.
        for _ in 0..1_000 {
            if state.startup_check().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        TestServer {
            addr,
            state,
            shutdown: Some(tx),
            handle,
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn screening(&self) -> ScreeningServiceClient<Channel> {
        ScreeningServiceClient::new(self.channel().await)
    }

    pub async fn audit(&self) -> AuditServiceClient<Channel> {
        AuditServiceClient::new(self.channel().await)
    }

    /// Begins shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits until the store is closed, so the directory can be reopened.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.handle.await.unwrap().unwrap();
        // The last reference to the store goes with the state.
        assert_eq!(
            Arc::strong_count(&self.state),
            1,
            "the server still holds the state"
        );
    }
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn repo_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

pub fn party(name: &str, country: &str) -> pb::Party {
    pb::Party {
        name: name.into(),
        country: country.into(),
        ..Default::default()
    }
}

pub fn line(hs_code: &str, description: &str) -> pb::LineItem {
    pb::LineItem {
        hs_code: hs_code.into(),
        description: description.into(),
        quantity: 10.0,
        quantity_unit: "pcs".into(),
        value: "1250.00".into(),
        currency: "USD".into(),
        ..Default::default()
    }
}

/// An invoice from exporter `TR1234567890` with one line per HS code.
pub fn invoice(
    invoice_id: &str,
    consignee: &str,
    destination: &str,
    hs_codes: &[&str],
) -> pb::Invoice {
    pb::Invoice {
        invoice_id: invoice_id.into(),
        exporter: Some(pb::Party {
            id: "TR1234567890".into(),
            name: "Anadolu Makina Sanayi A.S.".into(),
            country: "TR".into(),
            ..Default::default()
        }),
        consignee: Some(party(consignee, destination)),
        destination_country: destination.into(),
        line_items: hs_codes.iter().map(|c| line(c, "goods")).collect(),
        invoice_date: "2026-11-20".into(),
        ..Default::default()
    }
}

pub fn request(invoice: pb::Invoice) -> pb::ScreenInvoiceRequest {
    pb::ScreenInvoiceRequest {
        invoice: Some(invoice),
        rescreen: false,
    }
}

pub fn verdict_of(response: pb::ScreenInvoiceResponse) -> pb::Verdict {
    match response.result {
        Some(pb::screen_invoice_response::Result::Verdict(v)) => v,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

pub fn decision(v: &pb::Verdict) -> pb::Decision {
    pb::Decision::try_from(v.decision).unwrap()
}

pub fn kinds(v: &pb::Verdict) -> Vec<pb::FindingKind> {
    v.findings
        .iter()
        .map(|f| pb::FindingKind::try_from(f.kind).unwrap())
        .collect()
}

/// Screens one invoice on `server` and returns its verdict.
pub async fn screen(server: &TestServer, invoice: pb::Invoice) -> pb::Verdict {
    let mut client = server.screening().await;
    verdict_of(
        client
            .screen_invoice(request(invoice))
            .await
            .unwrap()
            .into_inner(),
    )
}

/// Starts the real binary on an ephemeral port and returns it with the address it logged.
pub fn spawn_binary(
    data_dir: &std::path::Path,
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tradescreen"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let Some(pipe) = child.stderr.take() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no stderr pipe");
    };
    let mut stderr = BufReader::new(pipe);
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.wait();
            panic!("server exited before listening");
        }
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if event["fields"]["message"] == "serving tradescreen.v1" {
            let addr = event["fields"]["addr"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            return (child, addr, stderr);
        }
    }
}

/// Copies a directory tree (list data, or a closed sled store).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Asserts INVALID_ARGUMENT whose BadRequest detail names `field` first.
pub fn assert_invalid_field(status: &tonic::Status, field: &str) {
    use tonic_types::StatusExt;
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{field}: {status:?}"
    );
    let details = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("{field}: no BadRequest detail in {status:?}"));
    assert_eq!(details.field_violations[0].field, field);
}
