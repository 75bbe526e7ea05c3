//! The audit log, kept in sled: every verdict and every review decision as one record in a
//! SHA-256 hash chain, with secondary indexes for the auditors' queries.
//!
//! Writes go through a single writer thread ([`writer`]) that commits whatever has queued up
//! in one multi-tree transaction (records, index entries and the chain head atomically),
//! flushes once, and only then answers every waiting caller (group commit). Reads go straight
//! to the trees.
//!
//! Trees (keys in [`keys`]):
//! - `chain`: sequence → stored record ([`record`]): the log itself.
//! - `verdict_seq`: verdict ULID → sequence. ULIDs are assigned by the writer together with
//!   the sequence, so their order is commit order: this tree is also the time index.
//! - `decisions_of`: verdict ULID ‖ sequence → () for the review decisions on a verdict.
//! - `by_exporter`, `by_invoice`, `by_decision`, `by_hs`, `by_entity`: index prefix ‖ ULID → ().
//! - `invoices`: exporter ‖ invoice id → ULID ‖ version ‖ content hash of the latest version.
//! - `clearances`: exporter ‖ list ‖ entity ‖ party key → [`Clearance`] JSON.
//! - `meta`: `head` → sequence ‖ record hash of the last record.
pub mod keys;
pub mod record;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use ulid::Ulid;

use self::record::Record;
pub use self::record::{BreakKind, ChainBreak, ChainLink, GENESIS, Hash};
pub use self::writer::Append;
use self::writer::WriterHandle;
use crate::screening::model::{
    Clearance, ClearanceKey, Decision, ReviewDecision, ReviewOutcome, Verdict, hex,
};

const PAGE_TOKEN_PREFIX: &str = "v2.";
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 1_000;
/// How many queued writes one commit takes at most.
pub const DEFAULT_MAX_BATCH: usize = 1_024;
const HEAD_KEY: &[u8] = b"head";

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
    #[error("page token is not one this service issued for this filter")]
    BadPageToken,
    #[error(
        "the store in {0} was written by an earlier tradescreen (unchained format 1); export it with that version or start on an empty directory"
    )]
    OldFormat(String),
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("verification stopped: the service is shutting down")]
    Cancelled,
    #[error("internal error in the audit log: {0}")]
    Internal(&'static str),
}

/// The chain's last record: an auditor notes it and can later prove nothing up to it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// 0 for an empty log.
    pub sequence: u64,
    pub record_hash: Hash,
}

impl ChainHead {
    const EMPTY: ChainHead = ChainHead {
        sequence: 0,
        record_hash: GENESIS,
    };

