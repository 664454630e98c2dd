//! Task server functions: the cockpit, a customer's tasks, and handling them.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use vcsm::tasks::{NewTask, TierSlas};

#[cfg(feature = "ssr")]
use super::ctx;
#[cfg(feature = "ssr")]
use crate::backend::tasks as svc;
use crate::dto::{CockpitPage, DoneTasksPage, TaskList};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

#[cfg(feature = "ssr")]
fn scope(mine: bool, user: &crate::dto::CurrentUser) -> svc::Scope {
    if mine {
        svc::Scope::Mine(user.id)
    } else {
        svc::Scope::Everyone
    }
}

/// The cockpit: customers with open tasks or untaken alerts, most urgent first; `mine`:
/// the signed-in user's only.
#[server(endpoint = "task_cockpit")]
pub async fn task_cockpit(mine: bool, page: u64) -> Result<CockpitPage, AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(svc::cockpit(&state.db, scope(mine, &user), page, chrono::Utc::now()).await)
}

/// Completed tasks with their outcomes, newest first.
#[server(endpoint = "done_tasks")]
pub async fn done_tasks(mine: bool, page: u64) -> Result<DoneTasksPage, AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(svc::done(&state.db, scope(mine, &user), page, chrono::Utc::now()).await)
}

/// A customer's open tasks and its latest completed ones.
#[server(endpoint = "customer_tasks")]
pub async fn customer_tasks(customer_id: i64) -> Result<TaskList, AppError> {
    let (state, _) = ctx::signed_in().await?;
    let tasks = ctx::respond(
        svc::of_customer(&state.db, customer_id)
            .await
            .map_err(Into::into),
    )?;
    Ok(TaskList {
        tasks,
        now: chrono::Utc::now(),
    })
}

/// The signed-in user's open tasks and how many are overdue (for the navigation).
#[server(endpoint = "task_counts")]
pub async fn task_counts() -> Result<(u64, u64), AppError> {
    let (state, user) = ctx::signed_in().await?;
    ctx::respond(
        svc::open_counts(&state.db, user.id, chrono::Utc::now())
            .await
            .map_err(Into::into),
    )
}

/// Creates a task by hand (editors). Returns its id.
#[server(input = Json, endpoint = "create_task")]
pub async fn create_task(task: NewTask) -> Result<i64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(svc::create(&state.db, &user, &task, chrono::Utc::now()).await)
}

/// Completes tasks with an outcome, all or none (editors).
#[server(input = Json, endpoint = "complete_tasks")]
pub async fn complete_tasks(
    ids: Vec<i64>,
    outcome: String,
    note: Option<String>,
) -> Result<u64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(svc::complete(&state.db, &user, &ids, &outcome, note, chrono::Utc::now()).await)
}

/// Snoozes a task for some days (editors).
#[server(input = Json, endpoint = "snooze_task")]
pub async fn snooze_task(id: i64, days: u32) -> Result<(), AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(svc::snooze(&state.db, &user, id, days, chrono::Utc::now()).await)
}

/// Gives tasks to someone else, all or none (editors).
#[server(input = Json, endpoint = "reassign_tasks")]
pub async fn reassign_tasks(ids: Vec<i64>, assignee_id: i64) -> Result<u64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(svc::reassign(&state.db, &user, &ids, assignee_id, chrono::Utc::now()).await)
}

/// Acknowledges alerts, all or none (editors).
#[server(input = Json, endpoint = "acknowledge_alerts")]
pub async fn acknowledge_alerts(ids: Vec<i64>) -> Result<u64, AppError> {
    let (state, user) = ctx::require(Role::can_edit_customers).await?;
    ctx::respond(svc::acknowledge_alerts(&state.db, &user, &ids, chrono::Utc::now()).await)
}

/// The tiers' SLAs (everyone reads).
#[server(endpoint = "tier_slas")]
pub async fn get_tier_slas() -> Result<TierSlas, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(svc::slas(&state.db).await.map_err(Into::into))
}

/// Saves the tiers' SLAs (admins).
#[server(input = Json, endpoint = "save_tier_slas")]
pub async fn save_tier_slas(slas: TierSlas) -> Result<(), AppError> {
    let (state, admin) = ctx::require(Role::can_admin).await?;
    ctx::respond(svc::save_slas(&state.db, &admin, slas, chrono::Utc::now()).await)
}
