//! The `tradescreen` command: `serve` runs the gRPC service, `screen` screens an invoice file
//! offline.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;
use tradescreen::api::{convert, json, validate};
use tradescreen::audit::{AuditStore, ChainHead, VerifyOptions};
use tradescreen::lists::{self, ListSource};
use tradescreen::screening::model::{Decision, hex};
use tradescreen::server::{self, ServeOptions};
use tradescreen::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "tradescreen",
    version,
    about = "Screens export invoices against the CHPL, sanctions lists and route policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC service.
    Serve(ServeArgs),
    /// Screen one invoice file (proto3 JSON of `Invoice`) offline and print the verdict as
    /// JSON. Exit code 0 CLEAR, 1 REVIEW, 2 BLOCK, 3 invalid invoice, 4 other errors.
    /// Nothing is stored.
    Screen(ScreenArgs),
    /// Verify or export the audit log offline (the service must not be running on the
    /// directory: sled locks it).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Evaluate the party matcher on labelled queries (JSONL: name, identifiers, variant,
    /// expect_entity) and print accuracy per variant, false positives and latency.
    Eval(EvalArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-compute the hash chain and report the first broken record and the chain head.
    /// Exit code 0 intact, 1 broken, 4 other errors.
    Verify(VerifyArgs),
    /// Write the verdicts matching the filters, newest first, as JSON Lines (proto3 JSON of
    /// `Verdict`, with review decisions) to standard output.
    Export(ExportArgs),
}

#[derive(Args)]
struct StoreArgs {
    /// Directory of the sled audit store.
    #[arg(
        long,
        env = "TRADESCREEN_DATA_DIR",
        default_value = "./tradescreen-data"
    )]
    data_dir: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// First sequence to check.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Last sequence to check (default: the head).
    #[arg(long)]
    to: Option<u64>,
    /// A chain head noted earlier, as SEQUENCE:HASH; the record there must still have it.
    #[arg(long)]
    anchor: Option<String>,
    /// Check the hash chain only, not that every record's index entries are in place.
    #[arg(long)]
    skip_indexes: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DecisionArg {
    Clear,
    Review,
    Block,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    exporter_id: Option<String>,
    #[arg(long)]
    invoice_id: Option<String>,
    #[arg(long, value_enum)]
    decision: Option<DecisionArg>,
    /// HS subheading (6 digits, dots allowed).
    #[arg(long)]
    hs_code: Option<String>,
    /// With --entity-id: verdicts with a party match on this listed entity.
    #[arg(long)]
    list_id: Option<String>,
    #[arg(long)]
    entity_id: Option<String>,
    /// Screened at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long)]
    after: Option<prost_types::Timestamp>,
    /// Screened before this time (RFC 3339).
    #[arg(long)]
    before: Option<prost_types::Timestamp>,
}

#[derive(Args)]
struct EvalArgs {
    /// Labelled queries, e.g. data/eval/dev-queries.jsonl.
    queries: PathBuf,
    #[command(flatten)]
    lists: ListArgs,
    /// Also print up to this many misclassified queries.
    #[arg(long, default_value_t = 0)]
    show_misses: usize,
}

#[derive(Args)]
struct ListArgs {
    /// Directory with the lists in the layout of the repository's data/ (default: the lists
    /// compiled into the binary).
    #[arg(long, env = "TRADESCREEN_LISTS")]
    lists: Option<PathBuf>,
    /// Screening policy TOML (default: the bundled data/policy.toml).
    #[arg(long, env = "TRADESCREEN_POLICY")]
    policy: Option<PathBuf>,
}

impl ListArgs {
    fn source(&self) -> ListSource {
        self.lists
            .clone()
            .map_or(ListSource::Embedded, ListSource::Dir)
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRADESCREEN_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// The audit store (created if missing).
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    lists: ListArgs,
    #[arg(
        long,
        env = "TRADESCREEN_LOG_FORMAT",
        value_enum,
        default_value = "plain"
    )]
    log_format: LogFormat,
    /// Seconds that in-flight calls may run on after SIGTERM/SIGINT.
    #[arg(long, env = "TRADESCREEN_DRAIN_SECONDS", default_value_t = 20)]
    drain_seconds: u64,
    /// Audit writes committed and flushed together at most (group commit); 1 flushes every
    /// record on its own (the baseline for measurements).
    #[arg(long, env = "TRADESCREEN_MAX_COMMIT_BATCH", default_value_t = tradescreen::audit::DEFAULT_MAX_BATCH, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    max_commit_batch: usize,
}

