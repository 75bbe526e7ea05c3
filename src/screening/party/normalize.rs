//! One normalisation pipeline for list names and queries alike, so that every spelling of a
//! name lands on the same tokens:
//!
//! 1. Unicode NFKC (full-width forms, ligatures) and lower case;
//! 2. split on anything that is not a letter or digit, except apostrophes and soft/hard-sign
//!    marks, which are dropped without splitting (`Podol'sk` = `Podolsk`);
//! 3. homoglyphs: a token mixing Latin and Cyrillic (or Greek) look-alikes is folded to its
//!    majority script (`ЕLEKTROKOM` with a Cyrillic Е is Latin);
//! 4. diacritics removed (`Şti` = `Sti`, `Röhrdanz` = `Rohrdanz`);
//! 5. Cyrillic (Russian, Ukrainian, Belarusian, Kazakh, Kyrgyz, Serbian) to Latin, then Latin
//!    spellings folded onto one phonetic key, whatever scheme wrote them: kh/h → h,
//!    shch/sch → ŝ, y/j/i → i, ye → e, ts/tz → c, c/ck/q → k, x → ks, w → v, doubled letters
//!    single (`Evgenyevich`, `Evgenievich`, `Евгеньевич` all give `evgenevič`).
//!
//! Legal forms are then recognised on the folded tokens (see [`super::legal`]).
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::legal::{self, LegalFamily};

/// A name reduced to comparable tokens.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NormalizedName {
    /// Distinctive tokens (legal forms removed), folded, in their original order.
    pub tokens: Vec<String>,
    /// The same tokens in plain ASCII Latin before the phonetic fold (`shuvalov` for
    /// `šuvalov`): typos are judged on both, since folding can turn one slip into two.
    pub plain: Vec<String>,
    /// The legal forms found in the name.
    pub legal_forms: Vec<LegalFamily>,
}

impl NormalizedName {
    /// Order-insensitive key for exact lookups: `IVANOV, Ivan` and `Ivan IVANOV` agree.
    pub fn key(&self) -> String {
        let mut sorted: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        sorted.join(" ")
    }
}

/// Normalises a party or list name: folded distinctive tokens and the legal forms.
pub fn normalize(name: &str) -> NormalizedName {
    let folded: Vec<String> = raw_tokens(name)
        .iter()
        .map(|t| fold_homoglyphs(t))
        .collect();
    let plain: Vec<String> = folded.iter().map(|t| to_plain_latin(t)).collect();
    let light: Vec<String> = folded.iter().map(|t| fold_phonetic(t)).collect();
    let mut keys: Vec<String> = light.iter().map(|t| finish(t)).collect();
    let (kept, legal_forms) = legal::extract(&light, &keys);
    let mut out = NormalizedName {
        legal_forms,
        ..NormalizedName::default()
    };
    for i in kept {
        if !keys[i].is_empty() {
            out.tokens.push(std::mem::take(&mut keys[i]));
            out.plain.push(plain[i].clone());
        }
    }
    out
}

