//! Listed names mentioned inside free text ("c/o OOO Sovtekh, Moscow"), found with one
//! Aho-Corasick automaton over the folded, distinctive list names. Text and names are folded the
//! same way and padded with spaces, so only whole words match.
use rustc_hash::FxHashMap as HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::matcher::IndexedName;
use super::normalize::fold_words;
use super::{EntityKind, ListEntity};

/// A mention is evidence, not identity: by default it asks for review.
pub const MENTION_SCORE: f64 = 0.9;
/// A one-word name must be at least this long to be looked for in text.
const MIN_SINGLE_WORD_CHARS: usize = 6;
/// A several-word name must be at least this long (spaces included).
const MIN_PHRASE_CHARS: usize = 9;

pub(super) struct MentionIndex {
    automaton: Option<AhoCorasick>,
    /// Per pattern: the (entity, name) pairs that carry it.
    owners: Vec<Vec<(u32, u16)>>,
}

impl MentionIndex {
    pub fn new(
        entities: &[ListEntity],
        names: &[IndexedName],
        token_text: &[Box<str>],
        token_idf: &[f32],
        distinct_idf: f32,
        single_word_idf: f32,
    ) -> Self {
        let mut patterns: HashMap<String, usize> = HashMap::default();
        let mut owners: Vec<Vec<(u32, u16)>> = Vec::new();
        for name in names {
            // Person names appear in text in any order and are common; only organisations,
            // vessels and aircraft are searched.
            if entities[name.entity as usize].kind == EntityKind::Individual {
                continue;
            }
            let words: Vec<&str> = name.tokens.iter().map(|&t| &*token_text[t as usize]).collect();
            let phrase = words.join(" ");
            let eligible = match words.as_slice() {
                [] => false,
                [one] => {
                    one.chars().count() >= MIN_SINGLE_WORD_CHARS
                        && token_idf[name.tokens[0] as usize] >= single_word_idf
                }
                _ => {
                    phrase.chars().count() >= MIN_PHRASE_CHARS
                        && name.tokens.iter().any(|&t| token_idf[t as usize] >= distinct_idf)
                }
            };
            if !eligible {
                continue;
            }
            let index = *patterns.entry(format!(" {phrase} ")).or_insert_with(|| {
                owners.push(Vec::new());
                owners.len() - 1
            });
            owners[index].push((name.entity, name.name));
        }
        let mut ordered: Vec<(usize, String)> = patterns.into_iter().map(|(p, i)| (i, p)).collect();
        ordered.sort_unstable();
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(ordered.iter().map(|(_, p)| p.as_str()))
            .ok();
        MentionIndex { automaton, owners }
    }

    /// (entity, name) pairs whose name appears in `text` as whole words.
    pub fn find(&self, text: &str) -> Vec<(u32, u16)> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let words = fold_words(text);
        if words.is_empty() {
            return Vec::new();
        }
        let haystack = format!(" {} ", words.join(" "));
        automaton
            .find_overlapping_iter(&haystack)
            .flat_map(|m| self.owners[m.pattern().as_usize()].iter().copied())
            .collect()
    }
}
