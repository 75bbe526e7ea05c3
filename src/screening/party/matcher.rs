//! The party index and its scoring.
//!
//! Candidates come cheaply: exact identifier and full-name keys, IDF-weighted postings of the
//! query's folded tokens, typo-tolerant token lookup through a trigram index of the vocabulary,
//! and glued/split words through an index of adjacent-token concatenations. Only the best few
//! candidates by that cheap estimate are scored properly: every query token is aligned with its
//! most similar candidate token (edit distance on the folded and on the plain spelling, glued
//! and split pairs included) and the two sides' IDF-weighted coverage gives the score, adjusted
//! for legal forms and for the kind of list name (weak aliases count less).
use rustc_hash::FxHashMap as HashMap;

use super::legal::LegalFamily;
use super::mention::{MentionIndex, MentionThresholds};
use super::normalize::{fold_words, normalize, normalize_identifier};
use super::{EntityKind, IdentifierCategory, ListEntity, NameKind, PartyMatch, PartyQuery};
use crate::screening::model::{Identifier, MatchedOn};

/// A token pair this similar counts as a distinctive hit.
const DISTINCT_HIT_SIMILARITY: f64 = 0.7;
/// Shorter tokens must match exactly, or with two neighbours swapped.
const MIN_FUZZY_CHARS: usize = 5;
/// What a swap of two neighbouring letters in a short word still counts for.
const SHORT_TRANSPOSITION_SIMILARITY: f64 = 0.85;

/// Unknown query words are looked up fuzzily only while no candidate's cheap estimate reaches
/// this.
const FUZZY_LOOKUP_BELOW: f32 = 0.6;
/// At most this many unknown query words are looked up fuzzily.
const FUZZY_WORDS: usize = 2;
/// At most this many near words per query word get the edit-distance check.
const FUZZY_VERIFIED: usize = 48;
/// At most this many trigram postings are read per query word.
const FUZZY_HIT_BUDGET: usize = 800;
/// How many of a query word's rarest trigrams are used to find words one typo away.
const MAX_FUZZY_TRIGRAMS: usize = 10;
/// Words in at most this many names (or a thousandth of them, if more) are rare enough to
/// bring candidates.
const MIN_MAX_POSTINGS: usize = 300;
/// How many of the query's rarest words bring candidates.
const CANDIDATE_WORDS: usize = 3;
/// Candidates below this share of the best cheap estimate are not scored.
const RELATIVE_CANDIDATE_FLOOR: f32 = 0.5;
/// How many candidates, by the cheap estimate, get the full alignment score.
const CANDIDATES_SCORED: usize = 24;
const LEGAL_FORM_BONUS: f64 = 0.02;
const LEGAL_FORM_PENALTY: f64 = 0.05;
/// Identifier values shorter than this are too ambiguous to be decisive.
const MIN_IDENTIFIER_LEN: usize = 5;
/// At most this many matches per party, best first.
const MAX_MATCHES_PER_PARTY: usize = 5;

fn name_weight(kind: NameKind, words: usize) -> f64 {
    match kind {
        NameKind::Primary => 1.0,
        NameKind::Alias => 0.98,
        // OFAC's own warning: a one-word weak alias ("OTTO") is too common to act on alone.
        NameKind::WeakAlias if words == 1 => 0.75,
        NameKind::WeakAlias => 0.9,
    }
}

/// Edits a word of `chars` letters may have and still be the same word.
fn allowed_edits(chars: usize) -> f32 {
    match chars {
        0..MIN_FUZZY_CHARS => 0.0,
        MIN_FUZZY_CHARS..=7 => 1.0,
        _ => 2.0,
    }
}

/// What one edit costs in a word of `chars` letters: a typo in a five-letter word changes it
/// more than one in a fifteen-letter word.
fn edit_cost(chars: usize) -> f64 {
    if chars <= MIN_FUZZY_CHARS {
        1.2 / chars as f64
    } else {
        1.0 / chars as f64
    }
}

/// Longest word the edit distance is computed for on the stack; longer ones never match
/// fuzzily (no name word is that long).
const MAX_FUZZY_CHARS: usize = 48;