/// All tokens of a free text (an address, a goods description), folded, legal forms kept:
/// the haystack for mention search.
pub fn fold_words(text: &str) -> Vec<String> {
    raw_tokens(text)
        .iter()
        .map(|t| finish(&fold_light(t)))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Identifier values compare on letters and digits only: `77-13 489203` = `7713489203`.
pub fn normalize_identifier(value: &str) -> String {
    value
        .nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

fn is_dropped_mark(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{02B9}' | '\u{02BA}' | '`' | '\u{00B4}'
    )
}

/// Step 1–2: NFKC, lower case, split.
fn raw_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            current.push(c);
        } else if !is_dropped_mark(c) && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'a'..='z' | '\u{00C0}'..='\u{024F}' => Script::Latin,
        '\u{0400}'..='\u{052F}' => Script::Cyrillic,
        '\u{0370}'..='\u{03FF}' => Script::Greek,
        _ => Script::Other,
    }
}

/// Lower-case Cyrillic letters that look like Latin ones (upper or lower case).
const CYRILLIC_LOOKALIKES: &[(char, char)] = &[
    ('а', 'a'),
    ('в', 'b'),
    ('е', 'e'),
    ('ё', 'e'),
    ('і', 'i'),
    ('ј', 'j'),
    ('к', 'k'),
    ('м', 'm'),
    ('н', 'h'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('ѕ', 's'),
    ('т', 't'),
    ('у', 'y'),
    ('х', 'x'),
    ('ԁ', 'd'),
    ('ԛ', 'q'),
    ('ԝ', 'w'),
];

/// Lower-case Greek letters that look like Latin ones.
const GREEK_LOOKALIKES: &[(char, char)] = &[
    ('α', 'a'),
    ('β', 'b'),
    ('ε', 'e'),
    ('η', 'h'),
    ('ι', 'i'),
    ('κ', 'k'),
    ('μ', 'm'),
    ('ν', 'n'),
    ('ο', 'o'),
    ('ρ', 'p'),
    ('τ', 't'),
    ('υ', 'y'),
    ('χ', 'x'),
    ('ζ', 'z'),
];

/// Step 3: folds look-alike letters in a mixed-script token to the token's majority script.
fn fold_homoglyphs(token: &str) -> String {
    let (mut latin, mut cyrillic, mut greek) = (0, 0, 0);
    for c in token.chars() {
        match script(c) {
            Script::Latin => latin += 1,
            Script::Cyrillic => cyrillic += 1,
            Script::Greek => greek += 1,
            Script::Other => {}
        }
    }
    let mixed = [latin, cyrillic, greek].iter().filter(|&&n| n > 0).count() > 1;
    if !mixed {
        return token.to_owned();
    }
    let to_latin = latin >= cyrillic || greek > 0 && latin > 0;
    token
        .chars()
        .map(|c| {
            if to_latin {
                let table = match script(c) {
                    Script::Cyrillic => CYRILLIC_LOOKALIKES,
                    Script::Greek => GREEK_LOOKALIKES,
                    _ => return c,
                };
                table
                    .iter()
                    .find(|(from, _)| *from == c)
                    .map_or(c, |(_, to)| *to)
            } else if script(c) == Script::Latin {
                // Not y: in a Cyrillic word it is as often a transliteration as a disguised у.
                CYRILLIC_LOOKALIKES
                    .iter()
                    .find(|(_, latin)| *latin == c && c != 'y')
                    .map_or(c, |(cyr, _)| *cyr)
            } else {
                c
            }
        })
        .collect()
}

/// Cyrillic letters to Latin (BGN/PCGN-like; the Latin fold below then merges schemes).
fn cyrillic_to_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' | 'ғ' => "g",
        'д' => "d",
        'е' | 'є' | 'э' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ї' | 'й' | 'ы' | 'ј' => "y",
        'к' | 'қ' => "k",
        'л' | 'љ' => "l",
        'м' => "m",
        'н' | 'ң' | 'њ' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' | 'ћ' => "t",
        'у' | 'ў' | 'ұ' | 'ү' => "u",
        'ф' => "f",
        'х' | 'һ' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        'ђ' => "d",
        'џ' => "dzh",
        _ => return None,
    })
}

/// Latin letters that neither NFD nor lower-casing reduces to ASCII.
fn latin_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'ı' => "i",
        'ø' => "o",
        'æ' => "ae",
        'œ' => "oe",
        'đ' | 'ð' => "d",
        'ł' => "l",
        'þ' => "th",
        _ => return None,
    })
}

/// A Latin character without diacritics, as ASCII where possible.
fn push_ascii(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c);
    } else if let Some(s) = latin_special(c) {
        out.push_str(s);
    } else {
        out.extend(std::iter::once(c).nfd().filter(|c| !is_combining_mark(*c)));
    }
}

/// Steps 3–5 up to the phonetic key, before doubled letters are merged: the form legal-form
/// phrases are compared in (so `ooo` stays distinct from an initial `o`).
pub(super) fn fold_light(token: &str) -> String {
    fold_phonetic(&fold_homoglyphs(token))
}

/// Steps 4–5a: plain ASCII Latin (diacritics off, Cyrillic transliterated), no phonetic fold.
fn to_plain_latin(token: &str) -> String {
    let mut latin = String::with_capacity(token.len() + 4);
    for c in token.chars() {
        match cyrillic_to_latin(c) {
            Some(s) => latin.push_str(s),
            None => push_ascii(c, &mut latin),
        }
    }
    latin
}

/// Steps 4–5: the phonetic key of a homoglyph-folded token, before doubled letters merge.
/// Cyrillic letters are transliterated and folded one by one, so that a Cyrillic кс+ч can never
/// be misread as the Latin digraph sch; Latin runs are folded as runs.
fn fold_phonetic(token: &str) -> String {
    let mut out = String::with_capacity(token.len() + 4);
    let mut latin_run = String::new();
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        let Some(latin) = cyrillic_to_latin(c) else {
            push_ascii(c, &mut latin_run);
            continue;
        };
        fold_latin(&latin_run, &mut out);
        latin_run.clear();
        if c == 'т' && chars.peek() == Some(&'с') {
            // тс is the sound ц; Latin spellings write both as ts.
            chars.next();
            out.push('c');
        } else {
            fold_latin(latin, &mut out);
        }
    }
    fold_latin(&latin_run, &mut out);
    out
}

/// One spelling for the sounds that Latin transliteration schemes write differently.
fn fold_latin(latin: &str, out: &mut String) {
    let b = latin.as_bytes();
    let mut i = 0;
    let starts = |i: usize, s: &str| b[i..].starts_with(s.as_bytes());
    while i < b.len() {
        let (emit, used) = if starts(i, "shch") {
            ("ŝ", 4)
        } else if starts(i, "sch") || starts(i, "shh") {
            ("ŝ", 3)
        } else if starts(i, "tch") {
            ("č", 3)
        } else if starts(i, "sh") {
            ("š", 2)
        } else if starts(i, "ch") {
            ("č", 2)
        } else if starts(i, "zh") {
            ("ž", 2)
        } else if starts(i, "kh") {
            ("h", 2)
        } else if starts(i, "ts") || starts(i, "tz") {
            ("c", 2)
        } else if starts(i, "ck") {
            ("k", 2)
        } else {
            let one = match b[i] {
                b'c' | b'q' => "k",
                b'x' => "ks",
                b'w' => "v",
                // English and Turkic spellings write дж as j (Jalil, Dzhalil).
                b'j' => "dž",
                b'y' => "i",
                _ => {
                    // Not one of the rewritten letters: copy the whole character.
                    let ch = latin[i..].chars().next().unwrap_or(' ');
                    out.push(ch);
                    i += ch.len_utf8();
                    continue;
                }
            };
            (one, 1)
        };
        out.push_str(emit);
        i += used;
    }
}

/// Merges doubled letters and the `ie` glide (`ye` and `e` are one letter in Russian).
pub(super) fn finish(light: &str) -> String {
    let mut out = String::with_capacity(light.len());
    for c in light.chars() {
        match c {
            // "ye" and "e" are one Russian letter.
            'e' if out.ends_with('i') => {
                out.pop();
            }
            // "yo" after a consonant is ё, which documents mostly write as е.
            'o' if out.ends_with('i') && out.chars().rev().nth(1).is_some_and(is_consonant) => {
                out.pop();
                if !out.ends_with('e') {
                    out.push('e');
                }
                continue;
            }
            _ => {}
        }
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

fn is_consonant(c: char) -> bool {
    c.is_alphabetic() && !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(name: &str) -> Vec<String> {
        normalize(name).tokens
    }

    fn same(a: &str, b: &str) {
        assert_eq!(normalize(a).key(), normalize(b).key(), "{a:?} vs {b:?}");
    }

    #[test]
    fn nfkc_case_and_punctuation() {
        same("ＥＬＥＫＴＲＯＫＯＭ", "elektrokom"); // full-width
        same("\"Elektrokom\", ooo", "ELEKTROKOM OOO");
        same("«Электроком»", "„Электроком“");
        same("Podol'sk", "PODOLSK");
    }

    #[test]
    fn diacritics() {
        same("Şirket Çelik Ödemiş", "SIRKET CELIK ODEMIS");
        same("Röhrdanz", "Rohrdanz");
        same("Straße", "STRASSE");
    }

    #[test]
    fn homoglyphs_in_mixed_script_tokens() {
        // Cyrillic Е, О and К hidden in a Latin name.
        same("\u{0415}LEKTR\u{041E}\u{041A}OM", "ELEKTROKOM");
        // Latin a and o hidden in a Cyrillic name.
        same("Электрокoм", "Электроком");
        // Greek omicron.
        same("ELEKTR\u{039F}KOM", "ELEKTROKOM");
    }

    #[test]
    fn cyrillic_and_transliteration_schemes_meet() {
        same("Электроком", "ELEKTROKOM");
        same("Евгеньевич", "Evgenyevich");
        same("Evgenievich", "YEVGENYEVICH");
        same("Юрий", "Yuriy");
        same("Iurii", "Yuriy");
        same("Дмитрий", "Dmitry");
        same("Татьяна", "Tatiana");
        same("Tatiana", "TATYANA");
        same("Хабаровск", "Habarovsk");
        same("Щукин", "Schukin");
        same("Shchukin", "Щукин");
        same("Цветков", "Tzvetkov");
        same("Алексеев", "ALEKSEYEV");
        same("Alexei", "Aleksey");
        same("Ксения", "Xenia");
        same("Жуков", "Zhukov");
        same("Джарош", "Jarosh");
        same("Фёдор", "Fedor");
        same("Fyodor", "Фёдор");
        same("Артём", "Artyom");
        same("Пaукин", "Паукин"); // Latin a disguised in Cyrillic
        same("Паyкин", "Paykin"); // a Latin y stays a y
        same("Детский", "Detskiy");
        same("ИМАКСЧИП", "IMAXCHIP");
        same("Чернов", "Chernov");
    }

    #[test]
    fn kazakh_kyrgyz_and_ukrainian_letters() {
        same("Қазақстан", "Kazakstan");
        same("Өскемен", "Oskemen");
        same("Үрүмчү", "Urumchu");
        same("Київ", "Kyiv");
        same("Ґаліція", "Galitsiya");
    }

    #[test]
    fn letter_by_letter_transcriptions_of_latin_names() {
        same("СКИЕНТИФИК", "SCIENTIFIC");
        same("СЫСТЕМ", "SYSTEM");
        same("КЕНТЕР", "CENTER");
    }

    #[test]
    fn legal_forms_are_recognised_in_any_script_or_spelling() {
        for name in [
            "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM",
            "ООО «Электроком»",
            "ELEKTROKOM, OOO",
            "Elektrokom LLC",
            "Elektrokom Limited Liability Company",
            "Общество с ограниченной ответственностью Электроком",
        ] {
            let n = normalize(name);
            assert_eq!(n.tokens, vec!["elektrokom"], "{name}");
            assert_eq!(n.legal_forms, vec![LegalFamily::LimitedLiability], "{name}");
        }
    }

    #[test]
    fn a_legal_form_alone_leaves_no_distinctive_token() {
        assert!(tokens("LLC").is_empty());
        assert!(tokens("Co., Ltd.").is_empty());
        assert!(tokens("ООО").is_empty());
        assert!(tokens("San. ve Tic. Ltd. Şti.").is_empty());
    }

    #[test]
    fn person_name_order_does_not_change_the_key() {
        same("IVANOV, Ivan Petrovich", "Ivan Petrovich Ivanov");
    }

    #[test]
    fn identifiers_keep_only_letters_and_digits() {
        assert_eq!(normalize_identifier(" 77-13 489203 "), "7713489203");
        assert_eq!(normalize_identifier("imo 9187629"), "IMO9187629");
        assert_eq!(normalize_identifier("７７１３"), "7713");
    }

    #[test]
    fn free_text_keeps_every_word() {
        assert_eq!(
            fold_words("c/o OOO Sovtekh, Moscow"),
            ["k", "o", "o", "sovteh", "moskov"]
        );
    }
}
