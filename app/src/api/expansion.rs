//! Expansion server functions: the pipeline (or one customer's signals), marking a
//! signal won or dismissed, and the plans its estimates use.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::{ExpansionPage, SignalAction};
use crate::error::AppError;

/// Open expansion signals, largest weighted uplift first, with totals; `customer_id`: one
/// customer's.
#[server(endpoint = "expansion_pipeline")]
pub async fn expansion_pipeline(
    customer_id: Option<i64>,
    page: u64,
) -> Result<ExpansionPage, AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::expansion::pipeline(&state.db, customer_id, page, user.role.can_admin())
            .await,
    )
}

/// Marks a signal won or dismissed, with a note (editors).
#[server(input = leptos::server_fn::codec::Json, endpoint = "act_on_signal")]
pub async fn act_on_signal(
    signal_id: i64,
    action: SignalAction,
    note: Option<String>,
) -> Result<(), AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_edit_customers).await?;
    ctx::respond(
        crate::backend::expansion::act(
            &state.db,
            &user,
            signal_id,
            action,
            note,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Replaces the plan list (admins), then queues the portfolio's re-evaluation (a job).
#[server(input = leptos::server_fn::codec::Json, endpoint = "save_plans")]
pub async fn save_plans(plans: Vec<vcsm::expansion::Plan>) -> Result<(), AppError> {
    let (state, admin) = ctx::require(vcsm::auth::Role::can_admin).await?;
    ctx::respond(
        crate::backend::expansion::save_plans(&state.db, Some(&admin), &plans, chrono::Utc::now())
            .await,
    )?;
    ctx::respond(
        crate::backend::worker::request_rescore(
            &state.db,
            Some(&admin),
            "plans",
            chrono::Utc::now(),
        )
        .await
        .map_err(Into::into),
    )
}
