//! Country codes: ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision ("UA-43").
use std::fmt;

use serde::{Deserialize, Serialize};

/// ISO 3166-1 alpha-2 codes (249, from the ISO 3166 Maintenance Agency's list as packaged by
/// pycountry), plus XK (Kosovo), which customs systems use although ISO has not assigned it.
const ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A validated country code: `RU`, or a subdivision such as `UA-43` (Crimea).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryCodeError {
    #[error(
        "must be an ISO 3166-1 alpha-2 code such as \"KG\" or an ISO 3166-2 subdivision such as \"UA-43\""
    )]
    Malformed,
    #[error("\"{0}\" is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
}

impl CountryCode {
    /// Parses `KG`, `kg`, ` UA-43 `; the result is upper-case.
    pub fn parse(raw: &str) -> Result<Self, CountryCodeError> {
        let code = raw.trim().to_ascii_uppercase();
        let (country, subdivision) = match code.split_once('-') {
            Some((c, s)) => (c, Some(s)),
            None => (code.as_str(), None),
        };
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CountryCodeError::Malformed);
        }
        if let Some(s) = subdivision
            && (s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(CountryCodeError::Malformed);
        }
        if ALPHA2.binary_search(&country).is_err() {
            return Err(CountryCodeError::UnknownCountry(country.to_owned()));
        }
        Ok(CountryCode(code))
    }

    /// The whole code, e.g. `UA-43`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country part, e.g. `UA` for `UA-43`.
    pub fn alpha2(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> String {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha2_table_is_sorted_for_binary_search() {
        assert!(ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ALPHA2.len(), 250);
    }

    #[test]
    fn parses_countries_and_subdivisions() {
        assert_eq!(CountryCode::parse(" kg ").unwrap().as_str(), "KG");
        let crimea = CountryCode::parse("UA-43").unwrap();
        assert_eq!(crimea.alpha2(), "UA");
        assert_eq!(crimea.as_str(), "UA-43");
    }

    #[test]
    fn rejects_malformed_and_unknown_codes() {
        assert_eq!(CountryCode::parse("RUS"), Err(CountryCodeError::Malformed));
        assert_eq!(CountryCode::parse(""), Err(CountryCodeError::Malformed));
        assert_eq!(CountryCode::parse("UA-"), Err(CountryCodeError::Malformed));
        assert_eq!(CountryCode::parse("R1"), Err(CountryCodeError::Malformed));
        assert_eq!(
            CountryCode::parse("QQ"),
            Err(CountryCodeError::UnknownCountry("QQ".into()))
        );
    }
}
