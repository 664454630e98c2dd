//! HubSpot import: companies become customers and contacts become their contacts, read
//! page by page from HubSpot's CRM API with a private-app token, honouring its rate-limit
//! headers (`vcsm::sources::hubspot::next_step` decides when to wait, retry or stop).
//!
//! Policy: a HubSpot company is linked to a customer by a `customer_identities` row. An
//! unlinked company is linked to the one customer with its domain, else created. Fields of
//! linked customers are not overwritten (people edit them here); contacts are added, and
//! their name and title follow HubSpot. Each page is written in one transaction.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde::Serialize;
use serde_json::json;
use vcsm::sources::hubspot::{self as hs, RateLimit, Step};

use super::customers::active_model;
use super::entities::{contact, customer, customer_identity, integration_setting};
use super::meter::{Counts, Meter};
use super::upstream::UpstreamError;
use crate::error::AppError;

pub const HUBSPOT: &str = "hubspot";

/// HubSpot as its failures name it.
const SYSTEM: &str = "HubSpot";

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub companies_created: u64,
    pub companies_linked: u64,
    pub contacts_created: u64,
    pub contacts_updated: u64,
    pub pages: u64,
    /// Records left out or values dropped, and why (the first 50).
    pub skipped: Vec<String>,
    pub skipped_total: u64,
}

impl SyncReport {
    fn skip(&mut self, what: String) {
        self.skipped_total += 1;
        if self.skipped.len() < 50 {
            self.skipped.push(what);
        }
    }
}

/// The API base: the configured one (`HUBSPOT_API_BASE`, a stand-in in tests), else
/// HubSpot's.
pub fn api_base(configured: Option<&str>) -> String {
    configured
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(hs::DEFAULT_BASE)
        .to_string()
}

/// One page's body, after whatever waiting and retrying HubSpot's answers call for.
/// `Ok(None)` after a 2xx that spent the daily budget: use nothing more today.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(Vec<u8>, Option<Duration>, bool), UpstreamError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| UpstreamError::unreachable(SYSTEM, e))?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let limit = RateLimit::from_headers(get);
        let retry_after = get("retry-after").map(str::to_string);
        let body = res
            .bytes()
            .await
            .map_err(|e| {
                UpstreamError::other(
                    SYSTEM,
                    Some(status),
                    format!("reading HubSpot's answer failed: {e}"),
                )
            })?
            .to_vec();
        match hs::next_step(status, retry_after.as_deref(), &limit, attempt) {
            Step::Proceed => return Ok((body, None, false)),
            Step::WaitThenProceed(d) => return Ok((body, Some(d), false)),
            Step::Retry(d) => tokio::time::sleep(d).await,
            Step::GiveUp(why) if (200..300).contains(&status) => {
                tracing::warn!(%why, "HubSpot: stopping after this page");
                return Ok((body, None, true));
            }
            Step::GiveUp(why) => {
                let error = UpstreamError::other(SYSTEM, Some(status), why);
                // HubSpot's own message when it sent one, else the start of its answer.
                let detail = hs::parse_error(&body)
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
                return Err(error.with_excerpt(&detail));
            }
        }
    }
}

/// Imports every company, then every contact.
///
/// # Errors
/// A message for the admin when HubSpot refuses or can't be reached; what was imported
/// before that stays (each page commits on its own).
pub async fn sync<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    http: &reqwest::Client,
    meter: &Meter,
    base: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<SyncReport, AppError> {
    let mut report = SyncReport::default();
    let result = run(db, http, base, token, now, &mut report).await;
    let received = report.companies_created
        + report.companies_linked
        + report.contacts_created
        + report.contacts_updated
        + report.skipped_total;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    meter.add(
        HUBSPOT,
        now,
        Counts {
            received: n(received),
            stored: n(received - report.skipped_total),
            rejected: n(report.skipped_total),
            ..Counts::default()
        },
    );
    let error = result.as_ref().err().map(ToString::to_string);
    remember(db, error, &report, now).await?;
    match result {
        Ok(()) => Ok(report),
        Err(SyncStop::Upstream(e)) => {
            let problem = e.to_string();
            let status = e.status.unwrap_or(502);
            super::refusals::record(db, HUBSPOT, status, &problem, b"", now).await?;
            Err(e.into())
        }
        Err(SyncStop::Database(e)) => Err(e.into()),
    }
}

/// Why a sync stopped before the end: HubSpot, or our database.
#[derive(Debug)]
enum SyncStop {
    Upstream(UpstreamError),
    Database(DbErr),
}

impl std::fmt::Display for SyncStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncStop::Upstream(e) => e.fmt(f),
            SyncStop::Database(e) => write!(f, "the database refused the import: {e}"),
        }
    }
}

impl From<UpstreamError> for SyncStop {
    fn from(e: UpstreamError) -> Self {
        SyncStop::Upstream(e)
    }
}

impl From<DbErr> for SyncStop {
    fn from(e: DbErr) -> Self {
        SyncStop::Database(e)
    }
}

/// HubSpot's answer `what` ("companies") didn't read: what was wrong in it.
fn unreadable(what: &str, problems: &[hs::Problem]) -> UpstreamError {
    UpstreamError::other(
        SYSTEM,
        Some(200),
        format!(
            "HubSpot's {what} page is unreadable: {}",
            describe(problems)
        ),
    )
}

