//! HubSpot CRM sync: request URLs, page parsing, mapping companies to new customers and
//! the rate-limit / back-off decision. Pure: the backend sends the requests, passes the
//! raw response bodies and headers here, and does what [`next_step`] says.
//!
//! Shapes follow HubSpot's CRM v3 objects API (`GET /crm/v3/objects/{companies,contacts}`):
//! a page is `{"results": [...], "paging": {"next": {"after": "…"}}}`, with no `paging`
//! on the last page; each result is `{"id", "properties": {name: string|null}, "createdAt",
//! "updatedAt", "archived"}`; every property value is a string (numbers too) or `null`,
//! and only the properties asked for in the URL (plus a few defaults) are present.
//! Records are read leniently and one at a time: a record that cannot be used is left
//! out and reported in [`Page::skipped`], so one bad company never stops a whole sync.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

use crate::auth::Email;
use crate::customers::{parse_domain, CustomerDraft, CustomerInput, Stage, Tier, MAX_NAME_LEN};

/// One problem with a response: where (`results[3].properties.name`) and why.
pub use crate::sources::segment::Problem;

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// HubSpot's API host; tests and proxies pass another base.
pub const DEFAULT_BASE: &str = "https://api.hubapi.com";

/// HubSpot's largest page for the list endpoints: fewer requests for the same sync.
pub const PAGE_LIMIT: u32 = 100;

/// Company properties read by a sync. HubSpot returns only the properties asked for.
pub const COMPANY_PROPERTIES: &str =
    "name,domain,industry,numberofemployees,annualrevenue,lifecyclestage,hs_lastmodifieddate";

/// Contact properties read by a sync.
pub const CONTACT_PROPERTIES: &str = "email,firstname,lastname,jobtitle,phone,hs_lastmodifieddate";

/// Percent-encodes everything but RFC 3986's unreserved characters, so a cursor can
/// never add or change query parameters.
fn encode_query_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn list_url(base: &str, object: &str, query: &str, after: Option<&str>) -> String {
    let mut url = format!(
        "{}/crm/v3/objects/{object}?limit={PAGE_LIMIT}&{query}&archived=false",
        base.trim_end_matches('/')
    );
    if let Some(after) = after {
        url.push_str("&after=");
        url.push_str(&encode_query_value(after));
    }
    url
}

/// `GET` URL for one page of companies; `after` is the previous page's
/// [`Page::next_after`] (`None` for the first page). A trailing `/` on `base` is ignored.
pub fn companies_url(base: &str, after: Option<&str>) -> String {
    list_url(
        base,
        "companies",
        &format!("properties={COMPANY_PROPERTIES}"),
        after,
    )
}

/// `GET` URL for one page of contacts with their company associations, so contacts can
/// be attached to the customers made from those companies without a request per contact.
pub fn contacts_url(base: &str, after: Option<&str>) -> String {
    list_url(
        base,
        "contacts",
        &format!("properties={CONTACT_PROPERTIES}&associations=companies"),
        after,
    )
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// One page of a list response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The usable records, in HubSpot's order.
    pub results: Vec<T>,
    /// The cursor for the next page (`paging.next.after`); `None` on the last page.
    pub next_after: Option<String>,
    /// Records left out (`results[3].properties.name: is missing`) and values dropped
    /// from records that were kept (`results[0].properties.domain: …`), for the sync log.
    pub skipped: Vec<Problem>,
}

/// A HubSpot company, cleaned up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// HubSpot's record id (digits, as a string).
    pub id: String,
    /// Never empty; control characters and runs of white space become one space.
    pub name: String,
    /// Normalised with [`parse_domain`] (`www.` and scheme stripped, lower case).
    pub domain: Option<String>,
    /// HubSpot's industry value as stored, e.g. `COMPUTER_SOFTWARE`.
    pub industry: Option<String>,
    pub employees: Option<u32>,
    /// In the HubSpot account's currency, which the API does not say.
    pub annual_revenue: Option<f64>,
    /// HubSpot's lifecycle stage as stored, e.g. `customer`, `opportunity`.
    pub lifecycle_stage: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A HubSpot contact, cleaned up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    /// A valid address (see [`Email::parse`]), lower case.
    pub email: Option<String>,
    /// First and last name, else the e-mail address, else `HubSpot contact {id}`: never
    /// empty and at most [`MAX_NAME_LEN`] characters, so it always passes the contact form.
    pub name: String,
    /// At most [`MAX_NAME_LEN`] characters, like the contact form's title.
    pub title: Option<String>,
    pub phone: Option<String>,
    /// Associated company ids without repeats, primary company first.
    pub company_ids: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Longest id accepted: the same bound as a customer's external id.
const MAX_ID_LEN: usize = 100;

/// Longest free-text value kept (industry, phone, lifecycle stage...); longer ones are cut.
const MAX_TEXT_LEN: usize = MAX_NAME_LEN;

/// HubSpot's association type for a contact's primary company; the other
/// `contact_to_company*` types are secondary (labelled or unlabelled) companies.
const PRIMARY_COMPANY_ASSOCIATION: &str = "contact_to_company";

fn at(prefix: &str, field: &str) -> String {
    format!("{prefix}.{field}")
}

/// Replaces control characters with spaces, collapses white space and trims: HubSpot
/// names are typed by people and imported from spreadsheets.
fn clean_text(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters, never ending in a space.
fn truncate(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A property as text: `Ok(None)` when absent, `null` or blank. HubSpot sends every
/// value as a string; numbers and booleans are accepted too, as their JSON text.
fn prop_text(props: &Map<String, Value>, key: &str) -> Result<Option<String>, &'static str> {
    let raw = match props.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(_) => return Err("must be a string"),
    };
    let cleaned = clean_text(&raw);
    Ok((!cleaned.is_empty()).then_some(cleaned))
}

/// An optional text property; a value of the wrong type is dropped with a note.
fn optional_text(
    props: &Map<String, Value>,
    key: &str,
    prefix: &str,
    notes: &mut Vec<Problem>,
) -> Option<String> {
    match prop_text(props, key) {
        Ok(v) => v.map(|s| truncate(&s, MAX_TEXT_LEN)),
        Err(why) => {
            notes.push(Problem::new(at(prefix, key), why));
            None
        }
    }
}

