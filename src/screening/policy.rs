//! The screening policy: which findings weigh how much. It is data (a versioned TOML file,
//! `data/policy.toml` bundled as the default), so compliance can change it without a release.
use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::country::CountryCode;
use super::hs::ChplTier;
use super::model::Decision;

/// The bundled default policy.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../data/policy.toml");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("policy field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

/// Severities for CHPL goods of one tier.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    /// The CHPL_GOODS finding itself (CHPL goods to an ordinary destination).
    pub goods: Decision,
    /// CHPL goods to, or with a consignee or end user in, a prohibited destination.
    pub prohibited_destination: Decision,
    /// CHPL goods to or through a transshipment hub.
    pub transshipment: Decision,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    unknown_hs_code: Decision,
    tiers: BTreeMap<String, TierPolicy>,
    route: RawRoute,
    parties: PartyThresholds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    prohibited_destinations: Vec<String>,
    transshipment_hubs: Vec<String>,
    transit_only_hubs: Vec<String>,
    non_chpl_goods_to_prohibited_destination: Decision,
}

/// Party-match scores (0..1) at and above which a match blocks or asks for review.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartyThresholds {
    pub block_score: f64,
    pub review_score: f64,
}

/// A validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub version: String,
    pub unknown_hs_code: Decision,
    tiers: BTreeMap<ChplTier, TierPolicy>,
    prohibited: HashSet<String>,
    hubs: HashSet<String>,
    transit_only_hubs: HashSet<String>,
    pub non_chpl_goods_to_prohibited_destination: Decision,
    pub parties: PartyThresholds,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn country_set(field: &str, codes: &[String]) -> Result<HashSet<String>, PolicyError> {
    codes
        .iter()
        .map(|c| {
            CountryCode::parse(c)
                .map(String::from)
                .map_err(|e| invalid(field, format!("{c:?}: {e}")))
        })
        .collect()
}

impl Policy {
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text)?;
        if raw.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        let mut tiers = BTreeMap::new();
        for (name, tier_policy) in raw.tiers {
            let tier = ChplTier::parse(&name)
                .ok_or_else(|| invalid(format!("tiers.{name}"), "not a CHPL tier"))?;
            tiers.insert(tier, tier_policy);
        }
        if let Some(missing) = ChplTier::ALL.iter().find(|t| !tiers.contains_key(t)) {
            return Err(invalid(
                format!("tiers.\"{}\"", missing.as_str()),
                "every CHPL tier needs a policy",
            ));
        }
        let PartyThresholds {
            block_score,
            review_score,
        } = raw.parties;
        if !(0.0 < review_score && review_score <= block_score && block_score <= 1.0) {
            return Err(invalid(
                "parties",
                "need 0 < review_score <= block_score <= 1",
            ));
        }
        Ok(Policy {
            version: raw.version,
            unknown_hs_code: raw.unknown_hs_code,
            tiers,
            prohibited: country_set(
                "route.prohibited_destinations",
                &raw.route.prohibited_destinations,
            )?,
            hubs: country_set("route.transshipment_hubs", &raw.route.transshipment_hubs)?,
            transit_only_hubs: country_set(
                "route.transit_only_hubs",
                &raw.route.transit_only_hubs,
            )?,
            non_chpl_goods_to_prohibited_destination: raw
                .route
                .non_chpl_goods_to_prohibited_destination,
            parties: raw.parties,
        })
    }

    pub fn bundled() -> Result<Self, PolicyError> {
        Policy::from_toml(DEFAULT_POLICY_TOML)
    }

    pub fn tier(&self, tier: ChplTier) -> TierPolicy {
        // Every tier is present: `from_toml` refuses a policy without one.
        self.tiers.get(&tier).copied().unwrap_or(TierPolicy {
            goods: Decision::Review,
            prohibited_destination: Decision::Block,
            transshipment: Decision::Review,
        })
    }

    /// A prohibited destination: listed as a country (`RU`) or as a subdivision (`UA-43`).
    pub fn is_prohibited(&self, country: &CountryCode) -> bool {
        self.prohibited.contains(country.as_str()) || self.prohibited.contains(country.alpha2())
    }

    /// A hub as destination (or place of an intermediate party).
    pub fn is_destination_hub(&self, country: &CountryCode) -> bool {
        self.hubs.contains(country.alpha2())
    }

    /// A hub as a transit country: all hubs plus the transit-only ones.
    pub fn is_transit_hub(&self, country: &CountryCode) -> bool {
        self.is_destination_hub(country) || self.transit_only_hubs.contains(country.alpha2())
    }

    pub fn party_decision(&self, score: f64) -> Option<Decision> {
        if score >= self.parties.block_score {
            Some(Decision::Block)
        } else if score >= self.parties.review_score {
            Some(Decision::Review)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_policy_is_valid_and_covers_the_issue_rules() {
        let policy = Policy::bundled().unwrap();
        let c = |s| CountryCode::parse(s).unwrap();
        for prohibited in [
            "RU", "BY", "UA-43", "UA-40", "UA-14", "UA-09", "UA-23", "UA-65",
        ] {
            assert!(policy.is_prohibited(&c(prohibited)), "{prohibited}");
        }
        assert!(!policy.is_prohibited(&c("UA")));
        assert!(!policy.is_prohibited(&c("UA-30")));
        for hub in [
            "AM", "KZ", "KG", "GE", "AE", "UZ", "TJ", "CN", "HK", "IR", "RS",
        ] {
            assert!(policy.is_destination_hub(&c(hub)), "{hub}");
        }
        assert!(!policy.is_destination_hub(&c("TR")));
        assert!(policy.is_transit_hub(&c("TR")));
        assert!(!policy.is_transit_hub(&c("DE")));
        assert_eq!(
            policy.tier(ChplTier::T1).prohibited_destination,
            Decision::Block
        );
        assert_eq!(policy.party_decision(1.0), Some(Decision::Block));
        assert_eq!(policy.party_decision(0.0), None);
    }

    #[test]
    fn a_policy_missing_a_tier_is_refused() {
        let text = DEFAULT_POLICY_TOML.replace("[tiers.\"4.B\"]", "[tiers.\"9\"]");
        let err = Policy::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("tiers.9"), "{err}");
    }

    #[test]
    fn a_bad_country_in_the_policy_is_refused() {
        let text = DEFAULT_POLICY_TOML.replace("\"KG\"", "\"KGZ\"");
        let err = Policy::from_toml(&text).unwrap_err();
        assert!(
            err.to_string().contains("route.transshipment_hubs"),
            "{err}"
        );
    }

    #[test]
    fn toml_errors_carry_their_line() {
        let err = Policy::from_toml("version = \"x\"\nunknown_hs_code = \"maybe\"\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
