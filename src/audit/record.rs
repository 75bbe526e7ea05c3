//! The stored form of audit records and the hash chain over them.
//!
//! A record is stored as `FORMAT ‖ previous_hash (32) ‖ record_hash (32) ‖ body`, where the body
//! is the JSON of [`Envelope`] (the sequence and the tagged record) and
//! `record_hash = SHA-256(FORMAT ‖ previous_hash ‖ body)`. Verification hashes the stored bytes
//! as they are, so it never depends on re-encoding a record the same way.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditError;
use crate::screening::model::{ReviewDecision, Verdict, hex};

/// The version of the encoding; part of every hash, so a future encoding cannot be confused
/// with this one.
pub const FORMAT_V2: u8 = 2;
const HEADER_LEN: usize = 1 + 32 + 32;
pub type Hash = [u8; 32];
/// The previous hash of the first record.
pub const GENESIS: Hash = [0; 32];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Verdict(Verdict),
    Decision(ReviewDecision),
}

/// A record to encode, borrowed (serialises exactly as [`Record`]).
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordRef<'a> {
    Verdict(&'a Verdict),
    Decision(&'a ReviewDecision),
}

impl Record {
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Record::Verdict(v) => RecordRef::Verdict(v),
            Record::Decision(d) => RecordRef::Decision(d),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<R> {
    sequence: u64,
    record: R,
}

/// Just the sequence of a stored body, for verification.
#[derive(Deserialize)]
struct SequenceOnly {
    sequence: u64,
}

/// Where a record sits in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLink {
    pub sequence: u64,
    pub previous_hash: Hash,
    pub record_hash: Hash,
}

impl ChainLink {
    pub fn previous_hex(&self) -> String {
        hex(&self.previous_hash)
    }
    pub fn record_hex(&self) -> String {
        hex(&self.record_hash)
    }
}

fn record_hash(previous: &Hash, body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([FORMAT_V2]);
    h.update(previous);
    h.update(body);
    h.finalize().into()
}

/// Encodes `record` as the `sequence`th record after `previous`: the bytes to store and the link.
pub fn encode(
    sequence: u64,
    previous: Hash,
    record: RecordRef<'_>,
) -> Result<(Vec<u8>, ChainLink), AuditError> {
    let body = serde_json::to_vec(&Envelope { sequence, record })?;
    let hash = record_hash(&previous, &body);
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.push(FORMAT_V2);
    bytes.extend_from_slice(&previous);
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(&body);
    Ok((
        bytes,
        ChainLink {
            sequence,
            previous_hash: previous,
            record_hash: hash,
        },
    ))
}

/// The parts of stored bytes, without checking the hash.
struct Parts<'a> {
    previous: Hash,
    hash: Hash,
    body: &'a [u8],
}

fn split(bytes: &[u8]) -> Result<Parts<'_>, String> {
    match bytes.first() {
        Some(&FORMAT_V2) => {}
        Some(other) => return Err(format!("unknown record format {other}")),
        None => return Err("empty record".into()),
    }
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "record of {} bytes is shorter than its header",
            bytes.len()
        ));
    }
    let mut previous = [0; 32];
    let mut hash = [0; 32];
    previous.copy_from_slice(&bytes[1..33]);
    hash.copy_from_slice(&bytes[33..65]);
    Ok(Parts {
        previous,
        hash,
        body: &bytes[HEADER_LEN..],
    })
}

/// Decodes stored bytes (read path: the hash is not re-computed; see [`check`]).
pub fn decode(sequence: u64, bytes: &[u8]) -> Result<(Record, ChainLink), AuditError> {
    let corrupt = |reason: String| AuditError::Corrupt {
        key: format!("sequence {sequence}"),
        reason,
    };
    let parts = split(bytes).map_err(corrupt)?;
    let envelope: Envelope<Record> =
        serde_json::from_slice(parts.body).map_err(|e| corrupt(e.to_string()))?;
    Ok((
        envelope.record,
        ChainLink {
            sequence: envelope.sequence,
            previous_hash: parts.previous,
            record_hash: parts.hash,
        },
    ))
}

