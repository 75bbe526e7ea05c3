//! The audit log of verdicts, kept in sled. Every append is one transaction over the record
//! and its index entries, flushed to disk before it returns: a caller that has an `Ok` may
//! acknowledge the verdict.
//!
//! Trees: `verdicts` (ULID bytes → record), `by_exporter` (len-prefixed exporter id ‖ ULID),
//! `by_decision` (decision byte ‖ ULID). ULIDs sort by time, so every tree reads newest first
//! by iterating in reverse.
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use ulid::{Generator, Ulid};

use crate::screening::model::{Decision, Verdict};

/// Records are stored as this version byte followed by the JSON of [`Verdict`].
const RECORD_FORMAT_V1: u8 = 1;
const PAGE_TOKEN_PREFIX: &str = "v1.";
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit store I/O: {0}")]
    Storage(#[from] sled::Error),
    #[error("audit record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("cannot encode audit record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("verdict id space exhausted for this millisecond")]
    IdOverflow,
    #[error("page token is not one this service issued")]
    BadPageToken,
}

/// Filters for [`AuditStore::list`]; all optional and combined with AND.
#[derive(Clone, Debug, Default)]
pub struct VerdictQuery {
    pub exporter_id: Option<String>,
    pub decision: Option<Decision>,
    /// Inclusive, nanoseconds since the epoch.
    pub screened_after: Option<i64>,
    /// Exclusive, nanoseconds since the epoch.
    pub screened_before: Option<i64>,
    pub page_size: usize,
    pub page_token: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct VerdictPage {
    pub verdicts: Vec<Verdict>,
    pub next_page_token: Option<String>,
}

pub struct AuditStore {
    db: sled::Db,
    verdicts: sled::Tree,
    by_exporter: sled::Tree,
    by_decision: sled::Tree,
    ids: Mutex<Generator>,
}

fn decision_byte(d: Decision) -> u8 {
    match d {
        Decision::Clear => 1,
        Decision::Review => 2,
        Decision::Block => 3,
    }
}

fn exporter_prefix(exporter_id: &str) -> Vec<u8> {
    let bytes = exporter_id.as_bytes();
    // Exporter ids are at most 128 characters (validated at the edge), so u16 holds the length.
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    let mut key = Vec::with_capacity(2 + bytes.len() + 16);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(bytes);
    key
}

fn with_id(mut prefix: Vec<u8>, id: Ulid) -> Vec<u8> {
    prefix.extend_from_slice(&id.to_bytes());
    prefix
}

fn nanos_to_millis(nanos: i64) -> u64 {
    u64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(0)
}

fn unix_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl AuditStore {
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(AuditStore {
            verdicts: db.open_tree("verdicts")?,
            by_exporter: db.open_tree("by_exporter")?,
            by_decision: db.open_tree("by_decision")?,
            db,
            ids: Mutex::new(Generator::new()),
        })
    }

    /// A new verdict id and its time: unique and increasing within this process, sortable
    /// by time across restarts.
    pub fn new_verdict_id(&self) -> Result<(String, i64), AuditError> {
        let now = SystemTime::now();
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = ids
            .generate_from_datetime(now)
            .map_err(|_| AuditError::IdOverflow)?;
        Ok((id.to_string(), unix_nanos(now)))
    }

    /// Stores the verdict and its index entries atomically and flushes them to disk.
    pub fn append(&self, verdict: &Verdict) -> Result<(), AuditError> {
        let id = Ulid::from_string(&verdict.verdict_id).map_err(|e| AuditError::Corrupt {
            key: verdict.verdict_id.clone(),
            reason: format!("verdict id is not a ULID: {e}"),
        })?;
        let mut record = vec![RECORD_FORMAT_V1];
        serde_json::to_writer(&mut record, verdict)?;
        let key = id.to_bytes();
        let exporter_key = with_id(exporter_prefix(&verdict.exporter_id), id);
        let decision_key = with_id(vec![decision_byte(verdict.decision)], id);
        (&self.verdicts, &self.by_exporter, &self.by_decision)
            .transaction(|(verdicts, by_exporter, by_decision)| {
                verdicts.insert(&key[..], record.as_slice())?;
                by_exporter.insert(exporter_key.as_slice(), &[][..])?;
                by_decision.insert(decision_key.as_slice(), &[][..])?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => AuditError::Storage(e),
                TransactionError::Abort(()) => AuditError::Corrupt {
                    key: verdict.verdict_id.clone(),
                    reason: "transaction aborted".into(),
                },
            })?;
        self.db.flush()?;
        Ok(())
    }

