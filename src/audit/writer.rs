//! The single writer: group commit.
//!
//! Callers queue writes on a channel. The writer thread takes the first one, then whatever
//! else has queued up (at most `max_batch`), stages all of them in one set of batches, applies
//! those in one sled transaction over every tree, flushes once, and only then answers each
//! caller. While it flushes, the next group queues up, so the cost of a flush is shared by
//! everyone who arrived during the previous one.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use tokio::sync::{mpsc, oneshot};
use ulid::{Generator, Ulid};

use super::record::{self, RecordRef};
use super::{
    AuditError, ChainHead, HEAD_KEY, Index, Latest, StoredDecision, StoredVerdict, Trees,
    index_entries, keys,
};
use crate::screening::model::{Clearance, ReviewDecision, ReviewOutcome, Verdict};

/// A write for the log.
#[derive(Debug)]
pub enum Append {
    /// A screened verdict; id, time and invoice version are assigned when it is stored.
    Verdict { verdict: Verdict, rescreen: bool },
    /// A review decision on a stored verdict of `exporter_id`; id and time are assigned here.
    Decision {
        decision: ReviewDecision,
        exporter_id: String,
    },
    /// Writes nothing; answered once everything committed before it is on disk.
    Barrier,
}

#[derive(Debug)]
pub enum Appended {
    Verdict {
        verdict: StoredVerdict,
        /// An identical invoice was already stored: this is that verdict, nothing was written.
        replayed: bool,
    },
    Decision(StoredDecision),
    /// The answer to [`Append::Barrier`].
    Durable,
}

struct Job {
    op: Append,
    reply: oneshot::Sender<Result<Appended, AuditError>>,
}

pub(crate) struct WriterHandle {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The last sequence known to be on disk.
    durable: Arc<AtomicU64>,
}

/// How many writes may wait for the writer before callers wait to queue.
const QUEUE: usize = 4_096;

pub(crate) fn start(db: sled::Db, trees: Trees, head: ChainHead, max_batch: usize) -> WriterHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    let durable = Arc::new(AtomicU64::new(head.sequence));
    let writer = Writer {
        db,
        trees,
        head,
        ids: Generator::new(),
        max_batch,
        durable: Arc::clone(&durable),
    };
    let thread = std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || writer.run(rx))
        .ok();
    WriterHandle {
        jobs: thread.as_ref().map(|_| tx),
        thread,
        durable,
    }
}

impl WriterHandle {
    pub(crate) async fn submit(&self, op: Append) -> Result<Appended, AuditError> {
        let jobs = self.jobs.as_ref().ok_or(AuditError::WriterStopped)?;
        let (reply, answer) = oneshot::channel();
        jobs.send(Job { op, reply })
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        answer.await.map_err(|_| AuditError::WriterStopped)?
    }

    pub(crate) fn durable_sequence(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }
}

impl Drop for WriterHandle {
    /// Lets the writer finish what is queued and waits for it, so that the store's files are
    /// closed when the store is dropped.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Writer {
    db: sled::Db,
    trees: Trees,
    head: ChainHead,
    ids: Generator,
    max_batch: usize,
    durable: Arc<AtomicU64>,
}

/// One commit's writes, per tree.
#[derive(Default)]
struct Batches {
    chain: sled::Batch,
    verdict_seq: sled::Batch,
    decisions_of: sled::Batch,
    by_exporter: sled::Batch,
    by_invoice: sled::Batch,
    by_decision: sled::Batch,
    by_hs: sled::Batch,
    by_entity: sled::Batch,
    invoices: sled::Batch,
    clearances: sled::Batch,
    meta: sled::Batch,
}

