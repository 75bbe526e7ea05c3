//! OFAC's CSV layout (SDN and the non-SDN consolidated list): primary records, aliases,
//! addresses and remarks overflow, no header, `-0-` for empty. Malformed rows are skipped
//! and reported with their line numbers; rows naming an entity the primary file lacks
//! (the alias and address files may be newer) are counted.
use std::collections::BTreeMap;

use super::{LineCounter, ListError, LoadReport, SkippedRow, decode};
use crate::screening::party::{
    EntityKind, IdentifierCategory, ListEntity, ListIdentifier, ListName, NameKind,
};

pub(super) struct OfacFiles<'a> {
    pub list_id: &'static str,
    pub primary: (&'a str, &'a [u8]),
    pub alt: (&'a str, &'a [u8]),
    pub add: (&'a str, &'a [u8]),
    pub comments: (&'a str, &'a [u8]),
}

/// A row's fields, decoded and with OFAC's `-0-` turned into empty strings.
struct Row {
    line: u64,
    fields: Vec<String>,
}

/// Reads every row of `bytes`; rows with another field count than `width` are skipped.
fn rows(file: &str, bytes: &[u8], width: usize, report: &mut LoadReport) -> Vec<Row> {
    let mut out = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::new(bytes);
    loop {
        let line = lines.line_of(rdr.position().byte());
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                report.skipped_rows.push(SkippedRow {
                    file: file.to_owned(),
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        }
        // OFAC ends its files with a DOS end-of-file mark (0x1A) on a line of its own.
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.trim_ascii() == b"\x1a" || f.is_empty())
        {
            continue;
        }
        if record.len() != width {
            report.skipped_rows.push(SkippedRow {
                file: file.to_owned(),
                line,
                reason: format!("expected {width} fields, found {}", record.len()),
            });
            continue;
        }
        let fields = record
            .iter()
            .map(|f| {
                let s = decode(f);
                let t = s.trim();
                if t == "-0-" {
                    String::new()
                } else {
                    t.to_owned()
                }
            })
            .collect();
        out.push(Row { line, fields });
    }
    out
}

fn skip(report: &mut LoadReport, file: &str, line: u64, reason: impl Into<String>) {
    report.skipped_rows.push(SkippedRow {
        file: file.to_owned(),
        line,
        reason: reason.into(),
    });
}

fn ent_num(report: &mut LoadReport, file: &str, row: &Row) -> Option<u64> {
    match row.fields[0].parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            skip(
                report,
                file,
                row.line,
                format!("ent_num {:?} is not a number", row.fields[0]),
            );
            None
        }
    }
}

pub(super) fn load(
    files: &OfacFiles<'_>,
    report: &mut LoadReport,
) -> Result<Vec<ListEntity>, ListError> {
    let (primary_name, primary) = files.primary;
    let mut entities: BTreeMap<u64, (ListEntity, String)> = BTreeMap::new();
    let primary_rows = rows(primary_name, primary, 12, report);
    let row_count = primary_rows.len();
    for row in primary_rows {
        let Some(id) = ent_num(report, primary_name, &row) else {
            continue;
        };
        let f = &row.fields;
        if f[1].is_empty() {
            skip(report, primary_name, row.line, "empty name");
            continue;
        }
        let kind = match f[2].to_ascii_lowercase().as_str() {
            "individual" => EntityKind::Individual,
            "vessel" => EntityKind::Vessel,
            "aircraft" => EntityKind::Aircraft,
            _ => EntityKind::Organization,
        };
        let entity = ListEntity {
            list_id: files.list_id.to_owned(),
            entity_id: id.to_string(),
            kind,
            names: vec![ListName {
                name: f[1].clone(),
                kind: NameKind::Primary,
            }],
            programs: programs(&f[3]),
            identifiers: Vec::new(),
            countries: Vec::new(),
        };
        entities.insert(id, (entity, f[11].clone()));
    }
    if entities.is_empty() {
        return Err(ListError::BadFile {
            file: primary_name.to_owned(),
            reason: format!("no readable entries ({row_count} rows)"),
        });
    }

    let (comments_name, comments) = files.comments;
    let mut orphan_count = 0;
    for row in rows(comments_name, comments, 2, report) {
        let Some(id) = ent_num(report, comments_name, &row) else {
            continue;
        };
        match entities.get_mut(&id) {
            // The overflow continues the remarks mid-word.
            Some((_, remarks)) => remarks.push_str(&row.fields[1]),
            None => orphan_count += 1,
        }
    }
    count_orphans(report, comments_name, orphan_count);

    for (entity, remarks) in entities.values_mut() {
        parse_remarks(remarks, entity);
    }

    let (alt_name, alt) = files.alt;
    let mut orphan_count = 0;
    for row in rows(alt_name, alt, 5, report) {
        let Some(id) = ent_num(report, alt_name, &row) else {
            continue;
        };
        let name = &row.fields[3];
        if name.is_empty() {
            skip(report, alt_name, row.line, "empty alt_name");
            continue;
        }
        match entities.get_mut(&id) {
            Some((entity, _)) => entity.names.push(ListName {
                name: name.clone(),
                kind: NameKind::Alias,
            }),
            None => orphan_count += 1,
        }
    }
    count_orphans(report, alt_name, orphan_count);

    let (add_name, add) = files.add;
    let mut orphan_count = 0;
    for row in rows(add_name, add, 6, report) {
        let Some(id) = ent_num(report, add_name, &row) else {
            continue;
        };
        match entities.get_mut(&id) {
            Some((entity, _)) => {
                let country = &row.fields[4];
                if !country.is_empty() && !entity.countries.contains(country) {
                    entity.countries.push(country.clone());
                }
            }
            None => orphan_count += 1,
        }
    }
    count_orphans(report, add_name, orphan_count);

    Ok(entities.into_values().map(|(entity, _)| entity).collect())
}

