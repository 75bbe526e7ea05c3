//! Domain → proto conversion for responses.
use crate::audit::{BreakKind, ChainHead, StoredDecision, StoredVerdict, VerifyReport};
use crate::pb;
use crate::screening::model::{
    ClearedMatch, Decision, Finding, FindingKind, ListVersion, MatchedOn, PartyRole, ReviewOutcome,
    Verdict, hex,
};

pub fn decision(d: Decision) -> pb::Decision {
    match d {
        Decision::Clear => pb::Decision::Clear,
        Decision::Review => pb::Decision::Review,
        Decision::Block => pb::Decision::Block,
    }
}

/// The domain decision of a request field; `Ok(None)` when unset.
pub fn decision_from_pb(raw: i32) -> Result<Option<Decision>, String> {
    match pb::Decision::try_from(raw) {
        Ok(pb::Decision::Unspecified) => Ok(None),
        Ok(pb::Decision::Clear) => Ok(Some(Decision::Clear)),
        Ok(pb::Decision::Review) => Ok(Some(Decision::Review)),
        Ok(pb::Decision::Block) => Ok(Some(Decision::Block)),
        Err(_) => Err(format!("{raw} is not a Decision value")),
    }
}

fn party_role(role: PartyRole) -> pb::PartyRole {
    match role {
        PartyRole::Consignee => pb::PartyRole::Consignee,
        PartyRole::EndUser => pb::PartyRole::EndUser,
        PartyRole::IntermediateConsignee => pb::PartyRole::IntermediateConsignee,
        PartyRole::Notify => pb::PartyRole::Notify,
        PartyRole::FreightForwarder => pb::PartyRole::FreightForwarder,
        PartyRole::Exporter => pb::PartyRole::Exporter,
    }
}

fn finding_kind(kind: FindingKind) -> pb::FindingKind {
    match kind {
        FindingKind::ChplGoods => pb::FindingKind::ChplGoods,
        FindingKind::PartyMatch => pb::FindingKind::PartyMatch,
        FindingKind::Destination => pb::FindingKind::Destination,
        FindingKind::Transshipment => pb::FindingKind::Transshipment,
        FindingKind::UnknownHsCode => pb::FindingKind::UnknownHsCode,
    }
}

fn matched_on(m: MatchedOn) -> pb::MatchedOn {
    match m {
        MatchedOn::Name => pb::MatchedOn::Name,
        MatchedOn::Alias => pb::MatchedOn::Alias,
        MatchedOn::Identifier => pb::MatchedOn::Identifier,
        MatchedOn::Mention => pb::MatchedOn::Mention,
    }
}

fn finding(f: Finding) -> pb::Finding {
    pb::Finding {
        kind: finding_kind(f.kind) as i32,
        severity: decision(f.severity) as i32,
        line_number: f.line_number,
        hs_code: f.hs_code,
        chpl_tier: f.chpl_tier,
        party_role: f.party_role.map_or(0, |r| party_role(r) as i32),
        party_name: f.party_name,
        list_id: f.list_id,
        entity_id: f.entity_id,
        matched_name: f.matched_name,
        score: f.score,
        matched_on: f.matched_on.map_or(0, |m| matched_on(m) as i32),
        programs: f.programs,
        explanation: f.explanation,
        country: f.country,
        entity_version: f.entity_version,
        suppressed: f.suppressed,
        suppressed_by_decision_id: f.suppressed_by_decision_id,
    }
}

fn list_version(v: ListVersion) -> pb::ListVersion {
    pb::ListVersion {
        list_id: v.list_id,
        content_hash: v.content_hash,
        entry_count: v.entry_count,
    }
}

pub fn timestamp(unix_nanos: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: unix_nanos.div_euclid(1_000_000_000),
        // In 0..1e9, so it fits.
        nanos: unix_nanos.rem_euclid(1_000_000_000) as i32,
    }
}

/// Nanoseconds since the epoch of a request timestamp, or why it is not valid.
pub fn timestamp_nanos(t: &prost_types::Timestamp) -> Result<i64, String> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err("nanos must be in 0..1e9".into());
    }
    t.seconds
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(i64::from(t.nanos)))
        .ok_or_else(|| "is out of range".to_owned())
}

