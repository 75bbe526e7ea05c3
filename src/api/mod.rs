//! The gRPC edge: validate, convert, call the domain and the store, convert back.
pub mod convert;
pub mod error;
pub mod json;
pub mod validate;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, field};

use self::error::ApiError;
use crate::audit::{
    AuditError, AuditStore, StoredVerdict, VerdictQuery, VerifyOptions, VerifyReport,
};
use crate::lists::{self, ListError, Snapshot};
use crate::pb;
use crate::pb::audit_service_server::AuditService;
use crate::pb::screening_service_server::ScreeningService;
use crate::screening::model::{
    ClearanceKey, ClearedMatch, Decision, Invoice, ReviewDecision, ReviewOutcome, Verdict,
};

/// What every request reads: the current lists (swapped whole on reload) and the store.
pub struct AppState {
    lists: ArcSwap<Snapshot>,
    store: AuditStore,
    /// The verification of the whole chain run when the service started; empty until it
    /// finishes (it runs in the background: a million records take seconds).
    startup_check: OnceLock<VerifyReport>,
    /// Set when shutdown begins, so that a long verification stops early.
    stopping: AtomicBool,
}

/// What screening an invoice came to: a new verdict, or the stored one for an identical retry.
enum Screened {
    New(Verdict),
    Replay(StoredVerdict),
}

impl AppState {
    pub fn new(snapshot: Snapshot, store: AuditStore) -> Self {
        AppState {
            lists: ArcSwap::from_pointee(snapshot),
            store,
            startup_check: OnceLock::new(),
            stopping: AtomicBool::new(false),
        }
    }

    pub fn lists(&self) -> Arc<Snapshot> {
        self.lists.load_full()
    }

    pub fn store(&self) -> &AuditStore {
        &self.store
    }

    /// The start-up verification, once it has finished.
    pub fn startup_check(&self) -> Option<&VerifyReport> {
        self.startup_check.get()
    }

    /// Verifies the whole chain (blocking) and records the result as the start-up check.
    /// Stops early, with [`AuditError::Cancelled`], once shutdown begins.
    pub fn run_startup_check(&self) -> Result<&VerifyReport, AuditError> {
        let report = self
            .store
            .verify_cancellable(&VerifyOptions::default(), Some(&self.stopping))?;
        Ok(self.startup_check.get_or_init(|| report))
    }

    /// Marks the start of shutdown.
    pub fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Reloads lists and policy from where the current ones came from. On error the current
    /// lists stay in use.
    pub fn reload(&self) -> Result<Arc<Snapshot>, ListError> {
        let current = self.lists.load();
        let snapshot = Arc::new(lists::load(
            &current.source,
            current.policy_path.as_deref(),
        )?);
        self.lists.store(Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// Screens a validated invoice unless an identical one of the same exporter is stored
    /// (and no re-screen was asked for). Blocking: call it off the async runtime.
    fn screen(&self, invoice: &Invoice, rescreen: bool) -> Result<Screened, ApiError> {
        let exporter = &invoice.exporter.id;
        let invoice_hash = invoice.content_hash();
        if !rescreen
            && let Some(stored) =
                self.store
                    .stored_identical(exporter, &invoice.invoice_id, &invoice_hash)?
        {
            return Ok(Screened::Replay(stored));
        }
        // Only releases that their decision in the chain backs count; when unsure, the match
        // counts.
        let cleared = |key: &ClearanceKey<'_>| {
            let clearance = match self.store.clearance(exporter, key) {
                Ok(found) => found?,
                Err(e) => {
                    tracing::error!(error = %e, entity = key.entity_id, "cannot read a clearance; the match counts");
                    return None;
                }
            };
            match self.store.is_backed(&clearance) {
                Ok(true) => Some(clearance),
                Ok(false) => {
                    tracing::warn!(decision_id = %clearance.decision_id, sequence = clearance.decision_sequence, entity = key.entity_id, "a clearance not backed by its decision in the log was ignored");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, decision_id = %clearance.decision_id, "cannot check a clearance; the match counts");
                    None
                }
            }
        };
        Ok(Screened::New(self.lists.load().verdict(
            invoice,
            invoice_hash,
            cleared,
        )))
    }
}

