//! Legal forms as symbols: `ООО`, `OOO`, `LLC`, `Limited Liability Company` and
//! `Obshchestvo s Ogranichennoi Otvetstvennostyu` are one thing. A matching family helps a
//! match a little, a conflicting one hurts a little, and a legal form alone matches nothing.
use std::collections::HashMap;
use std::sync::LazyLock;

use super::normalize::{finish, fold_light};

use LegalFamily::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegalFamily {
    /// OOO, LLC, Ltd, GmbH, TOO, OsOO, TOV, Ltd. Şti., Co., Ltd., FZE, FZCO, FZ-LLC…
    LimitedLiability,
    /// AO, PAO, ZAO, OAO, (P/C/O)JSC, AG, A.Ş., Inc, Corp, PLC, SA…
    JointStock,
    /// IP (individual entrepreneur).
    SoleProprietor,
    /// FGUP, GUP, MUP, FSUE: state and municipal unitary enterprises.
    StateEnterprise,
    /// LLP, LP, KG, OHG.
    Partnership,
    /// Words that travel with legal forms but say nothing about them (`Co.`, `San. ve Tic.`).
    Neutral,
}

impl LegalFamily {
    /// The families as a bit set, neutral words left out.
    pub fn mask(families: &[LegalFamily]) -> u8 {
        families.iter().fold(0, |mask, f| {
            mask | match f {
                LimitedLiability => 1,
                JointStock => 2,
                SoleProprietor => 4,
                StateEnterprise => 8,
                Partnership => 16,
                Neutral => 0,
            }
        })
    }

    /// +1 same family, −1 conflicting families, 0 when either side has none (see [`Self::mask`]).
    pub fn agreement_of_masks(query: u8, listed: u8) -> i8 {
        if query == 0 || listed == 0 {
            0
        } else if query & listed != 0 {
            1
        } else {
            -1
        }
    }
}

/// Written in Latin; Cyrillic spellings (`ООО`, `ТОО`, `Общество с ограниченной
/// ответственностью`) fold onto the same tokens.
const PHRASES: &[(&str, LegalFamily)] = &[
    (
        "obshchestvo s ogranichennoi otvetstvennostyu",
        LimitedLiability,
    ),
    (
        "tovarishchestvo s ogranichennoi otvetstvennostyu",
        LimitedLiability,
    ),
    ("limited liability company", LimitedLiability),
    ("limited liability co", LimitedLiability),
    ("limited sirketi", LimitedLiability),
    ("company limited", LimitedLiability),
    ("co ltd", LimitedLiability),
    ("co limited", LimitedLiability),
    ("ltd sti", LimitedLiability),
    ("pte ltd", LimitedLiability),
    ("pvt ltd", LimitedLiability),
    ("fz llc", LimitedLiability),
    ("sp z o o", LimitedLiability),
    ("l l c", LimitedLiability),
    ("ooo", LimitedLiability),
    ("llc", LimitedLiability),
    ("ltd", LimitedLiability),
    ("limited", LimitedLiability),
    ("too", LimitedLiability),
    ("osoo", LimitedLiability),
    ("tov", LimitedLiability),
    ("gmbh", LimitedLiability),
    ("mbh", LimitedLiability),
    ("sarl", LimitedLiability),
    ("srl", LimitedLiability),
    ("bv", LimitedLiability),
    ("fze", LimitedLiability),
    ("fzco", LimitedLiability),
    ("fzc", LimitedLiability),
    ("fzllc", LimitedLiability),
    ("publichnoe aktsionernoe obshchestvo", JointStock),
    ("zakrytoe aktsionernoe obshchestvo", JointStock),
    ("otkrytoe aktsionernoe obshchestvo", JointStock),
    ("aktsionernoe obshchestvo", JointStock),
    ("public joint stock company", JointStock),
    ("closed joint stock company", JointStock),
    ("open joint stock company", JointStock),
    ("joint stock company", JointStock),
    ("public limited company", JointStock),
    ("anonim sirketi", JointStock),
    ("a s", JointStock),
    ("ao", JointStock),
    ("pao", JointStock),
    ("zao", JointStock),
    ("oao", JointStock),
    ("jsc", JointStock),
    ("pjsc", JointStock),
    ("cjsc", JointStock),
    ("ojsc", JointStock),
    ("ag", JointStock),
    ("as", JointStock),
    ("inc", JointStock),
    ("incorporated", JointStock),
    ("corp", JointStock),
    ("corporation", JointStock),
    ("plc", JointStock),
    ("sa", JointStock),
    ("spa", JointStock),
    ("nv", JointStock),
    ("individualnyi predprinimatel", SoleProprietor),
    ("ip", SoleProprietor),
    (
        "federalnoe gosudarstvennoe unitarnoe predpriyatie",
        StateEnterprise,
    ),
    ("gosudarstvennoe unitarnoe predpriyatie", StateEnterprise),
    ("federal state unitary enterprise", StateEnterprise),
    ("state unitary enterprise", StateEnterprise),
    ("fgup", StateEnterprise),
    ("gup", StateEnterprise),
    ("mup", StateEnterprise),
    ("fsue", StateEnterprise),
    ("llp", Partnership),
    ("lp", Partnership),
    ("kg", Partnership),
    ("ohg", Partnership),
    ("sanayi ve ticaret", Neutral),
    ("san ve tic", Neutral),
    ("tic", Neutral),
    ("sti", Neutral),
    ("co", Neutral),
];