/// Optimal-string-alignment distance where swapping two neighbours (the commonest slip) costs
/// ¾ of an edit; `None` as soon as it must exceed `max`. Computed in quarter edits.
fn weighted_osa(a: &[char], b: &[char], max: f32) -> Option<f32> {
    const EDIT: u16 = 4;
    const SWAP: u16 = 3;
    let (n, m) = (a.len(), b.len());
    if n > MAX_FUZZY_CHARS || m > MAX_FUZZY_CHARS || (n.abs_diff(m) as f32) > max {
        return None;
    }
    let limit = (max * 4.0) as u16;
    let mut rows = [[0u16; MAX_FUZZY_CHARS + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(m + 1) {
        *cell = j as u16 * EDIT;
    }
    // A swap reaches back two rows, so only two rows above the limit end the search.
    let mut previous_min = 0;
    for i in 1..=n {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur][0] = i as u16 * EDIT;
        let mut row_min = rows[cur][0];
        for j in 1..=m {
            let substitute = rows[prev][j - 1] + if a[i - 1] == b[j - 1] { 0 } else { EDIT };
            let mut d = substitute
                .min(rows[prev][j] + EDIT)
                .min(rows[cur][j - 1] + EDIT);
            if i > 1
                && j > 1
                && a[i - 1] == b[j - 2]
                && a[i - 2] == b[j - 1]
                && a[i - 1] != b[j - 1]
            {
                d = d.min(rows[prev2][j - 2] + SWAP);
            }
            rows[cur][j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit && previous_min > limit {
            return None;
        }
        previous_min = row_min;
    }
    let d = rows[n % 3][m];
    (d <= limit).then_some(f32::from(d) / 4.0)
}

/// A word as the matcher compares it: its folded key and its plain spelling, as characters,
/// with a 64-bit set of the letters in each for a quick lower bound on the edit distance.
#[derive(Clone, Copy)]
struct Word<'a> {
    key: &'a [char],
    plain: &'a [char],
    key_letters: u64,
    plain_letters: u64,
}

fn letter_set(chars: &[char]) -> u64 {
    chars
        .iter()
        .fold(0, |set, c| set | 1u64 << (u32::from(*c) % 64))
}

/// Each edit adds or removes at most two letters from a word's letter set.
fn may_be_within(a: u64, b: u64, edits: f32) -> bool {
    ((a ^ b).count_ones() as f32) <= 2.0 * edits
}

/// 1 when the keys agree, less per typo, 0 past the allowed number of edits. Typos are judged
/// on the plain spelling too, since folding can turn one slip into two (SUHVALOV, SHUVALOV).
fn word_similarity(a: Word<'_>, b: Word<'_>) -> f64 {
    if a.key == b.key {
        return 1.0;
    }
    let chars = a.key.len().max(b.key.len());
    if chars < MIN_FUZZY_CHARS {
        return if a.key.len() == b.key.len() && weighted_osa(a.key, b.key, 0.75).is_some() {
            SHORT_TRANSPOSITION_SIMILARITY
        } else {
            0.0
        };
    }
    let allowed = allowed_edits(chars);
    let by_key = may_be_within(a.key_letters, b.key_letters, allowed)
        .then(|| weighted_osa(a.key, b.key, allowed))
        .flatten();
    let by_plain = may_be_within(a.plain_letters, b.plain_letters, allowed)
        .then(|| weighted_osa(a.plain, b.plain, allowed))
        .flatten();
    let cost = match (by_key, by_plain) {
        (Some(x), Some(y)) => x.min(y),
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => return 0.0,
    };
    (1.0 - f64::from(cost) * edit_cost(chars)).max(0.0)
}

pub(super) struct IndexedName {
    pub entity: u32,
    pub name: u16,
    /// Folded token ids, in the name's order, without repeats.
    pub tokens: Box<[u32]>,
    weight: f32,
    /// Legal-form families present, as a [`LegalFamily::mask`].
    legal: u8,
}

/// A query token: its folded text and plain spelling, its id when the lists know it, and its
/// weight.
struct QueryToken {
    text: String,
    key: Vec<char>,
    plain: Vec<char>,
    key_letters: u64,
    plain_letters: u64,
    id: Option<u32>,
    idf: f32,
}

impl QueryToken {
    fn word(&self) -> Word<'_> {
        Word {
            key: &self.key,
            plain: &self.plain,
            key_letters: self.key_letters,
            plain_letters: self.plain_letters,
        }
    }
}

/// Immutable index over the listed entities; build once per list version.
pub struct Matcher {
    entities: Vec<ListEntity>,
    names: Vec<IndexedName>,
    vocab: HashMap<Box<str>, u32>,
    token_key: Vec<Box<[char]>>,
    /// A plain spelling of each token (the first one seen).
    token_plain: Vec<Box<[char]>>,
    /// Letter sets of each token's key and plain spelling.
    token_letters: Vec<(u64, u64)>,
    token_idf: Vec<f32>,
    postings: Vec<Vec<u32>>,
    glued: HashIndex,
    /// Trigram → vocabulary tokens; few distinct keys, read often: a hash map.
    trigrams: HashMap<u64, Vec<u32>>,
    exact: HashIndex,
    identifiers: HashMap<String, Vec<(u32, u16)>>,
    mentions: MentionIndex,
    /// Weight of a query word no list name has.
    unknown_idf: f32,
    /// Tokens at least this rare are distinctive: a match needs one of them.
    distinct_idf: f32,
    /// Tokens in more names than this are too common to find candidates with.
    max_postings: usize,
}

/// A multimap from 64-bit keys to ids in one sorted vector: a fraction of the memory of a
/// hash map of vectors at a million names. Keys that are hashes of text may collide; that only
/// adds a candidate, which scoring then judges.
#[derive(Default)]
struct HashIndex(Vec<(u64, u32)>);

impl HashIndex {
    fn push(&mut self, key: u64, id: u32) {
        self.0.push((key, id));
    }

    /// Sorts and deduplicates; call once after the last push.
    fn seal(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
        self.0.shrink_to_fit();
    }

    fn get(&self, key: u64) -> &[(u64, u32)] {
        let start = self.0.partition_point(|&(k, _)| k < key);
        let end = start + self.0[start..].partition_point(|&(k, _)| k == key);
        &self.0[start..end]
    }
}

/// Hash of the concatenation of `parts`.
fn text_hash(parts: &[&str]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    for part in parts {
        hasher.write(part.as_bytes());
    }
    hasher.write_u8(0xff);
    hasher.finish()
}

fn trigram_keys(token: &[char]) -> Vec<u64> {
    let chars: Vec<char> = std::iter::once('^')
        .chain(token.iter().copied())
        .chain(std::iter::once('$'))
        .collect();
    chars
        .windows(3)
        .map(|w| (u64::from(w[0]) << 42) | (u64::from(w[1]) << 21) | u64::from(w[2]))
        .collect()
}

/// The lookup key of an identifier: letters and digits only, and an IMO number without its
/// "IMO" label however it was written (`IMO 9187629`, `9187629`).
fn identifier_key(category: IdentifierCategory, value: &str) -> String {
    let value = normalize_identifier(value);
    match value.strip_prefix("IMO") {
        Some(digits) if category == IdentifierCategory::Imo => digits.to_owned(),
        _ => value,
    }
}

fn idf(total: usize, df: usize) -> f32 {
    (1.0 + total as f32 / df.max(1) as f32).ln()
}

impl Matcher {
    pub fn new(entities: Vec<ListEntity>) -> Self {
        let mut names = Vec::new();
        let mut vocab: HashMap<Box<str>, u32> = HashMap::default();
        let mut token_text: Vec<Box<str>> = Vec::new();
        let mut token_plain: Vec<Box<[char]>> = Vec::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        let mut glued = HashIndex::default();
        let mut exact = HashIndex::default();
        let mut identifiers: HashMap<String, Vec<(u32, u16)>> = HashMap::default();
        for (e, entity) in entities.iter().enumerate() {
            let e = e as u32;
            for (n, list_name) in entity.names.iter().enumerate().take(usize::from(u16::MAX)) {
                let normalized = normalize(&list_name.name);
                if normalized.tokens.is_empty() {
                    continue;
                }
                let id = names.len() as u32;
                let mut tokens: Vec<u32> = Vec::with_capacity(normalized.tokens.len());
                for (token, plain) in normalized.tokens.iter().zip(&normalized.plain) {
                    let t = *vocab.entry(token.as_str().into()).or_insert_with(|| {
                        token_text.push(token.as_str().into());
                        token_plain.push(plain.chars().collect());
                        postings.push(Vec::new());
                        (token_text.len() - 1) as u32
                    });
                    if !tokens.contains(&t) {
                        tokens.push(t);
                        postings[t as usize].push(id);
                    }
                }
                for pair in normalized.tokens.windows(2) {
                    glued.push(text_hash(&[&pair[0], &pair[1]]), id);
                }
                exact.push(text_hash(&[&normalized.key()]), id);
                names.push(IndexedName {
                    entity: e,
                    name: n as u16,
                    tokens: tokens.into(),
                    weight: 0.0,
                    legal: LegalFamily::mask(&normalized.legal_forms),
                });
            }
            for (i, ident) in entity
                .identifiers
                .iter()
                .enumerate()
                .take(usize::from(u16::MAX))
            {
                let value = identifier_key(ident.category, &ident.value);
                if value.len() >= MIN_IDENTIFIER_LEN {
                    identifiers.entry(value).or_default().push((e, i as u16));
                }
            }
        }
        let total = names.len().max(1);
        let token_idf: Vec<f32> = postings.iter().map(|p| idf(total, p.len())).collect();
        for name in &mut names {
            name.weight = name.tokens.iter().map(|&t| token_idf[t as usize]).sum();
        }
        let mut trigrams: HashMap<u64, Vec<u32>> = HashMap::default();
        let token_key: Vec<Box<[char]>> = token_text.iter().map(|t| t.chars().collect()).collect();
        for (t, key) in token_key.iter().enumerate() {
            if key.len() + 1 >= MIN_FUZZY_CHARS {
                let mut keys = trigram_keys(key);
                keys.extend(trigram_keys(&token_plain[t]));
                keys.sort_unstable();
                keys.dedup();
                for k in keys {
                    trigrams.entry(k).or_default().push(t as u32);
                }
            }
        }
        glued.seal();
        exact.seal();
        let distinct_df = (total / 200).max(20);
        let distinct_idf = idf(total, distinct_df);
        // A one-word name is looked for in free text only if at most three list names use it.
        let single_word_idf = idf(total, 3);
        let mentions = MentionIndex::new(
            &entities,
            &names,
            |t| token_key[t as usize].len(),
            &token_idf,
            MentionThresholds {
                distinct_idf,
                single_word_idf,
            },
        );
        Matcher {
            entities,
            names,
            vocab,
            token_letters: token_key
                .iter()
                .zip(&token_plain)
                .map(|(k, p)| (letter_set(k), letter_set(p)))
                .collect(),
            token_key,
            token_plain,
            token_idf,
            postings,
            glued,
            trigrams,
            exact,
            identifiers,
            mentions,
            unknown_idf: idf(total, 1),
            distinct_idf,
            max_postings: (total / 1_000).max(MIN_MAX_POSTINGS),
        }
    }

    pub fn entity_count(&self) -> usize {
        self.entities.len()
    }

    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Matches scoring at least `min_score`, best first, at most one per entity.
    pub fn find(&self, query: PartyQuery<'_>, min_score: f64) -> Vec<PartyMatch<'_>> {
        let mut best: HashMap<u32, PartyMatch<'_>> = HashMap::default();
        let found = self
            .by_identifier(query.identifiers)
            .into_iter()
            .chain(self.by_name(query.name, min_score));
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
                .then_with(|| a.entity.list_id.cmp(&b.entity.list_id))
                .then_with(|| a.entity.entity_id.cmp(&b.entity.entity_id))
        });
        matches.truncate(MAX_MATCHES_PER_PARTY);
        matches
    }

    /// Listed entities named inside free text (an address, a goods description).
    pub fn mentions(&self, text: &str) -> Vec<PartyMatch<'_>> {
        let words: Vec<Option<u32>> = fold_words(text)
            .iter()
            .map(|w| self.vocab.get(w.as_str()).copied())
            .collect();
        let mut found = self.mentions.find(&words);
        found.sort_unstable();
        found.dedup_by_key(|(e, _)| *e);
        found
            .into_iter()
            .map(|(e, n)| {
                let entity = &self.entities[e as usize];
                let listed = &entity.names[usize::from(n)].name;
                PartyMatch {
                    entity,
                    matched_name: listed.clone(),
                    matched_on: MatchedOn::Mention,
                    score: super::mention::MENTION_SCORE,
                    detail: format!("the text mentions the listed name \"{listed}\""),
                }
            })
            .collect()
    }

    fn by_identifier(&self, identifiers: &[Identifier]) -> Vec<(u32, PartyMatch<'_>)> {
        let mut out = Vec::new();
        for query in identifiers {
            let category = IdentifierCategory::of_scheme(&query.scheme);
            let value = identifier_key(category, &query.value);
            for &(e, i) in self.identifiers.get(&value).into_iter().flatten() {
                let entity = &self.entities[e as usize];
                let listed = &entity.identifiers[usize::from(i)];
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
                        detail: format!(
                            "its {} {} equals the listed {stated}",
                            query.scheme, query.value
                        ),
                        matched_name: stated,
                        matched_on: MatchedOn::Identifier,
                        score: 1.0,
                    },
                ));
            }
        }
        out
    }

    fn query_tokens(&self, tokens: &[String], plain: &[String]) -> Vec<QueryToken> {
        let mut out: Vec<QueryToken> = Vec::with_capacity(tokens.len());
        for (text, plain) in tokens.iter().zip(plain) {
            if out.iter().any(|q| q.text == *text) {
                continue;
            }
            let id = self.vocab.get(text.as_str()).copied();
            let key: Vec<char> = text.chars().collect();
            let plain: Vec<char> = plain.chars().collect();
            out.push(QueryToken {
                key_letters: letter_set(&key),
                plain_letters: letter_set(&plain),
                key,
                plain,
                idf: id.map_or(self.unknown_idf, |t| self.token_idf[t as usize]),
                text: text.clone(),
                id,
            });
        }
        out
    }

    fn word(&self, t: u32) -> Word<'_> {
        let (key_letters, plain_letters) = self.token_letters[t as usize];
        Word {
            key: &self.token_key[t as usize],
            plain: &self.token_plain[t as usize],
            key_letters,
            plain_letters,
        }
    }

    /// Vocabulary tokens within one typo of `token`, with their similarity.
    fn similar_tokens(&self, token: &QueryToken) -> Vec<(u32, f64)> {
        // Tokens sharing enough of the query's rarest trigrams. An edit destroys at most three
        // trigrams (a swap four), so of the rarest ten, those beyond what the allowed edits can
        // destroy must stand.
        let shared = |text: &[char]| -> Vec<u32> {
            let mut keys: Vec<(usize, u64)> = trigram_keys(text)
                .into_iter()
                .map(|k| (self.trigrams.get(&k).map_or(0, Vec::len), k))
                .collect();
            keys.sort_unstable();
            keys.dedup_by_key(|(_, k)| *k);
            keys.truncate(MAX_FUZZY_TRIGRAMS);
            let destroyable = 4 * allowed_edits(text.len() + 1) as usize;
            let need = keys.len().saturating_sub(destroyable).clamp(1, 2);
            // Rarest first, within a budget: words made only of very common trigrams are left
            // to the exact paths rather than making every query slow.
            let mut hits: Vec<u32> = Vec::new();
            for list in keys.iter().filter_map(|(_, k)| self.trigrams.get(k)) {
                if hits.len() + list.len() > FUZZY_HIT_BUDGET {
                    break;
                }
                hits.extend_from_slice(list);
            }
            hits.sort_unstable();
            let mut counted: Vec<(usize, u32)> = hits
                .chunk_by(|a, b| a == b)
                .filter(|run| run.len() >= need)
                .map(|run| (run.len(), run[0]))
                .collect();
            // Real neighbours share most trigrams: verify the best-sharing ones only.
            if counted.len() > FUZZY_VERIFIED {
                counted.select_nth_unstable_by(FUZZY_VERIFIED, |a, b| b.0.cmp(&a.0));
                counted.truncate(FUZZY_VERIFIED);
            }
            counted.into_iter().map(|(_, t)| t).collect::<Vec<u32>>()
        };
        let mut candidates = shared(&token.key);
        candidates.extend(shared(&token.plain));
        candidates.sort_unstable();
        candidates.dedup();
        let allowed = allowed_edits(token.key.len() + 1) as usize;
        candidates
            .retain(|&t| self.token_key[t as usize].len().abs_diff(token.key.len()) <= allowed);
        candidates
            .into_iter()
            .filter_map(|t| {
                let sim = word_similarity(token.word(), self.word(t));
                (sim > 0.0).then_some((t, sim))
            })
            .collect()
    }

    fn by_name(&self, name: &str, min_score: f64) -> Vec<(u32, PartyMatch<'_>)> {
        let query = normalize(name);
        if query.tokens.is_empty() {
            return Vec::new();
        }
        let tokens = self.query_tokens(&query.tokens, &query.plain);
        let query_weight: f32 = tokens.iter().map(|t| t.idf).sum();

        // Cheap estimate: IDF mass of the query found in each name.
        let mut estimate: HashMap<u32, f32> = HashMap::default();
        let add = |estimate: &mut HashMap<u32, f32>, names: &[u32], weight: f32| {
            for &n in names {
                *estimate.entry(n).or_insert(0.0) += weight;
            }
        };
        // Rare words bring candidates; common ones only add to candidates found otherwise,
        // checked name by name, which is cheaper than walking their long postings.
        let mut common: Vec<&QueryToken> = Vec::new();
        let mut rare: Vec<(usize, &QueryToken)> = Vec::new();
        for token in &tokens {
            match token.id {
                Some(t) if self.postings[t as usize].len() <= self.max_postings => {
                    rare.push((self.postings[t as usize].len(), token));
                }
                Some(_) => common.push(token),
                None => {}
            }
            // A word the list writes as two ("ELEKTRO KOM").
            let list = self.glued.get(text_hash(&[&token.text]));
            for &(_, n) in list {
                *estimate.entry(n).or_insert(0.0) += token.idf;
            }
        }
        // The rarest words bring candidates; the others only add to them.
        rare.sort_by_key(|(df, _)| *df);
        for (k, (_, token)) in rare.iter().enumerate() {
            let list = token.id.map_or(&[][..], |t| &self.postings[t as usize]);
            if k < CANDIDATE_WORDS {
                add(&mut estimate, list, token.idf);
            } else {
                for n in list {
                    if let Some(found) = estimate.get_mut(n) {
                        *found += token.idf;
                    }
                }
            }
        }
        // Two words the list writes as one.
        for pair in query.tokens.windows(2) {
            let joined = format!("{}{}", pair[0], pair[1]);
            if let Some(&t) = self.vocab.get(joined.as_str())
                && self.postings[t as usize].len() <= self.max_postings
            {
                add(
                    &mut estimate,
                    &self.postings[t as usize],
                    self.token_idf[t as usize],
                );
            }
        }
        // Words the lists do not know may be typos. Looking for their near neighbours is the
        // expensive path, so it is taken only when the known words found no strong candidate.
        let quick =
            |found: f32, n: u32| 2.0 * found / (query_weight + self.names[n as usize].weight);
        let best_quick = estimate
            .iter()
            .map(|(&n, &found)| quick(found, n))
            .fold(0.0f32, f32::max);
        if best_quick < FUZZY_LOOKUP_BELOW {
            // The longest unknown words say the most; two are enough to find the name.
            let mut unknown: Vec<&QueryToken> = tokens
                .iter()
                .filter(|t| t.id.is_none() && t.key.len() + 1 >= MIN_FUZZY_CHARS)
                .collect();
            unknown.sort_by_key(|t| std::cmp::Reverse(t.key.len()));
            for token in unknown.into_iter().take(FUZZY_WORDS) {
                for (t, sim) in self.similar_tokens(token) {
                    let list = &self.postings[t as usize];
                    if list.len() <= self.max_postings {
                        add(&mut estimate, list, token.idf * sim as f32);
                    }
                }
            }
        }
        if estimate.is_empty()
            && let Some(rarest) = common
                .iter()
                .filter_map(|q| q.id)
                .min_by_key(|&t| self.postings[t as usize].len())
        {
            // Every word is common: still look, in the rarest word's names.
            let list = &self.postings[rarest as usize];
            add(
                &mut estimate,
                &list[..list.len().min(self.max_postings)],
                self.token_idf[rarest as usize],
            );
            common.retain(|q| q.id != Some(rarest));
        }
        for token in common {
            for (n, found) in estimate.iter_mut() {
                if token
                    .id
                    .is_some_and(|t| self.names[*n as usize].tokens.contains(&t))
                {
                    *found += token.idf;
                }
            }
        }

        let mut ranked: Vec<(f32, u32)> = estimate
            .into_iter()
            .map(|(n, found)| (quick(found, n), n))
            .collect();
        if ranked.len() > CANDIDATES_SCORED {
            ranked.select_nth_unstable_by(CANDIDATES_SCORED, |a, b| b.0.total_cmp(&a.0));
            ranked.truncate(CANDIDATES_SCORED);
        }
        // Candidates far behind the best by the cheap estimate cannot catch up on typos alone.
        let best = ranked.iter().map(|(q, _)| *q).fold(0.0f32, f32::max);
        let mut candidates: Vec<u32> = ranked
            .into_iter()
            .filter(|(q, _)| *q >= RELATIVE_CANDIDATE_FLOOR * best)
            .map(|(_, n)| n)
            .collect();
        candidates.extend(
            self.exact
                .get(text_hash(&[&query.key()]))
                .iter()
                .map(|&(_, n)| n),
        );
        candidates.sort_unstable();
        candidates.dedup();

        let mut out = Vec::with_capacity(candidates.len());
        for n in candidates {
            if let Some(m) =
                self.score_name(&tokens, query_weight, &query.legal_forms, n, min_score)
            {
                out.push(m);
            }
        }
        out
    }

    fn similarity(&self, query: &QueryToken, token: u32) -> f64 {
        if query.id == Some(token) {
            return 1.0;
        }
        word_similarity(query.word(), self.word(token))
    }

    /// Full alignment score of the query against one list name, or `None` when nothing
    /// distinctive matched or it scores below `min_score`.
    fn score_name(
        &self,
        query: &[QueryToken],
        query_weight: f32,
        query_legal: &[LegalFamily],
        n: u32,
        min_score: f64,
    ) -> Option<(u32, PartyMatch<'_>)> {
        let name = &self.names[n as usize];
        let listed = &name.tokens;
        let mut best_q = vec![0.0f64; query.len()];
        let mut best_l = vec![0.0f64; listed.len()];
        let mut distinctive = false;
        let note = |s: f64, t: u32, distinctive: &mut bool| {
            if s >= DISTINCT_HIT_SIMILARITY && self.token_idf[t as usize] >= self.distinct_idf {
                *distinctive = true;
            }
        };
        // Exact words first; the edit distance is only worth computing between the words
        // left over on both sides.
        for (i, q) in query.iter().enumerate() {
            if let Some(j) = q.id.and_then(|id| listed.iter().position(|&t| t == id)) {
                best_q[i] = 1.0;
                best_l[j] = 1.0;
                note(1.0, listed[j], &mut distinctive);
            }
        }
        for (i, q) in query.iter().enumerate() {
            if best_q[i] >= 1.0 {
                continue;
            }
            for (j, &t) in listed.iter().enumerate() {
                if best_l[j] >= 1.0 {
                    continue;
                }
                let s = self.similarity(q, t);
                best_q[i] = best_q[i].max(s);
                best_l[j] = best_l[j].max(s);
                note(s, t, &mut distinctive);
            }
        }
        // Glued and split words: one side's word against the other side's adjacent pair, when
        // it is neither word of the pair on its own.
        let (mut key, mut plain) = (Vec::new(), Vec::new());
        let join = |key: &mut Vec<char>, plain: &mut Vec<char>, x: Word<'_>, y: Word<'_>| {
            key.clear();
            key.extend_from_slice(x.key);
            key.extend_from_slice(y.key);
            plain.clear();
            plain.extend_from_slice(x.plain);
            plain.extend_from_slice(y.plain);
        };
        let unmatched_q = best_q.iter().any(|s| *s < 1.0);
        for j in 0..listed.len().saturating_sub(1) {
            if !unmatched_q || (best_l[j] >= 1.0 && best_l[j + 1] >= 1.0) {
                continue;
            }
            let (a, b) = (listed[j], listed[j + 1]);
            join(&mut key, &mut plain, self.word(a), self.word(b));
            let pair = Word {
                key: &key,
                plain: &plain,
                key_letters: letter_set(&key),
                plain_letters: letter_set(&plain),
            };
            for (i, q) in query.iter().enumerate() {
                if q.id == Some(a) || q.id == Some(b) {
                    continue;
                }
                let s = word_similarity(q.word(), pair);
                if s > best_q[i] {
                    best_q[i] = s;
                    best_l[j] = best_l[j].max(s);
                    best_l[j + 1] = best_l[j + 1].max(s);
                    note(s, a, &mut distinctive);
                    note(s, b, &mut distinctive);
                }
            }
        }
        let unmatched_l = best_l.iter().any(|s| *s < 1.0);
        for i in 0..query.len().saturating_sub(1) {
            if !unmatched_l || (best_q[i] >= 1.0 && best_q[i + 1] >= 1.0) {
                continue;
            }
            let (qa, qb) = (&query[i], &query[i + 1]);
            join(&mut key, &mut plain, qa.word(), qb.word());
            let pair = Word {
                key: &key,
                plain: &plain,
                key_letters: letter_set(&key),
                plain_letters: letter_set(&plain),
            };
            for (j, &t) in listed.iter().enumerate() {
                if qa.id == Some(t) || qb.id == Some(t) {
                    continue;
                }
                let s = word_similarity(pair, self.word(t));
                if s > best_l[j] {
                    best_l[j] = s;
                    best_q[i] = best_q[i].max(s);
                    best_q[i + 1] = best_q[i + 1].max(s);
                    note(s, t, &mut distinctive);
                }
            }
        }

        let covered_q: f64 = query
            .iter()
            .zip(&best_q)
            .map(|(q, s)| f64::from(q.idf) * s)
            .sum();
        let covered_l: f64 = listed
            .iter()
            .zip(&best_l)
            .map(|(&t, s)| f64::from(self.token_idf[t as usize]) * s)
            .sum();
        let total = f64::from(query_weight) + f64::from(name.weight);
        if total <= 0.0 {
            return None;
        }
        let coverage = (covered_q + covered_l) / total;
        let exact = best_q.iter().chain(&best_l).all(|s| *s >= 1.0);
        // A full-name equality of several words counts even when each word is common.
        let whole_name_equal = exact && listed.len() >= 2;
        if !(distinctive || whole_name_equal) {
            return None;
        }

        let entity = &self.entities[name.entity as usize];
        let list_name = &entity.names[usize::from(name.name)];
        let mut adjust =
            match LegalFamily::agreement_of_masks(LegalFamily::mask(query_legal), name.legal) {
                1 => LEGAL_FORM_BONUS,
                -1 => -LEGAL_FORM_PENALTY,
                _ => 0.0,
            };
        if entity.kind == EntityKind::Individual
            && query_legal.iter().any(|f| *f != LegalFamily::Neutral)
        {
            adjust -= LEGAL_FORM_PENALTY;
        }
        let score =
            ((coverage + adjust).min(1.0) * name_weight(list_name.kind, listed.len())).max(0.0);
        if score < min_score {
            return None;
        }
        let (matched_on, what) = match list_name.kind {
            NameKind::Primary => (MatchedOn::Name, "listed name"),
            NameKind::Alias => (MatchedOn::Alias, "listed alias"),
            NameKind::WeakAlias => (MatchedOn::Alias, "listed weak alias"),
        };
        let how = if exact {
            "word for word after normalising script, spelling and legal form".to_owned()
        } else {
            let matched = best_q.iter().filter(|s| **s > 0.0).count();
            format!("closely ({matched} of {} words aligned)", query.len())
        };
        Some((
            name.entity,
            PartyMatch {
                entity,
                matched_name: list_name.name.clone(),
                matched_on,
                score,
                detail: format!("its name matches the {what} \"{}\" {how}", list_name.name),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ListIdentifier, ListName};
    use super::*;

    fn osa(a: &str, b: &str, max: f32) -> Option<f32> {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        weighted_osa(&a, &b, max)
    }

    #[test]
    fn weighted_edit_distance() {
        assert_eq!(osa("vpk", "vpk", 0.0), Some(0.0));
        assert_eq!(osa("vpk", "vkp", 1.0), Some(0.75));
        assert_eq!(osa("mizulina", "mzulina", 2.0), Some(1.0));
        assert_eq!(osa("eimer", "seimeh", 1.0), None);
        assert_eq!(osa("eimer", "seimeh", 2.0), Some(2.0));
        assert_eq!(osa("", "abc", 5.0), Some(3.0));
        assert_eq!(osa("shuvalov", "suhvalov", 1.0), Some(0.75));
        assert_eq!(osa("vkp", "vpk", 0.75), Some(0.75));
        assert_eq!(osa("ab", "ba", 0.75), Some(0.75));
    }

    fn entity(
        id: &str,
        kind: EntityKind,
        names: &[(&str, NameKind)],
        identifiers: Vec<ListIdentifier>,
    ) -> ListEntity {
        ListEntity {
            list_id: "test".into(),
            entity_id: id.into(),
            kind,
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

    fn org(id: &str, name: &str) -> ListEntity {
        entity(
            id,
            EntityKind::Organization,
            &[(name, NameKind::Primary)],
            vec![],
        )
    }

    fn matcher() -> Matcher {
        let mut entities = vec![
            entity(
                "1",
                EntityKind::Organization,
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
            org("2", "GLOBAL TRADE SOLUTIONS LLC"),
            org("3", "SOVTEKH OOO"),
            org("4", "SOVTEKH MARINE SERVICES OOO"),
            entity(
                "5",
                EntityKind::Individual,
                &[("IVANOV, Sergei Petrovich", NameKind::Primary)],
                vec![],
            ),
            org("6", "AKTSIONERNOE OBSHCHESTVO NPO ELEKTRO KOM"),
        ];
        // Filler so that IDF separates common words from rare ones, as in the real lists.
        for i in 0..400 {
            entities.push(org(
                &format!("f{i}"),
                &format!("TRADE COMPANY NUMBER{i} LLC"),
            ));
        }
        Matcher::new(entities)
    }

    fn find<'a>(m: &'a Matcher, name: &'a str) -> Vec<PartyMatch<'a>> {
        m.find(
            PartyQuery {
                name,
                identifiers: &[],
            },
            0.5,
        )
    }

    fn top(m: &Matcher, name: &str) -> (String, f64) {
        let hits = find(m, name);
        let first = hits
            .first()
            .unwrap_or_else(|| panic!("no match for {name:?}"));
        (first.entity.entity_id.clone(), first.score)
    }

    #[test]
    fn every_spelling_of_a_listed_name_scores_high() {
        let m = matcher();
        for name in [
            "Elektrokom VPK LLC",
            "ООО «Электроком ВПК»",
            "ELEKTROKOM VPK, OOO",
            "Elecktrokom VPK",
            "\u{0415}LEKTROKOM VPK",
        ] {
            let (id, score) = top(&m, name);
            assert_eq!(id, "1", "{name}");
            assert!(score >= 0.95, "{name}: {score}");
        }
    }

    #[test]
    fn typos_and_split_words_still_match() {
        let m = matcher();
        let (id, score) = top(&m, "Elektrokom VKP");
        assert_eq!(id, "1");
        assert!(score >= 0.8, "{score}");
        // The list writes "ELEKTRO KOM"; the clerk glued it.
        let (id, score) = top(&m, "AO NPO Elektrokom");
        assert_eq!(id, "6");
        assert!(score >= 0.95, "{score}");
        // And the other way round.
        let (id, score) = top(&m, "Elektro Kom VPK");
        assert_eq!(id, "1");
        assert!(score >= 0.95, "{score}");
    }

    #[test]
    fn reordered_person_names_match() {
        let m = matcher();
        let (id, score) = top(&m, "Sergey Petrovich Ivanov");
        assert_eq!(id, "5");
        assert!(score >= 0.95, "{score}");
    }

    #[test]
    fn weak_alias_scores_below_a_strong_name() {
        let m = matcher();
        let (id, score) = top(&m, "Electrocom SPB");
        assert_eq!(id, "1");
        assert!((0.8..0.95).contains(&score), "{score}");
    }

    #[test]
    fn legal_forms_nudge_but_never_match_alone() {
        let m = matcher();
        assert!(find(&m, "OOO").is_empty());
        assert!(find(&m, "Limited Liability Company").is_empty());
        let same = top(&m, "Sovtekh LLC").1;
        let conflicting = top(&m, "Sovtekh JSC").1;
        let none = top(&m, "Sovtekh").1;
        assert!(
            same >= none && none > conflicting,
            "{same} {none} {conflicting}"
        );
    }

    #[test]
    fn common_words_alone_do_not_match() {
        let m = matcher();
        assert!(
            m.find(
                PartyQuery {
                    name: "Global Trade LLC",
                    identifiers: &[]
                },
                0.8
            )
            .is_empty()
        );
        assert!(
            m.find(
                PartyQuery {
                    name: "Trade Company",
                    identifiers: &[]
                },
                0.8
            )
            .is_empty()
        );
    }

    #[test]
    fn identifier_match_is_decisive_and_category_checked() {
        let m = matcher();
        let inn = [Identifier {
            scheme: "RU-INN".into(),
            value: "7840062534".into(),
        }];
        let hits = m.find(
            PartyQuery {
                name: "Unrelated Name",
                identifiers: &inn,
            },
            0.5,
        );
        assert_eq!(hits[0].entity.entity_id, "1");
        assert_eq!(hits[0].matched_on, MatchedOn::Identifier);
        let passport = [Identifier {
            scheme: "PASSPORT".into(),
            value: "7840062534".into(),
        }];
        assert!(
            m.find(
                PartyQuery {
                    name: "Unrelated Name",
                    identifiers: &passport
                },
                0.5
            )
            .is_empty()
        );
    }

    #[test]
    fn mentions_in_free_text() {
        let m = matcher();
        let hits = m.mentions("c/o OOO Sovtekh, Moscow");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].entity.entity_id, "3");
        assert_eq!(hits[0].matched_on, MatchedOn::Mention);
        assert!(
            m.mentions("Sovtekhnika Ltd, Moscow").is_empty(),
            "whole words only"
        );
        assert_eq!(
            m.mentions("spare parts for Электроком ВПК")[0]
                .entity
                .entity_id,
            "1"
        );
    }

    #[test]
    fn imo_numbers_match_with_or_without_their_label() {
        assert_eq!(
            identifier_key(IdentifierCategory::Imo, "IMO 9187629"),
            "9187629"
        );
        assert_eq!(
            identifier_key(IdentifierCategory::Imo, "9187629"),
            "9187629"
        );
        // Only IMO numbers lose the prefix.
        assert_eq!(
            identifier_key(IdentifierCategory::Tax, "IMO123456"),
            "IMO123456"
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
