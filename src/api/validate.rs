//! Proto → domain conversion with validation. Every problem is collected with its field path
//! so that the caller can fix the whole invoice at once.
use std::collections::HashSet;

use super::convert;
use super::error::{ApiError, FieldViolation};
use crate::audit::{ChainHead, VerdictFilter, VerifyOptions};
use crate::pb;
use crate::screening::country::CountryCode;
use crate::screening::hs::HsCode;
use crate::screening::model::{Identifier, Invoice, LineItem, Party, PartyRole, ReviewOutcome};

pub const MAX_LINE_ITEMS: usize = 10_000;
pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NAME_BYTES: usize = 1024;
pub const MAX_TEXT_BYTES: usize = 4096;
pub const MAX_OTHER_PARTIES: usize = 100;
pub const MAX_TRANSIT_COUNTRIES: usize = 32;
pub const MAX_IDENTIFIERS: usize = 32;
/// Beyond this many, further violations are summarised in one entry.
const MAX_VIOLATIONS: usize = 100;

#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    fn into_result<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            return Ok(value);
        }
        let mut all = self.0;
        if all.len() > MAX_VIOLATIONS {
            let more = all.len() - MAX_VIOLATIONS;
            all.truncate(MAX_VIOLATIONS);
            all.push(FieldViolation {
                field: "invoice".into(),
                description: format!("{more} more violations not listed"),
            });
        }
        Err(ApiError::InvalidArgument(all))
    }
}

fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// An identifier-like string: required or not, at most `MAX_ID_CHARS`, no control characters.
fn check_id(v: &mut Violations, path: &str, value: &str, required: bool) {
    if value.trim().is_empty() {
        if required {
            v.add(path, "is required");
        }
    } else if value.chars().count() > MAX_ID_CHARS {
        v.add(path, format!("is longer than {MAX_ID_CHARS} characters"));
    } else if has_control(value, false) {
        v.add(path, "contains control characters");
    }
}

fn check_text(v: &mut Violations, path: &str, value: &str, max_bytes: usize, allow_newlines: bool) {
    if value.len() > max_bytes {
        v.add(
            path,
            format!("is {} bytes; at most {max_bytes} are allowed", value.len()),
        );
    } else if has_control(value, allow_newlines) {
        v.add(path, "contains control characters");
    }
}

fn country(v: &mut Violations, path: &str, value: &str) -> Option<CountryCode> {
    match CountryCode::parse(value) {
        Ok(code) => Some(code),
        Err(e) => {
            v.add(path, e.to_string());
            None
        }
    }
}

fn role(raw: i32) -> Option<PartyRole> {
    match pb::PartyRole::try_from(raw).ok()? {
        pb::PartyRole::Unspecified => None,
        pb::PartyRole::Consignee => Some(PartyRole::Consignee),
        pb::PartyRole::EndUser => Some(PartyRole::EndUser),
        pb::PartyRole::IntermediateConsignee => Some(PartyRole::IntermediateConsignee),
        pb::PartyRole::Notify => Some(PartyRole::Notify),
        pb::PartyRole::FreightForwarder => Some(PartyRole::FreightForwarder),
        pb::PartyRole::Exporter => Some(PartyRole::Exporter),
    }
}

/// Which role a party at this position must or may have.
enum RoleRule {
    /// The exporter and consignee fields: unset or exactly this role.
    Fixed(PartyRole),
    /// `other_parties`: required, and not exporter or consignee.
    Other,
}

