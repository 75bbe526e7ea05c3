//! Party screening: finding listed entities behind the names, identifiers and free text on an
//! invoice, in any script or spelling.
//!
//! The matcher's whole interface is [`Matcher::new`], [`Matcher::find`] and
//! [`Matcher::mentions`]; it is built once per list version, off the request path.
pub mod legal;
mod matcher;
mod mention;
pub mod normalize;

pub use self::matcher::Matcher;
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

    pub(crate) fn compatible(self, other: Self) -> bool {
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

impl ListEntity {
    /// A short hash of everything the list says about the entity. A release of a match holds
    /// for this version only: when the list changes the entity, the version changes.
    pub fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.list_id);
        field(&self.entity_id);
        field(&format!("{:?}", self.kind));
        for n in &self.names {
            field(&n.name);
            field(&format!("{:?}", n.kind));
        }
        field("programs");
        for p in &self.programs {
            field(p);
        }
        field("identifiers");
        for i in &self.identifiers {
            field(&i.label);
            field(&i.value);
            field(&i.country);
        }
        field("countries");
        for c in &self.countries {
            field(c);
        }
        super::model::hex(&h.finalize()[..8])
    }
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
