//! User administration (admins only).

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::UserDto;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserDto>, AppError> {
    let (state, _) = (ctx::require(Role::can_admin).await)?;
    ctx::respond(
        crate::backend::users::list_users(&state.db)
            .await
            .map_err(Into::into),
    )
}

#[server(endpoint = "create_user")]
pub async fn create_user(
    email: String,
    name: String,
    role: String,
    password: String,
) -> Result<UserDto, AppError> {
    use crate::backend::users::{create_user, NewUser};
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    let input = NewUser {
        email,
        name,
        role,
        password,
    };
    ctx::respond(create_user(&state.db, Some(&admin), &input, chrono::Utc::now()).await)
}

#[server(endpoint = "set_user_active")]
pub async fn set_user_active(id: i64, active: bool) -> Result<(), AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    ctx::respond(
        crate::backend::users::set_active(&state.db, &admin, id, active, chrono::Utc::now()).await,
    )
}

/// Changes the signed-in user's own password (any role): the current one is required,
/// the new one must be strong and typed twice alike; their other sessions end.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let (state, user) = ctx::signed_in().await?;
    let token = crate::backend::auth::session_token(&ctx::request()?.headers)
        .ok_or(AppError::Unauthorized)?;
    ctx::respond(
        crate::backend::users::change_password(
            &state.db,
            &user,
            &token,
            &current_password,
            &new_password,
            &confirm_password,
            chrono::Utc::now(),
        )
        .await,
    )
}
