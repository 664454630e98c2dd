//! Pages under ingestion, against a running server (a benchmark, not a test: it reports
//! figures and ratios measured in one run, never pass/fail).
//!
//! Three phases of the same length, one after the other, on the same server and database:
//! 1. signed-in readers alone, loading the customer list (`GET /customers`) and the
//!    dashboard (`GET /`) in turn, whole server-rendered pages: the pages' latency with no
//!    load;
//! 2. ingestion alone: clients posting `/v1/batch` requests of 100 `track` events: the
//!    ingestion rate without readers;
//! 3. both at once;
//! 4. ingestion alone again: the rate without readers is the mean of 2 and 4, so a rate
//!    that drifts as the tables grow is not mistaken for the readers' doing.
//!
//! What the issue asks of it: the pages' p95 under load within 3× of their p95 with no
//! load, no 5xx in any phase, and ingestion within 20 % of its rate without readers.
//! `scripts/bench-load.sh` runs it on SQLite and on Postgres.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;

mod support;
use support::{percentile, Call, Run};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    target: support::Target,
    /// A user the readers sign in as.
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    /// Clients posting `/v1/batch`.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Signed-in page readers.
    #[arg(long, default_value_t = 4)]
    readers: usize,
    /// A reader's pause between pages, as a person's reading time (0: back to back,
    /// which on 2 cores measures CPU sharing more than waiting).
    #[arg(long, default_value_t = 1000)]
    pause_ms: u64,
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Measured seconds of each phase (after a 2-second warm-up).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const PAGES: [(&str, &str); 2] = [("customer list", "/customers"), ("dashboard", "/")];

/// A signed-in browser-like client: its own cookie jar, no redirects followed (a
/// redirect to the sign-in page counts as a failure, not as a fast page).
async fn signed_in(args: &Args) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let res = http
        .post(format!("{}/api/login", args.target.url))
        .form(&[("email", &args.email), ("password", &args.password)])
        .send()
        .await
        .expect("sign in");
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "sign-in refused: {}",
        res.status()
    );
    let probe = http
        .get(format!("{}/customers", args.target.url))
        .send()
        .await
        .expect("load the customer list");
    assert_eq!(probe.status(), 200, "the reader is not signed in");
    http
}

async fn read_pages(
    readers: Arc<Vec<reqwest::Client>>,
    url: Arc<str>,
    seconds: u64,
    pause: Duration,
) -> Run {
    support::drive(readers.len(), seconds, move |c, n| {
        let (readers, url) = (readers.clone(), url.clone());
        async move {
            if n > 0 {
                tokio::time::sleep(pause).await;
            }
            let (label, path) = PAGES[(c + n as usize) % PAGES.len()];
            // Timed from here: the pause before is the reader's, not the page's.
            let started = Instant::now();
            let status = match readers[c].get(format!("{url}{path}")).send().await {
                // The whole page: a server-rendered page streams until its data is in.
                Ok(res) => {
                    let status = res.status().as_u16();
                    res.bytes().await.ok().map(|_| status)
                }
                Err(_) => None,
            };
            Call {
                label,
                status,
                ms: Some(started.elapsed().as_secs_f64() * 1000.0),
            }
        }
    })
    .await
}

async fn ingest(args: &Args, accounts: Arc<Vec<(i64, String)>>, run_id: i64) -> Run {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .expect("an HTTP client");
    let endpoint: Arc<str> = format!("{}/v1/batch", args.target.url).into();
    let key: Arc<str> = args.target.key.clone().into();
    let batch = args.batch;
    support::drive(args.clients, args.seconds, move |c, n| {
        let (http, endpoint, key, accounts) = (
            http.clone(),
            endpoint.clone(),
            key.clone(),
            accounts.clone(),
        );
        async move {
            let body = support::track_batch(run_id, c, n, batch, &accounts);
            support::post_batch(&http, &endpoint, &key, &body).await
        }
    })
    .await
}

fn rate(run: &Run, batch: usize) -> f64 {
    (run.latencies("batch").len() * batch) as f64 / run.seconds
}

fn p95(run: &Run, label: &str) -> f64 {
    percentile(&run.latencies(label), 95.0)
}

fn describe(phase: &str, run: &Run) {
    println!(
        "  {phase}: {} calls, {} failed, {} answered 5xx",
        run.calls.len(),
        run.failures(),
        run.server_errors()
    );
}

#[tokio::main]
async fn main() {
    let mut args = Args::parse();
    args.target.url = args.target.url.trim_end_matches('/').to_string();
    let db = app::backend::db::connect(&args.target.database_url)
        .await
        .expect("connect to the database");
    let accounts = Arc::new(support::accounts(&db).await);
    let mut readers = Vec::new();
    for _ in 0..args.readers {
        readers.push(signed_in(&args).await);
    }
    let readers = Arc::new(readers);
    let url: Arc<str> = args.target.url.clone().into();
    println!(
        "{} readers ({} ms between pages), {} ingestion clients × batches of {}, {} s per phase; {} accounts",
        args.readers,
        args.pause_ms,
        args.clients,
        args.batch,
        args.seconds,
        accounts.len()
    );

    let pause = Duration::from_millis(args.pause_ms);
    let quiet = read_pages(readers.clone(), url.clone(), args.seconds, pause).await;
    let alone = ingest(&args, accounts.clone(), Utc::now().timestamp_millis()).await;
    let (loaded, with_readers) = tokio::join!(
        read_pages(readers.clone(), url.clone(), args.seconds, pause),
        ingest(&args, accounts.clone(), Utc::now().timestamp_millis())
    );
    let alone_after = ingest(&args, accounts.clone(), Utc::now().timestamp_millis()).await;

    println!();
    println!(
        "{:<16} {:>22} {:>22} {:>8}",
        "page", "no load p50 / p95 ms", "under load p50 / p95", "p95 ×"
    );
    for (label, _) in PAGES {
        let (q, l) = (quiet.latencies(label), loaded.latencies(label));
        println!(
            "{label:<16} {:>10.1} / {:>9.1} {:>10.1} / {:>9.1} {:>8.2}",
            percentile(&q, 50.0),
            percentile(&q, 95.0),
            percentile(&l, 50.0),
            percentile(&l, 95.0),
            p95(&loaded, label) / p95(&quiet, label)
        );
    }
    let (before, after) = (rate(&alone, args.batch), rate(&alone_after, args.batch));
    let alone_rate = (before + after) / 2.0;
    let shared_rate = rate(&with_readers, args.batch);
    println!(
        "ingestion: {alone_rate:.0} events/s alone ({before:.0} before, {after:.0} after), \
         {shared_rate:.0} events/s with readers ({:+.1} %)",
        (shared_rate / alone_rate - 1.0) * 100.0
    );
    println!("calls:");
    describe("readers, no load", &quiet);
    describe("ingestion alone", &alone);
    describe("readers under load", &loaded);
    describe("ingestion with readers", &with_readers);
    describe("ingestion alone, after", &alone_after);
}