/// An optional number property, parsed by `parse`; a bad one is dropped with a note.
fn optional_number<T>(
    props: &Map<String, Value>,
    key: &str,
    prefix: &str,
    notes: &mut Vec<Problem>,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Option<T> {
    let path = at(prefix, key);
    match prop_text(props, key) {
        Ok(None) => None,
        Ok(Some(s)) => parse(&s).or_else(|| {
            notes.push(Problem::new(path, format!("{expected}; it was left out")));
            None
        }),
        Err(why) => {
            notes.push(Problem::new(path, why));
            None
        }
    }
}

/// Whole numbers, also when written `250.0` or `2.5E3` (HubSpot number properties are
/// decimal strings).
fn parse_count(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let f = s.parse::<f64>().ok()?;
    (f.is_finite() && f >= 0.0 && f <= f64::from(u32::MAX)).then(|| f.round() as u32)
}

fn parse_amount(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0)
}

/// ISO-8601 as HubSpot writes it (`2024-01-02T03:04:05.678Z`), or milliseconds since the
/// epoch, which older HubSpot date-time properties hold.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_millis_opt(s.parse().ok()?).single();
    }
    None
}

/// When the record last changed: the `properties` named by `keys` in order, then the
/// record's own `updatedAt`. An unreadable value is noted and the next one tried.
fn updated_at(
    record: &Map<String, Value>,
    props: &Map<String, Value>,
    keys: &[&str],
    prefix: &str,
    notes: &mut Vec<Problem>,
) -> Option<DateTime<Utc>> {
    let props_prefix = at(prefix, "properties");
    let candidates = keys
        .iter()
        .map(|k| (props, *k, props_prefix.as_str()))
        .chain(std::iter::once((record, "updatedAt", prefix)));
    for (obj, key, where_) in candidates {
        match prop_text(obj, key) {
            Ok(None) => {}
            Ok(Some(s)) => match parse_time(&s) {
                Some(t) => return Some(t),
                None => notes.push(Problem::new(
                    at(where_, key),
                    "must be a date-time such as 2024-01-02T03:04:05.678Z; it was left out",
                )),
            },
            Err(why) => notes.push(Problem::new(at(where_, key), why)),
        }
    }
    None
}

/// An id: a non-empty string without white space (numbers accepted, as HubSpot's ids are
/// numeric).
fn id_value(v: Option<&Value>) -> Result<String, &'static str> {
    let s = match v {
        None | Some(Value::Null) => return Err("is missing"),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("must be a string"),
    };
    if s.is_empty() {
        Err("is empty")
    } else if s.len() > MAX_ID_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("must be at most 100 characters, without spaces")
    } else {
        Ok(s)
    }
}

/// The parts every result shares.
struct Head<'v> {
    record: &'v Map<String, Value>,
    id: String,
    props: &'v Map<String, Value>,
}

/// Reads a result's [`Head`]. `Err` is why the whole record is unusable.
fn record_head<'v>(item: &'v Value, prefix: &str) -> Result<Head<'v>, Problem> {
    let Some(record) = item.as_object() else {
        return Err(Problem::new(prefix, "must be a JSON object"));
    };
    let id = id_value(record.get("id")).map_err(|why| Problem::new(at(prefix, "id"), why))?;
    // The URL asks for `archived=false`; an archived record here is deleted in HubSpot.
    if record.get("archived") == Some(&Value::Bool(true)) {
        return Err(Problem::new(
            at(prefix, "archived"),
            "is true: the record is deleted in HubSpot",
        ));
    }
    let Some(props) = record.get("properties").and_then(Value::as_object) else {
        return Err(Problem::new(
            at(prefix, "properties"),
            "is required and must be an object",
        ));
    };
    Ok(Head { record, id, props })
}

/// The page around the records: `results` and the `paging.next.after` cursor. Problems
/// here fail the page: guessing would silently end a sync early or repeat it forever.
fn parse_page<T>(
    body: &[u8],
    mut parse_record: impl FnMut(&Value, &str, &mut Vec<Problem>) -> Result<T, Problem>,
) -> Result<Page<T>, Vec<Problem>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| vec![Problem::new("body", format!("is not valid JSON ({e})"))])?;
    let Some(obj) = value.as_object() else {
        return Err(vec![Problem::new("body", "must be a JSON object")]);
    };
    if obj.get("status").and_then(Value::as_str) == Some("error") {
        let message = parse_error(body).unwrap_or_else(|| "no message".to_string());
        return Err(vec![Problem::new(
            "body",
            format!("is a HubSpot error: {message}"),
        )]);
    }
    let Some(items) = obj.get("results").and_then(Value::as_array) else {
        return Err(vec![Problem::new(
            "results",
            "is required and must be an array",
        )]);
    };
    let next_after = match obj.get("paging") {
        None | Some(Value::Null) => None,
        Some(Value::Object(paging)) => match paging.get("next") {
            None | Some(Value::Null) => None,
            Some(Value::Object(next)) => match id_value(next.get("after")) {
                Ok(after) => Some(after),
                Err(why) => return Err(vec![Problem::new("paging.next.after", why)]),
            },
            Some(_) => return Err(vec![Problem::new("paging.next", "must be an object")]),
        },
        Some(_) => return Err(vec![Problem::new("paging", "must be an object")]),
    };
    let mut page = Page {
        results: Vec::with_capacity(items.len()),
        next_after,
        skipped: Vec::new(),
    };
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("results[{i}]");
        match parse_record(item, &prefix, &mut page.skipped) {
            Ok(r) => page.results.push(r),
            Err(p) => page.skipped.push(p),
        }
    }
    Ok(page)
}

