//! Customer server functions.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use vcsm::customer::CustomerInput;
use vcsm::listing::CustomerQuery;

#[cfg(feature = "ssr")]
use super::ctx;
#[cfg(feature = "ssr")]
use crate::backend::customers as svc;
use crate::dto::{
    CustomerDetail, CustomerPage, DomainEventRow, ImportKind, ImportStatus, OwnerOption,
};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

/// Largest CSV accepted in one import (about 100,000 typical rows).
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

#[server(input = Json, endpoint = "list_customers")]
pub async fn list_customers(query: CustomerQuery) -> Result<CustomerPage, AppError> {
    // No meter flush here (unlike the Integrations page): under ingestion a flush waits
    // on row locks, and the page would wait with it. Last activity is at most a second
    // behind — the meter flushes every second — as it is for another server's meter.
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(svc::list(&state.db, &query, chrono::Utc::now()).await)
}

#[server(endpoint = "get_customer")]
pub async fn get_customer(id: i64) -> Result<CustomerDetail, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(svc::detail(&state.db, id, chrono::Utc::now()).await)
}

/// The edit form's initial values.
#[server(endpoint = "customer_form")]
pub async fn customer_form(id: i64) -> Result<CustomerInput, AppError> {
    let (state, _) = (ctx::require(Role::can_edit_customers).await)?;
    ctx::respond(svc::form_input(&state.db, id).await)
}

#[server(endpoint = "create_customer")]
pub async fn create_customer(input: CustomerInput) -> Result<i64, AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    let id = ctx::respond(svc::create(&state.db, &user, &input, chrono::Utc::now()).await)?;
    leptos_axum::redirect(&format!("/customers/{id}"));
    Ok(id)
}

#[server(endpoint = "update_customer")]
pub async fn update_customer(id: i64, input: CustomerInput) -> Result<i64, AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    ctx::respond(svc::update(&state.db, &user, id, &input, chrono::Utc::now()).await)?;
    // Seats, MRR and renewal date are measures of health.
    state.meter.request_scores(&[id]);
    leptos_axum::redirect(&format!("/customers/{id}"));
    Ok(id)
}

/// Archives (`archived = true`) or restores a customer.
#[server(endpoint = "archive_customer")]
pub async fn archive_customer(id: i64, archived: bool) -> Result<(), AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    ctx::respond(svc::set_archived(&state.db, &user, id, archived, chrono::Utc::now()).await)
}

#[server(endpoint = "add_note")]
pub async fn add_note(customer_id: i64, body: String) -> Result<(), AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    ctx::respond(svc::add_note(&state.db, &user, customer_id, &body, chrono::Utc::now()).await)?;
    // A note is a team touch, a measure of health.
    state.meter.request_scores(&[customer_id]);
    Ok(())
}

/// Starts importing a CSV file of `kind` in the background (all rows or none); poll
/// [`import_progress`] with the id returned.
#[server(input = Json, endpoint = "start_import")]
pub async fn start_import(kind: ImportKind, csv: String) -> Result<u64, AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    if csv.len() > MAX_IMPORT_BYTES {
        return ctx::respond(Err(AppError::BadRequest(format!(
            "The file is larger than {} MB: split it.",
            MAX_IMPORT_BYTES / 1024 / 1024
        ))));
    }
    ctx::respond(
        crate::backend::imports::start(&state.db, &user, kind, csv, chrono::Utc::now())
            .await
            .map(|id| id.unsigned_abs()),
    )
}

/// Where an import started by this user is: its progress, then its report.
#[server(endpoint = "import_progress")]
pub async fn import_progress(id: u64) -> Result<ImportStatus, AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(crate::backend::imports::status(&state.db, id, user.id).await)
}

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

/// Users who can own customers.
#[server(endpoint = "owner_options")]
pub async fn owner_options() -> Result<Vec<OwnerOption>, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::users::owner_options(&state.db)
            .await
            .map_err(Into::into),
    )
}

#[server(endpoint = "add_contact")]
pub async fn add_contact(
    customer_id: i64,
    contact: vcsm::customer::ContactInput,
) -> Result<i64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(
        svc::add_contact(&state.db, &user, customer_id, &contact, chrono::Utc::now()).await,
    )
}
