//! Offline evaluation of the party matcher on labelled queries (the JSONL format of
//! `data/eval/dev-queries.jsonl`): per variant class, the fraction correct, the false-positive
//! rate on negatives, and per-query latency.
use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::screening::model::Identifier;
use crate::screening::party::{Matcher, PartyQuery};

#[derive(Debug, Deserialize)]
struct Query {
    variant: String,
    expect_entity: Option<String>,
    name: String,
    #[serde(default)]
    identifiers: Vec<Identifier>,
    #[serde(default)]
    qid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("line {line}: {source}")]
    Parse {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("reading queries: {0}")]
    Io(#[from] std::io::Error),
    #[error("no queries")]
    Empty,
}

#[derive(Clone, Debug, Default)]
pub struct ClassStats {
    pub total: usize,
    pub correct: usize,
    pub latencies: Vec<Duration>,
}

/// The latency at quantile `q` (0..=1) of `latencies`.
fn quantile(latencies: &[Duration], q: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

impl ClassStats {
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// A query the matcher got wrong.
#[derive(Clone, Debug)]
pub struct Miss {
    pub qid: String,
    pub variant: String,
    pub name: String,
    pub expected: Option<String>,
    /// The best match found (entity id, matched name, score), if any.
    pub found: Option<(String, String, f64)>,
    /// For a missed positive: the expected entity's own score below the threshold, if the
    /// matcher considered it at all.
    pub expected_score: Option<f64>,
}

#[derive(Clone, Debug, Default)]
pub struct EvalReport {
    pub classes: BTreeMap<String, ClassStats>,
    pub negatives: ClassStats,
    pub latencies: Vec<Duration>,
    pub misses: Vec<Miss>,
}

impl EvalReport {
    pub fn false_positive_rate(&self) -> f64 {
        1.0 - self.negatives.fraction()
    }

    /// The latency at quantile `q` (0..=1) over all queries.
    pub fn latency(&self, q: f64) -> Duration {
        quantile(&self.latencies, q)
    }
}

/// Runs every query against `matcher`; a query counts as a hit when it scores `threshold` or
/// more (the policy's review threshold: what would raise a finding).
pub fn run(
    matcher: &Matcher,
    threshold: f64,
    queries: impl BufRead,
) -> Result<EvalReport, EvalError> {
    let mut report = EvalReport::default();
    for (i, line) in queries.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let query: Query = serde_json::from_str(&line).map_err(|source| EvalError::Parse {
            line: i + 1,
            source,
        })?;
        let started = Instant::now();
        let found = matcher.find(
            PartyQuery {
                name: &query.name,
                identifiers: &query.identifiers,
            },
            threshold,
        );
        let elapsed = started.elapsed();
        report.latencies.push(elapsed);
        let correct = match &query.expect_entity {
            Some(expected) => found.iter().any(|m| m.entity.entity_id == *expected),
            None => found.is_empty(),
        };
        let stats = if query.expect_entity.is_some() {
            report.classes.entry(query.variant.clone()).or_default()
        } else {
            &mut report.negatives
        };
        stats.total += 1;
        stats.latencies.push(elapsed);
        if correct {
            stats.correct += 1;
        } else {
            let expected_score = query.expect_entity.as_ref().and_then(|expected| {
                let all = matcher.find(
                    PartyQuery {
                        name: &query.name,
                        identifiers: &query.identifiers,
                    },
                    0.0,
                );
                all.iter()
                    .find(|m| m.entity.entity_id == *expected)
                    .map(|m| m.score)
            });
            report.misses.push(Miss {
                expected_score,
                qid: query.qid,
                variant: query.variant,
                name: query.name,
                expected: query.expect_entity,
                found: found
                    .first()
                    .map(|m| (m.entity.entity_id.clone(), m.matched_name.clone(), m.score)),
            });
        }
    }
    if report.latencies.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(report)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>7} {:>7} {:>9} {:>9} {:>9}",
            "class", "queries", "correct", "fraction", "p50 µs", "p99 µs"
        )?;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        for (class, stats) in self
            .classes
            .iter()
            .chain([(&"negatives".to_owned(), &self.negatives)])
        {
            writeln!(
                f,
                "{class:<16} {:>7} {:>7} {:>9.4} {:>9.1} {:>9.1}",
                stats.total,
                stats.correct,
                stats.fraction(),
                us(quantile(&stats.latencies, 0.5)),
                us(quantile(&stats.latencies, 0.99))
            )?;
        }
        writeln!(
            f,
            "false positives: {} of {} negatives ({:.3} %)",
            self.negatives.total - self.negatives.correct,
            self.negatives.total,
            100.0 * self.false_positive_rate()
        )?;
        write!(
            f,
            "latency per query: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({} queries)",
            self.latency(0.5).as_secs_f64() * 1e6,
            self.latency(0.99).as_secs_f64() * 1e6,
            self.latency(1.0).as_secs_f64() * 1e6,
            self.latencies.len()
        )
    }
}