fn parse_company(item: &Value, prefix: &str, notes: &mut Vec<Problem>) -> Result<Company, Problem> {
    let Head { record, id, props } = record_head(item, prefix)?;
    let pp = at(prefix, "properties");
    let name = match prop_text(props, "name") {
        Ok(Some(n)) => n,
        Ok(None) => return Err(Problem::new(at(&pp, "name"), "is missing")),
        Err(why) => return Err(Problem::new(at(&pp, "name"), why)),
    };
    let domain = match prop_text(props, "domain") {
        Ok(None) => None,
        Ok(Some(d)) => match parse_domain(&d) {
            Ok(d) => Some(d),
            Err(why) => {
                notes.push(Problem::new(
                    at(&pp, "domain"),
                    format!("{why}; the company was kept without a domain"),
                ));
                None
            }
        },
        Err(why) => {
            notes.push(Problem::new(at(&pp, "domain"), why));
            None
        }
    };
    Ok(Company {
        industry: optional_text(props, "industry", &pp, notes),
        employees: optional_number(
            props,
            "numberofemployees",
            &pp,
            notes,
            parse_count,
            "must be a whole number of employees",
        ),
        annual_revenue: optional_number(
            props,
            "annualrevenue",
            &pp,
            notes,
            parse_amount,
            "must be a non-negative amount",
        ),
        lifecycle_stage: optional_text(props, "lifecyclestage", &pp, notes),
        updated_at: updated_at(record, props, &["hs_lastmodifieddate"], prefix, notes),
        id,
        name,
        domain,
    })
}

/// Company ids from `associations.companies.results`, primary first, without repeats.
/// Only the first page of associations is read (HubSpot inlines up to 100 per contact).
fn company_ids(record: &Map<String, Value>, prefix: &str, notes: &mut Vec<Problem>) -> Vec<String> {
    let Some(items) = record
        .get("associations")
        .and_then(|a| a.get("companies"))
        .and_then(|c| c.get("results"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut primary = Vec::new();
    let mut other = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let path = format!("{prefix}.associations.companies.results[{j}]");
        match id_value(item.get("id")) {
            Ok(id) => {
                let is_primary =
                    item.get("type").and_then(Value::as_str) == Some(PRIMARY_COMPANY_ASSOCIATION);
                if is_primary { &mut primary } else { &mut other }.push(id);
            }
            Err(why) => notes.push(Problem::new(at(&path, "id"), why)),
        }
    }
    let mut ids: Vec<String> = Vec::with_capacity(primary.len() + other.len());
    for id in primary.into_iter().chain(other) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

fn parse_contact(item: &Value, prefix: &str, notes: &mut Vec<Problem>) -> Result<Contact, Problem> {
    let Head { record, id, props } = record_head(item, prefix)?;
    let pp = at(prefix, "properties");
    let email = match prop_text(props, "email") {
        Ok(None) => None,
        Ok(Some(raw)) => match Email::parse(&raw) {
            Ok(e) => Some(e.as_str().to_string()),
            Err(why) => {
                notes.push(Problem::new(
                    at(&pp, "email"),
                    format!("{why}; the contact was kept without an e-mail address"),
                ));
                None
            }
        },
        Err(why) => {
            notes.push(Problem::new(at(&pp, "email"), why));
            None
        }
    };
    let first = optional_text(props, "firstname", &pp, notes);
    let last = optional_text(props, "lastname", &pp, notes);
    let full = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = if !full.is_empty() {
        full
    } else if let Some(e) = &email {
        e.clone()
    } else {
        format!("HubSpot contact {id}")
    };
    Ok(Contact {
        name: truncate(&name, MAX_NAME_LEN),
        title: optional_text(props, "jobtitle", &pp, notes),
        phone: optional_text(props, "phone", &pp, notes),
        company_ids: company_ids(record, prefix, notes),
        updated_at: updated_at(
            record,
            props,
            &["hs_lastmodifieddate", "lastmodifieddate"],
            prefix,
            notes,
        ),
        email,
        id,
    })
}

/// Parses one page of `GET /crm/v3/objects/companies`.
///
/// # Errors
/// The body is not a page (not JSON, a HubSpot error, no `results` array, an unreadable
/// `paging` cursor). Bad records do not fail the page: they go to [`Page::skipped`].
pub fn parse_companies(body: &[u8]) -> Result<Page<Company>, Vec<Problem>> {
    parse_page(body, parse_company)
}

/// Parses one page of `GET /crm/v3/objects/contacts?associations=companies`.
///
/// # Errors
/// As [`parse_companies`].
pub fn parse_contacts(body: &[u8]) -> Result<Page<Contact>, Vec<Problem>> {
    parse_page(body, parse_contact)
}

/// Longest error message kept: it ends up in logs and on the integrations page.
const MAX_ERROR_LEN: usize = 500;

/// The `message` of a HubSpot error body
/// (`{"status":"error","message":"…","correlationId":"…","category":"…"}`), cleaned up
/// and cut to 500 characters; `None` when the body is not one.
pub fn parse_error(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let message = clean_text(value.get("message")?.as_str()?);
    (!message.is_empty()).then(|| truncate(&message, MAX_ERROR_LEN))
}

// ---------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------

/// The tier a company's head count suggests. HubSpot knows nothing of what the customer
/// pays us (the product's own tiers go by ARR), so size is the best first guess; a CSM
/// corrects it later.
pub fn tier_for_employees(employees: Option<u32>) -> Tier {
    match employees {
        Some(n) if n >= 1000 => Tier::Enterprise,
        Some(n) if n >= 100 => Tier::MidMarket,
        _ => Tier::SmallBusiness,
    }
}

/// A new customer made from a HubSpot company: stage Onboarding, no revenue yet (0 USD),
/// tagged `hubspot`, tier by head count ([`tier_for_employees`]), name cut to
/// [`MAX_NAME_LEN`]. `external_id` stays `None`: the backend links HubSpot ids through
/// its identity table. The draft goes through [`CustomerInput::validate`] like any form,
/// so it obeys the same rules as a customer typed in.
///
/// # Errors
/// What validation refused, by field (`name: is required`). A company from
/// [`parse_companies`] always passes; one built by hand may not.
pub fn company_draft(c: &Company) -> Result<CustomerDraft, Vec<Problem>> {
    let input = CustomerInput {
        name: truncate(&clean_text(&c.name), MAX_NAME_LEN),
        domain: c.domain.clone().unwrap_or_default(),
        tier: tier_for_employees(c.employees).as_str().to_string(),
        stage: Stage::Onboarding.as_str().to_string(),
        currency: "USD".to_string(),
        mrr: "0".to_string(),
        tags: "hubspot".to_string(),
        ..CustomerInput::default()
    };
    // `today` only bounds a churn date, and a new customer has none.
    input.validate(NaiveDate::MAX).map_err(|e| {
        e.0.into_iter()
            .map(|f| Problem::new(f.field, f.message))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------
// Rate limits and back-off
// ---------------------------------------------------------------------------------------

/// Wait before the next request when the interval's budget is spent and HubSpot gave
/// no interval: its usual burst window is 10 s.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// No wait is ever longer: a sync stays responsive to being cancelled.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Sends of one request answered 429 before giving up.
pub const MAX_RATE_LIMITED_ATTEMPTS: u32 = 6;
/// Sends of one request answered 5xx before giving up.
pub const MAX_SERVER_ERROR_ATTEMPTS: u32 = 4;

/// What HubSpot's rate-limit headers say (each `None` when absent or unreadable). HubSpot
/// counts per account, shared by every app installed in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// `X-HubSpot-RateLimit-Max`: requests allowed per interval.
    pub max: Option<u32>,
    /// `X-HubSpot-RateLimit-Remaining`: requests left in the current interval.
    pub remaining: Option<u32>,
    /// `X-HubSpot-RateLimit-Interval-Milliseconds`: the interval's length.
    pub interval_ms: Option<u64>,
    /// `X-HubSpot-RateLimit-Daily-Remaining`: requests left today (private apps only).
    pub daily_remaining: Option<u32>,
}

impl RateLimit {
    /// Reads the headers through `get`, which looks a header up by name (matching names
    /// case-insensitively is the caller's job, as HTTP libraries already do it).
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> RateLimit {
        fn num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
            v?.trim().parse().ok()
        }
        RateLimit {
            max: num(get("X-HubSpot-RateLimit-Max")),
            remaining: num(get("X-HubSpot-RateLimit-Remaining")),
            interval_ms: num(get("X-HubSpot-RateLimit-Interval-Milliseconds")),
            daily_remaining: num(get("X-HubSpot-RateLimit-Daily-Remaining")),
        }
    }

    /// The interval's length, if HubSpot gave one, at most [`MAX_WAIT`].
    fn interval(&self) -> Option<Duration> {
        self.interval_ms
            .map(|ms| Duration::from_millis(ms).min(MAX_WAIT))
    }
}

/// What the caller does next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// The response is good; send the next request now.
    Proceed,
    /// The response is good; wait this long before sending the next request.
    WaitThenProceed(Duration),
    /// The request failed; wait this long and send the same request again.
    Retry(Duration),
    /// Stop the sync; the reason is for the person who set up the integration.
    GiveUp(String),
}

/// The message when HubSpot refuses the token.
pub const AUTH_FAILED: &str =
    "the private-app token is invalid or lacks the crm.objects.companies.read / crm.objects.contacts.read scopes";

/// 1 s, 2 s, 4 s... for the 1st, 2nd, 3rd... failed send, at most [`MAX_WAIT`].
fn backoff(attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_WAIT)
}

/// `Retry-After` in seconds (whole or decimal), at most [`MAX_WAIT`]. The HTTP-date
/// form is not read (this module has no clock); the caller then falls back as if absent.
fn parse_retry_after(raw: Option<&str>) -> Option<Duration> {
    let secs = raw?.trim().parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)).min(MAX_WAIT))
}