#[derive(Args)]
struct ScreenArgs {
    /// Invoice file in proto3 JSON.
    invoice: PathBuf,
    #[command(flatten)]
    lists: ListArgs,
}

const EXIT_INVALID_INVOICE: u8 = 3;
const EXIT_ERROR: u8 = 4;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Screen(args) => screen(&args),
        Command::Eval(args) => eval(&args),
        Command::Audit(AuditCommand::Verify(args)) => audit_verify(&args),
        Command::Audit(AuditCommand::Export(args)) => audit_export(&args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    telemetry::init(args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let options = ServeOptions {
        data_dir: args.store.data_dir,
        lists: args.lists.source(),
        policy: args.lists.policy,
        drain_deadline: Duration::from_secs(args.drain_seconds),
        max_commit_batch: args.max_commit_batch,
    };
    let result = runtime.block_on(async move {
        let state = server::open(&options)?;
        let listener = TcpListener::bind(args.listen).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", args.listen))
        })?;
        tracing::info!(addr = %listener.local_addr()?, "serving tradescreen.v1");
        reload_on_sighup(std::sync::Arc::clone(&state))?;
        server::serve(state, listener, shutdown_signal()?, options.drain_deadline).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "tradescreen failed");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Completes on the first SIGTERM or SIGINT.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// SIGHUP reloads lists and policy; a bad file is reported and the current lists stay.
fn reload_on_sighup(state: std::sync::Arc<tradescreen::api::AppState>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let state = std::sync::Arc::clone(&state);
            match tokio::task::spawn_blocking(move || state.reload()).await {
                Ok(Ok(snapshot)) => {
                    for v in &snapshot.versions {
                        tracing::info!(list = %v.list_id, entries = v.entry_count, hash = %v.content_hash, "list reloaded");
                    }
                    server::log_load_report(&snapshot.report);
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "list reload rejected; still serving the previous lists")
                }
                Err(e) => tracing::error!(error = %e, "list reload task failed"),
            }
        }
    });
    Ok(())
}

