//! The one error type every server function returns.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};
use vcsm::ValidationErrors;

/// An error as the browser sees it: a kind and a message safe to show. Internal details
/// (SQL errors, stack traces) are logged on the server, never sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("Please correct the highlighted fields.")]
    Validation(ValidationErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// Too many failed sign-ins from this client: the seconds to wait.
    #[error("Too many failed sign-in attempts from here. Try again in {}.", wait_text(*.0))]
    RateLimited(u64),
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
    /// A service we call (Slack, HubSpot) failed; what it said.
    #[error("{0}")]
    Upstream(String),
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Validation(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::BadRequest(_) | AppError::Transport(_) => 400,
            AppError::RateLimited(_) => 429,
            AppError::Internal => 500,
            AppError::Upstream(_) => 502,
        }
    }

    /// The error in one sentence for a page: each field's message ("note: say what was
    /// done; due: …") for a refused form, else the error itself.
    pub fn sentence(&self) -> String {
        self.field_errors()
            .map(|v| {
                v.0.iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| self.to_string())
    }

    /// Field errors, when this is a validation error.
    pub fn field_errors(&self) -> Option<&ValidationErrors> {
        match self {
            AppError::Validation(v) => Some(v),
            _ => None,
        }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("Your role does not allow this.".into())
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let mut v = ValidationErrors::default();
        v.push(field, message);
        AppError::Validation(v)
    }
}

/// "5 seconds", "3 minutes".
fn wait_text(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(format!("The request was malformed: {m}"))
            }
            other => AppError::Transport(other.to_string()),
        };
        // Undecodable arguments are the client's fault: answer 400, not 500.
        #[cfg(feature = "ssr")]
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(
                http::StatusCode::from_u16(error.status_code())
                    .unwrap_or(http::StatusCode::BAD_REQUEST),
            );
        }
        error
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(e: ServerFnErrorErr) -> Self {
        AppError::from_server_fn_error(e)
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

/// Maps a unique-constraint violation to a validation error on `field` (the database is
/// the last word on uniqueness: a check before the insert can race), anything else as usual.
#[cfg(feature = "ssr")]
pub fn unique_as(
    field: &'static str,
    message: &'static str,
) -> impl FnOnce(sea_orm::DbErr) -> AppError {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::validation(field, message),
        _ => e.into(),
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}
