//! Dashboard server function.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::DashboardDto;
use crate::error::AppError;

#[server(endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardDto, AppError> {
    // Reads what the meter's last flush wrote (see `list_customers`): never waits on it.
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(crate::backend::dashboard::dashboard(&state.db, chrono::Utc::now()).await)
}
