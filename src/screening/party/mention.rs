//! Listed names mentioned inside free text ("c/o OOO Sovtekh, Moscow"), found with one
//! Aho-Corasick automaton over the distinctive list names.
//!
//! Text and names are tokenised and folded the same way, and the automaton runs over token
//! codes rather than letters: each vocabulary token becomes three bytes, the first with its
//! high bit set and the others without, so a match can only start and end on whole words, and
//! a million names make a small automaton.
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rustc_hash::FxHashMap as HashMap;

use super::matcher::IndexedName;
use super::{EntityKind, ListEntity};

/// A mention is evidence, not identity: by default it asks for review.
pub const MENTION_SCORE: f64 = 0.9;
/// A one-word name must be at least this long to be looked for in text.
const MIN_SINGLE_WORD_CHARS: usize = 6;
/// A several-word name must be at least this long (spaces included).
const MIN_PHRASE_CHARS: usize = 9;
/// Token ids must fit the three-byte code: 21 bits.
const MAX_TOKEN_ID: u32 = (1 << 21) - 1;
/// The code of a word the lists do not know: no pattern contains it.
const UNKNOWN_WORD: [u8; 3] = [0xFF, 0x7F, 0x7F];

fn code(token: u32) -> [u8; 3] {
    [
        0x80 | ((token >> 14) & 0x7F) as u8,
        ((token >> 7) & 0x7F) as u8,
        (token & 0x7F) as u8,
    ]
}

pub(super) struct MentionIndex {
    automaton: Option<AhoCorasick>,
    /// Per pattern: the (entity, name) pairs that carry it.
    owners: Vec<Vec<(u32, u16)>>,
}

pub(super) struct MentionThresholds {
    /// A several-word name needs a word at least this rare.
    pub distinct_idf: f32,
    /// A one-word name must be at least this rare.
    pub single_word_idf: f32,
}

impl MentionIndex {
    pub fn new(
        entities: &[ListEntity],
        names: &[IndexedName],
        token_chars: impl Fn(u32) -> usize,
        token_idf: &[f32],
        thresholds: MentionThresholds,
    ) -> Self {
        let mut patterns: HashMap<Vec<u8>, usize> = HashMap::default();
        let mut owners: Vec<Vec<(u32, u16)>> = Vec::new();
        for name in names {
            // Person names appear in text in any order and are common; only organisations,
            // vessels and aircraft are searched.
            if entities[name.entity as usize].kind == EntityKind::Individual {
                continue;
            }
            let tokens = &name.tokens;
            if tokens.iter().any(|&t| t > MAX_TOKEN_ID) {
                continue;
            }
            let eligible = match tokens.as_ref() {
                [] => false,
                [one] => {
                    token_chars(*one) >= MIN_SINGLE_WORD_CHARS
                        && token_idf[*one as usize] >= thresholds.single_word_idf
                }
                _ => {
                    tokens.iter().map(|&t| token_chars(t) + 1).sum::<usize>() > MIN_PHRASE_CHARS
                        && tokens
                            .iter()
                            .any(|&t| token_idf[t as usize] >= thresholds.distinct_idf)
                }
            };
            if !eligible {
                continue;
            }
            let pattern: Vec<u8> = tokens.iter().flat_map(|&t| code(t)).collect();
            let index = *patterns.entry(pattern).or_insert_with(|| {
                owners.push(Vec::new());
                owners.len() - 1
            });
            owners[index].push((name.entity, name.name));
        }
        let mut ordered: Vec<(usize, Vec<u8>)> =
            patterns.into_iter().map(|(p, i)| (i, p)).collect();
        ordered.sort_unstable();
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(ordered.iter().map(|(_, p)| p))
            .ok();
        MentionIndex { automaton, owners }
    }

    /// (entity, name) pairs whose name appears in a text, given as its words' token ids
    /// (`None` for words the lists do not know).
    pub fn find(&self, words: &[Option<u32>]) -> Vec<(u32, u16)> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let haystack: Vec<u8> = words
            .iter()
            .flat_map(|w| match w {
                Some(t) if *t <= MAX_TOKEN_ID => code(*t),
                _ => UNKNOWN_WORD,
            })
            .collect();
        automaton
            .find_overlapping_iter(&haystack)
            .flat_map(|m| self.owners[m.pattern().as_usize()].iter().copied())
            .collect()
    }
}