fn screen(args: &ScreenArgs) -> ExitCode {
    let fail = |code: u8, message: String| {
        eprintln!("tradescreen screen: {message}");
        ExitCode::from(code)
    };
    let text = match std::fs::read_to_string(&args.invoice) {
        Ok(text) => text,
        Err(e) => {
            return fail(
                EXIT_ERROR,
                format!("cannot read {}: {e}", args.invoice.display()),
            );
        }
    };
    let proto = match json::invoice_from_json(&text) {
        Ok(proto) => proto,
        Err(e) => {
            return fail(
                EXIT_INVALID_INVOICE,
                format!("{}: {e}", args.invoice.display()),
            );
        }
    };
    let invoice = match validate::invoice(Some(&proto)) {
        Ok(invoice) => invoice,
        Err(e) => {
            for v in e.violations() {
                eprintln!("{}: {}", v.field, v.description);
            }
            return fail(EXIT_INVALID_INVOICE, e.to_string());
        }
    };
    let snapshot = match lists::load(&args.lists.source(), args.lists.policy.as_deref()) {
        Ok(snapshot) => snapshot,
        Err(e) => return fail(EXIT_ERROR, e.to_string()),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    // Not stored, so it gets no verdict id, sequence or version (and no clearances apply).
    let mut verdict = snapshot.verdict(&invoice, invoice.content_hash(), |_| None);
    verdict.screened_at_unix_nanos = now;
    let decision = verdict.decision;
    match json::verdict_to_json(&convert::unstored_verdict(verdict)) {
        Ok(text) => println!("{text}"),
        Err(e) => return fail(EXIT_ERROR, e.to_string()),
    }
    ExitCode::from(match decision {
        Decision::Clear => 0,
        Decision::Review => 1,
        Decision::Block => 2,
    })
}

fn eval(args: &EvalArgs) -> ExitCode {
    let fail = |message: String| {
        eprintln!("tradescreen eval: {message}");
        ExitCode::from(EXIT_ERROR)
    };
    let started = std::time::Instant::now();
    let snapshot = match lists::load(&args.lists.source(), args.lists.policy.as_deref()) {
        Ok(snapshot) => snapshot,
        Err(e) => return fail(e.to_string()),
    };
    let matcher = &snapshot.screener.parties;
    println!(
        "lists: {} entities, {} names, loaded and indexed in {:.2} s",
        matcher.entity_count(),
        matcher.name_count(),
        started.elapsed().as_secs_f64()
    );
    let file = match std::fs::File::open(&args.queries) {
        Ok(file) => std::io::BufReader::new(file),
        Err(e) => return fail(format!("cannot read {}: {e}", args.queries.display())),
    };
    let threshold = snapshot.screener.policy.parties.review_score;
    let report = match tradescreen::eval::run(matcher, threshold, file) {
        Ok(report) => report,
        Err(e) => return fail(format!("{}: {e}", args.queries.display())),
    };
    println!("{report}");
    for miss in report.misses.iter().take(args.show_misses) {
        println!(
            "miss {} [{}] {:?} expected {:?} (its score {:?}) found {:?}",
            miss.qid, miss.variant, miss.name, miss.expected, miss.expected_score, miss.found
        );
    }
    ExitCode::SUCCESS
}

fn open_store(args: &StoreArgs, command: &str) -> Result<AuditStore, ExitCode> {
    if !args.data_dir.is_dir() {
        eprintln!(
            "tradescreen audit {command}: {} is not a directory",
            args.data_dir.display()
        );
        return Err(ExitCode::from(EXIT_ERROR));
    }
    AuditStore::open(&args.data_dir).map_err(|e| {
        eprintln!(
            "tradescreen audit {command}: cannot open {}: {e}",
            args.data_dir.display()
        );
        ExitCode::from(EXIT_ERROR)
    })
}

fn audit_verify(args: &VerifyArgs) -> ExitCode {
    let anchor = match args.anchor.as_deref().map(parse_anchor).transpose() {
        Ok(anchor) => anchor,
        Err(e) => {
            eprintln!("tradescreen audit verify: --anchor {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let store = match open_store(&args.store, "verify") {
        Ok(store) => store,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let options = VerifyOptions {
        from: args.from,
        to: args.to,
        anchor,
        indexes: !args.skip_indexes,
    };
    let report = match store.verify(&options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("tradescreen audit verify: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    println!(
        "checked records {}..={} ({} records) in {:.2} s",
        report.from_sequence,
        report.to_sequence,
        report.records_checked,
        started.elapsed().as_secs_f64()
    );
    println!(
        "chain head: sequence {} hash {}",
        report.head.sequence,
        hex(&report.head.record_hash)
    );
    match report.first_break {
        None => {
            println!("intact");
            ExitCode::SUCCESS
        }
        Some(b) => {
            println!(
                "BROKEN at sequence {}: {:?}: {}",
                b.sequence, b.kind, b.detail
            );
            ExitCode::from(1)
        }
    }
}

fn parse_anchor(text: &str) -> Result<ChainHead, String> {
    let (sequence, hash) = text.split_once(':').ok_or("must be SEQUENCE:HASH")?;
    Ok(ChainHead {
        sequence: sequence
            .parse()
            .map_err(|e| format!("sequence {sequence:?}: {e}"))?,
        record_hash: validate::parse_hash(hash).ok_or("hash must be 64 hexadecimal digits")?,
    })
}

fn audit_export(args: &ExportArgs) -> ExitCode {
    use std::io::Write;
    let decision = args
        .decision
        .map_or(tradescreen::pb::Decision::Unspecified, |d| match d {
            DecisionArg::Clear => tradescreen::pb::Decision::Clear,
            DecisionArg::Review => tradescreen::pb::Decision::Review,
            DecisionArg::Block => tradescreen::pb::Decision::Block,
        });
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let proto = tradescreen::pb::VerdictFilter {
        exporter_id: text(&args.exporter_id),
        invoice_id: text(&args.invoice_id),
        decision: decision as i32,
        screened_after: args.after,
        screened_before: args.before,
        hs_code: text(&args.hs_code),
        list_id: text(&args.list_id),
        entity_id: text(&args.entity_id),
    };
    let filter = match validate::verdict_filter(Some(&proto)) {
        Ok(filter) => filter,
        Err(e) => {
            for v in e.violations() {
                eprintln!(
                    "{}: {}",
                    v.field.replace("filter.", "--").replace('_', "-"),
                    v.description
                );
            }
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let store = match open_store(&args.store, "export") {
        Ok(store) => store,
        Err(code) => return code,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut count: u64 = 0;
    for item in store.matching(&filter, None) {
        let line = item.map_err(|e| e.to_string()).and_then(|v| {
            json::verdict_to_json_line(&convert::verdict(v)).map_err(|e| e.to_string())
        });
        match line {
            Ok(line) => {
                if writeln!(out, "{line}").is_err() {
                    // The reader closed the pipe (e.g. `| head`): not an error of ours.
                    return ExitCode::SUCCESS;
                }
                count += 1;
            }
            Err(e) => {
                let _ = out.flush();
                eprintln!("tradescreen audit export: after {count} verdicts: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    eprintln!("tradescreen audit export: {count} verdicts");
    ExitCode::SUCCESS
}
