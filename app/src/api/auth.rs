//! Sign-in, sign-out and who is signed in.

use leptos::prelude::*;

use crate::dto::CurrentUser;
use crate::error::AppError;

/// Accepts only a local path as the post-login destination (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() < 2_000
                // No spaces, tabs or control characters: browsers drop some of them
                // ("/\t/evil.com" becomes "//evil.com") and they can't go in a header.
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The signed-in user, `None` when nobody is.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let state = ctx::state()?;
    let Some(token) = crate::backend::auth::session_token(&ctx::request()?.headers) else {
        return Ok(None);
    };
    ctx::respond(
        crate::backend::users::user_for_token(&state.db, &token, chrono::Utc::now())
            .await
            .map_err(Into::into),
    )
}

#[cfg(feature = "ssr")]
use super::ctx;

/// Signs in and sets the session cookie, then redirects to `next`.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::backend::{auth, users};
    let state = ctx::state()?;
    let parts = ctx::request()?;
    let ip = client_ip(&parts, state.config.trust_proxy);
    let ua = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let signed = ctx::respond(
        users::sign_in(&state.db, &email, &password, &ip, ua, chrono::Utc::now()).await,
    )?;
    let secure = state.config.secure_cookies || auth::is_https(&parts.headers);
    let cookie = auth::session_cookie(
        &signed.token,
        secure,
        vcsm::auth::session_lifetime().num_seconds(),
    );
    let opts = expect_context::<leptos_axum::ResponseOptions>();
    opts.append_header(
        http::header::SET_COOKIE,
        http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

#[cfg(feature = "ssr")]
fn client_ip(parts: &http::request::Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(ip) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            // The rightmost entry is the one our proxy appended; the rest are the client's word.
            .and_then(|v| v.rsplit(',').next())
        {
            return ip.trim().to_string();
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// Ends the session and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::backend::{auth, users};
    let state = ctx::state()?;
    let parts = ctx::request()?;
    if let Some(token) = auth::session_token(&parts.headers) {
        users::sign_out(&state.db, &token).await?;
    }
    let secure = state.config.secure_cookies || auth::is_https(&parts.headers);
    let opts = expect_context::<leptos_axum::ResponseOptions>();
    opts.append_header(
        http::header::SET_COOKIE,
        http::HeaderValue::from_str(&auth::clear_session_cookie(secure))
            .map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// In demo mode, how to sign in (shown on the login page).
#[server(endpoint = "demo_hint")]
pub async fn demo_hint() -> Result<Option<String>, AppError> {
    let state = ctx::state()?;
    Ok(state
        .config
        .demo_mode
        .then(|| format!("Demo: admin@example.com / {}", vcsm::demo::DEMO_PASSWORD)))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/customers?q=a")), "/customers?q=a");
        assert_eq!(safe_next(Some("//evil.com")), "/");
        assert_eq!(safe_next(Some("https://evil.com")), "/");
        assert_eq!(safe_next(Some("/\\evil.com")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\t/evil.com")), "/");
        assert_eq!(safe_next(Some("/a\nSet-Cookie: x")), "/");
    }
}
