//! Party screening: finding listed entities behind the names and identifiers on an invoice.
//!
//! The matcher's whole interface is [`Matcher::new`] and [`Matcher::find`]; this version
//! matches exact normalised names and aliases, IDF-weighted token overlap and exact
//! identifiers.
pub mod normalize;

use std::collections::HashMap;

use self::normalize::{normalize, normalize_identifier};
use super::model::{Identifier, MatchedOn};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    Individual,
    Organization,
    Vessel,
    Aircraft,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Primary,
    /// An a.k.a./f.k.a./n.k.a. from the list's alias file.
    Alias,
    /// A "weak a.k.a." from the remarks: a looser name the list itself flags as less reliable.
    WeakAlias,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListName {
    pub name: String,
    pub kind: NameKind,
}

/// What kind of number an identifier is, so that a tax number never matches a passport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentifierCategory {
    Tax,
    Registration,
    Imo,
    Passport,
    NationalId,
    Other,
}

impl IdentifierCategory {
    /// The category of a caller's scheme, such as `RU-INN` or `TR-VKN`.
    pub fn of_scheme(scheme: &str) -> Self {
        let s = scheme.to_ascii_uppercase();
        let has = |needle: &str| s.contains(needle);
        if has("INN") || has("VKN") || has("TAX") || has("VAT") || has("TIN") {
            IdentifierCategory::Tax
        } else if has("OGRN") || has("REG") || has("OKPO") || has("LEI") {
            IdentifierCategory::Registration
        } else if has("IMO") {
            IdentifierCategory::Imo
        } else if has("PASSPORT") {
            IdentifierCategory::Passport
        } else if has("NATIONAL") {
            IdentifierCategory::NationalId
        } else {
            IdentifierCategory::Other
        }
    }

    fn compatible(self, other: Self) -> bool {
        self == other || self == IdentifierCategory::Other || other == IdentifierCategory::Other
    }
}

/// An identifier as the list states it, e.g. `Tax ID No. 7840062534 (Russia)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListIdentifier {
    pub label: String,
    pub value: String,
    pub country: String,
    pub category: IdentifierCategory,
}

/// One listed entity (a person, company, vessel or aircraft).
#[derive(Clone, Debug, PartialEq)]
pub struct ListEntity {
    pub list_id: String,
    pub entity_id: String,
    pub kind: EntityKind,
    /// The primary name first, then aliases.
    pub names: Vec<ListName>,
    pub programs: Vec<String>,
    pub identifiers: Vec<ListIdentifier>,
    pub countries: Vec<String>,
}

/// A possible hit for one queried party.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyMatch<'a> {
    pub entity: &'a ListEntity,
    /// The list name or identifier that matched.
    pub matched_name: String,
    pub matched_on: MatchedOn,
    pub score: f64,
    /// What matched what, for the explanation.
    pub detail: String,
}

/// What the matcher is asked about one party.
#[derive(Clone, Copy, Debug)]
pub struct PartyQuery<'a> {
    pub name: &'a str,
    pub identifiers: &'a [Identifier],
}

/// Exact-name scores by kind of name; token overlap scores are scaled by the same factor.
fn name_weight(kind: NameKind) -> f64 {
    match kind {
        NameKind::Primary => 1.0,
        NameKind::Alias => 0.98,
        NameKind::WeakAlias => 0.9,
    }
}

/// Tokens in more names than this are too common to find candidates with (they still count
/// in the score of candidates found through rarer tokens).
const MAX_CANDIDATE_POSTINGS: usize = 2_000;
/// Identifier values shorter than this are too ambiguous to be decisive.
const MIN_IDENTIFIER_LEN: usize = 5;
/// At most this many matches per party, best first.
const MAX_MATCHES_PER_PARTY: usize = 5;

struct IndexedName {
    entity: u32,
    name: u16,
    tokens: Vec<String>,
    weight_sum: f64,
}

