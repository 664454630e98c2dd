//! The queue of customers waiting to be re-scored (`score_requests`): whatever changes a
//! customer's data asks here, in its own transaction; the pipeline claims due requests
//! for a lease, re-scores, and finishes them. A low module: it knows no scoring, so
//! anything may queue a customer without reaching the modules that score.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, Set, Statement, TransactionSession, TransactionTrait,
};

use super::entities::score_request;

/// Ids per `IN` list and rows per statement.
const CHUNK: usize = 500;

/// Customers re-scored per claim.
const CLAIM: u64 = 500;

/// How long after new data a customer is re-scored: more data meanwhile joins the same
/// run instead of starting another.
pub const DEBOUNCE: Duration = Duration::seconds(2);

/// How long a claimed re-score is held by the server that claimed it: if that server
/// dies, another takes the customers up once it passes. Far longer than a run takes.
pub const LEASE: Duration = Duration::minutes(5);

/// Queues customers for re-scoring [`DEBOUNCE`] from `now`. A customer already queued
/// keeps its time; one being re-scored (claimed, see [`claim`]) is queued again, as
/// that run may have read its data before this.
///
/// # Errors
/// Database errors.
pub async fn request(
    db: &impl ConnectionTrait,
    customer_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // In one order everywhere: two servers queuing overlapping customers take the rows'
    // locks (Postgres) in the same order, so they can't deadlock.
    let mut ids = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let due = now + DEBOUNCE;
    for chunk in ids.chunks(CHUNK) {
        let rows = chunk.iter().map(|id| score_request::ActiveModel {
            customer_id: Set(*id),
            due_at: Set(due),
            requested_at: Set(now),
        });
        // A claimed row's due time is its lease's end, later than any debounce: only
        // those are brought forward.
        score_request::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(score_request::Column::CustomerId)
                    .update_columns([
                        score_request::Column::DueAt,
                        score_request::Column::RequestedAt,
                    ])
                    .action_and_where(ExprTrait::gt(
                        Expr::col((score_request::Entity, score_request::Column::DueAt)),
                        due,
                    ))
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Whether any request is due: most seconds none is, and looking takes no lock.
///
/// # Errors
/// Database errors.
pub async fn any_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(score_request::Entity::find()
        .filter(score_request::Column::DueAt.lte(now))
        .count(db)
        .await?
        > 0)
}

/// How many customers are queued for a re-score (waiting for their debounce, due, or
/// being scored).
///
/// # Errors
/// Database errors.
pub async fn waiting(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    score_request::Entity::find().count(db).await
}

/// Claims up to [`CLAIM`] due requests for a [`LEASE`], oldest first, in a short
/// transaction of its own: their due time moves to the lease's end (on Postgres, rows
/// another server is claiming are skipped). Returns the customers, in id order.
///
/// # Errors
/// Database errors.
pub async fn claim<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    let txn = super::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE score_requests SET due_at = $1 WHERE customer_id IN (SELECT customer_id \
             FROM score_requests WHERE due_at <= $2 ORDER BY due_at LIMIT $3 \
             FOR UPDATE SKIP LOCKED) RETURNING customer_id"
        }
        _ => {
            "UPDATE score_requests SET due_at = ? WHERE customer_id IN (SELECT customer_id \
             FROM score_requests WHERE due_at <= ? ORDER BY due_at LIMIT ?) \
             RETURNING customer_id"
        }
    };
    let mut claimed: Vec<i64> = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [(now + LEASE).into(), now.into(), (CLAIM as i64).into()],
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    txn.commit().await?;
    claimed.sort_unstable();
    Ok(claimed)
}

/// Removes the requests of a run claimed at `claimed_at` (in the transaction that stores
/// its results), except those queued again meanwhile: still on the run's lease (due at
/// its end), nothing new came in; a request since made it due a debounce after it, well
/// before, and it comes due again.
///
/// # Errors
/// Database errors.
pub async fn finish(
    db: &impl ConnectionTrait,
    claimed: &[i64],
    claimed_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in claimed.chunks(CHUNK) {
        score_request::Entity::delete_many()
            .filter(score_request::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(score_request::Column::DueAt.gt(claimed_at + LEASE - DEBOUNCE))
            .exec(db)
            .await?;
    }
    Ok(())
}