fn party(v: &mut Violations, path: &str, p: &pb::Party, rule: RoleRule) -> Party {
    let given = role(p.role);
    let role = match rule {
        RoleRule::Fixed(expected) => {
            if p.role != 0 && given != Some(expected) {
                v.add(
                    format!("{path}.role"),
                    format!("must be unset or {}", pb_role_name(expected)),
                );
            }
            expected
        }
        RoleRule::Other => match given {
            None => {
                v.add(
                    format!("{path}.role"),
                    "is required: END_USER, INTERMEDIATE_CONSIGNEE, NOTIFY or FREIGHT_FORWARDER",
                );
                PartyRole::Notify
            }
            Some(r @ (PartyRole::Exporter | PartyRole::Consignee)) => {
                v.add(
                    format!("{path}.role"),
                    format!(
                        "{} belongs in its own invoice field, not other_parties",
                        pb_role_name(r)
                    ),
                );
                r
            }
            Some(r) => r,
        },
    };
    check_id(v, &format!("{path}.id"), &p.id, role == PartyRole::Exporter);
    let name_required = role == PartyRole::Consignee || p.identifiers.is_empty();
    if p.name.trim().is_empty() {
        if name_required && role != PartyRole::Exporter {
            v.add(format!("{path}.name"), "is required");
        }
    } else {
        check_text(v, &format!("{path}.name"), &p.name, MAX_NAME_BYTES, false);
    }
    check_text(
        v,
        &format!("{path}.address"),
        &p.address,
        MAX_TEXT_BYTES,
        true,
    );
    let party_country = if p.country.trim().is_empty() {
        None
    } else {
        country(v, &format!("{path}.country"), &p.country)
    };
    if p.identifiers.len() > MAX_IDENTIFIERS {
        v.add(
            format!("{path}.identifiers"),
            format!("has more than {MAX_IDENTIFIERS} entries"),
        );
    }
    let mut identifiers = Vec::with_capacity(p.identifiers.len());
    for (i, ident) in p.identifiers.iter().enumerate().take(MAX_IDENTIFIERS) {
        let ipath = format!("{path}.identifiers[{i}]");
        check_id(v, &format!("{ipath}.scheme"), &ident.scheme, true);
        check_id(v, &format!("{ipath}.value"), &ident.value, true);
        identifiers.push(Identifier {
            scheme: ident.scheme.trim().to_owned(),
            value: ident.value.trim().to_owned(),
        });
    }
    Party {
        role,
        id: p.id.trim().to_owned(),
        name: p.name.trim().to_owned(),
        address: p.address.trim().to_owned(),
        country: party_country,
        identifiers,
    }
}

fn pb_role_name(role: PartyRole) -> &'static str {
    match role {
        PartyRole::Consignee => "PARTY_ROLE_CONSIGNEE",
        PartyRole::EndUser => "PARTY_ROLE_END_USER",
        PartyRole::IntermediateConsignee => "PARTY_ROLE_INTERMEDIATE_CONSIGNEE",
        PartyRole::Notify => "PARTY_ROLE_NOTIFY",
        PartyRole::FreightForwarder => "PARTY_ROLE_FREIGHT_FORWARDER",
        PartyRole::Exporter => "PARTY_ROLE_EXPORTER",
    }
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        && s.len() <= 40
}

/// `YYYY-MM-DD` naming a real calendar day.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn line_item(
    v: &mut Violations,
    path: &str,
    position: usize,
    item: &pb::LineItem,
) -> Option<LineItem> {
    let hs_code = match HsCode::parse(&item.hs_code) {
        Ok(code) => Some(code),
        Err(e) => {
            v.add(format!("{path}.hs_code"), format!("{:?} {e}", item.hs_code));
            None
        }
    };
    check_text(
        v,
        &format!("{path}.description"),
        &item.description,
        MAX_TEXT_BYTES,
        true,
    );
    check_text(
        v,
        &format!("{path}.quantity_unit"),
        &item.quantity_unit,
        32,
        false,
    );
    if !item.quantity.is_finite() || item.quantity < 0.0 {
        v.add(
            format!("{path}.quantity"),
            "must be a finite number, zero or more",
        );
    }
    if !item.value.is_empty() && !is_decimal(item.value.trim()) {
        v.add(
            format!("{path}.value"),
            "must be a decimal number such as \"12500.00\"",
        );
    }
    let currency_ok =
        item.currency.len() == 3 && item.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !item.currency.is_empty() && !currency_ok {
        v.add(
            format!("{path}.currency"),
            "must be an ISO 4217 code such as \"USD\"",
        );
    }
    let line_number = if item.line_number == 0 {
        u32::try_from(position + 1).unwrap_or(u32::MAX)
    } else {
        item.line_number
    };
    Some(LineItem {
        line_number,
        hs_code: hs_code?,
        description: item.description.trim().to_owned(),
        quantity: item.quantity,
        quantity_unit: item.quantity_unit.trim().to_owned(),
        value: item.value.trim().to_owned(),
        currency: item.currency.clone(),
    })
}

