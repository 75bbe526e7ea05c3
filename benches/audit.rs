//! Audit log at scale: fills a store with 1,000,000 verdicts (override with
//! `TRADESCREEN_BENCH_VERDICTS`) through the group-commit writer, prints the fill rate, the
//! size on disk per verdict and the time to verify the whole chain, then measures one page of
//! 100 verdicts of one exporter (and by HS code) with criterion, against the same queries on
//! a 10,000-verdict store built in the same run as the baseline.
//!
//! `cargo bench --bench audit`
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use tradescreen::api::validate;
use tradescreen::audit::{
    AuditStore, DEFAULT_MAX_BATCH, StoreOptions, VerdictFilter, VerdictQuery, VerifyOptions,
};
use tradescreen::lists::{self, ListSource};
use tradescreen::pb;
use tradescreen::screening::model::Verdict;

/// Verdicts per exporter, in every store: the queried exporter has this many, so the page of
/// 100 is full in the baseline and the large store alike.
const PER_EXPORTER: usize = 1_000;
const BASELINE_VERDICTS: usize = 10_000;

fn party(name: &str, country: &str) -> Option<pb::Party> {
    Some(pb::Party {
        id: "P-1".into(),
        name: name.into(),
        country: country.into(),
        ..Default::default()
    })
}

/// Verdicts of four kinds of invoice (CLEAR coffee, REVIEW bearings via Kyrgyzstan, BLOCK chips
/// to Russia, BLOCK listed consignee), screened once on the bundled lists.
fn templates() -> Vec<Verdict> {
    let snapshot = lists::load(&ListSource::Embedded, None).expect("bundled lists load");
    [
        ("Hamburger Kaffeerösterei GmbH", "DE", vec!["0901.21"]),
        (
            "Bishkek Machinery Trading",
            "KG",
            vec!["8482.10", "8483.10"],
        ),
        (
            "Moscow Components Trading",
            "RU",
            vec!["8542.31", "8542.32", "8471.50"],
        ),
        ("ООО «Электроком ВПК»", "KZ", vec!["8517.62"]),
    ]
    .into_iter()
    .map(|(consignee, country, codes)| {
        let proto = pb::Invoice {
            invoice_id: "TEMPLATE".into(),
            exporter: party("Anatolia Export A.S.", "TR"),
            consignee: party(consignee, country),
            destination_country: country.into(),
            line_items: codes
                .iter()
                .map(|c| pb::LineItem {
                    hs_code: (*c).into(),
                    description: "goods".into(),
                    quantity: 10.0,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let invoice = validate::invoice(Some(&proto)).expect("template invoices are valid");
        snapshot.verdict(&invoice, invoice.content_hash(), |_| None)
    })
    .collect()
}

/// The exporter of the `i`th of `count` verdicts: `count / PER_EXPORTER` exporters in turn.
fn exporter(i: usize, count: usize) -> String {
    format!("TR{:010}", i % (count / PER_EXPORTER).max(1))
}

/// Appends `count` verdicts with up to `callers` in flight; returns verdicts per second.
fn append_all(store: &Arc<AuditStore>, count: usize, callers: usize, templates: &[Verdict]) -> f64 {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let mut in_flight = tokio::task::JoinSet::new();
        for i in 0..count {
            if in_flight.len() >= callers {
                in_flight.join_next().await;
            }
            let mut v = templates[i % templates.len()].clone();
            v.invoice_id = format!("INV-{i:08}");
            v.exporter_id = exporter(i, count);
            v.invoice_hash = format!("{i:064x}");
            let store = Arc::clone(store);
            in_flight.spawn(async move { store.append_verdict(v, false).await.expect("append") });
        }
        while in_flight.join_next().await.is_some() {}
    });
    count as f64 / started.elapsed().as_secs_f64()
}

/// Durable appends per second with group commit against a commit and flush per record, at
/// 1, 16, 64 and 128 concurrent callers (store level: no gRPC, no screening).
fn commit_rates(templates: &[Verdict]) {
    for callers in [1, 16, 64, 128] {
        let mut rates = Vec::new();
        for max_batch in [1, DEFAULT_MAX_BATCH] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Arc::new(
                AuditStore::open_with(dir.path(), StoreOptions { max_batch }).expect("store opens"),
            );
            let count = if callers == 1 { 2_000 } else { 20_000 };
            rates.push(append_all(&store, count, callers, templates));
        }
        println!(
            "{callers:>3} concurrent appenders: flush per record {:>7.0}/s, group commit {:>7.0}/s, ratio {:.1}x",
            rates[0],
            rates[1],
            rates[1] / rates[0]
        );
    }
}

