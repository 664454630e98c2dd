//! Health server functions.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::CustomerHealthDto;
use crate::error::AppError;

/// A customer's health: breakdown, history and what moved it (`None`: not scored yet).
#[server(endpoint = "customer_health")]
pub async fn customer_health(id: i64) -> Result<Option<CustomerHealthDto>, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(crate::backend::health::customer_health(&state.db, id, chrono::Utc::now()).await)
}
