//! Dashboard server function.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::DashboardDto;
use crate::error::AppError;

#[server(endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardDto, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::freshen(&state).await;
    ctx::respond(crate::backend::dashboard::dashboard(&state.db, chrono::Utc::now()).await)
}
