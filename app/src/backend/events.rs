//! Domain events (`domain_events`): what consumers (playbooks, later) start from. Most are
//! written by the schema's triggers in the transaction of the change that caused them
//! (see the migration `domain_events`); the one no row change causes — a renewal coming
//! up — is written here by a daily job. Consumers read them in order after a durable
//! cursor, so one added later or restarted misses nothing.
//!
//! A low module: it knows the tables, not who consumes them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use serde_json::json;
use vcsm::events::{describe, renewal_notice, EventKind, RENEWAL_NOTICE_DAYS};

use super::entities::{customer, domain_event, event_cursor};
use crate::dto::DomainEventRow;

/// The events after `consumer`'s cursor, oldest first, at most `limit`. On Postgres only
/// events of transactions older than every one still running are read (see the
/// migration): one committing late can't be passed over. Transaction ids are the whole
/// Postgres server's, so a long transaction anywhere on it delays new events (never
/// loses them) until it ends.
///
/// # Errors
/// Database errors.
pub async fn read(
    db: &impl ConnectionTrait,
    consumer: &str,
    limit: u64,
) -> Result<Vec<domain_event::Model>, DbErr> {
    let (tx_id, last_id) = event_cursor::Entity::find_by_id(consumer.to_owned())
        .one(db)
        .await?
        .map_or((0, 0), |c| (c.tx_id, c.last_id));
    let backend = db.get_database_backend();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = match backend {
        DatabaseBackend::Postgres => Statement::from_sql_and_values(
            backend,
            "SELECT * FROM domain_events WHERE (tx_id > $1 OR (tx_id = $1 AND id > $2)) \
             AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY tx_id, id LIMIT $3",
            [tx_id.into(), last_id.into(), limit.into()],
        ),
        // One writer: ids are in commit order, `tx_id` is 0.
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT * FROM domain_events WHERE id > ? ORDER BY id LIMIT ?",
            [last_id.into(), limit.into()],
        ),
    };
    domain_event::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await
}

/// Moves `consumer`'s cursor past `event` (the last it has handled).
///
/// # Errors
/// Database errors.
pub async fn advance(
    db: &impl ConnectionTrait,
    consumer: &str,
    event: &domain_event::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    event_cursor::Entity::insert(event_cursor::ActiveModel {
        consumer: Set(consumer.to_owned()),
        tx_id: Set(event.tx_id),
        last_id: Set(event.id),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(event_cursor::Column::Consumer)
            .update_columns([
                event_cursor::Column::TxId,
                event_cursor::Column::LastId,
                event_cursor::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The newest `limit` events about a customer, newest first, in words; product events
/// received only with `usage` (they outnumber the rest by far).
///
/// # Errors
/// Database errors.
pub async fn for_customer(
    db: &impl ConnectionTrait,
    customer_id: i64,
    usage: bool,
    limit: u64,
) -> Result<Vec<DomainEventRow>, DbErr> {
    let mut query =
        domain_event::Entity::find().filter(domain_event::Column::CustomerId.eq(customer_id));
    if !usage {
        query = query.filter(domain_event::Column::Kind.ne(EventKind::EventReceived.as_str()));
    }
    let rows = query
        .order_by_desc(domain_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|e| DomainEventRow {
            id: e.id,
            label: EventKind::parse(&e.kind)
                .map_or_else(|| e.kind.clone(), |k| k.label().to_owned()),
            summary: describe(&e.kind, &e.data),
            kind: e.kind,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        })
        .collect())
}

/// How long "product event received" events are kept. They are the one kind that comes
/// in volume (one per event a customer's product sends); the events themselves stay in
/// `usage_events`, this is only what consumers start from.
pub const KEEP_PRODUCT_EVENTS: Duration = Duration::days(90);

/// Deletes "product event received" events recorded before `before` (see
/// [`KEEP_PRODUCT_EVENTS`]); every other kind is kept. Returns how many were deleted.
///
/// # Errors
/// Database errors.
pub async fn purge_product_events(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    // In batches, each its own statement: on SQLite one delete of a year of events would
    // hold the write lock (and ingestion) for its whole length.
    const BATCH: u64 = 5_000;
    let mut deleted = 0;
    loop {
        let ids: Vec<i64> = domain_event::Entity::find()
            .select_only()
            .column(domain_event::Column::Id)
            .filter(domain_event::Column::Kind.eq(EventKind::EventReceived.as_str()))
            .filter(domain_event::Column::RecordedAt.lt(before))
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        deleted += domain_event::Entity::delete_many()
            .filter(domain_event::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
    }
}

/// Writes today's "renewal coming up" events: one per live customer whose renewal is a
/// notice day away (`RENEWAL_NOTICE_DAYS`), unless today's is written already (the job
/// ran before, or is run again). Returns how many were written.
///
/// # Errors
/// Database errors.
pub async fn record_renewals(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let dates: Vec<NaiveDate> = RENEWAL_NOTICE_DAYS
        .iter()
        .map(|d| today + Duration::days(*d))
        .collect();
    let due: Vec<(i64, NaiveDate)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::RenewalDate)
        .filter(customer::Column::RenewalDate.is_in(dates))
        .filter(customer::Column::ArchivedAt.is_null())
        .filter(customer::Column::ChurnedOn.is_null())
        .into_tuple::<(i64, Option<NaiveDate>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, date)| Some((id, date?)))
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let midnight = today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let written: std::collections::HashSet<i64> = domain_event::Entity::find()
        .select_only()
        .column(domain_event::Column::CustomerId)
        .filter(domain_event::Column::Kind.eq(EventKind::RenewalDue.as_str()))
        .filter(domain_event::Column::RecordedAt.gte(midnight))
        .filter(domain_event::Column::CustomerId.is_in(due.iter().map(|(id, _)| *id)))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let rows: Vec<domain_event::ActiveModel> = due
        .into_iter()
        .filter(|(id, _)| !written.contains(id))
        .filter_map(|(id, renews_on)| {
            let days = renewal_notice(renews_on, today)?;
            Some(domain_event::ActiveModel {
                customer_id: Set(id),
                kind: Set(EventKind::RenewalDue.as_str().to_owned()),
                data: Set(json!({ "days": days, "renews_on": renews_on })),
                occurred_at: Set(midnight),
                recorded_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    let n = rows.len() as u64;
    if n > 0 {
        domain_event::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(n)
}
