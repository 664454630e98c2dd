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

/// The scorecard in force (any signed-in user may read how health is defined).
#[server(endpoint = "get_scorecard")]
pub async fn get_scorecard() -> Result<crate::dto::ScorecardDto, AppError> {
    let (state, _) = ctx::signed_in().await?;
    let rescore = ctx::respond(crate::backend::worker::rescore_status(&state.db).await)?;
    let mut dto =
        ctx::respond(crate::backend::health::scorecard_for_editor(&state.db, rescore).await)?;
    dto.suggestion = ctx::respond(
        crate::backend::churn::suggested_weights(&state.db, dto.version)
            .await
            .map_err(Into::into),
    )?;
    Ok(dto)
}

/// Saves an edited scorecard as a new version (admins), then queues the portfolio's
/// re-score (a job); returns the new version.
#[server(input = leptos::server_fn::codec::Json, endpoint = "save_scorecard")]
pub async fn save_scorecard(card: vcsm::health::Scorecard) -> Result<i32, AppError> {
    let (state, admin) = ctx::require(vcsm::auth::Role::can_admin).await?;
    let now = chrono::Utc::now();
    let version =
        ctx::respond(crate::backend::health::save_scorecard(&state.db, &admin, &card, now).await)?;
    ctx::respond(
        crate::backend::worker::request_rescore(&state.db, Some(&admin), "scorecard", now)
            .await
            .map_err(Into::into),
    )?;
    Ok(version)
}

/// Sets or clears the CSM's sentiment about a customer (1–5), a manual measure of health.
#[server(endpoint = "set_csm_sentiment")]
pub async fn set_csm_sentiment(customer_id: i64, sentiment: Option<u8>) -> Result<(), AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_edit_customers).await?;
    ctx::respond(
        crate::backend::health::set_csm_sentiment(
            &state.db,
            &user,
            customer_id,
            sentiment,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// A customer's churn risk now, with the factors behind it (`None`: not predicted yet).
#[server(endpoint = "customer_churn")]
pub async fn customer_churn(id: i64) -> Result<Option<crate::dto::ChurnDto>, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(crate::backend::churn::customer_churn(&state.db, id).await)
}

/// The churn model: its latest training, metrics, earlier runs and the portfolio's risk.
#[server(endpoint = "churn_model")]
pub async fn churn_model() -> Result<crate::dto::ChurnModelDto, AppError> {
    let (state, _) = ctx::signed_in().await?;
    let training = ctx::respond(
        crate::backend::worker::retraining(&state.db)
            .await
            .map_err(Into::into),
    )?;
    ctx::respond(crate::backend::churn::model_overview(&state.db, training).await)
}

/// Retrains the churn model now, in the background (admins); `false` when a training is
/// already running.
#[server(endpoint = "retrain_churn_model")]
pub async fn retrain_churn_model() -> Result<bool, AppError> {
    let (state, admin) = ctx::require(vcsm::auth::Role::can_admin).await?;
    ctx::respond(
        crate::backend::worker::request_retrain(&state.db, &admin, chrono::Utc::now())
            .await
            .map_err(Into::into),
    )
}