fn count_orphans(report: &mut LoadReport, file: &str, n: u64) {
    if n > 0 {
        report.orphan_rows.push((file.to_owned(), n));
    }
}

/// `RUSSIA-EO14024] [UKRAINE-EO13662` → both programs.
fn programs(field: &str) -> Vec<String> {
    field
        .split("] [")
        .map(|p| p.trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace()))
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Remark labels that introduce an identifier, and what kind of number follows.
const IDENTIFIER_LABELS: &[(&str, IdentifierCategory)] = &[
    ("Tax ID No.", IdentifierCategory::Tax),
    ("V.A.T. Number", IdentifierCategory::Tax),
    ("Registration Number", IdentifierCategory::Registration),
    ("Registration ID", IdentifierCategory::Registration),
    (
        "Government Gazette Number",
        IdentifierCategory::Registration,
    ),
    ("Company Number", IdentifierCategory::Registration),
    ("Legal Entity Number", IdentifierCategory::Registration),
    (
        "Business Registration Number",
        IdentifierCategory::Registration,
    ),
    (
        "Commercial Registry Number",
        IdentifierCategory::Registration,
    ),
    (
        "Public Registration Number",
        IdentifierCategory::Registration,
    ),
    (
        "Unified Social Credit Code (USCC)",
        IdentifierCategory::Registration,
    ),
    (
        "Vessel Registration Identification",
        IdentifierCategory::Imo,
    ),
    ("IMO", IdentifierCategory::Imo),
    ("MMSI", IdentifierCategory::Other),
    ("Passport", IdentifierCategory::Passport),
    ("National ID No.", IdentifierCategory::NationalId),
];

