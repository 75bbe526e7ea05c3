//! Legal forms as symbols: `ООО`, `OOO`, `LLC`, `Limited Liability Company` and
//! `Obshchestvo s Ogranichennoi Otvetstvennostyu` are one thing. A matching family helps a
//! match a little, a conflicting one hurts a little, and a legal form alone matches nothing.
use std::sync::LazyLock;

use super::normalize::{finish, fold_light};

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
    /// +1 same family, −1 conflicting families, 0 when either side has none.
    pub fn agreement(query: &[LegalFamily], listed: &[LegalFamily]) -> i8 {
        let q: Vec<_> = query.iter().filter(|f| **f != LegalFamily::Neutral).collect();
        let l: Vec<_> = listed.iter().filter(|f| **f != LegalFamily::Neutral).collect();
        if q.is_empty() || l.is_empty() {
            0
        } else if q.iter().any(|f| l.contains(f)) {
            1
        } else {
            -1
        }
    }
}

use LegalFamily::*;

/// Written in Latin; Cyrillic spellings (`ООО`, `ТОО`, `Общество с ограниченной
/// ответственностью`) fold onto the same tokens.
const PHRASES: &[(&str, LegalFamily)] = &[
    ("obshchestvo s ogranichennoi otvetstvennostyu", LimitedLiability),
    ("tovarishchestvo s ogranichennoi otvetstvennostyu", LimitedLiability),
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
    ("federalnoe gosudarstvennoe unitarnoe predpriyatie", StateEnterprise),
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

/// The phrases folded like names, longest first so that the longest reading wins.
static FOLDED: LazyLock<Vec<(Vec<String>, LegalFamily)>> = LazyLock::new(|| {
    let mut phrases: Vec<(Vec<String>, LegalFamily)> = PHRASES
        .iter()
        .map(|(p, f)| (p.split(' ').map(fold_light).collect(), *f))
        .collect();
    phrases.sort_by_key(|(tokens, _)| std::cmp::Reverse(tokens.len()));
    phrases
});

/// Whether a name's word is the phrase's word, forgiving one typo in long words
/// (`LIABILTY`, `AKTSIONEROE`) so that a misspelt legal form is still recognised as one.
fn same_word(phrase_word: &str, word: &str) -> bool {
    if phrase_word == word {
        return true;
    }
    // Doubled letters do not matter once a word is long enough not to be an initial:
    // СТОКК is STOCK.
    let (pf, wf) = (finish(phrase_word), finish(word));
    if pf.len() >= 3 && pf == wf {
        return true;
    }
    let (p, w) = (phrase_word.len(), word.len());
    let allowed = if p >= 10 { 2 } else { 1 };
    p >= 7
        && p.abs_diff(w) <= allowed
        && phrase_word.as_bytes().first() == word.as_bytes().first()
        && strsim::osa_distance(phrase_word, word) <= allowed
}

/// Finds the legal forms among folded (light) tokens; returns the indexes of the tokens that
/// are the name's own, and the families found.
pub fn extract(tokens: &[String]) -> (Vec<usize>, Vec<LegalFamily>) {
    let mut kept = Vec::with_capacity(tokens.len());
    let mut families = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let found = FOLDED.iter().find(|(phrase, _)| {
            tokens.len() - i >= phrase.len() && phrase.iter().zip(&tokens[i..]).all(|(p, t)| same_word(p, t))
        });
        match found {
            Some((phrase, family)) => {
                families.push(*family);
                i += phrase.len();
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
        for f in ["ООО", "OOO", "LLC", "Limited Liability Company", "Obshchestvo s Ogranichennoy Otvetstvennostyu"] {
            assert_eq!(families(&format!("{f} Vega")), [LimitedLiability], "{f}");
        }
        for f in ["АО", "AO", "JSC", "Aktsionernoe Obshchestvo", "ПАО", "PAO", "PJSC", "ЗАО", "ZAO", "CJSC", "ОАО", "OAO", "OJSC"] {
            assert_eq!(families(&format!("{f} Vega")), [JointStock], "{f}");
        }
        assert_eq!(families("ИП Иванов"), [SoleProprietor]);
        assert_eq!(families("ФГУП Вега"), [StateEnterprise]);
    }

    #[test]
    fn turkish_forms() {
        assert_eq!(families("Soylu A.Ş."), [JointStock]);
        assert_eq!(families("Ereğli Demir Çelik San. ve Tic. Ltd. Şti."), [Neutral, LimitedLiability]);
        assert_eq!(normalize("Ereğli Demir Çelik San. ve Tic. Ltd. Şti.").tokens, ["eregli", "demir", "kelik"]);
    }

    #[test]
    fn chinese_uae_central_asian_german_english_forms() {
        assert_eq!(families("Shenzhen Vega Co., Ltd."), [LimitedLiability]);
        assert_eq!(families("Vega Limited"), [LimitedLiability]);
        for f in ["FZE", "FZCO", "FZ-LLC", "ТОО", "TOO", "ОсОО", "OsOO", "GmbH", "Ltd"] {
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
        assert_eq!(LegalFamily::agreement(&[LimitedLiability], &[LimitedLiability]), 1);
        assert_eq!(LegalFamily::agreement(&[LimitedLiability], &[JointStock]), -1);
        assert_eq!(LegalFamily::agreement(&[], &[JointStock]), 0);
        assert_eq!(LegalFamily::agreement(&[Neutral], &[JointStock]), 0);
    }
}
