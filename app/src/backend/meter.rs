//! Counts of what each integration channel received, kept in memory and added to the
//! `integration_stats` table in one statement per channel and day when flushed.
//!
//! Why not count inside each request's transaction: every request of a channel would then
//! update the same row, and on Postgres concurrent requests would queue on its lock until
//! each commit is on disk. The counters are for the Integrations page, so they are flushed
//! every second by the server and before the page reads them; a crash loses at most the
//! last second of *counts*, never an event.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::{integration_stat, source};

/// What one channel received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: i64,
    pub stored: i64,
    pub duplicates: i64,
    pub quarantined: i64,
    pub rejected: i64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.received += o.received;
        self.stored += o.stored;
        self.duplicates += o.duplicates;
        self.quarantined += o.quarantined;
        self.rejected += o.rejected;
    }
}

/// The channel name of a Segment source.
pub fn source_channel(source_id: i64) -> String {
    format!("source:{source_id}")
}

#[derive(Default)]
pub struct Meter {
    pending: Mutex<HashMap<(String, NaiveDate), Counts>>,
    last_event: Mutex<HashMap<i64, DateTime<Utc>>>,
    /// Newest event time per customer not yet written to `customers.last_seen_at`.
    customers: Mutex<HashMap<i64, DateTime<Utc>>>,
    /// Customers with new data, to queue for re-scoring (`score_requests`).
    rescore: Mutex<std::collections::HashSet<i64>>,
    /// One flush at a time: flushes then write rows in the same order and never deadlock.
    flushing: tokio::sync::Mutex<()>,
}

impl Meter {
    pub fn add(&self, channel: &str, at: DateTime<Utc>, counts: Counts) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .entry((channel.to_string(), at.date_naive()))
            .or_default()
            .add(counts);
    }

    /// Remembers that a source sent something at `at`.
    pub fn source_seen(&self, source_id: i64, at: DateTime<Utc>) {
        let mut last = self.last_event.lock().unwrap_or_else(|e| e.into_inner());
        let entry = last.entry(source_id).or_insert(at);
        if *entry < at {
            *entry = at;
        }
    }

    /// Queues customers whose data changed (tickets, billing, notes, edits) for
    /// re-scoring at the next flush.
    pub fn request_scores(&self, customer_ids: &[i64]) {
        self.rescore
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(customer_ids.iter().copied());
    }

    /// Remembers the newest event time of customers that just received events (and
    /// queues them for re-scoring).
    pub fn customers_seen(&self, newest: &[(i64, DateTime<Utc>)]) {
        if newest.is_empty() {
            return;
        }
        self.rescore
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(newest.iter().map(|(id, _)| *id));
        let mut map = self.customers.lock().unwrap_or_else(|e| e.into_inner());
        for &(id, at) in newest {
            let entry = map.entry(id).or_insert(at);
            if *entry < at {
                *entry = at;
            }
        }
    }

    /// Adds the pending counts to the database and moves customers' last activity forward. What fails to be written is kept for the
    /// next flush.
    ///
    /// # Errors
    /// The first database error.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let _one_at_a_time = self.flushing.lock().await;
        let rescore: Vec<i64> =
            std::mem::take(&mut *self.rescore.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        if let Err(e) = super::score_queue::request(db, &rescore, Utc::now()).await {
            self.request_scores(&rescore);
            return Err(e);
        }
        let seen = std::mem::take(&mut *self.customers.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen: Vec<(i64, DateTime<Utc>)> = seen.into_iter().collect();
        seen.sort_unstable();
        for chunk in seen.chunks(LAST_SEEN_CHUNK) {
            if let Err(e) = advance_last_seen(db, chunk).await {
                self.customers_seen(chunk);
                return Err(e);
            }
        }
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut failed = Vec::new();
        let mut first_error = None;
        for ((channel, day), c) in pending {
            if let Err(e) = upsert(db, &channel, day, c).await {
                failed.push(((channel, day), c));
                first_error.get_or_insert(e);
            }
        }
        if !failed.is_empty() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (key, c) in failed {
                pending.entry(key).or_default().add(c);
            }
        }
        let seen = std::mem::take(&mut *self.last_event.lock().unwrap_or_else(|e| e.into_inner()));
        for (source_id, at) in seen {
            // Only forward: an older flush never overwrites a newer time.
            source::Entity::update_many()
                .col_expr(source::Column::LastEventAt, Expr::value(at))
                .filter(source::Column::Id.eq(source_id))
                .filter(
                    sea_orm::Condition::any()
                        .add(source::Column::LastEventAt.is_null())
                        .add(source::Column::LastEventAt.lt(at)),
                )
                .exec(db)
                .await?;
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Customers per `UPDATE` statement (two bound values each).
const LAST_SEEN_CHUNK: usize = 500;

/// Moves each customer's last activity forward to its newest event, in one statement:
/// `UPDATE … FROM (SELECT id, at UNION ALL …)`, which SQLite (3.33+) and Postgres share.
/// A backfill of old events leaves a newer time where it is.
async fn advance_last_seen(
    db: &impl ConnectionTrait,
    newest: &[(i64, DateTime<Utc>)],
) -> Result<(), DbErr> {
    use sea_orm::{DatabaseBackend, Statement, Value};
    let backend = db.get_database_backend();
    let mut rows = Vec::with_capacity(newest.len());
    let mut values: Vec<Value> = Vec::with_capacity(newest.len() * 2);
    for (i, &(id, at)) in newest.iter().enumerate() {
        rows.push(match backend {
            DatabaseBackend::Postgres => format!(
                "SELECT ${}::bigint AS id, ${}::timestamptz AS at",
                2 * i + 1,
                2 * i + 2
            ),
            _ => "SELECT ? AS id, ? AS at".to_string(),
        });
        values.push(id.into());
        values.push(at.into());
    }
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE customers SET last_seen_at = v.at FROM ({}) AS v \
         WHERE customers.id = v.id AND (customers.last_seen_at IS NULL OR customers.last_seen_at < v.at)",
        rows.join(" UNION ALL ")
    );
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

async fn upsert(
    db: &impl ConnectionTrait,
    channel: &str,
    day: NaiveDate,
    c: Counts,
) -> Result<(), DbErr> {
    use integration_stat::Column as C;
    let add = |col: C| {
        Expr::col((integration_stat::Entity, col)).add(Expr::cust(format!(
            "excluded.{}",
            sea_orm::IdenStatic::as_str(&col)
        )))
    };
    integration_stat::Entity::insert(integration_stat::ActiveModel {
        channel: Set(channel.to_string()),
        day: Set(day),
        received: Set(c.received),
        stored: Set(c.stored),
        duplicates: Set(c.duplicates),
        quarantined: Set(c.quarantined),
        rejected: Set(c.rejected),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([C::Channel, C::Day])
            .value(C::Received, add(C::Received))
            .value(C::Stored, add(C::Stored))
            .value(C::Duplicates, add(C::Duplicates))
            .value(C::Quarantined, add(C::Quarantined))
            .value(C::Rejected, add(C::Rejected))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}