/// Pulls identifiers (`Tax ID No. 7713489203 (Russia)`, `IMO 9187629`) and weak aliases
/// (`a.k.a. 'ELECTROCOM SPB'`) out of the free-text remarks.
fn parse_remarks(remarks: &str, entity: &mut ListEntity) {
    for segment in remarks.split(';') {
        let segment = segment.trim().trim_end_matches('.');
        // "alt. Tax ID No. 9909260877 (Russia)": a second number of the same kind.
        let segment = segment.strip_prefix("alt. ").unwrap_or(segment);
        for prefix in ["a.k.a. '", "f.k.a. '", "n.k.a. '"] {
            if let Some(rest) = segment.strip_prefix(prefix)
                && let Some(end) = rest.find('\'')
            {
                let name = rest[..end].trim();
                if !name.is_empty() {
                    entity.names.push(ListName {
                        name: name.to_owned(),
                        kind: NameKind::WeakAlias,
                    });
                }
            }
        }
        let Some(&(label, category)) = IDENTIFIER_LABELS
            .iter()
            .find(|(l, _)| segment.starts_with(l))
        else {
            continue;
        };
        let rest = &segment[label.len()..];
        let Some(value) = rest
            .split_whitespace()
            .find(|t| t.bytes().any(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let country = match (rest.rfind('('), rest.ends_with(')')) {
            (Some(open), true) => rest[open + 1..rest.len() - 1].trim().to_owned(),
            _ => String::new(),
        };
        entity.identifiers.push(ListIdentifier {
            label: label.to_owned(),
            value: value.to_owned(),
            country,
            category,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(primary: &str, alt: &str) -> (Vec<ListEntity>, LoadReport) {
        let mut report = LoadReport::default();
        let files = OfacFiles {
            list_id: "ofac-sdn",
            primary: ("sdn.csv", primary.as_bytes()),
            alt: ("alt.csv", alt.as_bytes()),
            add: ("add.csv", b""),
            comments: ("sdn_comments.csv", b""),
        };
        (load(&files, &mut report).unwrap(), report)
    }

    const ELEKTROKOM: &str = "45851,\"OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ELEKTROKOM VPK\",-0- ,\"RUSSIA-EO14024\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Tax ID No. 7840062534 (Russia); Registration Number 1177847049049 (Russia); a.k.a. 'ELECTROCOM SPB'.\"\r\n";

    #[test]
    fn remarks_yield_identifiers_and_weak_aliases() {
        let (entities, report) = load_one(ELEKTROKOM, "45851,1,\"aka\",\"ELEKTROKOM VPK\",-0- \n");
        assert!(report.skipped_rows.is_empty());
        let e = &entities[0];
        assert_eq!(e.entity_id, "45851");
        assert_eq!(e.programs, vec!["RUSSIA-EO14024"]);
        assert_eq!(e.identifiers.len(), 2);
        assert_eq!(e.identifiers[0].value, "7840062534");
        assert_eq!(e.identifiers[0].country, "Russia");
        assert_eq!(e.identifiers[1].category, IdentifierCategory::Registration);
        let names: Vec<(&str, NameKind)> =
            e.names.iter().map(|n| (n.name.as_str(), n.kind)).collect();
        assert!(names.contains(&("ELECTROCOM SPB", NameKind::WeakAlias)));
        assert!(names.contains(&("ELEKTROKOM VPK", NameKind::Alias)));
    }

    #[test]
    fn bad_rows_are_skipped_with_line_numbers_and_orphans_counted() {
        let primary = format!(
            "{ELEKTROKOM}x1,\"BAD\",-0-\nabc,\"NAME\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n\x1a"
        );
        let (entities, report) = load_one(&primary, "99999,1,\"aka\",\"GHOST\",-0- \n");
        assert_eq!(entities.len(), 1);
        let lines: Vec<u64> = report.skipped_rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3]);
        assert_eq!(report.orphan_rows, vec![("alt.csv".to_owned(), 1)]);
    }

    #[test]
    fn latin1_fields_are_decoded_and_broken_quoting_is_reported() {
        let mut primary = ELEKTROKOM.as_bytes().to_vec();
        // "MÜLLER" in Latin-1, as OFAC's older files are encoded.
        primary.extend_from_slice(
            b"7,\"M\xdcLLER TRADING\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n",
        );
        primary.extend_from_slice(
            b"8,\"UNTERMINATED,-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n",
        );
        let mut report = LoadReport::default();
        let files = OfacFiles {
            list_id: "ofac-sdn",
            primary: ("sdn.csv", &primary),
            alt: ("alt.csv", b""),
            add: ("add.csv", b""),
            comments: ("sdn_comments.csv", b""),
        };
        let entities = load(&files, &mut report).unwrap();
        let muller = entities.iter().find(|e| e.entity_id == "7").unwrap();
        assert_eq!(muller.names[0].name, "MÜLLER TRADING");
        assert_eq!(report.skipped_rows.len(), 1);
        assert_eq!(report.skipped_rows[0].line, 3);
    }

    #[test]
    fn split_program_field() {
        assert_eq!(programs("NPWMD] [IFSR"), vec!["NPWMD", "IFSR"]);
    }
}