    fn encode(&self) -> [u8; 40] {
        let mut bytes = [0; 40];
        bytes[..8].copy_from_slice(&self.sequence.to_be_bytes());
        bytes[8..].copy_from_slice(&self.record_hash);
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<ChainHead> {
        let sequence = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let record_hash = bytes.get(8..40)?.try_into().ok()?;
        Some(ChainHead {
            sequence,
            record_hash,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredDecision {
    pub decision: ReviewDecision,
    pub link: ChainLink,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredVerdict {
    pub verdict: Verdict,
    pub link: ChainLink,
    /// Review decisions on the verdict, oldest first.
    pub decisions: Vec<StoredDecision>,
}

/// Filters for queries; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerdictFilter {
    pub exporter_id: Option<String>,
    pub invoice_id: Option<String>,
    pub decision: Option<Decision>,
    /// Inclusive, nanoseconds since the epoch.
    pub screened_after: Option<i64>,
    /// Exclusive, nanoseconds since the epoch.
    pub screened_before: Option<i64>,
    /// Six digits.
    pub hs_code: Option<String>,
    /// List id and the list's entity id.
    pub entity: Option<(String, String)>,
}

impl VerdictFilter {
    fn matches(&self, v: &Verdict) -> bool {
        self.exporter_id
            .as_ref()
            .is_none_or(|e| *e == v.exporter_id)
            && self.invoice_id.as_ref().is_none_or(|i| *i == v.invoice_id)
            && self.decision.is_none_or(|d| d == v.decision)
            && self
                .screened_after
                .is_none_or(|t| v.screened_at_unix_nanos >= t)
            && self
                .screened_before
                .is_none_or(|t| v.screened_at_unix_nanos < t)
            && self.hs_code.as_ref().is_none_or(|h| v.hs_codes.contains(h))
            && self.entity.as_ref().is_none_or(|(list, entity)| {
                v.findings
                    .iter()
                    .any(|f| f.list_id == *list && f.entity_id == *entity)
            })
    }

    /// Identifies the filter inside page tokens, so a token is only honoured with the filter
    /// it was issued for.
    fn fingerprint(&self) -> String {
        let text = format!("{self:?}");
        hex(&Sha256::digest(text.as_bytes())[..4])
    }
}

#[derive(Clone, Debug, Default)]
pub struct VerdictQuery {
    pub filter: VerdictFilter,
    pub page_size: usize,
    pub page_token: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct VerdictPage {
    pub verdicts: Vec<StoredVerdict>,
    pub next_page_token: Option<String>,
}

/// What to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// First sequence (at least 1).
    pub from: u64,
    /// Last sequence; the head when `None`.
    pub to: Option<u64>,
    /// A head noted earlier: the record at its sequence must still have its hash.
    pub anchor: Option<ChainHead>,
    /// Also check that every record's index entries are in place.
    pub indexes: bool,
}

impl Default for VerifyOptions {
    /// The whole chain with its indexes.
    fn default() -> Self {
        VerifyOptions {
            from: 1,
            to: None,
            anchor: None,
            indexes: true,
        }
    }
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub from_sequence: u64,
    pub to_sequence: u64,
    pub records_checked: u64,
    pub first_break: Option<ChainBreak>,
    pub head: ChainHead,
}

#[derive(Clone)]
pub(crate) struct Trees {
    chain: sled::Tree,
    verdict_seq: sled::Tree,
    decisions_of: sled::Tree,
    by_exporter: sled::Tree,
    by_invoice: sled::Tree,
    by_decision: sled::Tree,
    by_hs: sled::Tree,
    by_entity: sled::Tree,
    invoices: sled::Tree,
    clearances: sled::Tree,
    meta: sled::Tree,
}

/// The latest version of an exporter's invoice (the `invoices` tree).
#[derive(Clone, Debug)]
pub(crate) struct Latest {
    pub id: Ulid,
    pub version: u32,
    /// Lowercase hex SHA-256 of the invoice.
    pub hash: String,
}

impl Latest {
    /// ULID (16) ‖ version (u32 BE) ‖ hash.
    fn encode(&self) -> Vec<u8> {
        let mut value = Vec::with_capacity(20 + self.hash.len());
        value.extend_from_slice(&self.id.to_bytes());
        value.extend_from_slice(&self.version.to_be_bytes());
        value.extend_from_slice(self.hash.as_bytes());
        value
    }

    fn decode(value: &[u8]) -> Option<Latest> {
        Some(Latest {
            id: Ulid::from_bytes(value.get(..16)?.try_into().ok()?),
            version: u32::from_be_bytes(value.get(16..20)?.try_into().ok()?),
            hash: std::str::from_utf8(value.get(20..)?).ok()?.to_owned(),
        })
    }
}

impl Trees {
    /// The latest version of the invoice under `invoice_key` (exporter ‖ invoice id).
    fn latest(&self, invoice_key: &[u8]) -> Result<Option<Latest>, AuditError> {
        self.invoices
            .get(invoice_key)?
            .map(|value| {
                Latest::decode(&value).ok_or_else(|| AuditError::Corrupt {
                    key: format!("invoice {invoice_key:?}"),
                    reason: "latest-version entry is malformed".into(),
                })
            })
            .transpose()
    }

    /// A stored verdict with its review decisions.
    fn verdict(&self, id: Ulid) -> Result<Option<StoredVerdict>, AuditError> {
        let Some(seq) = self.verdict_seq.get(id.to_bytes())? else {
            return Ok(None);
        };
        let seq = keys::trailing_sequence(&seq).ok_or_else(|| AuditError::Corrupt {
            key: id.to_string(),
            reason: "verdict index value is not a sequence".into(),
        })?;
        let (verdict, link) = match self.record(seq)? {
            Some((Record::Verdict(v), link)) => (v, link),
            Some((Record::Decision(_), _)) | None => {
                return Err(AuditError::Corrupt {
                    key: id.to_string(),
                    reason: format!("sequence {seq} does not hold this verdict"),
                });
            }
        };
        let mut decisions = Vec::new();
        for entry in self.decisions_of.scan_prefix(id.to_bytes()) {
            let (key, _) = entry?;
            let Some(seq) = keys::trailing_sequence(&key) else {
                continue;
            };
            if let Some((Record::Decision(decision), link)) = self.record(seq)? {
                decisions.push(StoredDecision { decision, link });
            }
        }
        Ok(Some(StoredVerdict {
            verdict,
            link,
            decisions,
        }))
    }

    fn record(&self, seq: u64) -> Result<Option<(Record, ChainLink)>, AuditError> {
        self.chain
            .get(keys::sequence(seq))?
            .map(|bytes| record::decode(seq, &bytes))
            .transpose()
    }

    fn open(db: &sled::Db) -> Result<Trees, sled::Error> {
        Ok(Trees {
            chain: db.open_tree("chain")?,
            verdict_seq: db.open_tree("verdict_seq")?,
            decisions_of: db.open_tree("decisions_of")?,
            by_exporter: db.open_tree("by_exporter")?,
            by_invoice: db.open_tree("by_invoice")?,
            by_decision: db.open_tree("by_decision")?,
            by_hs: db.open_tree("by_hs")?,
            by_entity: db.open_tree("by_entity")?,
            invoices: db.open_tree("invoices")?,
            clearances: db.open_tree("clearances")?,
            meta: db.open_tree("meta")?,
        })
    }
}

/// The secondary indexes of verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Exporter,
    Invoice,
    Decision,
    HsCode,
    Entity,
}

impl Index {
    fn tree(self, trees: &Trees) -> &sled::Tree {
        match self {
            Index::Exporter => &trees.by_exporter,
            Index::Invoice => &trees.by_invoice,
            Index::Decision => &trees.by_decision,
            Index::HsCode => &trees.by_hs,
            Index::Entity => &trees.by_entity,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Index::Exporter => "by_exporter",
            Index::Invoice => "by_invoice",
            Index::Decision => "by_decision",
            Index::HsCode => "by_hs",
            Index::Entity => "by_entity",
        }
    }
}

/// The index entries of a verdict stored with id `id`: written with it, checked by
/// verification.
pub(crate) fn index_entries(v: &Verdict, id: Ulid) -> Vec<(Index, Vec<u8>)> {
    let key = |prefix: Vec<u8>| keys::with_ulid(prefix, id);
    let mut entries = vec![
        (Index::Exporter, key(keys::parts(&[&v.exporter_id]))),
        (Index::Invoice, key(keys::parts(&[&v.invoice_id]))),
        (Index::Decision, key(vec![decision_byte(v.decision)])),
    ];
    for hs in &v.hs_codes {
        entries.push((Index::HsCode, key(hs.as_bytes().to_vec())));
    }
    let mut entities: Vec<(&str, &str)> = v
        .findings
        .iter()
        .filter(|f| !f.list_id.is_empty() && !f.entity_id.is_empty())
        .map(|f| (f.list_id.as_str(), f.entity_id.as_str()))
        .collect();
    entities.sort_unstable();
    entities.dedup();
    for (list, entity) in entities {
        entries.push((Index::Entity, key(keys::parts(&[list, entity]))));
    }
    entries
}

fn decision_byte(d: Decision) -> u8 {
    match d {
        Decision::Clear => 1,
        Decision::Review => 2,
        Decision::Block => 3,
    }
}

fn nanos_to_millis(nanos: i64) -> u64 {
    u64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(0)
}

pub struct AuditStore {
    db: sled::Db,
    trees: Trees,
    writer: WriterHandle,
}

#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    /// Writes committed together at most; 1 makes every write its own commit and flush.
    pub max_batch: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch: DEFAULT_MAX_BATCH,
        }
    }
}

impl AuditStore {
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        AuditStore::open_with(dir, StoreOptions::default())
    }

    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, AuditError> {
        let db = sled::Config::new().path(dir).open()?;
        // Format 1 kept unchained verdicts in `verdicts`; chaining them now would vouch for
        // records nobody hashed when they were written.
        if db.tree_names().iter().any(|n| n.as_ref() == b"verdicts")
            && !db.open_tree("verdicts")?.is_empty()
        {
            return Err(AuditError::OldFormat(dir.display().to_string()));
        }
        let trees = Trees::open(&db)?;
        let head = read_head(&trees)?;
        let writer = writer::start(db.clone(), trees.clone(), head, options.max_batch.max(1));
        Ok(AuditStore { db, trees, writer })
    }