/// Validates a request's invoice and converts it to the domain type.
pub fn invoice(invoice: Option<&pb::Invoice>) -> Result<Invoice, ApiError> {
    let Some(inv) = invoice else {
        return Err(ApiError::invalid("invoice", "is required"));
    };
    let mut v = Violations::default();
    check_id(&mut v, "invoice.invoice_id", &inv.invoice_id, true);

    let exporter = match &inv.exporter {
        Some(p) => Some(party(
            &mut v,
            "invoice.exporter",
            p,
            RoleRule::Fixed(PartyRole::Exporter),
        )),
        None => {
            v.add("invoice.exporter", "is required");
            None
        }
    };
    let consignee = match &inv.consignee {
        Some(p) => Some(party(
            &mut v,
            "invoice.consignee",
            p,
            RoleRule::Fixed(PartyRole::Consignee),
        )),
        None => {
            v.add("invoice.consignee", "is required");
            None
        }
    };
    if inv.other_parties.len() > MAX_OTHER_PARTIES {
        v.add(
            "invoice.other_parties",
            format!("has more than {MAX_OTHER_PARTIES} entries"),
        );
    }
    let other_parties: Vec<Party> = inv
        .other_parties
        .iter()
        .take(MAX_OTHER_PARTIES)
        .enumerate()
        .map(|(i, p)| {
            party(
                &mut v,
                &format!("invoice.other_parties[{i}]"),
                p,
                RoleRule::Other,
            )
        })
        .collect();

    let destination = if inv.destination_country.trim().is_empty() {
        v.add("invoice.destination_country", "is required");
        None
    } else {
        country(
            &mut v,
            "invoice.destination_country",
            &inv.destination_country,
        )
    };
    if inv.transit_countries.len() > MAX_TRANSIT_COUNTRIES {
        v.add(
            "invoice.transit_countries",
            format!("has more than {MAX_TRANSIT_COUNTRIES} entries"),
        );
    }
    let transit_countries: Vec<CountryCode> = inv
        .transit_countries
        .iter()
        .take(MAX_TRANSIT_COUNTRIES)
        .enumerate()
        .filter_map(|(i, c)| country(&mut v, &format!("invoice.transit_countries[{i}]"), c))
        .collect();

    let mut line_items = Vec::new();
    if inv.line_items.is_empty() {
        v.add("invoice.line_items", "needs at least one line item");
    } else if inv.line_items.len() > MAX_LINE_ITEMS {
        v.add(
            "invoice.line_items",
            format!(
                "has {} line items; at most {MAX_LINE_ITEMS} are allowed",
                inv.line_items.len()
            ),
        );
    } else {
        let mut numbers = HashSet::with_capacity(inv.line_items.len());
        for (i, item) in inv.line_items.iter().enumerate() {
            let path = format!("invoice.line_items[{i}]");
            if let Some(line) = line_item(&mut v, &path, i, item) {
                if !numbers.insert(line.line_number) {
                    v.add(
                        format!("{path}.line_number"),
                        format!("line number {} appears more than once", line.line_number),
                    );
                }
                line_items.push(line);
            }
        }
    }

    let invoice_date = inv.invoice_date.trim();
    if !invoice_date.is_empty() && !is_date(invoice_date) {
        v.add(
            "invoice.invoice_date",
            "must be a calendar date \"YYYY-MM-DD\"",
        );
    }

    let (Some(exporter), Some(consignee), Some(destination_country)) =
        (exporter, consignee, destination)
    else {
        return v
            .into_result(())
            .and_then(|()| Err(ApiError::Internal("validation lost a field".into())));
    };
    let invoice = Invoice {
        invoice_id: inv.invoice_id.trim().to_owned(),
        exporter,
        consignee,
        other_parties,
        destination_country,
        transit_countries,
        line_items,
        invoice_date: (!invoice_date.is_empty()).then(|| invoice_date.to_owned()),
    };
    v.into_result(invoice)
}

/// The audit query filter at `path` (`filter`).
pub fn verdict_filter(f: Option<&pb::VerdictFilter>) -> Result<VerdictFilter, ApiError> {
    let Some(f) = f else {
        return Ok(VerdictFilter::default());
    };
    let mut v = Violations::default();
    check_id(&mut v, "filter.exporter_id", &f.exporter_id, false);
    check_id(&mut v, "filter.invoice_id", &f.invoice_id, false);
    check_id(&mut v, "filter.list_id", &f.list_id, false);
    check_id(&mut v, "filter.entity_id", &f.entity_id, false);
    let decision = convert::decision_from_pb(f.decision).unwrap_or_else(|e| {
        v.add("filter.decision", e);
        None
    });
    let mut time = |field: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(|t| {
            convert::timestamp_nanos(t)
                .map_err(|e| v.add(field, e))
                .ok()
        })
    };
    let after = time("filter.screened_after", &f.screened_after);
    let before = time("filter.screened_before", &f.screened_before);
    if let (Some(a), Some(b)) = (after, before)
        && a >= b
    {
        v.add(
            "filter.screened_before",
            "must be later than screened_after",
        );
    }
    let hs_code = if f.hs_code.trim().is_empty() {
        None
    } else {
        match HsCode::parse(&f.hs_code) {
            Ok(code) => Some(code.hs6().to_owned()),
            Err(e) => {
                v.add("filter.hs_code", e.to_string());
                None
            }
        }
    };
    let entity = match (f.list_id.trim(), f.entity_id.trim()) {
        ("", "") => None,
        (_, "") => {
            v.add("filter.entity_id", "is required with list_id");
            None
        }
        ("", _) => {
            v.add("filter.list_id", "is required with entity_id");
            None
        }
        (list, entity) => Some((list.to_owned(), entity.to_owned())),
    };
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    v.into_result(VerdictFilter {
        exporter_id: non_empty(&f.exporter_id),
        invoice_id: non_empty(&f.invoice_id),
        decision,
        screened_after: after,
        screened_before: before,
        hs_code,
        entity,
    })
}

