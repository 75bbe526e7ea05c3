//! The screening domain: pure functions from an invoice to a screening, no I/O.
pub mod country;
pub mod hs;
pub mod model;
pub mod party;
pub mod policy;

use std::collections::BTreeSet;

use self::country::CountryCode;
use self::hs::{ChplTable, ChplTier, HsNomenclature, dotted};
use self::model::{Decision, Finding, FindingKind, Invoice, Party, PartyRole, Screening};
use self::party::{Matcher, PartyMatch, PartyQuery};
use self::policy::Policy;

/// Everything screening needs, immutable once built; a new list version builds a new one.
pub struct Screener {
    pub chpl: ChplTable,
    pub hs: HsNomenclature,
    pub parties: Matcher,
    pub policy: Policy,
}

/// A line carrying CHPL goods.
struct ChplLine {
    line_number: u32,
    tier: ChplTier,
}

impl Screener {
    pub fn screen(&self, invoice: &Invoice) -> Screening {
        let mut findings = Vec::new();
        let chpl_lines = self.screen_goods(invoice, &mut findings);
        self.screen_route(invoice, &chpl_lines, &mut findings);
        for party in invoice.screened_parties() {
            self.screen_party(party, &mut findings);
        }
        self.screen_descriptions(invoice, &mut findings);
        Screening::from_findings(findings)
    }

    fn screen_goods(&self, invoice: &Invoice, findings: &mut Vec<Finding>) -> Vec<ChplLine> {
        let mut chpl_lines = Vec::new();
        for line in &invoice.line_items {
            let hs6 = line.hs_code.hs6();
            if let Some(entry) = self.chpl.get(&line.hs_code) {
                let severity = self.policy.tier(entry.tier).goods;
                let mut f = Finding::new(
                    FindingKind::ChplGoods,
                    severity,
                    format!(
                        "Line {}: HS {} ({}) is on the Common High Priority List, tier {}.",
                        line.line_number,
                        dotted(hs6),
                        entry.description,
                        entry.tier.as_str()
                    ),
                );
                f.line_number = line.line_number;
                f.hs_code = hs6.to_owned();
                f.chpl_tier = entry.tier.as_str().to_owned();
                findings.push(f);
                chpl_lines.push(ChplLine {
                    line_number: line.line_number,
                    tier: entry.tier,
                });
            } else if !self.hs.contains(&line.hs_code) {
                let mut f = Finding::new(
                    FindingKind::UnknownHsCode,
                    self.policy.unknown_hs_code,
                    format!(
                        "Line {}: HS code {} is not an HS 2022 subheading, so the goods could not be checked against the CHPL.",
                        line.line_number,
                        dotted(hs6)
                    ),
                );
                f.line_number = line.line_number;
                f.hs_code = hs6.to_owned();
                findings.push(f);
            }
        }
        chpl_lines
    }