struct TokenStats {
    idf: f64,
    names: Vec<u32>,
}

/// Immutable index over the listed entities; build once per list version.
pub struct Matcher {
    entities: Vec<ListEntity>,
    names: Vec<IndexedName>,
    exact: HashMap<String, Vec<u32>>,
    tokens: HashMap<String, TokenStats>,
    identifiers: HashMap<String, Vec<(u32, u16)>>,
}

impl Matcher {
    pub fn new(entities: Vec<ListEntity>) -> Self {
        let mut names = Vec::new();
        let mut exact: HashMap<String, Vec<u32>> = HashMap::new();
        let mut postings: HashMap<String, Vec<u32>> = HashMap::new();
        let mut identifiers: HashMap<String, Vec<(u32, u16)>> = HashMap::new();
        for (e, entity) in entities.iter().enumerate() {
            let e = e as u32;
            for (n, list_name) in entity.names.iter().enumerate().take(u16::MAX as usize) {
                let normalized = normalize(&list_name.name);
                let mut tokens = normalized.tokens.clone();
                tokens.sort_unstable();
                tokens.dedup();
                if tokens.is_empty() {
                    continue;
                }
                let id = names.len() as u32;
                exact.entry(normalized.key()).or_default().push(id);
                for token in &tokens {
                    postings.entry(token.clone()).or_default().push(id);
                }
                names.push(IndexedName {
                    entity: e,
                    name: n as u16,
                    tokens,
                    weight_sum: 0.0,
                });
            }
            for (i, ident) in entity
                .identifiers
                .iter()
                .enumerate()
                .take(u16::MAX as usize)
            {
                let value = normalize_identifier(&ident.value);
                if value.len() >= MIN_IDENTIFIER_LEN {
                    identifiers.entry(value).or_default().push((e, i as u16));
                }
            }
        }
        let total = names.len().max(1) as f64;
        let tokens: HashMap<String, TokenStats> = postings
            .into_iter()
            .map(|(token, ids)| {
                let idf = (1.0 + total / ids.len() as f64).ln();
                (token, TokenStats { idf, names: ids })
            })
            .collect();
        for name in &mut names {
            name.weight_sum = name
                .tokens
                .iter()
                .map(|t| tokens.get(t).map_or(0.0, |s| s.idf))
                .sum();
        }
        Matcher {
            entities,
            names,
            exact,
            tokens,
            identifiers,
        }
    }

    pub fn entity_count(&self) -> usize {
        self.entities.len()
    }

    /// Weight of a query token: its IDF, or the highest IDF when no list name has it.
    fn idf(&self, token: &str) -> f64 {
        self.tokens
            .get(token)
            .map_or_else(|| (1.0 + self.names.len().max(1) as f64).ln(), |s| s.idf)
    }

