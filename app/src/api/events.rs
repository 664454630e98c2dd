//! Domain event server functions.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::DomainEventRow;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

/// The newest domain events about a customer — what playbooks will start from — for
/// admins checking what the system saw; product events (every one received) only when
/// `usage` asks for them, so they don't bury the rest.
#[server(endpoint = "customer_events")]
pub async fn customer_events(
    customer_id: i64,
    usage: bool,
) -> Result<Vec<DomainEventRow>, AppError> {
    let (state, _) = ctx::require(Role::can_admin).await?;
    ctx::respond(
        crate::backend::events::for_customer(&state.db, customer_id, usage, 50)
            .await
            .map_err(Into::into),
    )
}
