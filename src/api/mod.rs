//! The gRPC edge: validate, convert, call the domain and the store, convert back.
pub mod convert;
pub mod error;
pub mod json;
pub mod validate;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, field};

use self::error::ApiError;
use crate::audit::{AuditStore, VerdictQuery};
use crate::lists::{self, ListError, Snapshot};
use crate::pb;
use crate::pb::audit_service_server::AuditService;
use crate::pb::screening_service_server::ScreeningService;
use crate::screening::model::{Invoice, Verdict};

/// What every request reads: the current lists (swapped whole on reload) and the store.
pub struct AppState {
    lists: ArcSwap<Snapshot>,
    store: AuditStore,
}

impl AppState {
    pub fn new(snapshot: Snapshot, store: AuditStore) -> Self {
        AppState {
            lists: ArcSwap::from_pointee(snapshot),
            store,
        }
    }

    pub fn lists(&self) -> Arc<Snapshot> {
        self.lists.load_full()
    }

    pub fn store(&self) -> &AuditStore {
        &self.store
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

    /// Screens a validated invoice and stores the verdict durably. Blocking: call it off the
    /// async runtime.
    fn screen_and_store(&self, invoice: &Invoice) -> Result<Verdict, ApiError> {
        let (verdict_id, screened_at) = self.store.new_verdict_id()?;
        let verdict = self.lists.load().verdict(invoice, verdict_id, screened_at);
        self.store.append(&verdict)?;
        Ok(verdict)
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
async fn screen_one(
    state: &Arc<AppState>,
    request: &pb::ScreenInvoiceRequest,
) -> Result<pb::Verdict, ApiError> {
    let started = Instant::now();
    let span = tracing::Span::current();
    let invoice = validate::invoice(request.invoice.as_ref());
    let result = match invoice {
        Ok(invoice) => blocking(state, move |s| s.screen_and_store(&invoice)).await,
        Err(e) => Err(e),
    };
    let latency_us = started.elapsed().as_micros() as u64;
    span.record("latency_us", latency_us);
    match &result {
        Ok(v) => {
            span.record("verdict_id", v.verdict_id.as_str());
            span.record("decision", v.decision.as_str());
            tracing::info!(findings = v.findings.len(), "screened");
        }
        Err(e) => tracing::warn!(error = %e, "not screened"),
    }
    result.map(convert::verdict)
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
            latency_us = field::Empty,
        );
        let verdict = screen_one(&self.state, &request).instrument(span).await?;
        Ok(Response::new(pb::ScreenInvoiceResponse {
            result: Some(pb::screen_invoice_response::Result::Verdict(verdict)),
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
                        latency_us = field::Empty,
                    );
                    let result = match screen_one(&state, &request).instrument(span).await {
                        Ok(verdict) => pb::screen_invoice_response::Result::Verdict(verdict),
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

fn list_query(r: &pb::ListVerdictsRequest) -> Result<VerdictQuery, ApiError> {
    let mut violations = Vec::new();
    let mut bad = |field: &str, description: String| {
        violations.push(error::FieldViolation {
            field: field.into(),
            description,
        });
    };
    if r.exporter_id.chars().count() > validate::MAX_ID_CHARS {
        bad(
            "exporter_id",
            format!("is longer than {} characters", validate::MAX_ID_CHARS),
        );
    }
    let decision = convert::decision_from_pb(r.decision).unwrap_or_else(|e| {
        bad("decision", e);
        None
    });
    let mut time = |field: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .and_then(|t| convert::timestamp_nanos(t).map_err(|e| bad(field, e)).ok())
    };
    let after = time("screened_after", &r.screened_after);
    let before = time("screened_before", &r.screened_before);
    if let (Some(a), Some(b)) = (after, before)
        && a >= b
    {
        bad(
            "screened_before",
            "must be later than screened_after".into(),
        );
    }
    if !violations.is_empty() {
        return Err(ApiError::InvalidArgument(violations));
    }
    Ok(VerdictQuery {
        exporter_id: (!r.exporter_id.is_empty()).then(|| r.exporter_id.clone()),
        decision,
        screened_after: after,
        screened_before: before,
        page_size: r.page_size as usize,
        page_token: (!r.page_token.is_empty()).then(|| r.page_token.clone()),
    })
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn get_verdict(
        &self,
        request: Request<pb::GetVerdictRequest>,
    ) -> Result<Response<pb::Verdict>, Status> {
        let id = request.into_inner().verdict_id.trim().to_owned();
        if id.is_empty() {
            return Err(ApiError::invalid("verdict_id", "is required").into());
        }
        if ulid::Ulid::from_string(&id).is_err() {
            return Err(ApiError::invalid(
                "verdict_id",
                "is not a verdict id (a 26-character ULID)",
            )
            .into());
        }
        let verdict = blocking(&self.state, move |s| {
            s.store
                .get(&id)?
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
        let query = list_query(request.get_ref())?;
        let page = blocking(&self.state, move |s| Ok(s.store.list(&query)?))
            .instrument(tracing::info_span!("ListVerdicts"))
            .await?;
        Ok(Response::new(pb::ListVerdictsResponse {
            verdicts: page.verdicts.into_iter().map(convert::verdict).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }
}
