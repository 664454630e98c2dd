//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

/// Process settings read once from the environment (see the README's settings table).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Mark the session cookie `Secure` (set when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Take the client address for login throttling from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Demo mode: demo users exist and the login page says how to sign in.
    pub demo_mode: bool,
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
}