/// The back-off policy for one response. `attempt` counts the sends of this request so
/// far, including the one that got `status` (1 for a first try; 0 is read as 1).
///
/// - 401/403 → give up: the token is wrong or lacks the read scopes; retrying won't help.
/// - Any other 4xx but 429 → give up, naming the status (see [`parse_error`] for details).
/// - Daily budget spent (`Daily-Remaining: 0`) on a 2xx, 429 or 5xx → give up until
///   HubSpot resets it at midnight (account time zone). On a 2xx the body is still good:
///   process it, but send no further request.
/// - 2xx → proceed; if the interval's budget is spent (`Remaining: 0`), first wait the
///   interval (`Interval-Milliseconds`, default 10 s).
/// - 429 → retry after `Retry-After` seconds, else after the interval, else 1 s, 2 s,
///   4 s...; give up after [`MAX_RATE_LIMITED_ATTEMPTS`] sends.
/// - 5xx → retry after `Retry-After` if given, else 1 s, 2 s, 4 s...; give up after
///   [`MAX_SERVER_ERROR_ATTEMPTS`] sends.
/// - Anything else (1xx, 3xx) → give up: redirects are the HTTP client's job.
///
/// Every wait is at most [`MAX_WAIT`] (60 s).
pub fn next_step(status: u16, retry_after: Option<&str>, limit: &RateLimit, attempt: u32) -> Step {
    let attempt = attempt.max(1);
    let daily_spent = limit.daily_remaining == Some(0);
    let daily_message = || {
        Step::GiveUp(
            "HubSpot's daily API request limit for this account is used up \
             (X-HubSpot-RateLimit-Daily-Remaining is 0); sync again after it resets at \
             midnight in the account's time zone"
                .to_string(),
        )
    };
    match status {
        401 | 403 => Step::GiveUp(AUTH_FAILED.to_string()),
        200..=299 if daily_spent => daily_message(),
        200..=299 if limit.remaining == Some(0) => {
            Step::WaitThenProceed(limit.interval().unwrap_or(DEFAULT_INTERVAL))
        }
        200..=299 => Step::Proceed,
        429 if daily_spent => daily_message(),
        429 if attempt >= MAX_RATE_LIMITED_ATTEMPTS => Step::GiveUp(format!(
            "HubSpot is still rate-limiting requests (429 Too Many Requests) after \
             {MAX_RATE_LIMITED_ATTEMPTS} attempts"
        )),
        429 => Step::Retry(
            parse_retry_after(retry_after)
                .or_else(|| limit.interval())
                .unwrap_or_else(|| backoff(attempt)),
        ),
        400..=499 => Step::GiveUp(format!("HubSpot refused the request (HTTP {status})")),
        500..=599 if daily_spent => daily_message(),
        500..=599 if attempt >= MAX_SERVER_ERROR_ATTEMPTS => Step::GiveUp(format!(
            "HubSpot failed with a server error (HTTP {status}) {MAX_SERVER_ERROR_ATTEMPTS} \
             times in a row"
        )),
        500..=599 => {
            Step::Retry(parse_retry_after(retry_after).unwrap_or_else(|| backoff(attempt)))
        }
        _ => Step::GiveUp(format!(
            "HubSpot answered with unexpected HTTP status {status}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn companies_page_1() -> Value {
        json!({
            "results": [
                {
                    "id": "512",
                    "properties": {
                        "annualrevenue": "15000000",
                        "createdate": "2024-01-02T03:04:05.678Z",
                        "domain": "www.Acme.com",
                        "hs_lastmodifieddate": "2025-05-06T07:08:09.123Z",
                        "hs_object_id": "512",
                        "industry": "COMPUTER_SOFTWARE",
                        "lifecyclestage": "customer",
                        "name": "  Acme\tCorp ",
                        "numberofemployees": "1200"
                    },
                    "createdAt": "2024-01-02T03:04:05.678Z",
                    "updatedAt": "2025-05-06T07:08:09.123Z",
                    "archived": false
                },
                {
                    "id": "513",
                    "properties": {
                        "annualrevenue": null,
                        "createdate": "2024-02-02T00:00:00Z",
                        "domain": null,
                        "hs_lastmodifieddate": null,
                        "hs_object_id": "513",
                        "industry": null,
                        "lifecyclestage": null,
                        "name": "Globex",
                        "numberofemployees": null
                    },
                    "createdAt": "2024-02-02T00:00:00Z",
                    "updatedAt": "2024-03-03T00:00:00Z",
                    "archived": false
                }
            ],
            "paging": {
                "next": {
                    "after": "514",
                    "link": "https://api.hubapi.com/crm/v3/objects/companies?limit=100&after=514"
                }
            }
        })
    }

    fn body(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    fn paths(p: &[Problem]) -> Vec<&str> {
        p.iter().map(|p| p.path.as_str()).collect()
    }

    fn time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    // ---- URLs ---------------------------------------------------------------------

    #[test]
    fn urls_for_the_first_and_later_pages() {
        assert_eq!(
            companies_url(DEFAULT_BASE, None),
            "https://api.hubapi.com/crm/v3/objects/companies?limit=100&properties=name,domain,industry,numberofemployees,annualrevenue,lifecyclestage,hs_lastmodifieddate&archived=false"
        );
        assert_eq!(
            contacts_url("http://localhost:9999/", Some("514")),
            "http://localhost:9999/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname,jobtitle,phone,hs_lastmodifieddate&associations=companies&archived=false&after=514"
        );
    }

    #[test]
    fn cursor_is_percent_encoded() {
        let url = companies_url(DEFAULT_BASE, Some("a b&limit=1/+é~_.-Z9"));
        assert!(
            url.ends_with("&after=a%20b%26limit%3D1%2F%2B%C3%A9~_.-Z9"),
            "{url}"
        );
        assert_eq!(url.matches("limit=").count(), 1);
    }

    // ---- companies ----------------------------------------------------------------

    #[test]
    fn company_page_with_paging() {
        let page = parse_companies(&body(&companies_page_1())).unwrap();
        assert_eq!(page.next_after.as_deref(), Some("514"));
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        assert_eq!(
            page.results[0],
            Company {
                id: "512".into(),
                name: "Acme Corp".into(),
                domain: Some("acme.com".into()),
                industry: Some("COMPUTER_SOFTWARE".into()),
                employees: Some(1200),
                annual_revenue: Some(15_000_000.0),
                lifecycle_stage: Some("customer".into()),
                updated_at: Some(time("2025-05-06T07:08:09.123Z")),
            }
        );
        let globex = &page.results[1];
        assert_eq!(
            (
                globex.domain.as_ref(),
                globex.employees,
                globex.industry.as_ref()
            ),
            (None, None, None)
        );
        assert_eq!(
            globex.updated_at,
            Some(time("2024-03-03T00:00:00Z")),
            "falls back to updatedAt"
        );
    }

    #[test]
    fn last_page_has_no_cursor() {
        let mut v = companies_page_1();
        v.as_object_mut().unwrap().remove("paging");
        let page = parse_companies(&body(&v)).unwrap();
        assert_eq!((page.results.len(), page.next_after), (2, None));
        let empty = parse_companies(br#"{"results": []}"#).unwrap();
        assert!(empty.results.is_empty() && empty.next_after.is_none());
    }

    #[test]
    fn bad_records_are_skipped_by_path_and_the_rest_kept() {
        let v = json!({
            "results": [
                {"id": "1", "properties": {"name": "Good"}},
                {"id": "2", "properties": {"name": null, "domain": "two.com"}},
                {"id": "3", "properties": {"name": "   "}},
                {"properties": {"name": "No id"}},
                "not an object",
                {"id": "6"},
                {"id": "7", "properties": {"name": "Gone"}, "archived": true},
                {"id": "8", "properties": {"name": ["x"]}},
                {"id": 9, "properties": {"name": "Numeric id"}}
            ]
        });
        let page = parse_companies(&body(&v)).unwrap();
        let ids: Vec<&str> = page.results.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "9"]);
        assert_eq!(
            paths(&page.skipped),
            vec![
                "results[1].properties.name",
                "results[2].properties.name",
                "results[3].id",
                "results[4]",
                "results[5].properties",
                "results[6].archived",
                "results[7].properties.name",
            ]
        );
        assert_eq!(page.skipped[0].reason, "is missing");
    }

    #[test]
    fn bad_values_are_dropped_with_a_note_and_the_company_kept() {
        let v = json!({"results": [{"id": "1", "properties": {
            "name": "Initech", "domain": "not a domain", "numberofemployees": "lots",
            "annualrevenue": "-5", "hs_lastmodifieddate": "last week", "industry": {"a": 1}
        }, "updatedAt": "2024-01-01T00:00:00Z"}]});
        let page = parse_companies(&body(&v)).unwrap();
        let c = &page.results[0];
        assert_eq!(c.name, "Initech");
        assert_eq!(
            (&c.domain, c.employees, c.annual_revenue, &c.industry),
            (&None, None, None, &None)
        );
        assert_eq!(c.updated_at, Some(time("2024-01-01T00:00:00Z")));
        assert_eq!(
            paths(&page.skipped),
            vec![
                "results[0].properties.domain",
                "results[0].properties.industry",
                "results[0].properties.numberofemployees",
                "results[0].properties.annualrevenue",
                "results[0].properties.hs_lastmodifieddate",
            ]
        );
        assert!(page.skipped[0].reason.contains("kept without a domain"));
    }

    #[test]
    fn numbers_in_hubspot_shapes() {
        let v = json!({"results": [{"id": "1", "properties": {
            "name": "N", "numberofemployees": "2.5E3", "annualrevenue": 1234.5,
            "hs_lastmodifieddate": "1704067200000"
        }}]});
        let c = &parse_companies(&body(&v)).unwrap().results[0];
        assert_eq!(c.employees, Some(2500));
        assert_eq!(c.annual_revenue, Some(1234.5));
        assert_eq!(c.updated_at, Some(time("2024-01-01T00:00:00Z")));
    }

    #[test]
    fn page_level_problems_fail_the_page() {
        let reason = |b: &[u8]| {
            let e = parse_companies(b).unwrap_err();
            (e[0].path.clone(), e[0].reason.clone())
        };
        assert_eq!(reason(b"<html>").0, "body");
        assert_eq!(reason(b"[1]").0, "body");
        assert_eq!(reason(br#"{"total": 0}"#).0, "results");
        assert_eq!(
            reason(br#"{"results": [], "paging": {"next": {"after": true}}}"#).0,
            "paging.next.after"
        );
        assert_eq!(
            reason(br#"{"results": [], "paging": {"next": {"link": "x"}}}"#).0,
            "paging.next.after"
        );
        assert_eq!(reason(br#"{"results": [], "paging": 3}"#).0, "paging");
        let (path, why) = reason(
            br#"{"status":"error","message":"This app hasn't been granted all required scopes","correlationId":"c-1","category":"MISSING_SCOPES"}"#,
        );
        assert_eq!(path, "body");
        assert!(why.contains("granted all required scopes"), "{why}");
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            parse_error(br#"{"status":"error","message":"Authentication credentials not found.","correlationId":"4a7f","category":"INVALID_AUTHENTICATION"}"#),
            Some("Authentication credentials not found.".to_string())
        );
        assert_eq!(parse_error(br#"{"status":"error","message":"  "}"#), None);
        assert_eq!(parse_error(br#"{"results":[]}"#), None);
        assert_eq!(parse_error(b"Bad Gateway"), None);
        let long = json!({"message": "x".repeat(2000)});
        assert_eq!(parse_error(&body(&long)).unwrap().len(), MAX_ERROR_LEN);
    }

    // ---- contacts -----------------------------------------------------------------

    #[test]
    fn contacts_with_associations() {
        let v = json!({
            "results": [
                {
                    "id": "101",
                    "properties": {
                        "createdate": "2024-01-02T03:04:05.678Z",
                        "email": "Ada@Acme.COM",
                        "firstname": "Ada",
                        "hs_object_id": "101",
                        "jobtitle": "VP Engineering",
                        "lastmodifieddate": "2025-01-01T00:00:00Z",
                        "lastname": "Lovelace",
                        "phone": "+1 555 0100"
                    },
                    "createdAt": "2024-01-02T03:04:05.678Z",
                    "updatedAt": "2025-01-01T00:00:00Z",
                    "archived": false,
                    "associations": {
                        "companies": {
                            "results": [
                                {"id": "700", "type": "contact_to_company_unlabeled"},
                                {"id": "512", "type": "contact_to_company"},
                                {"id": "512", "type": "contact_to_company_unlabeled"},
                                {"id": "700", "type": "contact_to_company_unlabeled"},
                                {"type": "contact_to_company"}
                            ]
                        }
                    }
                },
                {"id": "102", "properties": {"email": "grace@navy.mil", "firstname": null, "lastname": null}},
                {"id": "103", "properties": {"email": "not-an-email", "lastname": "Hopper"}},
                {"id": "104", "properties": {}},
                {"id": "105", "properties": {"firstname": "x".repeat(150), "lastname": "y".repeat(150)}}
            ],
            "paging": {"next": {"after": "106", "link": "https://api.hubapi.com/…"}}
        });
        let page = parse_contacts(&body(&v)).unwrap();
        assert_eq!(page.next_after.as_deref(), Some("106"));
        let ada = &page.results[0];
        assert_eq!(
            ada,
            &Contact {
                id: "101".into(),
                email: Some("ada@acme.com".into()),
                name: "Ada Lovelace".into(),
                title: Some("VP Engineering".into()),
                phone: Some("+1 555 0100".into()),
                company_ids: vec!["512".into(), "700".into()],
                updated_at: Some(time("2025-01-01T00:00:00Z")),
            }
        );
        let names: Vec<&str> = page.results.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names[1..4],
            ["grace@navy.mil", "Hopper", "HubSpot contact 104"]
        );
        assert_eq!(page.results[4].name.chars().count(), MAX_NAME_LEN);
        assert_eq!(page.results[2].email, None);
        assert!(page.results[1].company_ids.is_empty());
        assert_eq!(
            paths(&page.skipped),
            vec![
                "results[0].associations.companies.results[4].id",
                "results[2].properties.email",
            ]
        );
    }

    #[test]
    fn every_parsed_contact_passes_the_contact_form() {
        let v = json!({"results": [
            {"id": "1", "properties": {"firstname": "A\u{0}B", "jobtitle": "t".repeat(400), "email": "a@b.co"}}
        ]});
        for c in parse_contacts(&body(&v)).unwrap().results {
            let input = crate::customers::ContactInput {
                name: c.name.clone(),
                email: c.email.clone().unwrap_or_default(),
                title: c.title.clone().unwrap_or_default(),
                role: String::new(),
            };
            assert!(input.validate().is_ok(), "{c:?}");
            assert_eq!(c.name, "A B");
        }
    }

    // ---- mapping ------------------------------------------------------------------

    fn company(employees: Option<u32>) -> Company {
        Company {
            id: "512".into(),
            name: "Acme".into(),
            domain: Some("acme.com".into()),
            industry: None,
            employees,
            annual_revenue: Some(1e9),
            lifecycle_stage: Some("customer".into()),
            updated_at: None,
        }
    }

    #[test]
    fn drafts_new_customers_by_head_count() {
        for (n, tier) in [
            (Some(50_000), Tier::Enterprise),
            (Some(1000), Tier::Enterprise),
            (Some(999), Tier::MidMarket),
            (Some(100), Tier::MidMarket),
            (Some(99), Tier::SmallBusiness),
            (Some(0), Tier::SmallBusiness),
            (None, Tier::SmallBusiness),
        ] {
            assert_eq!(company_draft(&company(n)).unwrap().tier, tier, "{n:?}");
        }
        let d = company_draft(&company(Some(10))).unwrap();
        assert_eq!(d.name, "Acme");
        assert_eq!(d.external_id, None);
        assert_eq!(d.domain.as_deref(), Some("acme.com"));
        assert_eq!(d.stage, Stage::Onboarding);
        assert_eq!((d.mrr_minor, d.currency.as_str()), (0, "USD"));
        assert_eq!(d.tags, vec!["hubspot"]);
        assert_eq!((d.seats, d.plan, d.churned_on), (0, None, None));
    }

    #[test]
    fn drafts_obey_the_customer_form() {
        let mut c = company(None);
        c.name = format!("{}\nLtd", "é".repeat(MAX_NAME_LEN + 50));
        let d = company_draft(&c).unwrap();
        assert_eq!(d.name.chars().count(), MAX_NAME_LEN);
        c.name = " \t".into();
        c.domain = Some("bad domain".into());
        let e = company_draft(&c).unwrap_err();
        assert_eq!(paths(&e), vec!["name", "domain"]);
    }

    // ---- rate limits --------------------------------------------------------------

    #[test]
    fn reads_rate_limit_headers() {
        let headers = [
            ("X-HubSpot-RateLimit-Max", "190"),
            ("X-HubSpot-RateLimit-Remaining", " 0 "),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
            ("X-HubSpot-RateLimit-Daily", "650000"),
            ("X-HubSpot-RateLimit-Daily-Remaining", "649999"),
        ];
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        assert_eq!(
            RateLimit::from_headers(get),
            RateLimit {
                max: Some(190),
                remaining: Some(0),
                interval_ms: Some(10_000),
                daily_remaining: Some(649_999),
            }
        );
        assert_eq!(RateLimit::from_headers(|_| None), RateLimit::default());
        assert_eq!(
            RateLimit::from_headers(|_| Some("-1")),
            RateLimit::default(),
            "unreadable values are absent"
        );
    }

    fn limit(remaining: Option<u32>, interval_ms: Option<u64>, daily: Option<u32>) -> RateLimit {
        RateLimit {
            max: Some(100),
            remaining,
            interval_ms,
            daily_remaining: daily,
        }
    }

    #[test]
    fn success_proceeds_or_waits_for_the_interval() {
        let none = RateLimit::default();
        assert_eq!(next_step(200, None, &none, 1), Step::Proceed);
        assert_eq!(
            next_step(200, None, &limit(Some(5), Some(10_000), Some(10)), 1),
            Step::Proceed
        );
        assert_eq!(
            next_step(200, None, &limit(Some(0), Some(2_500), None), 1),
            Step::WaitThenProceed(Duration::from_millis(2_500))
        );
        assert_eq!(
            next_step(204, None, &limit(Some(0), None, None), 1),
            Step::WaitThenProceed(DEFAULT_INTERVAL)
        );
        assert_eq!(
            next_step(200, None, &limit(Some(0), Some(u64::MAX), None), 1),
            Step::WaitThenProceed(MAX_WAIT)
        );
    }

    #[test]
    fn daily_limit_gives_up() {
        for status in [200, 429, 503] {
            match next_step(status, Some("1"), &limit(Some(3), None, Some(0)), 1) {
                Step::GiveUp(why) => assert!(why.contains("daily API request limit"), "{why}"),
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_requests_retries_then_gives_up() {
        let none = RateLimit::default();
        let secs = Duration::from_secs;
        assert_eq!(next_step(429, Some("3"), &none, 1), Step::Retry(secs(3)));
        assert_eq!(
            next_step(429, Some("0.5"), &none, 1),
            Step::Retry(Duration::from_millis(500))
        );
        assert_eq!(next_step(429, Some("600"), &none, 1), Step::Retry(MAX_WAIT));
        assert_eq!(
            next_step(429, None, &limit(Some(0), Some(10_000), None), 1),
            Step::Retry(secs(10))
        );
        assert_eq!(
            next_step(
                429,
                Some("Wed, 21 Oct 2015 07:28:00 GMT"),
                &limit(None, Some(1_000), None),
                2
            ),
            Step::Retry(secs(1)),
            "an HTTP date falls back to the interval"
        );
        let waits: Vec<Step> = (0..=5).map(|a| next_step(429, None, &none, a)).collect();
        assert_eq!(
            waits,
            [1, 1, 2, 4, 8, 16].map(|s| Step::Retry(secs(s))).to_vec()
        );
        assert!(
            matches!(next_step(429, Some("1"), &none, 6), Step::GiveUp(w) if w.contains("429"))
        );
    }

    #[test]
    fn server_errors_back_off_then_give_up() {
        let none = RateLimit::default();
        let secs = Duration::from_secs;
        assert_eq!(next_step(500, None, &none, 1), Step::Retry(secs(1)));
        assert_eq!(next_step(502, None, &none, 2), Step::Retry(secs(2)));
        assert_eq!(next_step(504, None, &none, 3), Step::Retry(secs(4)));
        assert_eq!(next_step(503, Some("7"), &none, 1), Step::Retry(secs(7)));
        assert!(
            matches!(next_step(500, None, &none, 4), Step::GiveUp(w) if w.contains("HTTP 500"))
        );
        assert_eq!(backoff(7), MAX_WAIT);
        assert_eq!(backoff(u32::MAX), MAX_WAIT);
    }

    #[test]
    fn client_errors_give_up() {
        let none = RateLimit::default();
        assert_eq!(
            next_step(401, None, &none, 1),
            Step::GiveUp(AUTH_FAILED.into())
        );
        assert_eq!(
            next_step(403, Some("5"), &none, 1),
            Step::GiveUp(AUTH_FAILED.into())
        );
        assert!(AUTH_FAILED.contains("crm.objects.contacts.read"));
        assert_eq!(
            next_step(404, None, &none, 1),
            Step::GiveUp("HubSpot refused the request (HTTP 404)".into())
        );
        assert!(matches!(next_step(400, None, &none, 1), Step::GiveUp(w) if w.contains("400")));
        assert!(matches!(next_step(302, None, &none, 1), Step::GiveUp(w) if w.contains("302")));
    }

    // ---- properties ---------------------------------------------------------------

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<u64>().prop_map(|n| json!(n)),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| json!(f)),
                ".{0,12}".prop_map(Value::String),
                prop_oneof![
                    Just("512"),
                    Just("acme.com"),
                    Just("www.acme.com"),
                    Just("ada@acme.com"),
                    Just("2024-01-02T03:04:05.678Z"),
                    Just("1704067200000"),
                    Just("99999999999999999999"),
                    Just("1e400"),
                    Just("-3"),
                    Just("contact_to_company"),
                    Just("error"),
                ]
                .prop_map(|s| Value::String(s.into())),
            ];
            let keys = prop_oneof![
                Just("results"),
                Just("paging"),
                Just("next"),
                Just("after"),
                Just("id"),
                Just("properties"),
                Just("archived"),
                Just("updatedAt"),
                Just("name"),
                Just("domain"),
                Just("industry"),
                Just("numberofemployees"),
                Just("annualrevenue"),
                Just("lifecyclestage"),
                Just("hs_lastmodifieddate"),
                Just("email"),
                Just("firstname"),
                Just("lastname"),
                Just("jobtitle"),
                Just("phone"),
                Just("associations"),
                Just("companies"),
                Just("type"),
                Just("status"),
                Just("message"),
            ]
            .prop_map(str::to_string);
            leaf.prop_recursive(6, 96, 8, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::vec((keys.clone(), inner), 0..8)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        /// Whatever the body, the parsers answer, and what they keep is usable.
        fn check(bytes: &[u8]) {
            match parse_companies(bytes) {
                Ok(page) => {
                    for c in &page.results {
                        assert!(!c.id.is_empty() && !c.name.is_empty());
                        let d = company_draft(c);
                        assert!(d.is_ok(), "{c:?}: {d:?}");
                    }
                    assert!(page.next_after.as_ref().is_none_or(|a| !a.is_empty()));
                }
                Err(p) => assert!(!p.is_empty()),
            }
            match parse_contacts(bytes) {
                Ok(page) => {
                    for c in &page.results {
                        assert!(!c.name.is_empty() && c.name.chars().count() <= MAX_NAME_LEN);
                        let mut ids = c.company_ids.clone();
                        ids.dedup();
                        ids.sort();
                        ids.dedup();
                        assert_eq!(ids.len(), c.company_ids.len());
                    }
                }
                Err(p) => assert!(!p.is_empty()),
            }
            let _ = parse_error(bytes);
        }

        fn wait(step: &Step) -> Duration {
            match step {
                Step::WaitThenProceed(d) | Step::Retry(d) => *d,
                Step::Proceed | Step::GiveUp(_) => Duration::ZERO,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                check(&bytes);
            }

            #[test]
            fn arbitrary_json_never_panics(v in any_json(), items in prop::collection::vec(any_json(), 0..4)) {
                check(&body(&v));
                check(&body(&json!({"results": items.clone(), "paging": {"next": {"after": v.clone()}}})));
                let wrapped: Vec<Value> = items
                    .into_iter()
                    .map(|p| json!({"id": "1", "properties": p.clone(), "associations": {"companies": {"results": [p]}}}))
                    .collect();
                check(&body(&json!({"results": wrapped})));
            }

            #[test]
            fn next_step_never_panics_or_waits_over_a_minute(
                status in any::<u16>(),
                retry_after in prop::option::of(prop_oneof![".{0,12}", any::<f64>().prop_map(|f| f.to_string()), any::<u64>().prop_map(|n| n.to_string())]),
                max in any::<Option<u32>>(),
                remaining in prop::option::of(0u32..3),
                interval_ms in any::<Option<u64>>(),
                daily_remaining in prop::option::of(0u32..3),
                attempt in any::<u32>(),
            ) {
                let limit = RateLimit { max, remaining, interval_ms, daily_remaining };
                let step = next_step(status, retry_after.as_deref(), &limit, attempt);
                prop_assert!(wait(&step) <= MAX_WAIT, "{step:?}");
                if attempt >= MAX_RATE_LIMITED_ATTEMPTS {
                    prop_assert!(!matches!(step, Step::Retry(_)));
                }
            }

            #[test]
            fn cursors_stay_one_query_value(after in ".{0,40}") {
                let url = contacts_url(DEFAULT_BASE, Some(&after));
                let tail = url.rsplit_once("&after=").unwrap().1;
                prop_assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
                prop_assert_eq!(url.matches('&').count(), 4);
                prop_assert!(!url.contains('#') && !url.contains(' '));
            }
        }
    }
}