fn unix_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.blocking_recv() {
            let mut jobs = vec![first];
            while jobs.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit(jobs);
        }
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        let before = self.head;
        let mut batches = Batches::default();
        // Invoices staged in this commit: their latest version and where its outcome is.
        let mut staged: HashMap<Vec<u8>, (Latest, usize)> = HashMap::new();
        let (ops, replies): (Vec<Append>, Vec<_>) =
            jobs.into_iter().map(|job| (job.op, job.reply)).unzip();
        let mut outcomes: Vec<Result<Appended, AuditError>> = Vec::with_capacity(ops.len());
        for op in ops {
            let outcome = self.stage(op, &mut batches, &mut staged, &outcomes);
            outcomes.push(outcome);
        }
        if self.head != before {
            batches.meta.insert(HEAD_KEY, &self.head.encode()[..]);
            let failure = match self.apply(batches) {
                Err(e) => {
                    // Nothing was applied: the next commit reuses these sequences.
                    self.head = before;
                    Some(e)
                }
                // Applied but maybe not on disk: the records are in the log (later flushes
                // will write them), so the head stays; their callers are not acknowledged
                // and a retry replays the stored verdict.
                Ok(()) => self.db.flush().err().map(AuditError::from),
            };
            if failure.is_none() {
                self.durable.store(self.head.sequence, Ordering::Release);
            }
            if let Some(e) = failure {
                tracing::error!(error = %e, writes = outcomes.len(), "audit commit failed");
                for outcome in &mut outcomes {
                    // Replays of records stored before this commit are still good answers.
                    let stored_before = matches!(
                        outcome,
                        Ok(Appended::Verdict { replayed: true, verdict })
                            if verdict.link.sequence <= before.sequence
                    ) || matches!(outcome, Ok(Appended::Durable));
                    if !stored_before {
                        *outcome = Err(match &e {
                            AuditError::Storage(s) => AuditError::Storage(s.clone()),
                            other => AuditError::Corrupt {
                                key: "commit".into(),
                                reason: other.to_string(),
                            },
                        });
                    }
                }
            }
        }
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that gave up (its request was cancelled) no longer listens.
            let _ = reply.send(outcome);
        }
    }

    fn next_id(&mut self) -> Result<(Ulid, i64), AuditError> {
        let now = SystemTime::now();
        let id = self
            .ids
            .generate_from_datetime(now)
            .map_err(|_| AuditError::IdOverflow)?;
        Ok((id, unix_nanos(now)))
    }

    /// Encodes `record` as the next record of the chain and stages it.
    fn chain(
        &mut self,
        batches: &mut Batches,
        record: RecordRef<'_>,
    ) -> Result<record::ChainLink, AuditError> {
        let sequence = self.head.sequence + 1;
        let (bytes, link) = record::encode(sequence, self.head.record_hash, record)?;
        batches.chain.insert(&keys::sequence(sequence)[..], bytes);
        self.head = ChainHead {
            sequence,
            record_hash: link.record_hash,
        };
        Ok(link)
    }

    fn stage(
        &mut self,
        op: Append,
        batches: &mut Batches,
        staged: &mut HashMap<Vec<u8>, (Latest, usize)>,
        outcomes: &[Result<Appended, AuditError>],
    ) -> Result<Appended, AuditError> {
        match op {
            Append::Verdict { verdict, rescreen } => {
                self.stage_verdict(verdict, rescreen, batches, staged, outcomes)
            }
            Append::Decision {
                decision,
                exporter_id,
            } => self
                .stage_decision(decision, &exporter_id, batches)
                .map(Appended::Decision),
            // Earlier commits were flushed before this one was gathered.
            Append::Barrier => Ok(Appended::Durable),
        }
    }

    fn stage_verdict(
        &mut self,
        mut verdict: Verdict,
        rescreen: bool,
        batches: &mut Batches,
        staged: &mut HashMap<Vec<u8>, (Latest, usize)>,
        outcomes: &[Result<Appended, AuditError>],
    ) -> Result<Appended, AuditError> {
        let invoice_key = keys::parts(&[&verdict.exporter_id, &verdict.invoice_id]);
        let staged_here = staged.get(&invoice_key).cloned();
        let latest = match &staged_here {
            Some((latest, _)) => Some(latest.clone()),
            None => self.trees.latest(&invoice_key)?,
        };
        if !rescreen
            && let Some(latest) = &latest
            && latest.hash == verdict.invoice_hash
        {
            // An identical retry: answer with what this commit staged or the log holds (the
            // writer's own reads, not a reader's copy).
            let stored = match staged_here {
                Some((_, at)) => match outcomes.get(at) {
                    Some(Ok(Appended::Verdict { verdict, .. })) => verdict.clone(),
                    _ => return Err(AuditError::Internal("a staged verdict has no outcome")),
                },
                None => self
                    .trees
                    .verdict(latest.id)?
                    .ok_or_else(|| AuditError::Corrupt {
                        key: latest.id.to_string(),
                        reason: "the invoice's latest version is not in the log".into(),
                    })?,
            };
            return Ok(Appended::Verdict {
                verdict: stored,
                replayed: true,
            });
        }

        let (id, now) = self.next_id()?;
        verdict.verdict_id = id.to_string();
        verdict.screened_at_unix_nanos = now;
        verdict.invoice_version = latest.as_ref().map_or(1, |l| l.version.saturating_add(1));
        verdict.previous_version_verdict_id = latest
            .as_ref()
            .map(|l| l.id.to_string())
            .unwrap_or_default();
        let link = self.chain(batches, RecordRef::Verdict(&verdict))?;

        let id_bytes = id.to_bytes();
        batches
            .verdict_seq
            .insert(&id_bytes[..], &keys::sequence(link.sequence)[..]);
        for (index, key) in index_entries(&verdict, id) {
            let batch = match index {
                Index::Exporter => &mut batches.by_exporter,
                Index::Invoice => &mut batches.by_invoice,
                Index::Decision => &mut batches.by_decision,
                Index::HsCode => &mut batches.by_hs,
                Index::Entity => &mut batches.by_entity,
            };
            batch.insert(key, &[][..]);
        }
        let now_latest = Latest {
            id,
            version: verdict.invoice_version,
            hash: verdict.invoice_hash.clone(),
        };
        batches
            .invoices
            .insert(invoice_key.as_slice(), now_latest.encode());

        staged.insert(invoice_key, (now_latest, outcomes.len()));
        Ok(Appended::Verdict {
            verdict: StoredVerdict {
                verdict,
                link,
                decisions: Vec::new(),
            },
            replayed: false,
        })
    }

    fn stage_decision(
        &mut self,
        mut decision: ReviewDecision,
        exporter_id: &str,
        batches: &mut Batches,
    ) -> Result<StoredDecision, AuditError> {
        let verdict_id =
            Ulid::from_string(&decision.verdict_id).map_err(|e| AuditError::Corrupt {
                key: decision.verdict_id.clone(),
                reason: format!("not a verdict id: {e}"),
            })?;
        let (id, now) = self.next_id()?;
        decision.decision_id = id.to_string();
        decision.decided_at_unix_nanos = now;
        if decision.outcome != ReviewOutcome::Released {
            decision.cleared_matches.clear();
        }
        let link = self.chain(batches, RecordRef::Decision(&decision))?;
        batches.decisions_of.insert(
            keys::with_sequence(verdict_id.to_bytes().to_vec(), link.sequence),
            &[][..],
        );
        for matched in &decision.cleared_matches {
            let key = keys::parts(&[
                exporter_id,
                &matched.list_id,
                &matched.entity_id,
                &matched.party_key,
            ]);
            let clearance = Clearance {
                matched: matched.clone(),
                decision_id: decision.decision_id.clone(),
                decision_sequence: link.sequence,
            };
            batches
                .clearances
                .insert(key, serde_json::to_vec(&clearance)?);
        }
        Ok(StoredDecision { decision, link })
    }

    fn apply(&self, batches: Batches) -> Result<(), AuditError> {
        let t = &self.trees;
        let trees = [
            &t.chain,
            &t.verdict_seq,
            &t.decisions_of,
            &t.by_exporter,
            &t.by_invoice,
            &t.by_decision,
            &t.by_hs,
            &t.by_entity,
            &t.invoices,
            &t.clearances,
            &t.meta,
        ];
        let b = &batches;
        let writes = [
            &b.chain,
            &b.verdict_seq,
            &b.decisions_of,
            &b.by_exporter,
            &b.by_invoice,
            &b.by_decision,
            &b.by_hs,
            &b.by_entity,
            &b.invoices,
            &b.clearances,
            &b.meta,
        ];
        trees[..]
            .transaction(|views| {
                for (view, batch) in views.iter().zip(writes) {
                    view.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => AuditError::Storage(e),
                TransactionError::Abort(()) => AuditError::Corrupt {
                    key: "commit".into(),
                    reason: "transaction aborted".into(),
                },
            })
    }
}
