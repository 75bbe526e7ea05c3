//! Domain types: what is screened and what the screening concludes.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use super::hs::HsCode;

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The outcome of screening, ordered by severity so that `max` picks the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Clear,
    Review,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Clear => "clear",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    Consignee,
    EndUser,
    IntermediateConsignee,
    Notify,
    FreightForwarder,
    Exporter,
}

impl PartyRole {
    /// How the role reads in an explanation.
    pub fn label(self) -> &'static str {
        match self {
            PartyRole::Consignee => "Consignee",
            PartyRole::EndUser => "End user",
            PartyRole::IntermediateConsignee => "Intermediate consignee",
            PartyRole::Notify => "Notify party",
            PartyRole::FreightForwarder => "Freight forwarder",
            PartyRole::Exporter => "Exporter",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    pub scheme: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub role: PartyRole,
    pub id: String,
    pub name: String,
    pub address: String,
    pub country: Option<CountryCode>,
    pub identifiers: Vec<Identifier>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub line_number: u32,
    pub hs_code: HsCode,
    pub description: String,
    pub quantity: f64,
    pub quantity_unit: String,
    pub value: String,
    pub currency: String,
}

/// A validated invoice. Built only through the API edge's validation or by tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub invoice_id: String,
    pub exporter: Party,
    pub consignee: Party,
    pub other_parties: Vec<Party>,
    pub destination_country: CountryCode,
    pub transit_countries: Vec<CountryCode>,
    pub line_items: Vec<LineItem>,
    pub invoice_date: Option<String>,
}

impl Invoice {
    /// SHA-256 (hex) of the invoice's canonical content: its validated, normalised form, so a
    /// retry that differs only in what validation normalises counts as identical.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        // Serialising plain structs (no maps) is deterministic: field order is declaration order.
        match serde_json::to_vec(self) {
            Ok(bytes) => hasher.update(&bytes),
            // Cannot happen for these types; hash the debug form rather than panic.
            Err(_) => hasher.update(format!("{self:?}").as_bytes()),
        }
        hex(&hasher.finalize())
    }

    /// The distinct HS subheadings (6 digits) on the invoice, sorted.
    pub fn hs6_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .line_items
            .iter()
            .map(|l| l.hs_code.hs6().to_owned())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    /// The parties screened against the lists: everyone but the exporter (the caller).
    pub fn screened_parties(&self) -> impl Iterator<Item = &Party> {
        std::iter::once(&self.consignee).chain(self.other_parties.iter())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    ChplGoods,
    PartyMatch,
    Destination,
    Transshipment,
    UnknownHsCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedOn {
    Name,
    Alias,
    Identifier,
    Mention,
}

impl MatchedOn {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedOn::Name => "name",
            MatchedOn::Alias => "alias",
            MatchedOn::Identifier => "identifier",
            MatchedOn::Mention => "mention",
        }
    }
}

/// One reason behind a verdict. Fields that do not apply to the kind stay empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Decision,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line_number: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hs_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chpl_tier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_role: Option<PartyRole>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub party_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub list_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched_name: String,
    #[serde(default)]
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_on: Option<MatchedOn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    pub explanation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub country: String,
    /// Party findings: the listed entity's content version when matched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity_version: String,
    /// A released match on the same entity version: kept for the record, not counted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suppressed: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suppressed_by_decision_id: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Finding {
    /// A finding of `kind` with every optional field empty.
    pub fn new(kind: FindingKind, severity: Decision, explanation: String) -> Self {
        Finding {
            kind,
            severity,
            line_number: 0,
            hs_code: String::new(),
            chpl_tier: String::new(),
            party_role: None,
            party_name: String::new(),
            list_id: String::new(),
            entity_id: String::new(),
            matched_name: String::new(),
            score: 0.0,
            matched_on: None,
            programs: Vec::new(),
            explanation,
            country: String::new(),
            entity_version: String::new(),
            suppressed: false,
            suppressed_by_decision_id: String::new(),
        }
    }
}

/// The version of one list (or the policy) a verdict was reached with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListVersion {
    pub list_id: String,
    pub content_hash: String,
    pub entry_count: u64,
}

/// What screening concludes about one invoice, before it is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    pub decision: Decision,
    pub findings: Vec<Finding>,
}

