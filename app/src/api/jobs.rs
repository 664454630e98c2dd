//! The jobs page (admins): what the servers run on their own, and retrying a dead job.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::{JobDto, JobsDto};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

/// Counts per state and the latest jobs, dead and running first.
#[server(endpoint = "list_jobs")]
pub async fn list_jobs() -> Result<JobsDto, AppError> {
    let (state, _) = ctx::require(Role::can_admin).await?;
    ctx::respond(crate::backend::worker::overview(&state).await)
}

/// Gives the alert notifications that failed their last try a new round of tries.
/// Returns how many.
#[server(endpoint = "retry_failed_notifications")]
pub async fn retry_failed_notifications() -> Result<u64, AppError> {
    let (state, admin) = ctx::require(Role::can_admin).await?;
    ctx::respond(
        crate::backend::worker::retry_notifications(&state, &admin, chrono::Utc::now()).await,
    )
}

/// Queues a job that failed its last try again, now.
#[server(endpoint = "retry_job")]
pub async fn retry_job(id: i64) -> Result<JobDto, AppError> {
    let (state, admin) = ctx::require(Role::can_admin).await?;
    ctx::respond(crate::backend::worker::retry(&state, &admin, id, chrono::Utc::now()).await)
}
