//! Alert server functions: the inbox, the navigation's count, and handling an alert.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::{AlertAction, AlertRulesPage, AlertsPage};
use crate::error::AppError;

/// A page of alerts: `filter` active (default), open, acknowledged, snoozed or resolved;
/// `mine` only the signed-in user's; `customer_id` one customer's.
#[server(endpoint = "list_alerts")]
pub async fn list_alerts(
    filter: String,
    mine: bool,
    customer_id: Option<i64>,
    page: u64,
) -> Result<AlertsPage, AppError> {
    let (state, user) = ctx::signed_in().await?;
    let Some(filter) = crate::backend::alerts::Filter::parse(&filter) else {
        return ctx::respond(Err(AppError::validation(
            "filter",
            "must be active, open, acknowledged, snoozed or resolved",
        )));
    };
    ctx::respond(
        crate::backend::alerts::list(
            &state.db,
            filter,
            mine.then_some(user.id),
            customer_id,
            page,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Alerts needing someone: everyone's and the signed-in user's (for the navigation).
#[server(endpoint = "alert_counts")]
pub async fn alert_counts() -> Result<(u64, u64), AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(crate::backend::alerts::open_counts(&state.db, user.id, chrono::Utc::now()).await)
}

/// Acknowledges, snoozes or resolves an alert, with a note (editors).
#[server(input = leptos::server_fn::codec::Json, endpoint = "act_on_alert")]
pub async fn act_on_alert(
    alert_id: i64,
    action: AlertAction,
    note: Option<String>,
) -> Result<(), AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_edit_customers).await?;
    ctx::respond(
        crate::backend::alerts::act(&state.db, &user, alert_id, action, note, chrono::Utc::now())
            .await,
    )
}

/// The alert rules, where notifications go, and the latest deliveries (everyone signed in
/// reads; admins edit).
#[server(endpoint = "alert_rules")]
pub async fn alert_rules() -> Result<AlertRulesPage, AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::alerts::rules_page(
            &state.db,
            user.role.can_admin(),
            state.mailer.is_some(),
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Saves the whole rule set (admins), then queues the portfolio's re-evaluation (a job) so
/// the new thresholds apply at once.
#[server(input = leptos::server_fn::codec::Json, endpoint = "save_alert_rules")]
pub async fn save_alert_rules(rules: Vec<vcsm::alerts::RuleConfig>) -> Result<(), AppError> {
    let (state, admin) = ctx::require(vcsm::auth::Role::can_admin).await?;
    ctx::respond(
        crate::backend::alerts::save_rules(&state.db, &admin, &rules, chrono::Utc::now()).await,
    )?;
    ctx::respond(
        crate::backend::worker::request_rescore(
            &state.db,
            Some(&admin),
            "alert rules",
            chrono::Utc::now(),
        )
        .await
        .map_err(Into::into),
    )
}
