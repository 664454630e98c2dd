//! Users, sign-in and sessions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use vcsm::auth::{
    check_new_password, session_lifetime, Email, LoginThrottle, RecentFailures, Role,
};
use vcsm::ValidationErrors;

use super::audit;
use super::auth::{dummy_hash, hash_password, new_session_token, token_hash, verify_password};
use super::entities::{login_attempt, session, user};
use crate::dto::{CurrentUser, OwnerOption, UserDto};
use crate::error::{unique_as, AppError};

fn role_of(m: &user::Model) -> Role {
    // Stored roles are written only through `Role::as_str`; an unknown one reads as the
    // least privileged role rather than failing the request.
    Role::parse(&m.role).unwrap_or(Role::Executive)
}

fn current(m: &user::Model) -> CurrentUser {
    CurrentUser {
        id: m.id,
        email: m.email.clone(),
        name: m.name.clone(),
        role: role_of(m),
    }
}

fn dto(m: &user::Model) -> UserDto {
    UserDto {
        id: m.id,
        email: m.email.clone(),
        name: m.name.clone(),
        role: role_of(m),
        active: m.active,
        created_at: m.created_at,
    }
}

/// A new session for a user who signed in.
pub struct SignedIn {
    pub user: CurrentUser,
    /// The secret for the cookie; only its hash is stored.
    pub token: String,
}

/// What the throttle needs to know about a client, counting only attempts made before
/// `before_id` (this one's row): concurrent guesses each see the ones ahead of them.
async fn recent_failures(
    db: &impl ConnectionTrait,
    throttle: &LoginThrottle,
    email: &str,
    ip: &str,
    before_id: i64,
    now: DateTime<Utc>,
) -> Result<RecentFailures, DbErr> {
    let failed = || {
        login_attempt::Entity::find()
            .filter(login_attempt::Column::Succeeded.eq(false))
            .filter(login_attempt::Column::Id.lt(before_id))
            .filter(login_attempt::Column::Ip.eq(ip))
    };
    let (pair, pair_last): (i64, Option<DateTime<Utc>>) = failed()
        .select_only()
        .column_as(login_attempt::Column::Id.count(), "n")
        .column_as(login_attempt::Column::AttemptedAt.max(), "last")
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::AttemptedAt.gte(throttle.window_start(now)))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, None));
    let (client, client_first): (i64, Option<DateTime<Utc>>) = failed()
        .select_only()
        .column_as(login_attempt::Column::Id.count(), "n")
        .column_as(login_attempt::Column::AttemptedAt.min(), "first")
        .filter(login_attempt::Column::AttemptedAt.gte(throttle.client_window_start(now)))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, None));
    Ok(RecentFailures {
        pair: u64::try_from(pair).unwrap_or(0),
        pair_last,
        client: u64::try_from(client).unwrap_or(0),
        client_first,
    })
}