    /// Matches scoring at least `min_score`, best first, at most one per entity.
    pub fn find(&self, query: PartyQuery<'_>, min_score: f64) -> Vec<PartyMatch<'_>> {
        let mut best: HashMap<u32, PartyMatch<'_>> = HashMap::new();
        let found = self
            .by_identifier(query.identifiers)
            .into_iter()
            .chain(self.by_name(query.name));
        for (e, m) in found {
            if m.score < min_score {
                continue;
            }
            match best.get(&e) {
                Some(old) if old.score >= m.score => {}
                _ => {
                    best.insert(e, m);
                }
            }
        }
        let mut matches: Vec<PartyMatch<'_>> = best.into_values().collect();
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entity.entity_id.cmp(&b.entity.entity_id))
        });
        matches.truncate(MAX_MATCHES_PER_PARTY);
        matches
    }

    fn by_identifier(&self, identifiers: &[Identifier]) -> Vec<(u32, PartyMatch<'_>)> {
        let mut out = Vec::new();
        for query in identifiers {
            let category = IdentifierCategory::of_scheme(&query.scheme);
            let mut value = normalize_identifier(&query.value);
            if category == IdentifierCategory::Imo
                && let Some(digits) = value.strip_prefix("IMO")
            {
                value = digits.to_owned();
            }
            for &(e, i) in self.identifiers.get(&value).into_iter().flatten() {
                let entity = &self.entities[e as usize];
                let listed = &entity.identifiers[i as usize];
                if !category.compatible(listed.category) {
                    continue;
                }
                let stated = if listed.country.is_empty() {
                    format!("{} {}", listed.label, listed.value)
                } else {
                    format!("{} {} ({})", listed.label, listed.value, listed.country)
                };
                out.push((
                    e,
                    PartyMatch {
                        entity,
                        matched_name: stated.clone(),
                        matched_on: MatchedOn::Identifier,
                        score: 1.0,
                        detail: format!(
                            "its {} {} equals the listed {stated}",
                            query.scheme, query.value
                        ),
                    },
                ));
            }
        }
        out
    }

    fn by_name(&self, name: &str) -> Vec<(u32, PartyMatch<'_>)> {
        let query = normalize(name);
        if query.tokens.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &id in self.exact.get(&query.key()).into_iter().flatten() {
            out.push(self.name_match(id, name_weight_of(self, id), "exactly, after normalisation"));
        }
        let mut query_tokens = query.tokens.clone();
        query_tokens.sort_unstable();
        query_tokens.dedup();
        let query_weight: f64 = query_tokens.iter().map(|t| self.idf(t)).sum();
        // Candidates come from the query's rarer tokens; scoring then compares whole token sets.
        let mut candidates: Vec<u32> = query_tokens
            .iter()
            .filter_map(|t| self.tokens.get(t))
            .filter(|s| s.names.len() <= MAX_CANDIDATE_POSTINGS)
            .flat_map(|s| s.names.iter().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            let indexed = &self.names[id as usize];
            let common: f64 = indexed
                .tokens
                .iter()
                .filter(|t| query_tokens.binary_search(t).is_ok())
                .map(|t| self.idf(t))
                .sum();
            let dice = 2.0 * common / (query_weight + indexed.weight_sum);
            if dice < 1.0 {
                let score = dice * name_weight_of(self, id);
                out.push(self.name_match(id, score, "on shared words"));
            }
        }
        out
    }

    fn name_match(&self, id: u32, score: f64, how: &str) -> (u32, PartyMatch<'_>) {
        let indexed = &self.names[id as usize];
        let entity = &self.entities[indexed.entity as usize];
        let list_name = &entity.names[indexed.name as usize];
        let (matched_on, what) = match list_name.kind {
            NameKind::Primary => (MatchedOn::Name, "listed name"),
            NameKind::Alias => (MatchedOn::Alias, "listed alias"),
            NameKind::WeakAlias => (MatchedOn::Alias, "listed weak alias"),
        };
        (
            indexed.entity,
            PartyMatch {
                entity,
                matched_name: list_name.name.clone(),
                matched_on,
                score,
                detail: format!("its name matches the {what} \"{}\" {how}", list_name.name),
            },
        )
    }
}

