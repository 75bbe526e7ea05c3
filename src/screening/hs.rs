//! HS codes: normalising national tariff numbers to the six-digit HS subheading, the CHPL
//! table and the HS 2022 nomenclature used to tell a real subheading from a made-up one.
use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A tariff number as digits only, 6 (HS) to 12 (TR GTIP) long. Its first six digits are the
/// internationally shared HS subheading.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsCode(String);

pub const MIN_DIGITS: usize = 6;
pub const MAX_DIGITS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsCodeError {
    #[error("is empty")]
    Empty,
    #[error("contains {0:?}; only digits, dots, spaces and dashes are allowed")]
    InvalidCharacter(char),
    #[error("has {0} digits; an HS code needs at least {MIN_DIGITS}")]
    TooShort(usize),
    #[error("has {0} digits; national tariff numbers have at most {MAX_DIGITS}")]
    TooLong(usize),
}

impl HsCode {
    /// Accepts `8542.31`, `8542 31 00`, `8482.10.10.00.00`, `8482-10`; rejects letters and
    /// codes shorter than a subheading.
    pub fn parse(raw: &str) -> Result<Self, HsCodeError> {
        let mut digits = String::with_capacity(MAX_DIGITS);
        for c in raw.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                '.' | ' ' | '-' | '\u{a0}' => {}
                other => return Err(HsCodeError::InvalidCharacter(other)),
            }
            if digits.len() > MAX_DIGITS {
                // Count the rest too, so the message says how long the code really is.
                let total = raw.chars().filter(char::is_ascii_digit).count();
                return Err(HsCodeError::TooLong(total));
            }
        }
        match digits.len() {
            0 => Err(HsCodeError::Empty),
            n if n < MIN_DIGITS => Err(HsCodeError::TooShort(n)),
            _ => Ok(HsCode(digits)),
        }
    }

    /// All digits as sent, without separators.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The six-digit HS subheading.
    pub fn hs6(&self) -> &str {
        &self.0[..MIN_DIGITS]
    }
}

/// `854231` → `8542.31`, the way officers read subheadings.
pub fn dotted(hs6: &str) -> String {
    if hs6.len() == MIN_DIGITS {
        format!("{}.{}", &hs6[..4], &hs6[4..])
    } else {
        hs6.to_owned()
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for HsCode {
    type Error = HsCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        HsCode::parse(&value)
    }
}

impl From<HsCode> for String {
    fn from(code: HsCode) -> String {
        code.0
    }
}

/// CHPL tiers, from the most to the least critical items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChplTier {
    #[serde(rename = "1")]
    T1,
    #[serde(rename = "2")]
    T2,
    #[serde(rename = "3.A")]
    T3A,
    #[serde(rename = "3.B")]
    T3B,
    #[serde(rename = "4.A")]
    T4A,
    #[serde(rename = "4.B")]
    T4B,
}

impl ChplTier {
    pub const ALL: [ChplTier; 6] = [
        ChplTier::T1,
        ChplTier::T2,
        ChplTier::T3A,
        ChplTier::T3B,
        ChplTier::T4A,
        ChplTier::T4B,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChplTier::T1 => "1",
            ChplTier::T2 => "2",
            ChplTier::T3A => "3.A",
            ChplTier::T3B => "3.B",
            ChplTier::T4A => "4.A",
            ChplTier::T4B => "4.B",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ChplTier::ALL.into_iter().find(|t| t.as_str() == s.trim())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChplEntry {
    pub hs6: String,
    pub tier: ChplTier,
    pub description: String,
}

/// The Common High Priority List, keyed by six-digit subheading.
#[derive(Clone, Debug, Default)]
pub struct ChplTable {
    by_hs6: HashMap<String, ChplEntry>,
}

impl ChplTable {
    pub fn new(entries: impl IntoIterator<Item = ChplEntry>) -> Self {
        ChplTable {
            by_hs6: entries.into_iter().map(|e| (e.hs6.clone(), e)).collect(),
        }
    }

    pub fn get(&self, code: &HsCode) -> Option<&ChplEntry> {
        self.by_hs6.get(code.hs6())
    }

    pub fn len(&self) -> usize {
        self.by_hs6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hs6.is_empty()
    }
}

/// The six-digit subheadings of HS 2022 with their descriptions.
#[derive(Clone, Debug, Default)]
pub struct HsNomenclature {
    subheadings: HashMap<String, String>,
}

impl HsNomenclature {
    pub fn new(subheadings: impl IntoIterator<Item = (String, String)>) -> Self {
        HsNomenclature {
            subheadings: subheadings.into_iter().collect(),
        }
    }

    pub fn contains(&self, code: &HsCode) -> bool {
        self.subheadings.contains_key(code.hs6())
    }

    pub fn len(&self) -> usize {
        self.subheadings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subheadings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_tariff_numbers_reduce_to_the_hs_subheading() {
        for (raw, hs6) in [
            ("854231", "854231"),
            ("8542.31", "854231"),
            ("8542 31 00", "854231"),       // EU CN
            ("8482.10.5044", "848210"),     // US HTS
            ("8482.10.10.00.00", "848210"), // TR GTIP, 12 digits
            ("8482-10-10", "848210"),
            (" 8471.30 ", "847130"),
        ] {
            assert_eq!(HsCode::parse(raw).unwrap().hs6(), hs6, "{raw}");
        }
        assert_eq!(
            HsCode::parse("8482.10.10.00.00").unwrap().digits(),
            "848210100000"
        );
    }

    #[test]
    fn malformed_codes_are_rejected_with_the_reason() {
        assert_eq!(HsCode::parse(""), Err(HsCodeError::Empty));
        assert_eq!(HsCode::parse(" .. "), Err(HsCodeError::Empty));
        assert_eq!(HsCode::parse("8542"), Err(HsCodeError::TooShort(4)));
        assert_eq!(
            HsCode::parse("8542.3l"),
            Err(HsCodeError::InvalidCharacter('l'))
        );
        assert_eq!(
            HsCode::parse("8482.10.10.00.00.1"),
            Err(HsCodeError::TooLong(13))
        );
    }

    #[test]
    fn tiers_round_trip() {
        for tier in ChplTier::ALL {
            assert_eq!(ChplTier::parse(tier.as_str()), Some(tier));
        }
        assert_eq!(ChplTier::parse("5"), None);
    }

    #[test]
    fn dotted_reads_like_the_tariff() {
        assert_eq!(dotted("854231"), "8542.31");
    }
}
