//! Assembles the tonic server: services, health, reflection, graceful shutdown.
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::{AppState, AuditApi, ScreeningApi};
use crate::audit::{AuditError, AuditStore, StoreOptions};
use crate::lists::{self, ListError, ListSource};
use crate::pb::audit_service_server::AuditServiceServer;
use crate::pb::screening_service_server::ScreeningServiceServer;
use crate::screening::model::hex;

/// Requests up to this size are decoded, so that an oversized invoice gets a precise
/// INVALID_ARGUMENT from validation instead of a transport error.
const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub lists: ListSource,
    pub policy: Option<PathBuf>,
    /// How long in-flight calls may run on after shutdown begins.
    pub drain_deadline: Duration,
    /// Writes the audit log commits (and flushes) together at most; 1 = flush per record.
    pub max_commit_batch: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load lists: {0}")]
    Lists(#[from] ListError),
    #[error("cannot open the audit store: {0}")]
    Audit(#[from] AuditError),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Loads the lists and opens the store: everything the service needs before it can serve.
pub fn open(options: &ServeOptions) -> Result<Arc<AppState>, ServeError> {
    let snapshot = lists::load(&options.lists, options.policy.as_deref())?;
    for v in &snapshot.versions {
        tracing::info!(list = %v.list_id, entries = v.entry_count, hash = %v.content_hash, "list loaded");
    }
    log_load_report(&snapshot.report);
    let store = AuditStore::open_with(
        &options.data_dir,
        StoreOptions {
            max_batch: options.max_commit_batch,
        },
    )?;
    let head = store.head()?;
    tracing::info!(
        dir = %options.data_dir.display(),
        head_sequence = head.sequence,
        head_hash = %hex(&head.record_hash),
        "audit store open"
    );
    Ok(Arc::new(AppState::new(snapshot, store)))
}

/// Verifies the whole chain in the background. The audit service reports NOT_SERVING until
/// it has passed, and stays so if it fails: the failure is logged (stderr) and the store is
/// left exactly as found, for investigation.
fn verify_at_start_up(state: Arc<AppState>, health: HealthReporter) {
    tokio::spawn(async move {
        let started = Instant::now();
        let checking = Arc::clone(&state);
        let result =
            tokio::task::spawn_blocking(move || checking.run_startup_check().cloned()).await;
        match result {
            Ok(Ok(report)) => match &report.first_break {
                None => {
                    tracing::info!(
                        records = report.records_checked,
                        head_sequence = report.head.sequence,
                        head_hash = %hex(&report.head.record_hash),
                        verify_ms = started.elapsed().as_millis() as u64,
                        "audit log hash chain verified"
                    );
                    health.set_serving::<AuditServiceServer<AuditApi>>().await;
                }
                Some(b) => tracing::error!(
                    sequence = b.sequence,
                    kind = ?b.kind,
                    detail = %b.detail,
                    "AUDIT LOG VERIFICATION FAILED: the audit service reports NOT_SERVING; the store is left as found for investigation"
                ),
            },
            Ok(Err(AuditError::Cancelled)) => {
                tracing::info!("start-up verification stopped by shutdown")
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "start-up verification could not run; the audit service reports NOT_SERVING")
            }
            Err(e) => tracing::error!(error = %e, "start-up verification task failed"),
        }
    });
}

pub fn log_load_report(report: &lists::LoadReport) {
    for (file, count) in &report.orphan_rows {
        tracing::info!(file = %file, rows = count, "rows naming entities absent from the primary file were skipped");
    }
    for row in &report.skipped_rows {
        tracing::warn!(file = %row.file, line = row.line, reason = %row.reason, "malformed list row skipped");
    }
}

/// Serves on `listener` until `shutdown` completes, then drains in-flight calls for at most
/// `drain_deadline`, and flushes the store.
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_deadline: Duration,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let screening = ScreeningServiceServer::new(ScreeningApi::new(Arc::clone(&state)))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let audit = AuditServiceServer::new(AuditApi::new(Arc::clone(&state)))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);

    // Lists are loaded and the store is open (the caller built `state`): ready.
    health
        .set_serving::<ScreeningServiceServer<ScreeningApi>>()
        .await;
    // Until the chain has verified.
    health
        .set_not_serving::<AuditServiceServer<AuditApi>>()
        .await;
    verify_at_start_up(Arc::clone(&state), health.clone());
    health.set_service_status("", ServingStatus::Serving).await;

    let (stopping_tx, stopping_rx) = watch::channel(false);
    let reporter = health.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested: no new calls, draining in-flight ones");
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        reporter
            .set_not_serving::<ScreeningServiceServer<ScreeningApi>>()
            .await;
        reporter
            .set_not_serving::<AuditServiceServer<AuditApi>>()
            .await;
        let _ = stopping_tx.send(true);
    });

    // No Nagle: a verdict goes out as headers, data and trailers, and waiting for the client's
    // delayed ACK between them added 40 ms to every call (measured with h2load).
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let mut graceful = stopping_rx.clone();
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(screening)
        .add_service(audit)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = graceful.wait_for(|stopping| *stopping).await;
        });

    let mut deadline = stopping_rx;
    let drain_expired = async {
        let _ = deadline.wait_for(|stopping| *stopping).await;
        state.begin_stopping();
        tokio::time::sleep(drain_deadline).await;
    };
    let result = tokio::select! {
        result = server => result.map_err(ServeError::from),
        () = drain_expired => {
            tracing::warn!(?drain_deadline, "drain deadline passed; abandoning calls still in flight");
            Ok(())
        }
    };
    let store_state = Arc::clone(&state);
    let flushed = tokio::task::spawn_blocking(move || store_state.store().flush()).await;
    match flushed {
        Ok(Ok(())) => tracing::info!("audit store flushed"),
        Ok(Err(e)) => tracing::error!(error = %e, "audit store flush failed"),
        Err(e) => tracing::error!(error = %e, "audit store flush task failed"),
    }
    result
}
