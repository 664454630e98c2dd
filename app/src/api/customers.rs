//! Customer server functions.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use vcsm::customers::CustomerInput;
use vcsm::listing::CustomerQuery;

#[cfg(feature = "ssr")]
use super::ctx;
#[cfg(feature = "ssr")]
use crate::backend::customers as svc;
use crate::dto::{CustomerDetail, CustomerPage, OwnerOption};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

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
    let id = ctx::respond(svc::create(&state.db, Some(&user), &input, chrono::Utc::now()).await)?;
    leptos_axum::redirect(&format!("/customers/{id}"));
    Ok(id)
}

#[server(endpoint = "update_customer")]
pub async fn update_customer(id: i64, input: CustomerInput) -> Result<i64, AppError> {
    let (state, user) = (ctx::require(Role::can_edit_customers).await)?;
    ctx::respond(svc::update(&state.db, Some(&user), id, &input, chrono::Utc::now()).await)?;
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
    contact: vcsm::customers::ContactInput,
) -> Result<i64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(
        svc::add_contact(&state.db, &user, customer_id, &contact, chrono::Utc::now()).await,
    )
}
