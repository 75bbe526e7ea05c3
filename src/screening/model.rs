//! Domain types: what is screened and what the screening concludes.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use super::hs::HsCode;

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
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
    /// The decision is the most severe finding; no findings means CLEAR.
    pub fn from_findings(findings: Vec<Finding>) -> Self {
        let decision = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Decision::Clear);
        Screening { decision, findings }
    }
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
}
