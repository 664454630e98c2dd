//! CSV import server functions: start an import (a job), follow it.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::{ImportKind, ImportStatus};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

/// Largest CSV accepted in one import (about 100,000 typical rows).
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

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