async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncStop> {
    let mut after: Option<String> = None;
    loop {
        let (body, wait, last) =
            fetch(http, &hs::companies_url(base, after.as_deref()), token).await?;
        let page = hs::parse_companies(&body).map_err(|p| unreadable("companies", &p))?;
        report.pages += 1;
        for p in &page.skipped {
            report.skip(format!("company {}: {}", p.path, p.reason));
        }
        let txn = super::db::begin_write(db).await?;
        for c in &page.results {
            import_company(&txn, c, now, report).await?;
        }
        txn.commit().await?;
        after = page.next_after;
        if let Some(d) = wait {
            tokio::time::sleep(d).await;
        }
        if after.is_none() || last {
            break;
        }
    }
    let mut after: Option<String> = None;
    loop {
        let (body, wait, last) =
            fetch(http, &hs::contacts_url(base, after.as_deref()), token).await?;
        let page = hs::parse_contacts(&body).map_err(|p| unreadable("contacts", &p))?;
        report.pages += 1;
        for p in &page.skipped {
            report.skip(format!("contact {}: {}", p.path, p.reason));
        }
        let txn = super::db::begin_write(db).await?;
        let linked = linked_companies(&txn).await?;
        for k in &page.results {
            import_contact(&txn, k, &linked, now, report).await?;
        }
        txn.commit().await?;
        after = page.next_after;
        if let Some(d) = wait {
            tokio::time::sleep(d).await;
        }
        if after.is_none() || last {
            break;
        }
    }
    Ok(())
}

fn describe(problems: &[hs::Problem]) -> String {
    problems
        .iter()
        .take(5)
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn import_company(
    db: &impl ConnectionTrait,
    c: &hs::Company,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), DbErr> {
    let known = customer_identity::Entity::find()
        .filter(customer_identity::Column::Source.eq(HUBSPOT))
        .filter(customer_identity::Column::ExternalId.eq(c.id.as_str()))
        .one(db)
        .await?;
    if known.is_some() {
        return Ok(());
    }
    let same_domain = match &c.domain {
        Some(d) => {
            customer::Entity::find()
                .filter(customer::Column::Domain.eq(d.as_str()))
                .all(db)
                .await?
        }
        None => Vec::new(),
    };
    let customer_id = match same_domain.as_slice() {
        [one] => {
            report.companies_linked += 1;
            one.id
        }
        [] => {
            let draft = match hs::company_draft(c) {
                Ok(d) => d,
                Err(p) => {
                    report.skip(format!("company {} ({}): {}", c.id, c.name, describe(&p)));
                    return Ok(());
                }
            };
            let mut am = active_model(&draft, None, now);
            am.created_at = Set(now);
            report.companies_created += 1;
            am.insert(db).await?.id
        }
        many => {
            report.skip(format!(
                "company {} ({}): {} customers have the domain {}; link one by hand",
                c.id,
                c.name,
                many.len(),
                c.domain.as_deref().unwrap_or_default()
            ));
            return Ok(());
        }
    };
    customer_identity::ActiveModel {
        customer_id: Set(customer_id),
        source: Set(HUBSPOT.into()),
        external_id: Set(c.id.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn linked_companies(db: &impl ConnectionTrait) -> Result<HashMap<String, i64>, DbErr> {
    Ok(customer_identity::Entity::find()
        .filter(customer_identity::Column::Source.eq(HUBSPOT))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.external_id, i.customer_id))
        .collect())
}

async fn import_contact(
    db: &impl ConnectionTrait,
    k: &hs::Contact,
    linked: &HashMap<String, i64>,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), DbErr> {
    let Some(email) = &k.email else {
        report.skip(format!("contact {} ({}): no e-mail address", k.id, k.name));
        return Ok(());
    };
    let Some(customer_id) = k.company_ids.iter().find_map(|c| linked.get(c)).copied() else {
        report.skip(format!(
            "contact {} ({email}): not associated with an imported company",
            k.id
        ));
        return Ok(());
    };
    let existing = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(customer_id))
        .filter(contact::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    match existing {
        Some(row) => {
            if row.name != k.name || row.title != k.title {
                let mut am: contact::ActiveModel = row.into();
                am.name = Set(k.name.clone());
                am.title = Set(k.title.clone());
                am.updated_at = Set(now);
                am.update(db).await?;
                report.contacts_updated += 1;
            }
        }
        None => {
            contact::ActiveModel {
                customer_id: Set(customer_id),
                name: Set(k.name.clone()),
                email: Set(Some(email.clone())),
                title: Set(k.title.clone()),
                role: Set(vcsm::customers::ContactRole::User.as_str().into()),
                external_user_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
            report.contacts_created += 1;
        }
    }
    Ok(())
}

/// Keeps the last sync's time and result for the Integrations page.
async fn remember(
    db: &impl ConnectionTrait,
    error: Option<String>,
    report: &SyncReport,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let config = json!({
        "last_sync_at": now,
        "ok": error.is_none(),
        "error": error,
        "report": report,
    });
    match integration_setting::Entity::find_by_id(HUBSPOT.to_string())
        .one(db)
        .await?
    {
        Some(row) => {
            let mut am: integration_setting::ActiveModel = row.into();
            am.config = Set(Some(config));
            am.update(db).await?;
        }
        None => {
            integration_setting::ActiveModel {
                name: Set(HUBSPOT.into()),
                secret: Set(None),
                previous_secret: Set(None),
                rotated_at: Set(None),
                config: Set(Some(config)),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// When HubSpot was last synced, from what `remember` kept.
///
/// # Errors
/// Returns the database error.
pub async fn last_sync(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(integration_setting::Entity::find_by_id(HUBSPOT.to_string())
        .one(db)
        .await?
        .and_then(|r| r.config)
        .and_then(|c| serde_json::from_value(c["last_sync_at"].clone()).ok()))
}

/// The token to sync with, if one is configured.
///
/// # Errors
/// Returns the database error.
pub async fn token(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Option<String>, DbErr> {
    Ok(super::settings::secrets(db, HUBSPOT, now)
        .await?
        .into_iter()
        .next())
}
