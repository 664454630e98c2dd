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
//!
//! With `--events N` it measures growth instead: the clients post until N events are
//! stored and the rate is reported per 100,000 events, so a rate that sinks as the table
//! grows (a plan costed on an empty table, a lookup that turns into a scan) shows.
//! `scripts/bench-ingest.sh --growth` runs it from an empty events table, autovacuum off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use app::backend::entities::usage_event;
use chrono::Utc;
use clap::Parser;
use sea_orm::{EntityTrait, Set};
use serde_json::json;

mod support;
use support::{percentile, Call, Run, EVENTS};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    target: support::Target,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Measured seconds (after a 2-second warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Growth mode: post until this many events are stored, reporting each 100,000.
    #[arg(long)]
    events: Option<u64>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Events per reported step in growth mode.
const STEP: u64 = 100_000;

fn report(name: &str, run: &Run, batch: usize) -> f64 {
    let ms = run.latencies("batch");
    let rate = (ms.len() * batch) as f64 / run.seconds;
    println!(
        "{name:<28} {rate:>9.0} events/s  ({} events in {:.1} s; batch latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {} failed)",
        ms.len() * batch,
        run.seconds,
        percentile(&ms, 50.0),
        percentile(&ms, 95.0),
        percentile(&ms, 99.0),
        run.failures()
    );
    rate
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = app::backend::db::connect(&args.target.database_url)
        .await
        .expect("connect to the database");
    let accounts = Arc::new(support::accounts(&db).await);
    let run_id = Utc::now().timestamp_millis();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .unwrap();
    let endpoint = format!("{}/v1/batch", args.target.url.trim_end_matches('/'));
    if let Some(total) = args.events {
        growth(&args, http, endpoint, accounts, run_id, total).await;
        return;
    }
    println!(
        "{} clients × batches of {} for {} s; {} accounts; run {run_id}",
        args.clients,
        args.batch,
        args.seconds,
        accounts.len()
    );

    // 1. The HTTP API.
    let (key, batch) = (args.target.key.clone(), args.batch);
    let accts = accounts.clone();
    let api = support::drive(args.clients, args.seconds, move |c, n| {
        let (http, endpoint, key, accts) =
            (http.clone(), endpoint.clone(), key.clone(), accts.clone());
        async move {
            let body = support::track_batch(run_id, c, n, batch, &accts);
            support::post_batch(&http, &endpoint, &key, &body).await
        }
    })
    .await;
    let api_rate = report("HTTP API (/v1/batch)", &api, batch);

    // 2. The ceiling: the same rows straight into the table.
    let accts = accounts.clone();
    let conn = db.clone();
    let raw = support::drive(args.clients, args.seconds, move |c, n| {
        let (conn, accts) = (conn.clone(), accts.clone());
        async move {
            let now = Utc::now();
            let rows: Vec<usage_event::ActiveModel> = (0..batch)
                .map(|i| {
                    let k = support::account_index(c, n, i, accts.len());
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
            let ok = match app::backend::db::begin_write(&conn).await {
                Ok(txn) => {
                    usage_event::Entity::insert_many(rows)
                        .exec_without_returning(&txn)
                        .await
                        .is_ok()
                        && txn.commit().await.is_ok()
                }
                Err(_) => false,
            };
            Call {
                label: "batch",
                status: Some(if ok { 200 } else { 500 }),
                ms: None,
            }
        }
    })
    .await;
    let raw_rate = report("raw multi-row insert", &raw, batch);
    println!(
        "ratio API / raw insert: {:.2}  (p99 batch latency {:.1} ms vs {:.1} ms)",
        api_rate / raw_rate,
        percentile(&api.latencies("batch"), 99.0),
        percentile(&raw.latencies("batch"), 99.0)
    );
}

/// Posts until `total` events are acknowledged; prints the rate of each 100,000.
async fn growth(
    args: &Args,
    http: reqwest::Client,
    endpoint: String,
    accounts: Arc<Vec<(i64, String)>>,
    run_id: i64,
    total: u64,
) {
    println!(
        "{} clients × batches of {} until {total} events; {} accounts; run {run_id}",
        args.clients,
        args.batch,
        accounts.len()
    );
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    // When each multiple of STEP was passed.
    let marks = Arc::new(Mutex::new(vec![(0u64, 0.0f64)]));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (http, endpoint, key, accounts) = (
            http.clone(),
            endpoint.clone(),
            args.target.key.clone(),
            accounts.clone(),
        );
        let (acked, failed, marks, batch) = (
            acked.clone(),
            failed.clone(),
            marks.clone(),
            args.batch as u64,
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while acked.load(Ordering::Relaxed) < total {
                let body = support::track_batch(run_id, c, n, batch as usize, &accounts);
                n += 1;
                let call = support::post_batch(&http, &endpoint, &key, &body).await;
                if !call.status.is_some_and(|s| (200..300).contains(&s)) {
                    // A server that keeps refusing ends the run rather than spinning.
                    if failed.fetch_add(1, Ordering::Relaxed) >= 1000 {
                        break;
                    }
                    continue;
                }
                let after = acked.fetch_add(batch, Ordering::Relaxed) + batch;
                if after / STEP > (after - batch) / STEP {
                    let at = started.elapsed().as_secs_f64();
                    marks.lock().unwrap().push((after / STEP * STEP, at));
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client task panicked");
    }
    let mut marks = marks.lock().unwrap().clone();
    marks.sort_by_key(|m| m.0);
    println!("{:>12} {:>12} {:>10}", "events", "events/s", "elapsed s");
    for w in marks.windows(2) {
        let ((_, t0), (n1, t1)) = (w[0], w[1]);
        println!("{n1:>12} {:>12.0} {t1:>10.1}", STEP as f64 / (t1 - t0));
    }
    println!(
        "{} events in {:.1} s ({:.0} events/s overall); {} batches failed",
        acked.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        acked.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
        failed.load(Ordering::Relaxed)
    );
}