/// Fills a store with `count` verdicts, 4,096 in flight.
fn fill(dir: &Path, count: usize, templates: &[Verdict]) -> Arc<AuditStore> {
    let store = Arc::new(AuditStore::open(dir).expect("store opens"));
    let started = Instant::now();
    append_all(&store, count, 4_096, templates);
    let secs = started.elapsed().as_secs_f64();
    let size = store.size_on_disk().unwrap_or(0);
    let record_bytes: usize = templates
        .iter()
        .map(|v| serde_json::to_vec(v).map_or(0, |b| b.len()))
        .sum::<usize>()
        / templates.len();
    println!(
        "filled {count} verdicts in {secs:.1} s ({:.0} verdicts/s); sled size on disk {:.1} MiB = {:.0} bytes per verdict; records average {record_bytes} bytes of JSON, so sled takes {:.1}x",
        count as f64 / secs,
        size as f64 / 1048576.0,
        size as f64 / count as f64,
        size as f64 / count as f64 / record_bytes as f64
    );
    store
}

fn page_query(filter: VerdictFilter) -> VerdictQuery {
    VerdictQuery {
        filter,
        page_size: 100,
        page_token: None,
    }
}

fn by_exporter() -> VerdictFilter {
    VerdictFilter {
        exporter_id: Some(exporter(7, BASELINE_VERDICTS)),
        ..Default::default()
    }
}

fn by_hs() -> VerdictFilter {
    VerdictFilter {
        hs_code: Some("848210".into()),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let count: usize = std::env::var("TRADESCREEN_BENCH_VERDICTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let templates = templates();
    commit_rates(&templates);
    let small_dir = tempfile::tempdir().expect("tempdir");
    let large_dir = tempfile::tempdir().expect("tempdir");
    let small = fill(small_dir.path(), BASELINE_VERDICTS, &templates);
    let large = fill(large_dir.path(), count, &templates);

    for indexes in [false, true] {
        let started = Instant::now();
        let report = large
            .verify(&VerifyOptions {
                indexes,
                ..VerifyOptions::default()
            })
            .expect("verify runs");
        println!(
            "verified {} records{} in {:.1} s ({:?})",
            report.records_checked,
            if indexes {
                " and their index entries"
            } else {
                ""
            },
            started.elapsed().as_secs_f64(),
            report.first_break
        );
    }
    let page = large.list(&page_query(by_exporter())).expect("list");
    assert_eq!(page.verdicts.len(), 100);

    let mut group = c.benchmark_group("page of 100");
    for (name, store) in [
        (format!("{BASELINE_VERDICTS} stored"), &small),
        (format!("{count} stored"), &large),
    ] {
        group.bench_function(format!("one exporter/{name}"), |b| {
            let q = page_query(by_exporter());
            b.iter(|| black_box(store.list(&q).expect("list")))
        });
        group.bench_function(format!("one exporter, second page/{name}"), |b| {
            let first = store.list(&page_query(by_exporter())).expect("list");
            let q = VerdictQuery {
                page_token: first.next_page_token,
                ..page_query(by_exporter())
            };
            b.iter(|| black_box(store.list(&q).expect("list")))
        });
        group.bench_function(format!("one HS code/{name}"), |b| {
            let q = page_query(by_hs());
            b.iter(|| black_box(store.list(&q).expect("list")))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