/// Why the chain is broken at a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    ContentChanged,
    RecordMissing,
    OrderBroken,
    Unreadable,
    AnchorMismatch,
    /// The record is intact but an index entry of it is gone (it would be missing from
    /// queries).
    IndexMissing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub sequence: u64,
    pub kind: BreakKind,
    pub detail: String,
}

/// Checks one stored record found under key `sequence`: that its bytes still hash to its
/// record hash, that it was written at this sequence, and that it follows `expected_previous`
/// (when known). Returns its record hash.
pub fn check(
    sequence: u64,
    bytes: &[u8],
    expected_previous: Option<&Hash>,
) -> Result<Hash, ChainBreak> {
    let broken = |kind, detail: String| ChainBreak {
        sequence,
        kind,
        detail,
    };
    let parts = split(bytes).map_err(|e| broken(BreakKind::Unreadable, e))?;
    if record_hash(&parts.previous, parts.body) != parts.hash {
        return Err(broken(
            BreakKind::ContentChanged,
            format!(
                "record {sequence} no longer hashes to its record_hash {}",
                hex(&parts.hash)
            ),
        ));
    }
    let written_at = serde_json::from_slice::<SequenceOnly>(parts.body)
        .map_err(|e| broken(BreakKind::Unreadable, e.to_string()))?
        .sequence;
    if written_at != sequence {
        return Err(broken(
            BreakKind::OrderBroken,
            format!("the record written as sequence {written_at} is stored at sequence {sequence}"),
        ));
    }
    if let Some(expected) = expected_previous
        && *expected != parts.previous
    {
        return Err(broken(
            BreakKind::OrderBroken,
            format!(
                "previous_hash {} is not the record_hash {} of record {}: that record was rewritten or records were reordered",
                hex(&parts.previous),
                hex(expected),
                sequence.saturating_sub(1)
            ),
        ));
    }
    Ok(parts.hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::model::ReviewOutcome;

    fn decision(reason: &str) -> Record {
        Record::Decision(ReviewDecision {
            decision_id: "01J0000000000000000000000A".into(),
            verdict_id: "01J0000000000000000000000B".into(),
            reviewer: "officer@example.com".into(),
            outcome: ReviewOutcome::Confirmed,
            reason: reason.into(),
            decided_at_unix_nanos: 1,
            cleared_matches: Vec::new(),
        })
    }

    #[test]
    fn encoded_records_decode_and_check() {
        let (bytes, link) = encode(7, GENESIS, decision("listed end user").as_ref()).unwrap();
        assert_eq!(check(7, &bytes, Some(&GENESIS)), Ok(link.record_hash));
        let (record, decoded) = decode(7, &bytes).unwrap();
        assert_eq!(record, decision("listed end user"));
        assert_eq!(decoded, link);
    }

    #[test]
    fn a_changed_byte_is_content_changed() {
        let (mut bytes, _) = encode(1, GENESIS, decision("listed end user").as_ref()).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 1;
        assert_eq!(
            check(1, &bytes, Some(&GENESIS)).unwrap_err().kind,
            BreakKind::ContentChanged
        );
    }

    #[test]
    fn a_record_at_another_sequence_or_after_another_record_is_out_of_order() {
        let (bytes, _) = encode(2, GENESIS, decision("a").as_ref()).unwrap();
        assert_eq!(
            check(3, &bytes, None).unwrap_err().kind,
            BreakKind::OrderBroken
        );
        assert_eq!(
            check(2, &bytes, Some(&[1; 32])).unwrap_err().kind,
            BreakKind::OrderBroken
        );
    }

    #[test]
    fn the_hash_covers_the_format_and_the_previous_hash() {
        let (a, _) = encode(1, GENESIS, decision("a").as_ref()).unwrap();
        let (b, _) = encode(1, [1; 32], decision("a").as_ref()).unwrap();
        assert_ne!(a[33..65], b[33..65]);
        let mut wrong_format = a.clone();
        wrong_format[0] = 1;
        assert_eq!(
            check(1, &wrong_format, None).unwrap_err().kind,
            BreakKind::Unreadable
        );
    }
}
