//! Server functions: thin adapters — authorize, call a service, return a DTO.

pub mod alerts;
pub mod auth;
pub mod customers;
pub mod dashboard;
pub mod events;
pub mod expansion;
pub mod health;
pub mod imports;
pub mod integrations;
pub mod jobs;
pub mod playbooks;
pub mod tasks;
pub mod users;

/// Request context helpers shared by every server function.
#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use chrono::Utc;
    use leptos::prelude::use_context;
    use vcsm::auth::Role;

    use crate::backend::{auth::session_token, users, AppState};
    use crate::dto::CurrentUser;
    use crate::error::AppError;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            AppError::Internal
        })
    }

    pub fn request() -> Result<http::request::Parts, AppError> {
        use_context::<http::request::Parts>().ok_or(AppError::Internal)
    }

    /// The signed-in user, or `Unauthorized`.
    pub async fn signed_in() -> Result<(AppState, CurrentUser), AppError> {
        respond(session_user().await)
    }

    async fn session_user() -> Result<(AppState, CurrentUser), AppError> {
        let state = state()?;
        let token = session_token(&request()?.headers).ok_or(AppError::Unauthorized)?;
        let user = users::user_for_token(&state.db, &token, Utc::now())
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok((state, user))
    }

    /// The signed-in user if their role passes `allowed`, else `Forbidden`.
    pub async fn require(allowed: fn(Role) -> bool) -> Result<(AppState, CurrentUser), AppError> {
        let (state, user) = signed_in().await?;
        if allowed(user.role) {
            Ok((state, user))
        } else {
            respond(Err(AppError::forbidden()))
        }
    }

    /// Writes what the meter holds in memory (counts, last activity) before a page reads
    /// it, so the Integrations page's counters are current to the request rather than to
    /// the last periodic flush. Customer pages and the dashboard don't: a flush can wait
    /// on rows that ingestion and re-scoring hold, and their pages would wait with it.
    pub async fn freshen(state: &AppState) {
        if let Err(e) = state.meter.flush(&state.db).await {
            tracing::warn!(error = %e, "flushing integration counters failed");
        }
    }

    /// Sets the response's HTTP status from the error, so API clients and page loads see
    /// 401/403/404/422 rather than a generic 500.
    pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                opts.set_status(
                    http::StatusCode::from_u16(e.status_code())
                        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                );
                if let AppError::RateLimited(secs) = e {
                    opts.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(*secs));
                }
            }
        }
        result
    }
}