    /// Queues a write for the next group commit and waits until it is on disk.
    pub async fn append(&self, op: Append) -> Result<writer::Appended, AuditError> {
        self.writer.submit(op).await
    }

    /// Stores a screened verdict (its id, time and invoice version are assigned here). Unless
    /// `rescreen`, an identical invoice already stored returns that verdict and `true`.
    pub async fn append_verdict(
        &self,
        verdict: Verdict,
        rescreen: bool,
    ) -> Result<(StoredVerdict, bool), AuditError> {
        match self.append(Append::Verdict { verdict, rescreen }).await? {
            writer::Appended::Verdict { verdict, replayed } => Ok((verdict, replayed)),
            _ => Err(AuditError::Internal(
                "the writer answered a verdict with something else",
            )),
        }
    }

    /// Appends a review decision on a stored verdict of `exporter_id`.
    pub async fn append_decision(
        &self,
        decision: ReviewDecision,
        exporter_id: String,
    ) -> Result<StoredDecision, AuditError> {
        match self
            .append(Append::Decision {
                decision,
                exporter_id,
            })
            .await?
        {
            writer::Appended::Decision(d) => Ok(d),
            _ => Err(AuditError::Internal(
                "the writer answered a decision with something else",
            )),
        }
    }

    /// Returns once the record at `sequence` is on disk. A reader can see a record the writer
    /// has applied but not yet flushed; before such a record is given to a caller as an
    /// acknowledgement (a replayed retry), it must be durable.
    pub async fn wait_durable(&self, sequence: u64) -> Result<(), AuditError> {
        if sequence <= self.writer.durable_sequence() {
            return Ok(());
        }
        match self.append(Append::Barrier).await? {
            writer::Appended::Durable => Ok(()),
            _ => Err(AuditError::Internal(
                "the writer answered a barrier with a record",
            )),
        }
    }

