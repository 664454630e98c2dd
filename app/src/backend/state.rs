//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::churn::Training;
use super::health::{PortfolioCache, Rescoring};
use super::imports::ImportJobs;
use super::ingest::SourceCache;
use super::meter::Meter;

/// Process settings read once from the environment (see the README's settings table).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Mark the session cookie `Secure` (set when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Take the client address for login throttling from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Demo mode: demo users exist and the login page says how to sign in.
    pub demo_mode: bool,
    /// HubSpot's API base (`HUBSPOT_API_BASE`; a stand-in server in tests).
    pub hubspot_api_base: Option<String>,
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// Per-channel counts of what integrations received, flushed to the database.
    pub meter: Arc<Meter>,
    /// Outgoing HTTP (Slack, HubSpot), one connection pool for the process.
    pub http: reqwest::Client,
    /// CSV imports running in the background, polled by the import page.
    pub imports: Arc<ImportJobs>,
    /// Write keys found live a moment ago (see `SourceCache`).
    pub sources: Arc<SourceCache>,
    /// The portfolio's distribution for percentile measures, from the last full scoring.
    pub portfolio: Arc<PortfolioCache>,
    /// Re-scoring the portfolio after a scorecard change, polled by the editor.
    pub rescoring: Arc<Rescoring>,
    /// Retraining the churn model from the model page.
    pub training: Arc<Training>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: DatabaseConnection, config: Config) -> Self {
        Self {
            leptos_options,
            db,
            config: Arc::new(config),
            meter: Arc::new(Meter::default()),
            http: reqwest::Client::builder()
                .user_agent(concat!("virtual-csm/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            imports: Arc::new(ImportJobs::default()),
            sources: Arc::new(SourceCache::default()),
            portfolio: Arc::new(PortfolioCache::default()),
            rescoring: Arc::new(Rescoring::default()),
            training: Arc::new(Training::default()),
        }
    }
}