fn name_weight_of(matcher: &Matcher, id: u32) -> f64 {
    let indexed = &matcher.names[id as usize];
    let entity = &matcher.entities[indexed.entity as usize];
    name_weight(entity.names[indexed.name as usize].kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(
        id: &str,
        names: &[(&str, NameKind)],
        identifiers: Vec<ListIdentifier>,
    ) -> ListEntity {
        ListEntity {
            list_id: "test".into(),
            entity_id: id.into(),
            kind: EntityKind::Organization,
            names: names
                .iter()
                .map(|(n, k)| ListName {
                    name: (*n).into(),
                    kind: *k,
                })
                .collect(),
            programs: vec!["RUSSIA-EO14024".into()],
            identifiers,
            countries: vec!["Russia".into()],
        }
    }

    fn matcher() -> Matcher {
        Matcher::new(vec![
            entity(
                "1",
                &[
                    (
                        "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM VPK",
                        NameKind::Primary,
                    ),
                    ("ELECTROCOM SPB", NameKind::WeakAlias),
                ],
                vec![ListIdentifier {
                    label: "Tax ID No.".into(),
                    value: "7840062534".into(),
                    country: "Russia".into(),
                    category: IdentifierCategory::Tax,
                }],
            ),
            entity(
                "2",
                &[("GLOBAL TRADE SOLUTIONS LLC", NameKind::Primary)],
                vec![],
            ),
            entity("3", &[("SOVTEKH OOO", NameKind::Primary)], vec![]),
            entity(
                "4",
                &[("SOVTEKH MARINE SERVICES OOO", NameKind::Primary)],
                vec![],
            ),
        ])
    }

    fn find<'a>(m: &'a Matcher, name: &'a str, ids: &'a [Identifier]) -> Vec<PartyMatch<'a>> {
        m.find(
            PartyQuery {
                name,
                identifiers: ids,
            },
            0.5,
        )
    }

    #[test]
    fn exact_name_in_another_legal_form_scores_one() {
        let m = matcher();
        let hits = find(&m, "Elektrokom VPK LLC", &[]);
        assert_eq!(hits[0].entity.entity_id, "1");
        assert_eq!(hits[0].score, 1.0);
        assert_eq!(hits[0].matched_on, MatchedOn::Name);
    }

    #[test]
    fn weak_alias_scores_below_a_strong_name() {
        let m = matcher();
        let hits = find(&m, "Electrocom SPB", &[]);
        assert_eq!(hits[0].entity.entity_id, "1");
        assert!(
            hits[0].score < 0.95 && hits[0].score >= 0.8,
            "{}",
            hits[0].score
        );
    }

    #[test]
    fn identifier_match_is_decisive_and_category_checked() {
        let m = matcher();
        let inn = [Identifier {
            scheme: "RU-INN".into(),
            value: "7840062534".into(),
        }];
        let hits = find(&m, "Unrelated Name", &inn);
        assert_eq!(hits[0].entity.entity_id, "1");
        assert_eq!(hits[0].matched_on, MatchedOn::Identifier);
        let passport = [Identifier {
            scheme: "PASSPORT".into(),
            value: "7840062534".into(),
        }];
        assert!(find(&m, "Unrelated Name", &passport).is_empty());
    }

    #[test]
    fn a_legal_form_alone_matches_nothing() {
        let m = matcher();
        assert!(find(&m, "OOO", &[]).is_empty());
        assert!(find(&m, "Limited Liability Company", &[]).is_empty());
    }

    #[test]
    fn partial_overlap_scores_lower_than_exact() {
        let m = matcher();
        let hits = m.find(
            PartyQuery {
                name: "Sovtekh",
                identifiers: &[],
            },
            0.1,
        );
        assert_eq!(hits[0].entity.entity_id, "3");
        assert_eq!(hits[0].score, 1.0);
        assert!(
            hits.iter()
                .any(|h| h.entity.entity_id == "4" && h.score < 0.8)
        );
    }

    #[test]
    fn scheme_categories() {
        assert_eq!(
            IdentifierCategory::of_scheme("RU-INN"),
            IdentifierCategory::Tax
        );
        assert_eq!(
            IdentifierCategory::of_scheme("TR-VKN"),
            IdentifierCategory::Tax
        );
        assert_eq!(
            IdentifierCategory::of_scheme("RU-OGRN"),
            IdentifierCategory::Registration
        );
        assert_eq!(
            IdentifierCategory::of_scheme("IMO"),
            IdentifierCategory::Imo
        );
        assert_eq!(
            IdentifierCategory::of_scheme("X-OTHER"),
            IdentifierCategory::Other
        );
    }
}