    pub fn get(&self, verdict_id: &str) -> Result<Option<Verdict>, AuditError> {
        let Ok(id) = Ulid::from_string(verdict_id) else {
            return Ok(None);
        };
        self.verdicts
            .get(id.to_bytes())?
            .map(|bytes| decode_record(verdict_id, &bytes))
            .transpose()
    }

    /// One page of verdicts matching `query`, newest first.
    pub fn list(&self, query: &VerdictQuery) -> Result<VerdictPage, AuditError> {
        let page_size = match query.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        // The id range [low, high) the query can touch: time bounds and the page cursor.
        let low = Ulid::from_parts(query.screened_after.map_or(0, nanos_to_millis), 0);
        let mut high = match query.screened_before {
            Some(before) => Ulid::from_parts(nanos_to_millis(before.saturating_add(999_999)), 0),
            None => Ulid(u128::MAX),
        };
        if let Some(token) = &query.page_token {
            let cursor = token
                .strip_prefix(PAGE_TOKEN_PREFIX)
                .and_then(|s| Ulid::from_string(s).ok())
                .ok_or(AuditError::BadPageToken)?;
            high = high.min(cursor);
        }

        let (tree, prefix): (&sled::Tree, Vec<u8>) = match (&query.exporter_id, query.decision) {
            (Some(exporter), _) => (&self.by_exporter, exporter_prefix(exporter)),
            (None, Some(decision)) => (&self.by_decision, vec![decision_byte(decision)]),
            (None, None) => (&self.verdicts, Vec::new()),
        };
        let range = with_id(prefix.clone(), low)..with_id(prefix.clone(), high);
        let mut verdicts = Vec::with_capacity(page_size.min(64));
        let mut next_page_token = None;
        let primary = prefix.is_empty();
        for entry in tree.range(range).rev() {
            let (key, value) = entry?;
            let verdict = if primary {
                decode_record(&format!("{key:?}"), &value)?
            } else {
                let id_bytes: [u8; 16] = key
                    .get(prefix.len()..)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| AuditError::Corrupt {
                        key: format!("{key:?}"),
                        reason: "index key has no verdict id".into(),
                    })?;
                let id = Ulid::from_bytes(id_bytes).to_string();
                self.get(&id)?.ok_or_else(|| AuditError::Corrupt {
                    key: id,
                    reason: "index entry without a record".into(),
                })?
            };
            if !matches_filters(&verdict, query) {
                continue;
            }
            if verdicts.len() == page_size {
                // There is at least one more: the cursor is the last id returned.
                next_page_token = verdicts
                    .last()
                    .map(|v: &Verdict| format!("{PAGE_TOKEN_PREFIX}{}", v.verdict_id));
                break;
            }
            verdicts.push(verdict);
        }
        Ok(VerdictPage {
            verdicts,
            next_page_token,
        })
    }

    pub fn verdict_count(&self) -> usize {
        self.verdicts.len()
    }

    /// Flushes everything to disk (on shutdown; appends flush themselves).
    pub fn flush(&self) -> Result<(), AuditError> {
        self.db.flush()?;
        Ok(())
    }
}

fn matches_filters(v: &Verdict, q: &VerdictQuery) -> bool {
    q.exporter_id.as_ref().is_none_or(|e| *e == v.exporter_id)
        && q.decision.is_none_or(|d| d == v.decision)
        && q.screened_after
            .is_none_or(|t| v.screened_at_unix_nanos >= t)
        && q.screened_before
            .is_none_or(|t| v.screened_at_unix_nanos < t)
}

fn decode_record(key: &str, bytes: &[u8]) -> Result<Verdict, AuditError> {
    let corrupt = |reason: String| AuditError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&RECORD_FORMAT_V1, json)) => {
            serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))
        }
        Some((version, _)) => Err(corrupt(format!("unknown record format {version}"))),
        None => Err(corrupt("empty record".into())),
    }
}