/// Runs blocking work (screening, sled) on the blocking pool.
async fn blocking<T, F>(state: &Arc<AppState>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
{
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(|e| ApiError::Internal(format!("worker failed: {e}")))?
}

/// Validates, screens and stores one invoice, logging the outcome in the current span.
/// Returns the verdict and whether it is a replay of a stored one.
async fn screen_one(
    state: &Arc<AppState>,
    request: &pb::ScreenInvoiceRequest,
) -> Result<(pb::Verdict, bool), ApiError> {
    let started = Instant::now();
    let span = tracing::Span::current();
    let rescreen = request.rescreen;
    let result = async {
        let invoice = validate::invoice(request.invoice.as_ref())?;
        match blocking(state, move |s| s.screen(&invoice, rescreen)).await? {
            Screened::Replay(stored) => {
                // Read from the trees: make sure it is on disk before it is acknowledged.
                state.store.wait_durable(stored.link.sequence).await?;
                Ok((stored, true))
            }
            Screened::New(verdict) => Ok(state.store.append_verdict(verdict, rescreen).await?),
        }
    }
    .await;
    let latency_us = started.elapsed().as_micros() as u64;
    span.record("latency_us", latency_us);
    match &result {
        Ok((v, replayed)) => {
            span.record("verdict_id", v.verdict.verdict_id.as_str());
            span.record("decision", v.verdict.decision.as_str());
            span.record("sequence", v.link.sequence);
            tracing::info!(findings = v.verdict.findings.len(), replayed, "screened");
        }
        Err(e) => tracing::warn!(error = %e, "not screened"),
    }
    result.map(|(v, replayed)| (convert::verdict(v), replayed))
}

fn invoice_id(request: &pb::ScreenInvoiceRequest) -> &str {
    request
        .invoice
        .as_ref()
        .map_or("", |i| i.invoice_id.as_str())
}

pub struct ScreeningApi {
    state: Arc<AppState>,
}

impl ScreeningApi {
    pub fn new(state: Arc<AppState>) -> Self {
        ScreeningApi { state }
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::ScreenInvoiceResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ScreeningService for ScreeningApi {
    async fn screen_invoice(
        &self,
        request: Request<pb::ScreenInvoiceRequest>,
    ) -> Result<Response<pb::ScreenInvoiceResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!(
            "ScreenInvoice",
            invoice_id = invoice_id(&request),
            verdict_id = field::Empty,
            decision = field::Empty,
            sequence = field::Empty,
            latency_us = field::Empty,
        );
        let (verdict, replayed) = screen_one(&self.state, &request).instrument(span).await?;
        Ok(Response::new(pb::ScreenInvoiceResponse {
            result: Some(pb::screen_invoice_response::Result::Verdict(verdict)),
            replayed,
        }))
    }

    type ScreenInvoicesStream = ResponseStream;

    async fn screen_invoices(
        &self,
        request: Request<Streaming<pb::ScreenInvoiceRequest>>,
    ) -> Result<Response<Self::ScreenInvoicesStream>, Status> {
        let mut inbound = request.into_inner();
        let state = Arc::clone(&self.state);
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        let stream_span = tracing::info_span!("ScreenInvoices");
        tokio::spawn(
            async move {
                let mut index: u64 = 0;
                while let Some(item) = inbound.next().await {
                    let request = match item {
                        Ok(request) => request,
                        Err(status) => {
                            // The client's side of the stream broke; nothing more will come.
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    };
                    let span = tracing::info_span!(
                        "ScreenInvoice",
                        index,
                        invoice_id = invoice_id(&request),
                        verdict_id = field::Empty,
                        decision = field::Empty,
                        sequence = field::Empty,
                        latency_us = field::Empty,
                    );
                    let mut replayed = false;
                    let result = match screen_one(&state, &request).instrument(span).await {
                        Ok((verdict, replay)) => {
                            replayed = replay;
                            pb::screen_invoice_response::Result::Verdict(verdict)
                        }
                        Err(e) => pb::screen_invoice_response::Result::Error(pb::InvoiceError {
                            invoice_id: invoice_id(&request).to_owned(),
                            index,
                            code: e.code() as i32,
                            field_violations: e
                                .violations()
                                .into_iter()
                                .map(|v| pb::FieldViolation {
                                    field: v.field,
                                    description: v.description,
                                })
                                .collect(),
                            message: e.to_string(),
                        }),
                    };
                    let response = pb::ScreenInvoiceResponse {
                        result: Some(result),
                        replayed,
                    };
                    if tx.send(Ok(response)).await.is_err() {
                        break; // the client went away
                    }
                    index += 1;
                }
                tracing::info!(invoices = index, "batch finished");
            }
            .instrument(stream_span),
        );
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

pub struct AuditApi {
    state: Arc<AppState>,
}

impl AuditApi {
    pub fn new(state: Arc<AppState>) -> Self {
        AuditApi { state }
    }
}

type VerdictStream = Pin<Box<dyn Stream<Item = Result<pb::Verdict, Status>> + Send>>;

/// Verdicts an export sends per read of the store.
const EXPORT_CHUNK: usize = 64;

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn get_verdict(
        &self,
        request: Request<pb::GetVerdictRequest>,
    ) -> Result<Response<pb::Verdict>, Status> {
        let id = validate::verdict_id("verdict_id", &request.get_ref().verdict_id)?;
        let verdict = blocking(&self.state, move |s| {
            s.store
                .get(&id.to_string())?
                .ok_or_else(|| ApiError::NotFound(format!("verdict {id}")))
        })
        .instrument(tracing::info_span!("GetVerdict"))
        .await?;
        Ok(Response::new(convert::verdict(verdict)))
    }

    async fn list_verdicts(
        &self,
        request: Request<pb::ListVerdictsRequest>,
    ) -> Result<Response<pb::ListVerdictsResponse>, Status> {
        let r = request.get_ref();
        let query = VerdictQuery {
            filter: validate::verdict_filter(r.filter.as_ref())?,
            page_size: r.page_size as usize,
            page_token: (!r.page_token.is_empty()).then(|| r.page_token.clone()),
        };
        let page = blocking(&self.state, move |s| Ok(s.store.list(&query)?))
            .instrument(tracing::info_span!("ListVerdicts"))
            .await?;
        Ok(Response::new(pb::ListVerdictsResponse {
            verdicts: page.verdicts.into_iter().map(convert::verdict).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    type ExportVerdictsStream = VerdictStream;

    async fn export_verdicts(
        &self,
        request: Request<pb::ExportVerdictsRequest>,
    ) -> Result<Response<Self::ExportVerdictsStream>, Status> {
        let filter = validate::verdict_filter(request.get_ref().filter.as_ref())?;
        let state = Arc::clone(&self.state);
        let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_CHUNK);
        let span = tracing::info_span!("ExportVerdicts", verdicts = field::Empty);
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut sent: u64 = 0;
            for item in state.store.matching(&filter, None) {
                let message = item
                    .map(convert::verdict)
                    .map_err(|e| Status::from(ApiError::from(e)));
                let failed = message.is_err();
                // The client went away, or the store failed and the error is sent: stop.
                if tx.blocking_send(message).is_err() || failed {
                    break;
                }
                sent += 1;
            }
            span.record("verdicts", sent);
            tracing::info!("export finished");
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn record_decision(
        &self,
        request: Request<pb::RecordDecisionRequest>,
    ) -> Result<Response<pb::ReviewDecision>, Status> {
        let review = validate::review(request.get_ref())?;
        let span = tracing::info_span!(
            "RecordDecision",
            verdict_id = %review.verdict_id,
            outcome = ?review.outcome,
            decision_id = field::Empty,
        );
        let state = Arc::clone(&self.state);
        let stored = async move {
            let id = review.verdict_id.to_string();
            let lookup = id.clone();
            let verdict = blocking(&state, move |s| {
                s.store
                    .get(&lookup)?
                    .ok_or_else(|| ApiError::NotFound(format!("verdict {lookup}")))
            })
            .await?
            .verdict;
            if verdict.decision == Decision::Clear {
                return Err(ApiError::FailedPrecondition(format!(
                    "verdict {id} is CLEAR: decisions are recorded on REVIEW and BLOCK verdicts"
                )));
            }
            let cleared_matches = match review.outcome {
                ReviewOutcome::Released => ClearedMatch::from_verdict(&verdict),
                ReviewOutcome::Confirmed | ReviewOutcome::Escalated => Vec::new(),
            };
            let decision = ReviewDecision {
                decision_id: String::new(),
                verdict_id: id,
                reviewer: review.reviewer,
                outcome: review.outcome,
                reason: review.reason,
                decided_at_unix_nanos: 0,
                cleared_matches,
            };
            let stored = state
                .store
                .append_decision(decision, verdict.exporter_id)
                .await?;
            tracing::Span::current().record("decision_id", stored.decision.decision_id.as_str());
            tracing::info!(
                cleared = stored.decision.cleared_matches.len(),
                "decision recorded"
            );
            Ok::<_, ApiError>(stored)
        }
        .instrument(span)
        .await?;
        Ok(Response::new(convert::review_decision(stored)))
    }

    async fn verify_audit_log(
        &self,
        request: Request<pb::VerifyAuditLogRequest>,
    ) -> Result<Response<pb::VerifyAuditLogResponse>, Status> {
        let options = validate::verify(request.get_ref())?;
        let report = blocking(&self.state, move |s| {
            // A range past the head has nothing to verify; saying "ok" would mislead. (The
            // default range of an empty log, from 1, is fine: it has nothing to check.)
            let head = s.store.head()?.sequence;
            let from_beyond = (options.from > head.max(1)).then_some(options.from);
            let to_beyond = options.to.filter(|&to| to > head);
            if let Some(beyond) = from_beyond.or(to_beyond) {
                return Err(ApiError::OutOfRange(format!(
                    "sequence {beyond} is beyond the chain head {head}"
                )));
            }
            Ok(s.store.verify(&options)?)
        })
        .instrument(tracing::info_span!("VerifyAuditLog"))
        .await?;
        if let Some(b) = &report.first_break {
            tracing::error!(sequence = b.sequence, kind = ?b.kind, detail = %b.detail, "audit log verification failed");
        }
        Ok(Response::new(convert::verify_report(report)))
    }
}
