//! Loading the reference lists (CHPL, HS 2022, OFAC SDN and non-SDN) and the policy into an
//! immutable [`Snapshot`]. A directory given with `--lists` has the layout of the repository's
//! `data/`, which is also compiled into the binary as the default.
mod ofac;
mod reference;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::screening::Screener;
use crate::screening::model::{Clearance, ClearanceKey, Invoice, ListVersion, Verdict, hex};
use crate::screening::party::{ListEntity, Matcher};
use crate::screening::policy::{DEFAULT_POLICY_TOML, Policy, PolicyError};

pub const CHPL_FILE: &str = "chpl.csv";
pub const HS_FILE: &str = "hs2022.csv";
pub const POLICY_FILE: &str = "policy.toml";

/// The OFAC lists in OFAC's CSV layout: directory, list id, and file names (primary, aliases,
/// addresses, remarks overflow).
struct OfacLayout {
    dir: &'static str,
    list_id: &'static str,
    primary: &'static str,
    alt: &'static str,
    add: &'static str,
    comments: &'static str,
}

const OFAC_LISTS: [OfacLayout; 2] = [
    OfacLayout {
        dir: "ofac-sdn",
        list_id: "ofac-sdn",
        primary: "sdn.csv",
        alt: "alt.csv",
        add: "add.csv",
        comments: "sdn_comments.csv",
    },
    OfacLayout {
        dir: "ofac-consolidated",
        list_id: "ofac-consolidated",
        primary: "cons_prim.csv",
        alt: "cons_alt.csv",
        add: "cons_add.csv",
        comments: "cons_comments.csv",
    },
];

/// The bundled data, compiled in so that `tradescreen serve` needs nothing else.
const EMBEDDED: &[(&str, &[u8])] = &[
    (CHPL_FILE, include_bytes!("../../data/chpl.csv")),
    (HS_FILE, include_bytes!("../../data/hs2022.csv")),
    (
        "ofac-sdn/sdn.csv",
        include_bytes!("../../data/ofac-sdn/sdn.csv"),
    ),
    (
        "ofac-sdn/alt.csv",
        include_bytes!("../../data/ofac-sdn/alt.csv"),
    ),
    (
        "ofac-sdn/add.csv",
        include_bytes!("../../data/ofac-sdn/add.csv"),
    ),
    (
        "ofac-sdn/sdn_comments.csv",
        include_bytes!("../../data/ofac-sdn/sdn_comments.csv"),
    ),
    (
        "ofac-consolidated/cons_prim.csv",
        include_bytes!("../../data/ofac-consolidated/cons_prim.csv"),
    ),
    (
        "ofac-consolidated/cons_alt.csv",
        include_bytes!("../../data/ofac-consolidated/cons_alt.csv"),
    ),
    (
        "ofac-consolidated/cons_add.csv",
        include_bytes!("../../data/ofac-consolidated/cons_add.csv"),
    ),
    (
        "ofac-consolidated/cons_comments.csv",
        include_bytes!("../../data/ofac-consolidated/cons_comments.csv"),
    ),
];

/// Where lists come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSource {
    Embedded,
    Dir(PathBuf),
}

impl fmt::Display for ListSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListSource::Embedded => f.write_str("embedded lists"),
            ListSource::Dir(dir) => write!(f, "{}", dir.display()),
        }
    }
}

impl ListSource {
    /// The file's bytes, or `None` when the source does not have it.
    fn read(&self, rel: &str) -> Result<Option<Cow<'static, [u8]>>, ListError> {
        match self {
            ListSource::Embedded => Ok(EMBEDDED
                .iter()
                .find(|(name, _)| *name == rel)
                .map(|(_, bytes)| Cow::Borrowed(*bytes))),
            ListSource::Dir(dir) => {
                let path = dir.join(rel);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(Cow::Owned(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(ListError::Io { path, source }),
                }
            }
        }
    }

