//! The CHPL and HS 2022 tables. They are small and safety-critical: one bad row rejects the
//! whole file (a silently dropped CHPL code would let battlefield goods through).
use super::{LineCounter, ListError, decode};
use crate::screening::hs::{ChplEntry, ChplTable, ChplTier, HsCode, HsNomenclature};

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes)
}

fn bad_row(file: &str, line: u64, reason: impl Into<String>) -> ListError {
    ListError::BadRow {
        file: file.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// Reads `hs_code,tier,list_description,hs2022_description`.
pub(super) fn parse_chpl(file: &str, bytes: &[u8]) -> Result<ChplTable, ListError> {
    let mut entries = Vec::new();
    let mut rdr = reader(bytes);
    let mut lines = LineCounter::new(bytes);
    for record in rdr.byte_records() {
        let record = record
            .map_err(|e| bad_row(file, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = lines.line_of(record.position().map_or(0, |p| p.byte()));
        if record.len() < 3 {
            return Err(bad_row(
                file,
                line,
                format!("expected at least 3 fields, found {}", record.len()),
            ));
        }
        let field = |i: usize| decode(record.get(i).unwrap_or_default());
        let raw_code = field(0);
        let code = HsCode::parse(&raw_code)
            .map_err(|e| bad_row(file, line, format!("hs_code {raw_code:?} {e}")))?;
        if code.digits().len() != 6 {
            return Err(bad_row(
                file,
                line,
                format!("hs_code {raw_code:?} is not a six-digit subheading"),
            ));
        }
        let raw_tier = field(1);
        let tier = ChplTier::parse(&raw_tier)
            .ok_or_else(|| bad_row(file, line, format!("unknown tier {raw_tier:?}")))?;
        entries.push(ChplEntry {
            hs6: code.hs6().to_owned(),
            tier,
            description: field(2).trim().to_owned(),
        });
    }
    if entries.is_empty() {
        return Err(ListError::BadFile {
            file: file.to_owned(),
            reason: "no CHPL entries".into(),
        });
    }
    Ok(ChplTable::new(entries))
}

/// Reads `section,hscode,description,parent,level`, keeping the six-digit subheadings.
pub(super) fn parse_hs(file: &str, bytes: &[u8]) -> Result<HsNomenclature, ListError> {
    let mut subheadings = Vec::new();
    let mut rdr = reader(bytes);
    let mut lines = LineCounter::new(bytes);
    for record in rdr.byte_records() {
        let record = record
            .map_err(|e| bad_row(file, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = lines.line_of(record.position().map_or(0, |p| p.byte()));
        if record.len() != 5 {
            return Err(bad_row(
                file,
                line,
                format!("expected 5 fields, found {}", record.len()),
            ));
        }
        let field = |i: usize| decode(record.get(i).unwrap_or_default());
        // Comtrade's "TOTAL" section holds 999999 "Commodities not specified according to
        // kind": a statistical bucket, not a subheading goods can be classified in.
        if field(4).trim() != "6" || field(0).trim() == "TOTAL" {
            continue;
        }
        let code = field(1);
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad_row(
                file,
                line,
                format!("level-6 hscode {code:?} is not six digits"),
            ));
        }
        subheadings.push((code, field(2)));
    }
    if subheadings.is_empty() {
        return Err(ListError::BadFile {
            file: file.to_owned(),
            reason: "no six-digit subheadings".into(),
        });
    }
    Ok(HsNomenclature::new(subheadings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_chpl_row_is_rejected_with_its_line() {
        let text = "hs_code,tier,list_description,hs2022_description\n8542.31,1,Chips,x\n8542.3X,1,Bad,x\n";
        let err = parse_chpl("chpl.csv", text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chpl.csv line 3: hs_code \"8542.3X\" contains 'X'; only digits, dots, spaces and dashes are allowed"
        );
        let text = "hs_code,tier,list_description,hs2022_description\n8542.31,7,Chips,x\n";
        let err = parse_chpl("chpl.csv", text.as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("chpl.csv line 2: unknown tier"),
            "{err}"
        );
    }

    #[test]
    fn hs_table_keeps_subheadings_only() {
        let text = "section,hscode,description,parent,level\nI,01,Animals,TOTAL,2\nI,010121,Horses,0101,6\n";
        let hs = parse_hs("hs.csv", text.as_bytes()).unwrap();
        assert_eq!(hs.len(), 1);
        assert!(hs.contains(&HsCode::parse("0101.21").unwrap()));
    }
}
