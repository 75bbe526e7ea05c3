//! Request-path errors and the one place they become `tonic::Status`.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::audit::AuditError;

/// A bad field: its path (`invoice.line_items[2].hs_code`, indexes from 0) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The first few violations, for the status message; all of them go in the details.
fn summarize(violations: &[FieldViolation]) -> String {
    const SHOWN: usize = 5;
    let mut text = violations
        .iter()
        .take(SHOWN)
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > SHOWN {
        text.push_str(&format!("; and {} more", violations.len() - SHOWN));
    }
    text
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::InvalidArgument(_) | ApiError::Audit(AuditError::BadPageToken) => {
                Code::InvalidArgument
            }
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::FailedPrecondition(_) => Code::FailedPrecondition,
            ApiError::OutOfRange(_) => Code::OutOfRange,
            ApiError::Audit(
                AuditError::Storage(_) | AuditError::WriterStopped | AuditError::Cancelled,
            ) => Code::Unavailable,
            ApiError::Audit(AuditError::Corrupt { .. } | AuditError::OldFormat(_)) => {
                Code::DataLoss
            }
            ApiError::Audit(
                AuditError::Encode(_) | AuditError::IdOverflow | AuditError::Internal(_),
            )
            | ApiError::Internal(_) => Code::Internal,
        }
    }

    /// The field violations this error carries (empty for other kinds).
    pub fn violations(&self) -> Vec<FieldViolation> {
        match self {
            ApiError::InvalidArgument(v) => v.clone(),
            ApiError::Audit(AuditError::BadPageToken) => vec![FieldViolation {
                field: "page_token".into(),
                description: AuditError::BadPageToken.to_string(),
            }],
            _ => Vec::new(),
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Status {
        let code = err.code();
        let violations = err.violations();
        if violations.is_empty() {
            Status::new(code, err.to_string())
        } else {
            let details = ErrorDetails::with_bad_request(
                violations
                    .into_iter()
                    .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                    .collect::<Vec<_>>(),
            );
            Status::with_error_details(code, err.to_string(), details)
        }
    }
}