impl Screening {
    /// The decision is the most severe finding that is not suppressed; none means CLEAR.
    pub fn from_findings(findings: Vec<Finding>) -> Self {
        let decision = decide(&findings);
        Screening { decision, findings }
    }

    /// Marks party matches this exporter's officers released as suppressed and decides again.
    /// `cleared` answers, for a party finding's [`ClearanceKey`], the clearance in force (the
    /// caller confirms it against the decision that made it, so that a clearance planted in the
    /// store suppresses nothing). A clearance holds only for the entity version it was given
    /// on, so any list change to the entity lifts it.
    pub fn suppress_cleared(
        &mut self,
        mut cleared: impl FnMut(&ClearanceKey<'_>) -> Option<Clearance>,
    ) {
        let mut suppressed_any = false;
        for f in &mut self.findings {
            if f.kind != FindingKind::PartyMatch || f.party_role.is_none() {
                continue;
            }
            let found = cleared(&ClearanceKey {
                party_key: party_key(&f.party_name),
                list_id: &f.list_id,
                entity_id: &f.entity_id,
            });
            if let Some(c) = found
                && c.matched.entity_version == f.entity_version
            {
                f.suppressed = true;
                f.suppressed_by_decision_id = c.decision_id;
                suppressed_any = true;
            }
        }
        if suppressed_any {
            self.decision = decide(&self.findings);
        }
    }
}

/// What a release is remembered by: the party (its normalised name), the list and the entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearanceKey<'a> {
    pub party_key: String,
    pub list_id: &'a str,
    pub entity_id: &'a str,
}

fn decide(findings: &[Finding]) -> Decision {
    findings
        .iter()
        .filter(|f| !f.suppressed)
        .map(|f| f.severity)
        .max()
        .unwrap_or(Decision::Clear)
}

/// How a screened party is recognised across invoices for clearances: its normalised name,
/// order- and script-insensitive ("ООО «Электроком»" and "ELEKTROKOM, OOO" agree).
pub fn party_key(name: &str) -> String {
    super::party::normalize::normalize(name).key()
}

/// A compliance officer's outcome on a REVIEW or BLOCK verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Released,
    Confirmed,
    Escalated,
}

/// A party match a release cleared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearedMatch {
    pub party_role: PartyRole,
    pub party_name: String,
    pub party_key: String,
    pub list_id: String,
    pub entity_id: String,
    pub entity_version: String,
}

impl ClearedMatch {
    /// The party matches a release of `verdict` clears: every counted match on a screened
    /// party (mentions in goods descriptions name no party and stay).
    pub fn from_verdict(verdict: &Verdict) -> Vec<ClearedMatch> {
        verdict
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::PartyMatch && !f.suppressed)
            .filter_map(|f| {
                Some(ClearedMatch {
                    party_role: f.party_role?,
                    party_name: f.party_name.clone(),
                    party_key: party_key(&f.party_name),
                    list_id: f.list_id.clone(),
                    entity_id: f.entity_id.clone(),
                    entity_version: f.entity_version.clone(),
                })
            })
            .collect()
    }
}

/// A cleared match in force for an exporter, and the decision that cleared it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clearance {
    pub matched: ClearedMatch,
    pub decision_id: String,
    /// Where that decision sits in the audit log.
    pub decision_sequence: u64,
}

/// A compliance officer's decision on a verdict. Appended to the audit log; the verdict
/// itself never changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewDecision {
    pub decision_id: String,
    pub verdict_id: String,
    pub reviewer: String,
    pub outcome: ReviewOutcome,
    pub reason: String,
    /// Nanoseconds since the Unix epoch.
    pub decided_at_unix_nanos: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared_matches: Vec<ClearedMatch>,
}

/// A stored verdict: the screening plus who, when and with which lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict_id: String,
    pub invoice_id: String,
    pub exporter_id: String,
    pub decision: Decision,
    pub findings: Vec<Finding>,
    /// Nanoseconds since the Unix epoch.
    pub screened_at_unix_nanos: i64,
    pub list_versions: Vec<ListVersion>,
    pub policy_version: String,
    /// SHA-256 of the invoice's canonical content ([`Invoice::content_hash`]).
    pub invoice_hash: String,
    /// 1, 2, ... per exporter and invoice id; set by the audit log when stored.
    pub invoice_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub previous_version_verdict_id: String,
    /// The invoice's distinct HS subheadings.
    pub hs_codes: Vec<String>,
}
