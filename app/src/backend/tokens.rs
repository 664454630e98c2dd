//! API tokens for the REST API: created from the command line (`vcsm token create`),
//! shown once, stored as a SHA-256, each with a role that bounds what it may read.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use vcsm::auth::Role;

use super::auth::{new_session_token, token_hash};
use super::entities::api_token;
use crate::error::AppError;

/// A token just created: the secret is shown this once.
pub struct CreatedToken {
    pub id: i64,
    pub token: String,
    pub role: Role,
}

/// Creates a token with `role`.
///
/// # Errors
/// `Validation` for a bad name or role; database errors.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<CreatedToken, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    let role = Role::parse(role)
        .ok_or_else(|| AppError::validation("role", "must be admin, manager, csm or executive"))?;
    let token = format!("vt_{}", &new_session_token()[..40]);
    let m = api_token::ActiveModel {
        name: Set(name.to_string()),
        token_hash: Set(token_hash(&token)),
        prefix: Set(token[..10].to_string()),
        role: Set(role.as_str().to_string()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedToken {
        id: m.id,
        token,
        role,
    })
}

/// The role of a live token given as `Authorization: Bearer …`, noting its use (at most
/// once a minute, so reads don't each write).
///
/// # Errors
/// Returns the database error.
pub async fn role_for_bearer(
    db: &impl ConnectionTrait,
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Role>, DbErr> {
    let Some(token) = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
    else {
        return Ok(None);
    };
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(Role::parse(&row.role))
}

/// Revokes a token by id.
///
/// # Errors
/// `NotFound` for an unknown id; database errors.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No API token with id {id}.")))?;
    let mut am: api_token::ActiveModel = row.into();
    am.revoked_at = Set(Some(now));
    am.update(db).await?;
    Ok(())
}