/// Checks e-mail and password and opens a session. Throttled per account *and* client
/// (growing delays) and per client (guessing across accounts): failures from one client
/// never hold back another, so nobody can lock a user out.
///
/// # Errors
/// `Validation` for a wrong e-mail or password (one message for both, so an attacker
/// can't learn which addresses exist), `RateLimited` with the wait, or a database error.
pub async fn sign_in<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    email_raw: &str,
    password: &str,
    ip: &str,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SignedIn, AppError> {
    let throttle = LoginThrottle::default();
    let email_key: String = email_raw
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(254)
        .collect();
    let ip: String = ip.chars().take(64).collect();
    // The attempt is recorded as failed *before* the password is checked, so concurrent
    // guesses all count against the limit; a success flips it afterwards.
    let attempt = login_attempt::ActiveModel {
        email: Set(email_key.clone()),
        ip: Set(ip.clone()),
        succeeded: Set(false),
        attempted_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let recent = recent_failures(db, &throttle, &email_key, &ip, attempt.id, now).await?;
    if let Some(wait) = throttle.wait(recent, now) {
        // Not a guess (the password was not checked): it doesn't lengthen the delay.
        login_attempt::Entity::delete_by_id(attempt.id)
            .exec(db)
            .await?;
        return Err(AppError::RateLimited(
            u64::try_from(wait.num_seconds()).unwrap_or(0).max(1),
        ));
    }
    let found = match Email::parse(&email_key) {
        Ok(email) => {
            user::Entity::find()
                .filter(user::Column::Email.eq(email.as_str()))
                .one(db)
                .await?
        }
        Err(_) => None,
    };
    let password = if password.len() > vcsm::auth::MAX_PASSWORD_LEN {
        String::new()
    } else {
        password.to_string()
    };
    // argon2 is deliberately slow: keep it off the async workers.
    let hash = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password check task failed");
            AppError::Internal
        })?;
    let user = match found {
        Some(u) if matches && u.active => u,
        _ => {
            return Err(AppError::validation(
                "password",
                "Wrong e-mail or password.",
            ))
        }
    };
    let token = new_session_token();
    let signed_in = current(&user);
    let txn = super::db::begin_write(db).await?;
    let mut attempt: login_attempt::ActiveModel = attempt.into();
    attempt.succeeded = Set(true);
    attempt.update(&txn).await?;
    session::ActiveModel {
        id: Set(token_hash(&token)),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(now + session_lifetime()),
        user_agent: Set(user_agent.map(|s| s.chars().take(300).collect())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(&signed_in),
        "user.sign_in",
        "user",
        Some(user.id),
        serde_json::json!({ "ip": ip }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(SignedIn {
        user: signed_in,
        token,
    })
}

/// The signed-in user for a session token, if the session is live and the user active.
///
/// # Errors
/// Returns the database error.
pub async fn user_for_token(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<CurrentUser>, DbErr> {
    let Some(s) = session::Entity::find_by_id(token_hash(token))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if s.expires_at <= now {
        session::Entity::delete_by_id(s.id).exec(db).await?;
        return Ok(None);
    }
    let u = user::Entity::find_by_id(s.user_id).one(db).await?;
    Ok(u.filter(|u| u.active).map(|u| current(&u)))
}

/// Ends a session.
///
/// # Errors
/// Returns the database error.
pub async fn sign_out(db: &impl ConnectionTrait, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(token_hash(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every expired session and forgets login attempts older than a day.
///
/// # Errors
/// Returns the database error.
pub async fn purge_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::AttemptedAt.lt(now - chrono::Duration::days(1)))
        .exec(db)
        .await?;
    Ok(())
}

/// What the "new user" form and `vcsm create-user` submit.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

/// Creates a user after validating every field.
///
/// # Errors
/// `Validation` for bad fields or an e-mail already in use; database errors.
pub async fn create_user<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Option<&CurrentUser>,
    input: &NewUser,
    now: DateTime<Utc>,
) -> Result<UserDto, AppError> {
    let mut errors = ValidationErrors::default();
    let email = Email::parse(&input.email)
        .map_err(|e| errors.push("email", e))
        .ok();
    let name = input.name.trim();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 200 {
        errors.push("name", "must be at most 200 characters");
    }
    let role = Role::parse(&input.role);
    if role.is_none() {
        errors.push("role", "must be admin, manager, csm or executive");
    }
    if let Err(e) = strong_password(&input.password, &[&input.email, &input.name]) {
        errors.push("password", e);
    }
    if let Some(e) = &email {
        if user::Entity::find()
            .filter(user::Column::Email.eq(e.as_str()))
            .one(db)
            .await?
            .is_some()
        {
            errors.push("email", "is already used by another user");
        }
    }
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let password_hash = hash_off_thread(input.password.clone()).await?;
    let txn = super::db::begin_write(db).await?;
    let model = user::ActiveModel {
        email: Set(email.to_string()),
        name: Set(name.to_string()),
        role: Set(role.as_str().to_string()),
        password_hash: Set(password_hash),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(unique_as("email", "is already used by another user"))?;
    audit::record(
        &txn,
        actor,
        "user.create",
        "user",
        Some(model.id),
        serde_json::json!({ "email": model.email, "role": model.role }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(dto(&model))
}

/// Hashes a password on the blocking pool: argon2 is deliberately slow.
async fn hash_off_thread(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing task failed");
            AppError::Internal
        })
}

/// Lowest zxcvbn score (0–4) a new password must reach: 3 is "safely unguessable"
/// (about 10^10 guesses), what an online attacker can't reach through the throttle.
const MIN_PASSWORD_SCORE: u8 = 3;

/// Checks a new password's length and strength, with the user's own e-mail and name as
/// words an attacker would try first.
///
/// # Errors
/// What is wrong and how to do better, for the person choosing it.
pub fn strong_password(password: &str, user_inputs: &[&str]) -> Result<(), String> {
    check_new_password(password)?;
    let lowered = password.to_lowercase();
    if user_inputs
        .iter()
        .map(|i| i.trim().to_lowercase())
        .any(|i| i.len() >= 3 && lowered.contains(&i))
    {
        return Err("must not contain your e-mail address or name".into());
    }
    // Whole inputs and their words (the e-mail's local part, the name's words).
    let inputs: Vec<&str> = user_inputs
        .iter()
        .copied()
        .chain(
            user_inputs
                .iter()
                .flat_map(|i| i.split(|c: char| !c.is_alphanumeric())),
        )
        .filter(|w| w.len() >= 3)
        .collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(estimate.score()) >= MIN_PASSWORD_SCORE {
        return Ok(());
    }
    let mut why = String::from("is too easy to guess");
    if let Some(feedback) = estimate.feedback() {
        if let Some(w) = feedback.warning() {
            why.push_str(&format!(": {w}"));
        }
        if let Some(s) = feedback.suggestions().first() {
            why.push_str(&format!(". {s}"));
        }
    }
    if !why.ends_with('.') {
        why.push('.');
    }
    why.push_str(" A few unrelated words make a strong password.");
    Err(why)
}

/// Changes the signed-in user's own password: the current one is required, the new one
/// must be strong, and every other session of theirs ends (the one making the change
/// stays signed in).
///
/// # Errors
/// `Validation` by field (`current_password`, `new_password`, `confirm_password`; all at
/// once), `Unauthorized` when the
/// user is gone, database errors.
pub async fn change_password<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    session_token: &str,
    current_password: &str,
    new_password: &str,
    confirm_password: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(found) = user::Entity::find_by_id(actor.id).one(db).await? else {
        return Err(AppError::Unauthorized);
    };
    let mut errors = ValidationErrors::default();
    let (given, hash) = (current_password.to_string(), found.password_hash.clone());
    let current_ok = given.len() <= vcsm::auth::MAX_PASSWORD_LEN
        && tokio::task::spawn_blocking(move || verify_password(&given, &hash))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "password check task failed");
                AppError::Internal
            })?;
    if !current_ok {
        errors.push("current_password", "is not your current password");
    }
    if let Err(e) = strong_password(new_password, &[&found.email, &found.name]) {
        errors.push("new_password", e);
    } else if new_password == current_password {
        errors.push("new_password", "must differ from the current one");
    }
    if new_password != confirm_password {
        errors.push("confirm_password", "does not match the new password");
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let password_hash = hash_off_thread(new_password.to_string()).await?;
    let txn = super::db::begin_write(db).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(actor.id))
        .exec(&txn)
        .await?;
    let ended = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(actor.id))
        .filter(session::Column::Id.ne(token_hash(session_token)))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        Some(actor),
        "user.change_password",
        "user",
        Some(actor.id),
        serde_json::json!({ "other_sessions_ended": ended.rows_affected }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Every user, by name.
///
/// # Errors
/// Returns the database error.
pub async fn list_users(db: &impl ConnectionTrait) -> Result<Vec<UserDto>, DbErr> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(dto)
        .collect())
}

/// Users who may own customers (active, not executives).
///
/// # Errors
/// Returns the database error.
pub async fn owner_options(db: &impl ConnectionTrait) -> Result<Vec<OwnerOption>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Executive.as_str()))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|u| OwnerOption {
            id: u.id,
            name: u.name,
            email: u.email,
        })
        .collect())
}

/// Activates or deactivates a user; deactivating also ends their sessions.
///
/// # Errors
/// `NotFound`, `Validation` when an admin would lock themselves out, database errors.
pub async fn set_active<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    user_id: i64,
    active: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !active && actor.id == user_id {
        return Err(AppError::BadRequest(
            "You cannot deactivate your own account.".into(),
        ));
    }
    let txn = super::db::begin_write(db).await?;
    let res = user::Entity::update_many()
        .col_expr(user::Column::Active, Expr::value(active))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound("No such user.".into()));
    }
    if !active {
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        Some(actor),
        if active {
            "user.activate"
        } else {
            "user.deactivate"
        },
        "user",
        Some(user_id),
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Number of users (an empty database has none).
///
/// # Errors
/// Returns the database error.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    user::Entity::find().count(db).await
}

/// The names of the users in `ids` (missing ones are left out).
///
/// # Errors
/// Database errors.
pub async fn names_of(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