/// A phrase folded like names: each word's light form and its finished (key) form.
struct Phrase {
    light: Vec<String>,
    keys: Vec<String>,
    family: LegalFamily,
}

/// The phrases, and where to start looking for them.
struct PhraseTable {
    /// Longest first, so that the longest reading wins.
    phrases: Vec<Phrase>,
    /// Phrase indexes by first word (light form and key form).
    by_first: HashMap<String, Vec<usize>>,
    /// Phrases whose first word is long enough to be recognised with a typo.
    long_first: Vec<usize>,
}

static TABLE: LazyLock<PhraseTable> = LazyLock::new(|| {
    let mut phrases: Vec<Phrase> = PHRASES
        .iter()
        .map(|(p, family)| {
            let light: Vec<String> = p.split(' ').map(fold_light).collect();
            let keys = light.iter().map(|w| finish(w)).collect();
            Phrase {
                light,
                keys,
                family: *family,
            }
        })
        .collect();
    phrases.sort_by_key(|p| std::cmp::Reverse(p.light.len()));
    let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
    let mut long_first = Vec::new();
    for (i, p) in phrases.iter().enumerate() {
        by_first.entry(p.light[0].clone()).or_default().push(i);
        if p.keys[0] != p.light[0] && p.keys[0].len() >= MIN_KEY_LEN {
            by_first.entry(p.keys[0].clone()).or_default().push(i);
        }
        if p.light[0].len() >= MIN_FUZZY_LEN {
            long_first.push(i);
        }
    }
    PhraseTable {
        phrases,
        by_first,
        long_first,
    }
});

/// Keys shorter than this (`o` from `ooo`) are compared in their light form only.
const MIN_KEY_LEN: usize = 3;
/// Phrase words at least this long forgive one typo (two from ten letters).
const MIN_FUZZY_LEN: usize = 7;

/// Whether a name's word (light form, key) is the phrase's word, forgiving doubled letters
/// (СТОКК is STOCK) and one typo in long words (`LIABILTY`, `AKTSIONEROE`).
fn same_word(phrase: (&str, &str), word: (&str, &str)) -> bool {
    if phrase.0 == word.0 || (phrase.1.len() >= MIN_KEY_LEN && phrase.1 == word.1) {
        return true;
    }
    let (p, w) = (phrase.0.len(), word.0.len());
    let allowed = if p >= 10 { 2 } else { 1 };
    p >= MIN_FUZZY_LEN
        && p.abs_diff(w) <= allowed
        && phrase.0.as_bytes().first() == word.0.as_bytes().first()
        && strsim::osa_distance(phrase.0, word.0) <= allowed
}

