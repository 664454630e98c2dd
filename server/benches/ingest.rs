//! Ingestion throughput against a running server (a benchmark, not a test: timings on a
//! shared 2-core machine are noisy, so it reports figures and a ratio, never pass/fail).
//!
//! Concurrent clients post `/v1/batch` requests of 100 `track` events for the customers
//! already in the database, for a fixed time; then, in the same run and on the same
//! database, the same number of rows is written by a raw multi-row insert (100 rows per
//! statement and transaction, same concurrency) — the ceiling the API could reach if HTTP,
//! JSON, validation, deduplication and account resolution cost nothing.
//!
//! `scripts/bench-ingest.sh` sets up Postgres, the server and a source, then runs this:
//! `cargo bench -p server --bench ingest -- --url URL --key KEY --database-url DB_URL`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::entities::{customer, usage_event};
use chrono::Utc;
use clap::Parser;
use sea_orm::{EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;

#[derive(Parser, Debug)]
struct Args {
    /// The running server, e.g. http://127.0.0.1:3200
    #[arg(long)]
    url: String,
    /// A source's write key.
    #[arg(long)]
    key: String,
    /// The server's database, for the raw-insert ceiling and the customers to send for.
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Measured seconds (after a 2-second warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const EVENTS: [&str; 6] = [
    "Report Exported",
    "Dashboard Viewed",
    "Logged In",
    "Invite Sent",
    "Integration Connected",
    "Search Performed",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Run {
    events: u64,
    seconds: f64,
    latencies_ms: Vec<f64>,
    failures: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.seconds
    }
    fn report(&mut self, name: &str) {
        self.latencies_ms.sort_by(f64::total_cmp);
        println!(
            "{name:<28} {:>9.0} events/s  ({} events in {:.1} s; batch latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {} failed)",
            self.rate(),
            self.events,
            self.seconds,
            percentile(&self.latencies_ms, 50.0),
            percentile(&self.latencies_ms, 95.0),
            percentile(&self.latencies_ms, 99.0),
            self.failures
        );
    }
}

/// Runs `work` on `clients` tasks until the time is up, counting events per call.
async fn drive<F, Fut>(clients: usize, seconds: u64, batch: usize, work: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (work, measuring, stop, failures) = (
            work.clone(),
            measuring.clone(),
            stop.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = work(c, n).await;
                n += 1;
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies_ms = Vec::new();
    for t in tasks {
        latencies_ms.extend(t.await.unwrap());
    }
    Run {
        events: latencies_ms.len() as u64 * batch as u64,
        seconds: elapsed,
        latencies_ms,
        failures: failures.load(Ordering::Relaxed),
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = app::backend::db::connect(&args.database_url)
        .await
        .expect("connect to the database");
    let accounts: Vec<(i64, String)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ExternalId)
        .filter(sea_orm::ColumnTrait::is_not_null(
            &customer::Column::ExternalId,
        ))
        .limit(1000)
        .into_tuple::<(i64, Option<String>)>()
        .all(&db)
        .await
        .expect("read customers")
        .into_iter()
        .filter_map(|(id, ext)| ext.map(|e| (id, e)))
        .collect();
    assert!(
        !accounts.is_empty(),
        "the database needs customers with external ids (vcsm demo)"
    );
    let accounts = Arc::new(accounts);
    let run_id = Utc::now().timestamp_millis();
    println!(
        "{} clients × batches of {} for {} s; {} accounts; run {run_id}",
        args.clients,
        args.batch,
        args.seconds,
        accounts.len()
    );

    // 1. The HTTP API.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .unwrap();
    let endpoint = format!("{}/v1/batch", args.url.trim_end_matches('/'));
    let (key, batch) = (args.key.clone(), args.batch);
    let accts = accounts.clone();
    let mut api = drive(args.clients, args.seconds, batch, move |c, n| {
        let (http, endpoint, key, accts) =
            (http.clone(), endpoint.clone(), key.clone(), accts.clone());
        async move {
            let now = Utc::now();
            let messages: Vec<_> = (0..batch)
                .map(|i| {
                    let k = (c * 7919 + n as usize * 104_729 + i * 31) % accts.len();
                    json!({
                        "type": "track",
                        "messageId": format!("api-{run_id}-{c}-{n}-{i}"),
                        "userId": format!("user-{k}-{}", i % 4),
                        "event": EVENTS[i % EVENTS.len()],
                        "properties": {"plan": "growth", "items": i, "source": "bench"},
                        "context": {"groupId": accts[k].1},
                        "timestamp": (now - chrono::Duration::seconds(i as i64)).to_rfc3339(),
                    })
                })
                .collect();
            http.post(&endpoint)
                .basic_auth(&key, Some(""))
                .json(&json!({ "batch": messages }))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    api.report("HTTP API (/v1/batch)");

    // 2. The ceiling: the same rows straight into the table.
    let accts = accounts.clone();
    let conn = db.clone();
    let mut raw = drive(args.clients, args.seconds, batch, move |c, n| {
        let (conn, accts) = (conn.clone(), accts.clone());
        async move {
            let now = Utc::now();
            let rows: Vec<usage_event::ActiveModel> = (0..batch)
                .map(|i| {
                    let k = (c * 7919 + n as usize * 104_729 + i * 31) % accts.len();
                    usage_event::ActiveModel {
                        customer_id: Set(accts[k].0),
                        contact_id: Set(None),
                        name: Set(EVENTS[i % EVENTS.len()].to_string()),
                        properties: Set(json!({"plan": "growth", "items": i, "source": "bench"})),
                        occurred_at: Set(now - chrono::Duration::seconds(i as i64)),
                        received_at: Set(now),
                        message_id: Set(format!("raw-{run_id}-{c}-{n}-{i}")),
                        ..Default::default()
                    }
                })
                .collect();
            let Ok(txn) = app::backend::db::begin_write(&conn).await else {
                return false;
            };
            let inserted = usage_event::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .is_ok();
            inserted && txn.commit().await.is_ok()
        }
    })
    .await;
    raw.report("raw multi-row insert");
    println!(
        "ratio API / raw insert: {:.2}  (p99 batch latency {:.1} ms vs {:.1} ms)",
        api.rate() / raw.rate(),
        percentile(&api.latencies_ms, 99.0),
        percentile(&raw.latencies_ms, 99.0)
    );
}