    fn require(&self, rel: &str) -> Result<Cow<'static, [u8]>, ListError> {
        self.read(rel)?.ok_or_else(|| ListError::Missing {
            origin: self.to_string(),
            file: rel.to_owned(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: required file {file} is missing")]
    Missing { origin: String, file: String },
    #[error("{file} line {line}: {reason}")]
    BadRow {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file}: {reason}")]
    BadFile { file: String, reason: String },
    #[error("{file}: {source}")]
    Policy {
        file: String,
        #[source]
        source: PolicyError,
    },
}

/// A row that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRow {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What a list load found besides the entries themselves.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Malformed rows that were skipped (all of them, with line numbers).
    pub skipped_rows: Vec<SkippedRow>,
    /// Alias/address/remarks rows naming an entity the primary file does not have, per file.
    pub orphan_rows: Vec<(String, u64)>,
}

/// One consistent set of lists and policy, swapped as a whole.
pub struct Snapshot {
    pub screener: Screener,
    pub versions: Vec<ListVersion>,
    pub report: LoadReport,
    pub source: ListSource,
    /// The policy file, or `None` for the bundled policy: with `source`, what a reload reads.
    pub policy_path: Option<PathBuf>,
}

impl Snapshot {
    pub fn policy_version(&self) -> &str {
        &self.screener.policy.version
    }

    /// Screens `invoice` and records which lists and policy decided it. Party matches the
    /// exporter's officers released (what `cleared` answers for a match) are kept but
    /// suppressed. The verdict id, time and invoice version are left for the audit log to
    /// assign when it stores it.
    pub fn verdict(
        &self,
        invoice: &Invoice,
        invoice_hash: String,
        cleared: impl FnMut(&ClearanceKey<'_>) -> Option<Clearance>,
    ) -> Verdict {
        let mut screening = self.screener.screen(invoice);
        screening.suppress_cleared(cleared);
        Verdict {
            verdict_id: String::new(),
            invoice_id: invoice.invoice_id.clone(),
            exporter_id: invoice.exporter.id.clone(),
            decision: screening.decision,
            findings: screening.findings,
            screened_at_unix_nanos: 0,
            list_versions: self.versions.clone(),
            policy_version: self.policy_version().to_owned(),
            invoice_hash,
            invoice_version: 0,
            previous_version_verdict_id: String::new(),
            hs_codes: invoice.hs6_codes(),
        }
    }
}

fn content_hash(files: &[(&str, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hex(&hasher.finalize())
}

/// Loads the policy: the file given, or the bundled default.
pub fn load_policy(path: Option<&Path>) -> Result<(Policy, ListVersion), ListError> {
    let (name, text) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ListError::Io {
                path: path.to_owned(),
                source,
            })?;
            (path.display().to_string(), Cow::Owned(text))
        }
        None => (POLICY_FILE.to_owned(), Cow::Borrowed(DEFAULT_POLICY_TOML)),
    };
    let policy =
        Policy::from_toml(&text).map_err(|source| ListError::Policy { file: name, source })?;
    let version = ListVersion {
        list_id: "policy".into(),
        content_hash: content_hash(&[(POLICY_FILE, text.as_bytes())]),
        entry_count: 1,
    };
    Ok((policy, version))
}

/// Loads every list from `source` and the policy from `policy` (bundled when `None`).
pub fn load(source: &ListSource, policy_path: Option<&Path>) -> Result<Snapshot, ListError> {
    let (policy, policy_version) = load_policy(policy_path)?;
    let mut versions = Vec::new();
    let mut report = LoadReport::default();

    let chpl_bytes = source.require(CHPL_FILE)?;
    let chpl = reference::parse_chpl(CHPL_FILE, &chpl_bytes)?;
    versions.push(ListVersion {
        list_id: "chpl".into(),
        content_hash: content_hash(&[(CHPL_FILE, &chpl_bytes)]),
        entry_count: chpl.len() as u64,
    });

    let hs_bytes = source.require(HS_FILE)?;
    let hs = reference::parse_hs(HS_FILE, &hs_bytes)?;
    versions.push(ListVersion {
        list_id: "hs2022".into(),
        content_hash: content_hash(&[(HS_FILE, &hs_bytes)]),
        entry_count: hs.len() as u64,
    });

    let mut entities: Vec<ListEntity> = Vec::new();
    for layout in &OFAC_LISTS {
        let path = |name: &str| format!("{}/{name}", layout.dir);
        let Some(primary) = source.read(&path(layout.primary))? else {
            continue;
        };
        let alt = source.read(&path(layout.alt))?.unwrap_or_default();
        let add = source.read(&path(layout.add))?.unwrap_or_default();
        let comments = source.read(&path(layout.comments))?.unwrap_or_default();
        let files = ofac::OfacFiles {
            list_id: layout.list_id,
            primary: (&path(layout.primary), &primary),
            alt: (&path(layout.alt), &alt),
            add: (&path(layout.add), &add),
            comments: (&path(layout.comments), &comments),
        };
        let loaded = ofac::load(&files, &mut report)?;
        versions.push(ListVersion {
            list_id: layout.list_id.into(),
            content_hash: content_hash(&[
                (layout.primary, &primary),
                (layout.alt, &alt),
                (layout.add, &add),
                (layout.comments, &comments),
            ]),
            entry_count: loaded.len() as u64,
        });
        entities.extend(loaded);
    }
    if entities.is_empty() {
        return Err(ListError::BadFile {
            file: source.to_string(),
            reason:
                "no party list found (expected ofac-sdn/sdn.csv or ofac-consolidated/cons_prim.csv)"
                    .into(),
        });
    }
    versions.push(policy_version);

    Ok(Snapshot {
        screener: Screener {
            chpl,
            hs,
            parties: Matcher::new(entities),
            policy,
        },
        versions,
        report,
        source: source.clone(),
        policy_path: policy_path.map(Path::to_owned),
    })
}

/// Line numbers of CSV records. The csv crate's own line count starts a record after a CRLF
/// on the line before (OFAC's files use CRLF), so lines are counted here from byte offsets.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record starting at `byte` (offsets must not decrease).
    fn line_of(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.offset {
            self.line += self.bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.line
    }
}

/// Decodes a CSV field: UTF-8 when it is, else Latin-1 (OFAC's historical encoding).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lists_load_with_versions_and_counts() {
        let snapshot = load(&ListSource::Embedded, None).unwrap();
        let count = |id: &str| {
            snapshot
                .versions
                .iter()
                .find(|v| v.list_id == id)
                .map(|v| v.entry_count)
                .unwrap()
        };
        assert_eq!(count("chpl"), 50);
        assert_eq!(
            count("hs2022"),
            5612,
            "5,613 level-6 rows less Comtrade's 999999"
        );
        assert!(count("ofac-sdn") > 14_000, "{}", count("ofac-sdn"));
        assert!(count("ofac-consolidated") > 400);
        assert!(snapshot.versions.iter().all(|v| v.content_hash.len() == 64));
        // alt.csv and add.csv are newer than sdn.csv: their orphans are counted, not fatal.
        let orphans: u64 = snapshot.report.orphan_rows.iter().map(|(_, n)| n).sum();
        assert!(orphans > 500, "{orphans}");
    }

    #[test]
    fn the_repository_data_dir_equals_the_embedded_lists() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let from_dir = load(&ListSource::Dir(dir), None).unwrap();
        let embedded = load(&ListSource::Embedded, None).unwrap();
        assert_eq!(from_dir.versions, embedded.versions);
    }
}