/// Finds the legal forms among a name's words (light forms and keys, in order); returns the
/// indexes of the words that are the name's own, and the families found.
pub fn extract(light: &[String], keys: &[String]) -> (Vec<usize>, Vec<LegalFamily>) {
    let table = &*TABLE;
    let mut kept = Vec::with_capacity(light.len());
    let mut families = Vec::new();
    let mut i = 0;
    while i < light.len() {
        let mut candidates: Vec<usize> = Vec::new();
        for first in [&light[i], &keys[i]] {
            if let Some(list) = table.by_first.get(first.as_str()) {
                candidates.extend(list);
            }
        }
        if light[i].len() + 1 >= MIN_FUZZY_LEN {
            candidates.extend(&table.long_first);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let found = candidates.into_iter().map(|c| &table.phrases[c]).find(|p| {
            light.len() - i >= p.light.len()
                && (0..p.light.len())
                    .all(|j| same_word((&p.light[j], &p.keys[j]), (&light[i + j], &keys[i + j])))
        });
        match found {
            Some(phrase) => {
                families.push(phrase.family);
                i += phrase.light.len();
            }
            None => {
                kept.push(i);
                i += 1;
            }
        }
    }
    (kept, families)
}

#[cfg(test)]
mod tests {
    use super::super::normalize::normalize;
    use super::*;

    fn families(name: &str) -> Vec<LegalFamily> {
        normalize(name).legal_forms
    }

    #[test]
    fn russian_forms() {
        for f in [
            "ООО",
            "OOO",
            "LLC",
            "Limited Liability Company",
            "Obshchestvo s Ogranichennoy Otvetstvennostyu",
        ] {
            assert_eq!(families(&format!("{f} Vega")), [LimitedLiability], "{f}");
        }
        for f in [
            "АО",
            "AO",
            "JSC",
            "Aktsionernoe Obshchestvo",
            "ПАО",
            "PAO",
            "PJSC",
            "ЗАО",
            "ZAO",
            "CJSC",
            "ОАО",
            "OAO",
            "OJSC",
        ] {
            assert_eq!(families(&format!("{f} Vega")), [JointStock], "{f}");
        }
        assert_eq!(families("ИП Иванов"), [SoleProprietor]);
        assert_eq!(families("ФГУП Вега"), [StateEnterprise]);
    }

    #[test]
    fn turkish_forms() {
        assert_eq!(families("Soylu A.Ş."), [JointStock]);
        assert_eq!(
            families("Ereğli Demir Çelik San. ve Tic. Ltd. Şti."),
            [Neutral, LimitedLiability]
        );
        assert_eq!(
            normalize("Ereğli Demir Çelik San. ve Tic. Ltd. Şti.").tokens,
            ["eregli", "demir", "kelik"]
        );
    }

    #[test]
    fn chinese_uae_central_asian_german_english_forms() {
        assert_eq!(families("Shenzhen Vega Co., Ltd."), [LimitedLiability]);
        assert_eq!(families("Vega Limited"), [LimitedLiability]);
        for f in [
            "FZE", "FZCO", "FZ-LLC", "ТОО", "TOO", "ОсОО", "OsOO", "GmbH", "Ltd",
        ] {
            assert_eq!(families(&format!("Vega {f}")), [LimitedLiability], "{f}");
        }
        for f in ["AG", "Inc.", "Corp.", "PLC"] {
            assert_eq!(families(&format!("Vega {f}")), [JointStock], "{f}");
        }
        assert_eq!(families("Vega OHG"), [Partnership]);
    }

    #[test]
    fn a_typo_in_a_long_legal_word_is_still_a_legal_form() {
        let n = normalize("LIMITED LIABILTY COMPANY SBERBANK CAPITAL");
        assert_eq!(n.legal_forms, [LimitedLiability]);
        assert_eq!(n.tokens, ["sberbank", "kapital"]);
        assert_eq!(families("AKTSIONEROE OBSHCHESTVO PASIT"), [JointStock]);
        // Short forms must be exact.
        assert_eq!(families("LLD Vega"), []);
    }

    #[test]
    fn agreement_between_families() {
        assert_eq!(
            LegalFamily::agreement_of_masks(
                LegalFamily::mask(&[LimitedLiability]),
                LegalFamily::mask(&[LimitedLiability])
            ),
            1
        );
        assert_eq!(
            LegalFamily::agreement_of_masks(
                LegalFamily::mask(&[LimitedLiability]),
                LegalFamily::mask(&[JointStock])
            ),
            -1
        );
        assert_eq!(
            LegalFamily::agreement_of_masks(
                LegalFamily::mask(&[]),
                LegalFamily::mask(&[JointStock])
            ),
            0
        );
        assert_eq!(
            LegalFamily::agreement_of_masks(
                LegalFamily::mask(&[Neutral]),
                LegalFamily::mask(&[JointStock])
            ),
            0
        );
    }
}
