//! Name normalisation shared by list entries and queries: upper case, punctuation to spaces,
//! legal forms recognised and set aside so that they never carry a match on their own.

/// A name reduced to comparable tokens.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NormalizedName {
    /// Distinctive tokens in their original order (legal forms removed).
    pub tokens: Vec<String>,
    /// Legal forms found in the name, as written after upper-casing (`OOO`, `LLC`).
    pub legal_forms: Vec<String>,
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

/// Multi-word legal forms, longest first so that the longest one wins.
const LEGAL_FORM_PHRASES: &[&[&str]] = &[
    &["OBSHCHESTVO", "S", "OGRANICHENNOI", "OTVETSTVENNOSTYU"],
    &["OBSHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"],
    &["ZAKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["OTKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["PUBLICHNOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["AKTSIONERNOE", "OBSHCHESTVO"],
    &["LIMITED", "LIABILITY", "COMPANY"],
    &["LIMITED", "LIABILITY", "PARTNERSHIP"],
    &["CLOSED", "JOINT", "STOCK", "COMPANY"],
    &["OPEN", "JOINT", "STOCK", "COMPANY"],
    &["PUBLIC", "JOINT", "STOCK", "COMPANY"],
    &["JOINT", "STOCK", "COMPANY"],
    &["LTD", "STI"],
    &["CO", "LTD"],
    &["FZ", "LLC"],
];

/// Single-token legal forms (Russian, Turkish, Chinese/HK, UAE, Central Asian, German, English).
const LEGAL_FORM_TOKENS: &[&str] = &[
    "AG",
    "AO",
    "AS",
    "CJSC",
    "CO",
    "CORP",
    "CORPORATION",
    "FGUP",
    "FZCO",
    "FZE",
    "GMBH",
    "INC",
    "IP",
    "JSC",
    "LIMITED",
    "LLC",
    "LLP",
    "LTD",
    "OAO",
    "OJSC",
    "OOO",
    "OSOO",
    "PAO",
    "PJSC",
    "PLC",
    "SA",
    "STI",
    "TIC",
    "TOO",
    "TOV",
    "ZAO",
];

/// Splits a name into upper-case alphanumeric tokens and separates out legal forms.
pub fn normalize(name: &str) -> NormalizedName {
    let upper = name.to_uppercase();
    let raw: Vec<String> = upper
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let mut out = NormalizedName::default();
    let mut i = 0;
    while i < raw.len() {
        if let Some(phrase) = LEGAL_FORM_PHRASES.iter().find(|p| {
            raw.len() - i >= p.len()
                && raw[i..i + p.len()]
                    .iter()
                    .zip(p.iter())
                    .all(|(a, b)| a == b)
        }) {
            out.legal_forms.push(phrase.join(" "));
            i += phrase.len();
            continue;
        }
        let token = &raw[i];
        if LEGAL_FORM_TOKENS.binary_search(&token.as_str()).is_ok() {
            out.legal_forms.push(token.clone());
        } else {
            out.tokens.push(token.clone());
        }
        i += 1;
    }
    out
}

/// Identifier values compare on letters and digits only: `77-13-489203` = `7713489203`.
pub fn normalize_identifier(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_form_table_is_sorted_for_binary_search() {
        assert!(LEGAL_FORM_TOKENS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn punctuation_and_case_do_not_matter() {
        assert_eq!(
            normalize("\"Elektrokom\", ooo").key(),
            normalize("ELEKTROKOM OOO").key()
        );
    }

    #[test]
    fn legal_forms_are_set_aside_in_any_spelling() {
        for name in [
            "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM",
            "ELEKTROKOM, OOO",
            "Elektrokom LLC",
            "Elektrokom Limited Liability Company",
        ] {
            let n = normalize(name);
            assert_eq!(n.tokens, vec!["ELEKTROKOM"], "{name}");
            assert_eq!(n.legal_forms.len(), 1, "{name}");
        }
    }

    #[test]
    fn a_legal_form_alone_leaves_no_distinctive_token() {
        assert!(normalize("LLC").tokens.is_empty());
        assert!(normalize("Co., Ltd.").tokens.is_empty());
    }

    #[test]
    fn person_name_order_does_not_change_the_key() {
        assert_eq!(
            normalize("IVANOV, Ivan Petrovich").key(),
            normalize("Ivan Petrovich Ivanov").key()
        );
    }

    #[test]
    fn identifiers_keep_only_letters_and_digits() {
        assert_eq!(normalize_identifier(" 77-13 489203 "), "7713489203");
        assert_eq!(normalize_identifier("imo 9187629"), "IMO9187629");
    }
}
