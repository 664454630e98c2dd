//! What the benchmarks against a running server share: concurrent clients for a fixed
//! time, the `/v1/batch` requests they post, and percentiles of what they measured.
// Each bench compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::entities::customer;
use chrono::Utc;
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{json, Value};

/// The running server and its database, as every bench against a server takes them.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// The running server, e.g. http://127.0.0.1:3200
    #[arg(long)]
    pub url: String,
    /// A source's write key.
    #[arg(long)]
    pub key: String,
    /// The server's database, for the customers to send events for.
    #[arg(long)]
    pub database_url: String,
}

pub const EVENTS: [&str; 6] = [
    "Report Exported",
    "Dashboard Viewed",
    "Logged In",
    "Invite Sent",
    "Integration Connected",
    "Search Performed",
];

/// The value below which `p` percent of `sorted` lies (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// One call's outcome: what it was (e.g. which page) and its HTTP status (`None`: no
/// answer at all, e.g. a refused connection).
pub struct Call {
    pub label: &'static str,
    pub status: Option<u16>,
    /// The call's own time when it is not the whole of `work` (which includes, e.g., a
    /// reader's pause); `None`: all of it.
    pub ms: Option<f64>,
}

/// What the clients did in the measured window.
pub struct Run {
    pub seconds: f64,
    /// (label, status, milliseconds) of every call that finished in the window.
    pub calls: Vec<(&'static str, Option<u16>, f64)>,
}

impl Run {
    /// Sorted latencies of the successful calls labelled `label`.
    pub fn latencies(&self, label: &str) -> Vec<f64> {
        let mut ms: Vec<f64> = self
            .calls
            .iter()
            .filter(|(l, s, _)| *l == label && s.is_some_and(|s| (200..300).contains(&s)))
            .map(|(_, _, ms)| *ms)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    pub fn succeeded(&self) -> usize {
        self.calls
            .iter()
            .filter(|(_, s, _)| s.is_some_and(|s| (200..300).contains(&s)))
            .count()
    }

    /// Answers with a 5xx status.
    pub fn server_errors(&self) -> usize {
        self.calls
            .iter()
            .filter(|(_, s, _)| s.is_some_and(|s| s >= 500))
            .count()
    }

    /// Calls that did not succeed (any status outside 2xx, or no answer).
    pub fn failures(&self) -> usize {
        self.calls.len() - self.succeeded()
    }
}

/// Runs `work` on `clients` tasks: 2 seconds of warm-up, then `seconds` measured.
/// `work(client, n)` makes the client's `n`th call.
pub async fn drive<F, Fut>(clients: usize, seconds: u64, work: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Call> + Send,
{
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (work, measuring, stop) = (work.clone(), measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let call = work(c, n).await;
                n += 1;
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    let ms = call
                        .ms
                        .unwrap_or_else(|| started.elapsed().as_secs_f64() * 1000.0);
                    calls.push((call.label, call.status, ms));
                }
            }
            calls
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let mut calls = Vec::new();
    for t in tasks {
        calls.extend(t.await.expect("a client task panicked"));
    }
    Run { seconds, calls }
}

/// Up to 1,000 customers with an external id, as (id, external id): the accounts the
/// generated events are for.
pub async fn accounts(db: &DatabaseConnection) -> Vec<(i64, String)> {
    let accounts: Vec<(i64, String)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ExternalId)
        .filter(sea_orm::ColumnTrait::is_not_null(
            &customer::Column::ExternalId,
        ))
        .limit(1000)
        .into_tuple::<(i64, Option<String>)>()
        .all(db)
        .await
        .expect("read customers")
        .into_iter()
        .filter_map(|(id, ext)| ext.map(|e| (id, e)))
        .collect();
    assert!(
        !accounts.is_empty(),
        "the database needs customers with external ids (vcsm demo)"
    );
    accounts
}

/// The account the `i`th message of client `c`'s `n`th batch is for.
pub fn account_index(c: usize, n: u64, i: usize, accounts: usize) -> usize {
    (c * 7919 + n as usize * 104_729 + i * 31) % accounts
}

/// A `/v1/batch` body of `size` `track` events with message ids unique to
/// (`run`, `c`, `n`).
pub fn track_batch(run: i64, c: usize, n: u64, size: usize, accounts: &[(i64, String)]) -> Value {
    let now = Utc::now();
    let messages: Vec<Value> = (0..size)
        .map(|i| {
            let k = account_index(c, n, i, accounts.len());
            json!({
                "type": "track",
                "messageId": format!("api-{run}-{c}-{n}-{i}"),
                "userId": format!("user-{k}-{}", i % 4),
                "event": EVENTS[i % EVENTS.len()],
                "properties": {"plan": "growth", "items": i, "source": "bench"},
                "context": {"groupId": accounts[k].1},
                "timestamp": (now - chrono::Duration::seconds(i as i64)).to_rfc3339(),
            })
        })
        .collect();
    json!({ "batch": messages })
}

/// Posts one batch; the call's status.
pub async fn post_batch(http: &reqwest::Client, endpoint: &str, key: &str, body: &Value) -> Call {
    let status = http
        .post(endpoint)
        .basic_auth(key, Some(""))
        .json(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16());
    Call {
        label: "batch",
        status,
        ms: None,
    }
}