    pub fn head(&self) -> Result<ChainHead, AuditError> {
        read_head(&self.trees)
    }

    pub fn get(&self, verdict_id: &str) -> Result<Option<StoredVerdict>, AuditError> {
        let Ok(id) = Ulid::from_string(verdict_id) else {
            return Ok(None);
        };
        self.trees.verdict(id)
    }

    /// The stored verdict of this exporter's invoice if its latest version has `invoice_hash`
    /// (an identical retry), without decoding it otherwise.
    pub fn stored_identical(
        &self,
        exporter_id: &str,
        invoice_id: &str,
        invoice_hash: &str,
    ) -> Result<Option<StoredVerdict>, AuditError> {
        match self
            .trees
            .latest(&keys::parts(&[exporter_id, invoice_id]))?
        {
            Some(latest) if latest.hash == invoice_hash => self.trees.verdict(latest.id),
            _ => Ok(None),
        }
    }

    /// The release this exporter's officers gave for `key`, if any (whatever the entity
    /// version; the screening compares it). A point read: nothing is read for invoices
    /// without party matches.
    pub fn clearance(
        &self,
        exporter_id: &str,
        key: &ClearanceKey<'_>,
    ) -> Result<Option<Clearance>, AuditError> {
        let key = keys::parts(&[exporter_id, key.list_id, key.entity_id, &key.party_key]);
        self.trees
            .clearances
            .get(&key)?
            .map(|value| {
                serde_json::from_slice(&value).map_err(|e| AuditError::Corrupt {
                    key: format!("clearance {key:?}"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Whether `clearance` is what a released decision in the log cleared: the record at its
    /// sequence is intact, is that decision, releases, and lists the match. A clearance
    /// written into the store by other means is not.
    pub fn is_backed(&self, clearance: &Clearance) -> Result<bool, AuditError> {
        let seq = clearance.decision_sequence;
        let Some(bytes) = self.trees.chain.get(keys::sequence(seq))? else {
            return Ok(false);
        };
        if record::check(seq, &bytes, None).is_err() {
            return Ok(false);
        }
        Ok(match record::decode(seq, &bytes)?.0 {
            Record::Decision(d) => {
                d.decision_id == clearance.decision_id
                    && d.outcome == ReviewOutcome::Released
                    && d.cleared_matches.contains(&clearance.matched)
            }
            Record::Verdict(_) => false,
        })
    }

    /// One page of verdicts matching the query, newest first.
    pub fn list(&self, query: &VerdictQuery) -> Result<VerdictPage, AuditError> {
        let page_size = match query.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let filter = &query.filter;
        let fingerprint = filter.fingerprint();
        let cursor = match &query.page_token {
            Some(token) => Some(parse_page_token(token, &fingerprint)?),
            None => None,
        };
        let mut verdicts = Vec::with_capacity(page_size.min(128));
        let mut next_page_token = None;
        for item in self.matching(filter, cursor) {
            let verdict = item?;
            if verdicts.len() == page_size {
                next_page_token = verdicts.last().map(|v: &StoredVerdict| {
                    format!("{PAGE_TOKEN_PREFIX}{}.{fingerprint}", v.verdict.verdict_id)
                });
                break;
            }
            verdicts.push(verdict);
        }
        Ok(VerdictPage {
            verdicts,
            next_page_token,
        })
    }

    /// Every verdict matching `filter`, newest first, read lazily; `before` (exclusive)
    /// resumes after a verdict id. Reads the most selective index the filter allows and checks
    /// the rest of the filter on each verdict.
    pub fn matching<'a>(
        &'a self,
        filter: &'a VerdictFilter,
        before: Option<Ulid>,
    ) -> impl Iterator<Item = Result<StoredVerdict, AuditError>> + 'a {
        let low = Ulid::from_parts(filter.screened_after.map_or(0, nanos_to_millis), 0);
        let mut high = match filter.screened_before {
            // Ids carry milliseconds: include the whole millisecond, the filter trims it.
            Some(t) => Ulid::from_parts(nanos_to_millis(t.saturating_add(999_999)), 0),
            None => Ulid(u128::MAX),
        };
        if let Some(cursor) = before {
            high = high.min(cursor);
        }
        let t = &self.trees;
        let (tree, prefix): (&sled::Tree, Vec<u8>) = if let Some((list, entity)) = &filter.entity {
            (&t.by_entity, keys::parts(&[list, entity]))
        } else if let Some(invoice) = &filter.invoice_id {
            (&t.by_invoice, keys::parts(&[invoice]))
        } else if let Some(hs) = &filter.hs_code {
            (&t.by_hs, hs.as_bytes().to_vec())
        } else if let Some(exporter) = &filter.exporter_id {
            (&t.by_exporter, keys::parts(&[exporter]))
        } else if let Some(decision) = filter.decision {
            (&t.by_decision, vec![decision_byte(decision)])
        } else {
            (&t.verdict_seq, Vec::new())
        };
        let range = keys::with_ulid(prefix.clone(), low)..keys::with_ulid(prefix, high);
        tree.range(range)
            .rev()
            .map(move |entry| {
                let (key, _) = entry?;
                let id = keys::trailing_ulid(&key).ok_or_else(|| AuditError::Corrupt {
                    key: format!("{key:?}"),
                    reason: "index key has no verdict id".into(),
                })?;
                self.trees.verdict(id)?.ok_or_else(|| AuditError::Corrupt {
                    key: id.to_string(),
                    reason: "index entry without a record".into(),
                })
            })
            .filter(move |item| item.as_ref().map_or(true, |v| filter.matches(&v.verdict)))
    }

    /// Re-computes the chain over `options.from..=options.to`; see [`VerifyOptions`].
    pub fn verify(&self, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
        self.verify_cancellable(options, None)
    }

    /// [`AuditStore::verify`] that gives up with [`AuditError::Cancelled`] once `cancel` is set.
    pub fn verify_cancellable(
        &self,
        options: &VerifyOptions,
        cancel: Option<&AtomicBool>,
    ) -> Result<VerifyReport, AuditError> {
        let head = self.head()?;
        let from = options.from.max(1);
        let to = options.to.unwrap_or(head.sequence);
        let anchor = options.anchor;
        let mut report = VerifyReport {
            from_sequence: from,
            to_sequence: to,
            records_checked: 0,
            first_break: None,
            head,
        };
        if let Some(anchor) = anchor {
            let stored = self.trees.chain.get(keys::sequence(anchor.sequence))?;
            let found = stored
                .as_deref()
                .and_then(|b| record::check(anchor.sequence, b, None).ok());
            if found != Some(anchor.record_hash) {
                report.first_break = Some(ChainBreak {
                    sequence: anchor.sequence,
                    kind: BreakKind::AnchorMismatch,
                    detail: format!(
                        "the anchor says record {} has hash {}; the store has {}",
                        anchor.sequence,
                        hex(&anchor.record_hash),
                        found.map_or_else(|| "no valid record there".to_owned(), |h| hex(&h))
                    ),
                });
                return Ok(report);
            }
        }
        if from > to {
            return Ok(report);
        }
        // The record before the range anchors its first link, when there is one.
        let mut expected_previous: Option<Hash> = if from == 1 {
            Some(GENESIS)
        } else {
            self.trees
                .chain
                .get(keys::sequence(from - 1))?
                .and_then(|b| record::check(from - 1, &b, None).ok())
        };
        let mut expected_sequence = from;
        for entry in self
            .trees
            .chain
            .range(keys::sequence(from)..=keys::sequence(to))
        {
            let (key, bytes) = entry?;
            let Some(sequence) = keys::trailing_sequence(&key) else {
                report.first_break = Some(ChainBreak {
                    sequence: expected_sequence,
                    kind: BreakKind::Unreadable,
                    detail: format!("chain key {key:?} is not a sequence"),
                });
                return Ok(report);
            };
            if sequence != expected_sequence {
                report.first_break = Some(ChainBreak {
                    sequence: expected_sequence,
                    kind: BreakKind::RecordMissing,
                    detail: format!(
                        "record {expected_sequence} is missing; the next one is {sequence}"
                    ),
                });
                return Ok(report);
            }
            match record::check(sequence, &bytes, expected_previous.as_ref()) {
                Ok(hash) => expected_previous = Some(hash),
                Err(broken) => {
                    report.first_break = Some(broken);
                    return Ok(report);
                }
            }
            if options.indexes
                && let Some(broken) = self.check_indexes(sequence, &bytes)?
            {
                report.first_break = Some(broken);
                return Ok(report);
            }
            report.records_checked += 1;
            expected_sequence += 1;
            if report.records_checked.is_multiple_of(4_096)
                && cancel.is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return Err(AuditError::Cancelled);
            }
        }
        if expected_sequence <= to {
            report.first_break = Some(ChainBreak {
                sequence: expected_sequence,
                kind: BreakKind::RecordMissing,
                detail: format!(
                    "the log ends at record {} but runs to {to} (head {})",
                    expected_sequence - 1,
                    head.sequence
                ),
            });
        } else if to == head.sequence && expected_previous != Some(head.record_hash) && to > 0 {
            report.first_break = Some(ChainBreak {
                sequence: to,
                kind: BreakKind::ContentChanged,
                detail: format!(
                    "the last record's hash is not the recorded head {}",
                    hex(&head.record_hash)
                ),
            });
        }
        Ok(report)
    }

    /// Whether every index entry of the (verified) record at `sequence` is in place. Entries
    /// are not hashed, but removing one would hide a verdict from queries; forged extra entries
    /// cannot add one, since every query checks its filter on the record itself.
    fn check_indexes(&self, sequence: u64, bytes: &[u8]) -> Result<Option<ChainBreak>, AuditError> {
        let missing = |what: String| {
            Some(ChainBreak {
                sequence,
                kind: BreakKind::IndexMissing,
                detail: format!("record {sequence}: {what}"),
            })
        };
        let (record, _) = record::decode(sequence, bytes)?;
        let verdict_id = match &record {
            Record::Verdict(v) => &v.verdict_id,
            Record::Decision(d) => &d.verdict_id,
        };
        let Ok(id) = Ulid::from_string(verdict_id) else {
            return Ok(missing(format!("verdict id {verdict_id:?} is not a ULID")));
        };
        match &record {
            Record::Verdict(v) => {
                let mapped = self.trees.verdict_seq.get(id.to_bytes())?;
                if mapped.as_deref().and_then(keys::trailing_sequence) != Some(sequence) {
                    return Ok(missing(format!(
                        "verdict {id} is not mapped to its sequence"
                    )));
                }
                for (index, key) in index_entries(v, id) {
                    if !index.tree(&self.trees).contains_key(&key)? {
                        return Ok(missing(format!(
                            "verdict {id} has no {} entry",
                            index.name()
                        )));
                    }
                }
            }
            Record::Decision(d) => {
                let key = keys::with_sequence(id.to_bytes().to_vec(), sequence);
                if !self.trees.decisions_of.contains_key(key)? {
                    return Ok(missing(format!(
                        "decision {} is not listed under verdict {id}",
                        d.decision_id
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Flushes everything to disk (on shutdown; commits flush themselves).
    pub fn flush(&self) -> Result<(), AuditError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes sled occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, AuditError> {
        Ok(self.db.size_on_disk()?)
    }
}

fn read_head(trees: &Trees) -> Result<ChainHead, AuditError> {
    match trees.meta.get(HEAD_KEY)? {
        Some(bytes) => ChainHead::decode(&bytes).ok_or_else(|| AuditError::Corrupt {
            key: "head".into(),
            reason: "the chain head is unreadable".into(),
        }),
        None => Ok(ChainHead::EMPTY),
    }
}

fn parse_page_token(token: &str, fingerprint: &str) -> Result<Ulid, AuditError> {
    let rest = token
        .strip_prefix(PAGE_TOKEN_PREFIX)
        .ok_or(AuditError::BadPageToken)?;
    let (id, fp) = rest.split_once('.').ok_or(AuditError::BadPageToken)?;
    if fp != fingerprint {
        return Err(AuditError::BadPageToken);
    }
    Ulid::from_string(id).map_err(|_| AuditError::BadPageToken)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::screening::model::Decision;

    fn verdict(exporter: &str, invoice: &str, content: &str) -> Verdict {
        Verdict {
            verdict_id: String::new(),
            invoice_id: invoice.into(),
            exporter_id: exporter.into(),
            decision: Decision::Review,
            findings: Vec::new(),
            screened_at_unix_nanos: 0,
            list_versions: Vec::new(),
            policy_version: "test".into(),
            invoice_hash: content.into(),
            invoice_version: 0,
            previous_version_verdict_id: String::new(),
            hs_codes: vec!["848210".into()],
        }
    }

    #[test]
    fn an_unchained_store_of_format_1_is_refused_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let old = db.open_tree("verdicts").unwrap();
            old.insert(b"01J0000000000000000000000A", b"\x01{}")
                .unwrap();
            db.flush().unwrap();
        }
        assert!(matches!(
            AuditStore::open(dir.path()),
            Err(AuditError::OldFormat(_))
        ));
        let db = sled::open(dir.path()).unwrap();
        assert_eq!(db.open_tree("verdicts").unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_get_contiguous_sequences_in_one_verifiable_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(AuditStore::open(dir.path()).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                // Every fifth is a retry of the one before it: same exporter, id and content.
                let n = i - i % 5 / 4;
                store
                    .append_verdict(verdict("E", &format!("INV-{n}"), &format!("c{n}")), false)
                    .await
                    .unwrap()
            });
        }
        let mut stored = Vec::new();
        while let Some(done) = tasks.join_next().await {
            stored.push(done.unwrap());
        }
        let mut new: Vec<u64> = stored
            .iter()
            .filter(|(_, replayed)| !replayed)
            .map(|(v, _)| v.link.sequence)
            .collect();
        new.sort_unstable();
        assert_eq!(new, (1..=160).collect::<Vec<_>>());
        // Ids follow sequences: id order is commit order.
        let mut by_seq: Vec<&StoredVerdict> = stored.iter().map(|(v, _)| v).collect();
        by_seq.sort_by_key(|v| v.link.sequence);
        assert!(
            by_seq
                .windows(2)
                .all(|w| w[0].verdict.verdict_id <= w[1].verdict.verdict_id)
        );
        let report = store.verify(&VerifyOptions::default()).unwrap();
        assert_eq!(report.first_break, None);
        assert_eq!(report.head.sequence, 160);
    }
}