/// A verdict id field: required and a ULID.
pub fn verdict_id(field: &str, raw: &str) -> Result<ulid::Ulid, ApiError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    ulid::Ulid::from_string(id)
        .map_err(|_| ApiError::invalid(field, "is not a verdict id (a 26-character ULID)"))
}

/// A validated review decision request; the verdict itself is checked against the store.
pub struct Review {
    pub verdict_id: ulid::Ulid,
    pub reviewer: String,
    pub outcome: ReviewOutcome,
    pub reason: String,
}

/// A review decision request: which verdict, who, what and why.
pub fn review(r: &pb::RecordDecisionRequest) -> Result<Review, ApiError> {
    let mut v = Violations::default();
    let id = verdict_id("verdict_id", &r.verdict_id)
        .map_err(|e| v.0.extend(e.violations()))
        .ok();
    check_id(&mut v, "reviewer", &r.reviewer, true);
    let outcome = match pb::ReviewOutcome::try_from(r.outcome) {
        Ok(pb::ReviewOutcome::Released) => Some(ReviewOutcome::Released),
        Ok(pb::ReviewOutcome::Confirmed) => Some(ReviewOutcome::Confirmed),
        Ok(pb::ReviewOutcome::Escalated) => Some(ReviewOutcome::Escalated),
        Ok(pb::ReviewOutcome::Unspecified) => {
            v.add("outcome", "is required: RELEASED, CONFIRMED or ESCALATED");
            None
        }
        Err(_) => {
            v.add(
                "outcome",
                format!("{} is not a ReviewOutcome value", r.outcome),
            );
            None
        }
    };
    if r.reason.trim().is_empty() {
        v.add("reason", "is required");
    } else {
        check_text(&mut v, "reason", &r.reason, MAX_TEXT_BYTES, true);
    }
    v.into_result(())?;
    // Both are set when nothing was reported above.
    let (Some(verdict_id), Some(outcome)) = (id, outcome) else {
        return Err(ApiError::invalid("verdict_id", "is required"));
    };
    Ok(Review {
        verdict_id,
        reviewer: r.reviewer.trim().to_owned(),
        outcome,
        reason: r.reason.trim().to_owned(),
    })
}

/// A verification request: the sequence range, an optional anchor, whether to check indexes.
pub fn verify(r: &pb::VerifyAuditLogRequest) -> Result<VerifyOptions, ApiError> {
    let mut v = Violations::default();
    let to = (r.to_sequence != 0).then_some(r.to_sequence);
    if let Some(to) = to
        && r.from_sequence > to
    {
        v.add("to_sequence", "must not be below from_sequence");
    }
    let anchor = match (r.anchor_sequence, r.anchor_hash.trim()) {
        (0, "") => None,
        (0, _) => {
            v.add("anchor_sequence", "is required with anchor_hash");
            None
        }
        (_, "") => {
            v.add("anchor_hash", "is required with anchor_sequence");
            None
        }
        (sequence, hash) => match parse_hash(hash) {
            Some(record_hash) => Some(ChainHead {
                sequence,
                record_hash,
            }),
            None => {
                v.add("anchor_hash", "is not 64 hexadecimal digits");
                None
            }
        },
    };
    v.into_result(VerifyOptions {
        from: r.from_sequence.max(1),
        to,
        anchor,
        indexes: !r.skip_indexes,
    })
}

/// A SHA-256 hash written as 64 hex digits.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_and_dates() {
        assert!(is_decimal("12500.00") && is_decimal("-3") && is_decimal("0.5"));
        assert!(!is_decimal("1e5") && !is_decimal("12.") && !is_decimal(".5") && !is_decimal(""));
        assert!(is_date("2024-02-29") && is_date("2026-11-27"));
        assert!(!is_date("2023-02-29") && !is_date("2026-13-01") && !is_date("26-11-27"));
    }
}
