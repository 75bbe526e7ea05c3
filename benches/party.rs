//! Party matching benchmarks: normalisation, candidate lookup and full party screening against
//! the bundled OFAC lists, and the same at scale against 1,000,000 synthetic aliases generated
//! here (index build time, resident memory and latency percentiles are printed, since
//! criterion reports means and medians only).
//!
//! `cargo bench --bench party` (all), `cargo bench --bench party -- scale` (the 1M run).
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tradescreen::lists::{self, ListSource};
use tradescreen::screening::party::normalize::normalize;
use tradescreen::screening::party::{
    EntityKind, ListEntity, ListName, Matcher, NameKind, PartyQuery,
};

/// The names of the dev queries, by variant.
fn dev_names(variants: &[&str]) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/eval/dev-queries.jsonl");
    let text = std::fs::read_to_string(path).expect("dev queries are bundled");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            variants
                .iter()
                .any(|k| v["variant"].as_str().is_some_and(|s| s.starts_with(k)))
        })
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect()
}

fn query(name: &str) -> PartyQuery<'_> {
    PartyQuery {
        name,
        identifiers: &[],
    }
}

fn ofac(c: &mut Criterion) {
    let snapshot = lists::load(&ListSource::Embedded, None).expect("bundled lists load");
    let matcher = &snapshot.screener.parties;
    let exact = dev_names(&["exact"]);
    let mixed = dev_names(&["typo", "cyrillic", "translit", "negative"]);

    c.bench_function("normalize/dev names", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % mixed.len();
            black_box(normalize(&mixed[i]))
        })
    });
    c.bench_function("lookup/exact listed name", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % exact.len();
            black_box(matcher.find(query(&exact[i]), 0.8))
        })
    });
    c.bench_function("screen party/typo, cyrillic, translit, negative", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % mixed.len();
            black_box(matcher.find(query(&mixed[i]), 0.8))
        })
    });
    report_percentiles("ofac, mixed queries", matcher, &mixed);
}

/// Runs every query three times and prints latency percentiles.
fn report_percentiles(label: &str, matcher: &Matcher, queries: &[String]) {
    let mut times: Vec<Duration> = Vec::with_capacity(queries.len() * 3);
    for _ in 0..3 {
        for q in queries {
            let started = Instant::now();
            black_box(matcher.find(query(q), 0.8));
            times.push(started.elapsed());
        }
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "{label}: {} queries, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// xorshift64*: deterministic, dependency-free randomness for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed towards small indexes, as word frequencies are.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((u * u * u) * n as f64) as usize
    }
}

/// Russian-looking pseudo-words from syllables.
fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    const ONSETS: &[&str] = &[
        "b", "v", "g", "d", "zh", "z", "k", "l", "m", "n", "p", "r", "s", "t", "f", "kh", "ts",
        "ch", "sh", "st", "pr", "tr", "gr", "kr",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ya", "yu", "y"];
    const ENDINGS: &[&str] = &[
        "", "ov", "ev", "in", "sk", "tekh", "prom", "servis", "stroy", "neft", "mash", "kom",
    ];
    let mut words = Vec::with_capacity(size);
    let mut seen = std::collections::HashSet::new();
    while words.len() < size {
        let mut w = String::new();
        for _ in 0..(2 + rng.below(3)) {
            w.push_str(ONSETS[rng.below(ONSETS.len())]);
            w.push_str(VOWELS[rng.below(VOWELS.len())]);
        }
        w.push_str(ENDINGS[rng.below(ENDINGS.len())]);
        if seen.insert(w.clone()) {
            words.push(w.to_uppercase());
        }
    }
    words
}

const LEGAL_FORMS: &[&str] = &[
    "OOO",
    "AO",
    "LLC",
    "JSC",
    "PAO",
    "LIMITED",
    "TOO",
    "FZE",
    "CO., LTD.",
];

fn synthetic_entities(aliases: usize) -> (Vec<ListEntity>, Vec<String>) {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let words = vocabulary(&mut rng, 200_000);
    let mut entities = Vec::with_capacity(aliases / 4);
    let mut all_names = Vec::with_capacity(aliases);
    let name = |rng: &mut Rng| {
        let mut parts: Vec<&str> = (0..(2 + rng.below(3)))
            .map(|_| words[rng.skewed(words.len())].as_str())
            .collect();
        if rng.below(2) == 0 {
            parts.push(LEGAL_FORMS[rng.below(LEGAL_FORMS.len())]);
        }
        parts.join(" ")
    };
    let mut id = 0;
    while all_names.len() < aliases {
        let names: Vec<ListName> = (0..4)
            .map(|k| ListName {
                name: name(&mut rng),
                kind: if k == 0 {
                    NameKind::Primary
                } else {
                    NameKind::Alias
                },
            })
            .collect();
        all_names.extend(names.iter().map(|n| n.name.clone()));
        entities.push(ListEntity {
            list_id: "synthetic".into(),
            entity_id: id.to_string(),
            kind: EntityKind::Organization,
            names,
            programs: vec!["SYNTHETIC".into()],
            identifiers: Vec::new(),
            countries: Vec::new(),
        });
        id += 1;
    }
    (entities, all_names)
}

/// Queries for the scale run: listed names, the same with one typo, and unlisted names.
fn scale_queries(names: &[String]) -> Vec<String> {
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let mut queries = Vec::new();
    for _ in 0..1_000 {
        let listed = names[rng.below(names.len())].clone();
        let mut typo: Vec<char> = listed.chars().collect();
        let at = rng.below(typo.len().saturating_sub(1)).max(1);
        typo.swap(at, at - 1);
        queries.push(listed);
        queries.push(typo.into_iter().collect());
        queries.push(format!("Zyxwvut Qlmnop {} GmbH", rng.below(10_000)));
    }
    queries
}

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn scale(c: &mut Criterion) {
    const ALIASES: usize = 1_000_000;
    let before = resident_mib();
    let (entities, names) = synthetic_entities(ALIASES);
    let with_data = resident_mib();
    let started = Instant::now();
    let matcher = Matcher::new(entities);
    let build = started.elapsed();
    let after = resident_mib();
    println!(
        "scale: {} aliases ({} entities): index built in {:.2} s; resident memory {:.0} MiB in all \
         ({:.0} MiB entities, {:.0} MiB index)",
        matcher.name_count(),
        matcher.entity_count(),
        build.as_secs_f64(),
        after - before,
        with_data - before,
        after - with_data
    );
    let queries = scale_queries(&names);
    report_percentiles("scale, 1M aliases", &matcher, &queries);
    let mut group = c.benchmark_group("scale");
    group.sample_size(20);
    group.bench_function("screen party/1M aliases", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(matcher.find(query(&queries[i]), 0.8))
        })
    });
    group.finish();
}

criterion_group!(benches, ofac, scale);
criterion_main!(benches);