    fn screen_route(&self, invoice: &Invoice, chpl: &[ChplLine], findings: &mut Vec<Finding>) {
        let lines_text = || {
            // Enough to find the lines; a 10,000-line invoice should not make a 10,000-item sentence.
            const SHOWN: usize = 10;
            let mut text: Vec<String> = chpl
                .iter()
                .take(SHOWN)
                .map(|l| format!("{} (tier {})", l.line_number, l.tier.as_str()))
                .collect();
            if chpl.len() > SHOWN {
                text.push(format!("and {} more", chpl.len() - SHOWN));
            }
            text.join(", ")
        };
        let worst = |pick: fn(policy::TierPolicy) -> Decision| {
            chpl.iter()
                .map(|l| pick(self.policy.tier(l.tier)))
                .max()
                .unwrap_or(Decision::Clear)
        };

        // Prohibited destinations: the destination itself, or where the consignee, end user or
        // an intermediate consignee sits.
        let mut places: Vec<(String, &CountryCode)> =
            vec![("The destination".to_owned(), &invoice.destination_country)];
        for party in invoice.screened_parties() {
            if matches!(
                party.role,
                PartyRole::Consignee | PartyRole::EndUser | PartyRole::IntermediateConsignee
            ) && let Some(country) = &party.country
            {
                places.push((
                    format!("The {}'s country", party.role.label().to_lowercase()),
                    country,
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for (what, country) in places {
            if !self.policy.is_prohibited(country) || !seen.insert(country.as_str()) {
                continue;
            }
            let (severity, explanation) = if chpl.is_empty() {
                (
                    self.policy.non_chpl_goods_to_prohibited_destination,
                    format!(
                        "{what} {country} is a prohibited destination; no line carries CHPL goods."
                    ),
                )
            } else {
                (
                    worst(|t| t.prohibited_destination),
                    format!(
                        "{what} {country} is a prohibited destination for CHPL goods, carried on line(s) {}.",
                        lines_text()
                    ),
                )
            };
            let mut f = Finding::new(FindingKind::Destination, severity, explanation);
            f.country = country.to_string();
            findings.push(f);
        }

        if chpl.is_empty() {
            return;
        }
        let mut hubs: Vec<(String, &CountryCode)> = Vec::new();
        if self.policy.is_destination_hub(&invoice.destination_country) {
            hubs.push(("is the destination".into(), &invoice.destination_country));
        }
        for country in &invoice.transit_countries {
            if self.policy.is_transit_hub(country) {
                hubs.push(("is a transit country".into(), country));
            }
        }
        for party in &invoice.other_parties {
            if party.role == PartyRole::IntermediateConsignee
                && let Some(country) = &party.country
                && self.policy.is_transit_hub(country)
            {
                hubs.push(("is where an intermediate consignee sits".into(), country));
            }
        }
        let severity = worst(|t| t.transshipment);
        let mut seen = BTreeSet::new();
        for (why, country) in hubs {
            if !seen.insert(country.alpha2()) {
                continue;
            }
            let mut f = Finding::new(
                FindingKind::Transshipment,
                severity,
                format!(
                    "{country} {why} and a known transshipment hub for goods bound for Russia; CHPL goods on line(s) {}.",
                    lines_text()
                ),
            );
            f.country = country.to_string();
            findings.push(f);
        }
    }

    fn screen_party(&self, party: &Party, findings: &mut Vec<Finding>) {
        let query = PartyQuery {
            name: &party.name,
            identifiers: &party.identifiers,
        };
        let shown_name = if party.name.is_empty() {
            "(no name)"
        } else {
            party.name.as_str()
        };
        let by_name = self.parties.find(query, self.policy.parties.review_score);
        let mut matched: Vec<(&str, &str)> = by_name
            .iter()
            .map(|m| (m.entity.list_id.as_str(), m.entity.entity_id.as_str()))
            .collect();
        for m in &by_name {
            let said = format!("{} \"{shown_name}\"", party.role.label());
            if let Some(f) = self.party_finding(m, &said) {
                findings.push(Finding {
                    party_role: Some(party.role),
                    party_name: party.name.clone(),
                    ..f
                });
            }
        }
        if party.address.is_empty() {
            return;
        }
        for m in self.parties.mentions(&party.address) {
            let key = (m.entity.list_id.as_str(), m.entity.entity_id.as_str());
            if matched.contains(&key) {
                continue;
            }
            matched.push(key);
            let said = format!(
                "The {}'s address \"{}\"",
                party.role.label().to_lowercase(),
                party.address
            );
            if let Some(f) = self.party_finding(&m, &said) {
                findings.push(Finding {
                    party_role: Some(party.role),
                    party_name: party.name.clone(),
                    ..f
                });
            }
        }
    }

    /// Listed entities named in goods descriptions.
    fn screen_descriptions(&self, invoice: &Invoice, findings: &mut Vec<Finding>) {
        for line in &invoice.line_items {
            if line.description.is_empty() {
                continue;
            }
            for m in self.parties.mentions(&line.description) {
                let said = format!(
                    "Line {}'s description \"{}\"",
                    line.line_number, line.description
                );
                if let Some(f) = self.party_finding(&m, &said) {
                    findings.push(Finding {
                        line_number: line.line_number,
                        hs_code: line.hs_code.hs6().to_owned(),
                        ..f
                    });
                }
            }
        }
    }

    /// A PARTY_MATCH finding for a match, if the policy gives its score a severity.
    fn party_finding(&self, m: &PartyMatch<'_>, said: &str) -> Option<Finding> {
        let severity = self.policy.party_decision(m.score)?;
        let entity = m.entity;
        let mut f = Finding::new(
            FindingKind::PartyMatch,
            severity,
            format!(
                "{said} matches {} entity {} \"{}\" ({}): {} (score {:.2}).",
                entity.list_id,
                entity.entity_id,
                entity.names.first().map_or("", |n| n.name.as_str()),
                entity.programs.join(", "),
                m.detail,
                m.score
            ),
        );
        f.list_id = entity.list_id.clone();
        f.entity_id = entity.entity_id.clone();
        f.matched_name = m.matched_name.clone();
        f.score = m.score;
        f.matched_on = Some(m.matched_on);
        f.programs = entity.programs.clone();
        f.entity_version = entity.version();
        Some(f)
    }
}
