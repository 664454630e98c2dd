//! Work that must happen once per UTC day across every server (the nightly recompute,
//! the nightly retraining): the first server to insert the (name, day) row does it.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::scheduled_run;

/// Claims `name` for `day`; `false` when another run (here or elsewhere) has it.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &impl ConnectionTrait,
    name: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = scheduled_run::Entity::insert(scheduled_run::ActiveModel {
        name: Set(name.into()),
        day: Set(day),
        started_at: Set(now),
        finished_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([scheduled_run::Column::Name, scheduled_run::Column::Day])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted > 0)
}

/// Marks the day's run done.
///
/// # Errors
/// Database errors.
pub async fn finish(db: &impl ConnectionTrait, name: &str, day: NaiveDate) -> Result<(), DbErr> {
    scheduled_run::Entity::update_many()
        .col_expr(scheduled_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(scheduled_run::Column::Name.eq(name))
        .filter(scheduled_run::Column::Day.eq(day))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives the day's claim back after a failure, so a later try runs it.
///
/// # Errors
/// Database errors.
pub async fn release(db: &impl ConnectionTrait, name: &str, day: NaiveDate) -> Result<(), DbErr> {
    scheduled_run::Entity::delete_many()
        .filter(scheduled_run::Column::Name.eq(name))
        .filter(scheduled_run::Column::Day.eq(day))
        .exec(db)
        .await?;
    Ok(())
}
