//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::health::PortfolioCache;
use super::ingest::SourceCache;
use super::mail::{Mailer, DEFAULT_FROM};
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
    /// The SMTP relay for alert e-mails (`VCSM_SMTP_URL`); none: e-mails are skipped.
    pub smtp_url: Option<String>,
    /// The sender of alert e-mails (`VCSM_MAIL_FROM`).
    pub mail_from: Option<String>,
    /// Where users reach the product, for links in notifications (`VCSM_PUBLIC_URL`).
    pub public_url: Option<String>,
    /// Let outgoing URLs point inside the network and use plain http
    /// (`VCSM_ALLOW_PRIVATE_URLS`; see `outbound`).
    pub allow_private_urls: bool,
}

impl Config {
    /// The mailer these settings describe, if any.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn mailer(&self) -> Result<Option<Mailer>, String> {
        self.smtp_url
            .as_deref()
            .map(|url| Mailer::new(url, self.mail_from.as_deref().unwrap_or(DEFAULT_FROM)))
            .transpose()
    }
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
    /// Write keys found live a moment ago (see `SourceCache`).
    pub sources: Arc<SourceCache>,
    /// The portfolio's distribution for percentile measures, from the last full scoring.
    pub portfolio: Arc<PortfolioCache>,
    /// Alert e-mails' SMTP relay, when configured.
    pub mailer: Option<Arc<Mailer>>,
    /// Ingestion requests allowed at the database at once (see [`ingest_slots`]).
    pub ingest_slots: Arc<tokio::sync::Semaphore>,
}

/// How many ingestion requests may use the database at once. The rest wait in memory
/// holding nothing, so a flood of `/v1/batch` requests can't take every pooled connection
/// from the pages: on SQLite, where one connection writes at a time, a waiting writer
/// holds its connection through SQLite's busy-wait; eight of them emptied the pool of
/// eight and pages waited seconds for a connection. Two on SQLite (one writing, one
/// reading the accounts it names). On Postgres, one per core: more concurrent inserts
/// don't store faster on the cores they share with the server, they only make a page's
/// queries wait their turn behind them.
pub fn ingest_slots(backend: sea_orm::DatabaseBackend) -> usize {
    match backend {
        sea_orm::DatabaseBackend::Sqlite => 2,
        _ => std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
    }
}

impl AppState {
    /// The base of links in notifications: `VCSM_PUBLIC_URL`, else the listening address.
    pub fn public_url(&self) -> String {
        self.config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.leptos_options.site_addr))
    }

    pub fn new(leptos_options: LeptosOptions, db: DatabaseConnection, config: Config) -> Self {
        let mailer = config.mailer().unwrap_or_else(|e| {
            // `serve` checks the settings before it gets here; this is a library caller's.
            tracing::error!(error = %e, "alert e-mails are off");
            None
        });
        let http = super::outbound::http_client(config.allow_private_urls);
        let ingest_slots = Arc::new(tokio::sync::Semaphore::new(ingest_slots(
            sea_orm::ConnectionTrait::get_database_backend(&db),
        )));
        Self {
            leptos_options,
            db,
            config: Arc::new(config),
            meter: Arc::new(Meter::default()),
            http,
            sources: Arc::new(SourceCache::default()),
            portfolio: Arc::new(PortfolioCache::default()),
            mailer: mailer.map(Arc::new),
            ingest_slots,
        }
    }
}
