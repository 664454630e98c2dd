//! Playbook server functions: the list, one playbook's page, turning it on or off,
//! enrolling and cancelling by hand, a customer's playbook history, the outbox and
//! template previews.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::playbooks::{
    CustomerPlaybooksDto, EnrollmentChange, ListEnrollResult, OutboxPage, PlaybookDetail,
    PlaybookList, TemplatePreview,
};
use crate::error::AppError;

/// Every playbook with its figures, and the e-mail templates (everyone signed in).
#[server(endpoint = "list_playbooks")]
pub async fn list_playbooks() -> Result<PlaybookList, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::playbooks::views::list(&state.db, chrono::Utc::now())
            .await
            .map_err(Into::into),
    )
}

/// One playbook's page: funnels, split tests, newest enrollments, versions.
#[server(endpoint = "get_playbook")]
pub async fn get_playbook(key: String) -> Result<PlaybookDetail, AppError> {
    let (state, _) = ctx::signed_in().await?;
    let found = crate::backend::playbooks::views::detail(&state.db, &key, chrono::Utc::now())
        .await
        .map_err(AppError::from);
    ctx::respond(
        found.and_then(|d| d.ok_or_else(|| AppError::NotFound(format!("No playbook “{key}”.")))),
    )
}

/// Turns a playbook on, pauses it or turns it off (admins and managers).
#[server(input = leptos::server_fn::codec::Json, endpoint = "set_playbook_status")]
pub async fn set_playbook_status(key: String, status: String) -> Result<(), AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_manage_playbooks).await?;
    ctx::respond(
        crate::backend::playbooks::views::set_status(
            &state.db,
            &user,
            &key,
            &status,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Enrolls a customer (its id or name) by hand; a refusal says why (admins and managers).
#[server(input = leptos::server_fn::codec::Json, endpoint = "enroll_customer")]
pub async fn enroll_customer(key: String, customer: String) -> Result<i64, AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_manage_playbooks).await?;
    ctx::respond(
        crate::backend::playbooks::views::enroll(
            &state.db,
            &user,
            &key,
            &customer,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Enrolls every customer the customer list's filters match (admins and managers).
#[server(input = leptos::server_fn::codec::Json, endpoint = "enroll_matching")]
pub async fn enroll_matching(
    key: String,
    query: vcsm::listing::CustomerQuery,
) -> Result<ListEnrollResult, AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_manage_playbooks).await?;
    ctx::respond(
        crate::backend::playbooks::views::enroll_matching(
            &state.db,
            &user,
            &key,
            &query,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Pauses, resumes or cancels one enrollment (admins and managers).
#[server(input = leptos::server_fn::codec::Json, endpoint = "change_enrollment")]
pub async fn change_enrollment(
    enrollment_id: i64,
    change: EnrollmentChange,
) -> Result<(), AppError> {
    let (state, user) = ctx::require(vcsm::auth::Role::can_manage_playbooks).await?;
    ctx::respond(
        crate::backend::playbooks::views::change(
            &state.db,
            &user,
            enrollment_id,
            change,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// A customer's enrollments with what each step did and why.
#[server(endpoint = "customer_playbooks")]
pub async fn customer_playbooks(customer_id: i64) -> Result<CustomerPlaybooksDto, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::playbooks::views::customer_history(
            &state.db,
            customer_id,
            chrono::Utc::now(),
        )
        .await
        .map_err(Into::into),
    )
}

/// A page of the outbox (admins): `status` pending, unsent, sent, dead or all; `kind`
/// email, slack, webhook or all.
#[server(endpoint = "list_outbox")]
pub async fn list_outbox(status: String, kind: String, page: u64) -> Result<OutboxPage, AppError> {
    use crate::backend::playbooks::views::{outbox_page, OUTBOX_KINDS, OUTBOX_STATUSES};
    let (state, _) = ctx::require(vcsm::auth::Role::can_admin).await?;
    let status = match status.as_str() {
        "all" | "" => None,
        s if OUTBOX_STATUSES.contains(&s) => Some(s),
        _ => {
            return ctx::respond(Err(AppError::validation(
                "status",
                "must be pending, unsent, sent, dead or all",
            )))
        }
    };
    let kind = match kind.as_str() {
        "all" | "" => None,
        k if OUTBOX_KINDS.contains(&k) => Some(k),
        _ => {
            return ctx::respond(Err(AppError::validation(
                "kind",
                "must be email, slack, webhook or all",
            )))
        }
    };
    ctx::respond(outbox_page(&state.db, status, kind, page, chrono::Utc::now()).await)
}

/// An e-mail template rendered for a real customer (its id or name), as the outbox
/// would send it to its primary contact.
#[server(input = leptos::server_fn::codec::Json, endpoint = "preview_template")]
pub async fn preview_template(
    template: String,
    customer: String,
) -> Result<TemplatePreview, AppError> {
    let (state, _) = ctx::signed_in().await?;
    ctx::respond(
        crate::backend::playbooks::views::preview(
            &state.db,
            &template,
            &customer,
            chrono::Utc::now(),
        )
        .await,
    )
}