/// A stored verdict with its place in the chain and its review decisions.
pub fn verdict(stored: StoredVerdict) -> pb::Verdict {
    let StoredVerdict {
        verdict,
        link,
        decisions,
    } = stored;
    pb::Verdict {
        sequence: link.sequence,
        previous_hash: link.previous_hex(),
        record_hash: link.record_hex(),
        decisions: decisions.into_iter().map(review_decision).collect(),
        ..unstored_verdict(verdict)
    }
}

/// A verdict that was not stored (offline screening): no chain fields, no decisions.
pub fn unstored_verdict(v: Verdict) -> pb::Verdict {
    pb::Verdict {
        verdict_id: v.verdict_id,
        invoice_id: v.invoice_id,
        exporter_id: v.exporter_id,
        decision: decision(v.decision) as i32,
        findings: v.findings.into_iter().map(finding).collect(),
        screened_at: Some(timestamp(v.screened_at_unix_nanos)),
        list_versions: v.list_versions.into_iter().map(list_version).collect(),
        policy_version: v.policy_version,
        invoice_hash: v.invoice_hash,
        invoice_version: v.invoice_version,
        previous_version_verdict_id: v.previous_version_verdict_id,
        hs_codes: v.hs_codes,
        sequence: 0,
        previous_hash: String::new(),
        record_hash: String::new(),
        decisions: Vec::new(),
    }
}

fn outcome(o: ReviewOutcome) -> pb::ReviewOutcome {
    match o {
        ReviewOutcome::Released => pb::ReviewOutcome::Released,
        ReviewOutcome::Confirmed => pb::ReviewOutcome::Confirmed,
        ReviewOutcome::Escalated => pb::ReviewOutcome::Escalated,
    }
}

fn cleared_match(m: ClearedMatch) -> pb::ClearedMatch {
    pb::ClearedMatch {
        party_role: party_role(m.party_role) as i32,
        party_name: m.party_name,
        list_id: m.list_id,
        entity_id: m.entity_id,
        entity_version: m.entity_version,
    }
}

pub fn review_decision(stored: StoredDecision) -> pb::ReviewDecision {
    let StoredDecision { decision: d, link } = stored;
    pb::ReviewDecision {
        decision_id: d.decision_id,
        verdict_id: d.verdict_id,
        reviewer: d.reviewer,
        outcome: outcome(d.outcome) as i32,
        reason: d.reason,
        decided_at: Some(timestamp(d.decided_at_unix_nanos)),
        cleared_matches: d.cleared_matches.into_iter().map(cleared_match).collect(),
        sequence: link.sequence,
        previous_hash: link.previous_hex(),
        record_hash: link.record_hex(),
    }
}

pub fn chain_head(head: ChainHead) -> pb::ChainHead {
    pb::ChainHead {
        sequence: head.sequence,
        record_hash: hex(&head.record_hash),
    }
}

fn chain_break(kind: BreakKind) -> pb::ChainBreak {
    match kind {
        BreakKind::ContentChanged => pb::ChainBreak::ContentChanged,
        BreakKind::RecordMissing => pb::ChainBreak::RecordMissing,
        BreakKind::OrderBroken => pb::ChainBreak::OrderBroken,
        BreakKind::Unreadable => pb::ChainBreak::Unreadable,
        BreakKind::AnchorMismatch => pb::ChainBreak::AnchorMismatch,
        BreakKind::IndexMissing => pb::ChainBreak::IndexMissing,
    }
}

pub fn verify_report(r: VerifyReport) -> pb::VerifyAuditLogResponse {
    let (first_broken_sequence, reason, detail) = match r.first_break {
        Some(b) => (b.sequence, chain_break(b.kind) as i32, b.detail),
        None => (0, 0, String::new()),
    };
    pb::VerifyAuditLogResponse {
        ok: first_broken_sequence == 0 && reason == 0,
        from_sequence: r.from_sequence,
        to_sequence: r.to_sequence,
        records_checked: r.records_checked,
        first_broken_sequence,
        reason,
        detail,
        head: Some(chain_head(r.head)),
    }
}
