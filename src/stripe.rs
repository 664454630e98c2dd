//! Stripe webhooks: signature verification, event parsing, MRR normalisation, account
//! mapping hints and payment health. Pure: the HTTP layer passes the raw body, the
//! `Stripe-Signature` header, the endpoint secret(s) and the time the request arrived.
//!
//! Shapes follow Stripe's documented objects and keep working across API versions: the
//! 2025-03-31 ("basil") release moved `current_period_*` from the subscription to its
//! items and `invoice.subscription` to `invoice.parent.subscription_details`; the
//! 2025-09-30 ("clover") release moved `discount.coupon` to `discount.source.coupon`.
//! Both the old and the new places are read, so an endpoint can be upgraded without a
//! deploy here.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

/// One problem with an event: where (`data.object.items.data[0].price`) and why.
pub use crate::segment::Problem;

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------

/// Stripe's default tolerance between the signed timestamp and our clock, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a `Stripe-Signature` header was refused. The messages never echo the header or
/// the payload back: they end up in logs and responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureError {
    /// The header is absent or blank.
    MissingHeader,
    /// The header is not `t=<unix seconds>,v1=<hex>,...`; the reason says what is wrong.
    MalformedHeader(String),
    /// The header has a timestamp but no `v1` (HMAC-SHA256) signature.
    NoV1Signature,
    /// The signature is valid but its timestamp is too far from our clock.
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: i64,
    },
    /// No `v1` signature matches the payload under any of the secrets.
    NoMatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::MissingHeader => f.write_str("the Stripe-Signature header is missing"),
            SignatureError::MalformedHeader(why) => {
                write!(f, "the Stripe-Signature header is malformed: {why}")
            }
            SignatureError::NoV1Signature => {
                f.write_str("the Stripe-Signature header has no v1 signature")
            }
            SignatureError::TimestampOutsideTolerance {
                timestamp,
                now,
                tolerance_secs,
            } => write!(
                f,
                "the signature timestamp {timestamp} is more than {tolerance_secs} s away from now ({now})"
            ),
            SignatureError::NoMatch => {
                f.write_str("no signature matches the payload for this endpoint's secret")
            }
        }
    }
}

impl std::error::Error for SignatureError {}

/// The MAC Stripe computes: HMAC-SHA256 keyed with the whole endpoint secret (`whsec_...`
/// as-is, not base64-decoded) over `"{t}.{raw body}"`. `None` only if the HMAC
/// implementation refused the key, which it never does (HMAC takes keys of any length).
fn signer(secret: &str, timestamp: i64, payload: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

/// A `Stripe-Signature` header value for `payload`, as Stripe would send it:
/// `t={timestamp},v1={hex HMAC}`. For tests and test suites that post signed events.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let v1 = signer(secret, timestamp, payload)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={v1}")
}

/// The parts of a header that matter: the timestamp and the decoded `v1` signatures.
struct ParsedHeader {
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<ParsedHeader, SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    let malformed = |why: &str| SignatureError::MalformedHeader(why.to_string());
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut saw_v1 = false;
    for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((scheme, value)) = part.split_once('=') else {
            return Err(malformed("an entry is not scheme=value"));
        };
        match scheme.trim() {
            "t" => {
                // Two timestamps would make it ambiguous which one was signed.
                if timestamp.is_some() {
                    return Err(malformed("more than one timestamp (t=)"));
                }
                let t = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| malformed("the timestamp (t=) is not a whole number"))?;
                timestamp = Some(t);
            }
            "v1" => {
                saw_v1 = true;
                // A value that is not hex cannot match; another v1 entry still may.
                if let Ok(bytes) = hex::decode(value.trim()) {
                    v1.push(bytes);
                }
            }
            // v0 is Stripe's test-mode-only legacy scheme; unknown schemes are future
            // additions. Neither is trusted.
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(malformed("no timestamp (t=)"));
    };
    if !saw_v1 {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedHeader { timestamp, v1 })
}

/// Verifies a `Stripe-Signature` header the way Stripe documents it: any one `v1` entry
/// that equals HMAC-SHA256(secret, `"{t}.{payload}"`) for any of `secrets` is enough
/// (several `v1` entries appear while Stripe rolls a secret; several `secrets` let us roll
/// ours with an overlap). Comparison is constant-time. Blank secrets are skipped: an empty
/// HMAC key would let anyone forge events.
///
/// The timestamp must be within `tolerance_secs` of `now` in *both* directions. Stripe's
/// libraries only refuse old timestamps; we also refuse future ones because a
/// far-future `t` would keep a captured request replayable until that time, and honest
/// clock skew is far smaller than the default 300 s.
///
/// # Errors
/// Why the header was refused; see [`SignatureError`].
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header)?;
    let matched = secrets
        .iter()
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| signer(s, parsed.timestamp, payload))
        .any(|mac| {
            parsed
                .v1
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
        });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let tolerance = u64::try_from(tolerance_secs).unwrap_or(0);
    if now.timestamp().abs_diff(parsed.timestamp) > tolerance {
        return Err(SignatureError::TimestampOutsideTolerance {
            timestamp: parsed.timestamp,
            now: now.timestamp(),
            tolerance_secs: tolerance_secs.max(0),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Domain types
// ---------------------------------------------------------------------------------------

/// The event types the backend acts on. Events of other types still parse (usually as
/// [`StripeObject::Other`]) so they can be acknowledged and ignored.
pub const HANDLED_EVENT_TYPES: [&str; 9] = [
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "charge.refunded",
];

/// A parsed Stripe event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_...`: Stripe may deliver an event more than once; use it for idempotency.
    pub id: String,
    /// Stripe's `type`, e.g. `customer.subscription.updated`.
    pub kind: String,
    pub created: DateTime<Utc>,
    /// False for test-mode events, which must never touch live data.
    pub livemode: bool,
    /// The API version the payload was rendered with, when Stripe says.
    pub api_version: Option<String>,
    /// `data.object`.
    pub object: StripeObject,
}

impl Event {
    /// Whether this is one of [`HANDLED_EVENT_TYPES`].
    pub fn is_handled(&self) -> bool {
        HANDLED_EVENT_TYPES.contains(&self.kind.as_str())
    }
}

/// `data.object` of an event, chosen by its `object` field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StripeObject {
    Customer(Customer),
    Subscription(Subscription),
    Invoice(Invoice),
    Charge(Charge),
    /// Any other object (`payment_intent`, `card`, ...), or an object of a known kind in
    /// an event we do not handle that did not parse.
    Other {
        object: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// True for `customer.deleted` events and for Stripe's deleted-customer stubs.
    pub deleted: bool,
}

/// A subscription's `status`. Unknown strings are kept, not refused, so a status Stripe
/// adds later does not make whole events fail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    Incomplete,
    IncompleteExpired,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    Other(String),
}

impl SubscriptionStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            other => Self::Other(other.to_string()),
        }
    }

    /// Stripe's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
            Self::Other(s) => s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }

    /// Months per interval as a fraction (numerator, denominator) of the amount per
    /// period: a year is 1/12 of it per month, a week 52/12, a day 365/12.
    fn per_month(self) -> (i128, i128) {
        match self {
            Self::Day => (365, 12),
            Self::Week => (52, 12),
            Self::Month => (1, 1),
            Self::Year => (1, 12),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UsageType {
    /// Billed for `quantity` up front each period.
    Licensed,
    /// Billed in arrears for reported usage.
    Metered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    /// The price's id (or, in the legacy shape, the plan's).
    pub price_id: String,
    pub product: Option<String>,
    pub nickname: Option<String>,
    /// Per unit per billing period, in minor units; `None` for tiered prices, whose amount
    /// depends on the quantity in ways this module does not model.
    pub unit_amount_minor: Option<i64>,
    /// Uppercase ISO code (`USD`).
    pub currency: String,
    pub interval: Interval,
    /// Billing every `interval_count` intervals; at least 1.
    pub interval_count: u32,
    pub quantity: u64,
    pub usage_type: UsageType,
    /// Only in API versions 2025-03-31 and later.
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
}

/// A discount on a subscription with its coupon's terms when Stripe sent them expanded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discount {
    /// `di_...`; absent on discounts from old API versions.
    pub id: Option<String>,
    pub coupon_id: Option<String>,
    /// 0 < percent_off ≤ 100 (Stripe allows fractions such as 12.5).
    pub percent_off: Option<f64>,
    /// Taken off each invoice, i.e. once per billing period, in minor units.
    pub amount_off_minor: Option<i64>,
    /// Uppercase currency of `amount_off_minor`.
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// `cus_...` (an expanded customer is reduced to its id).
    pub customer: String,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    /// Uppercase ISO code; from the subscription, else its first item.
    pub currency: String,
    /// The subscription's own field, else (API 2025-03-31+) the earliest over its items.
    pub current_period_start: Option<DateTime<Utc>>,
    /// The subscription's own field, else (API 2025-03-31+) the latest over its items.
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub trial_start: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    /// From `discount` (older API versions) and the expanded entries of `discounts`,
    /// without duplicates. Entries of `discounts` that are bare ids are skipped: their
    /// terms are unknown without another API call.
    pub discounts: Vec<Discount>,
    pub metadata: BTreeMap<String, String>,
}

/// An invoice's `status`; unknown strings are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
    Other(String),
}

impl InvoiceStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "draft" => Self::Draft,
            "open" => Self::Open,
            "paid" => Self::Paid,
            "uncollectible" => Self::Uncollectible,
            "void" => Self::Void,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Uncollectible => "uncollectible",
            Self::Void => "void",
            Self::Other(s) => s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub customer: String,
    /// `subscription` (before 2025-03-31), else `parent.subscription_details.subscription`,
    /// else the first line's subscription.
    pub subscription: Option<String>,
    /// Nullable in Stripe's schema.
    pub status: Option<InvoiceStatus>,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    /// Payment attempts so far (0 when never attempted).
    pub attempt_count: u32,
    /// When Stripe will retry; `None` once it has given up (or never will).
    pub next_payment_attempt: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub billing_reason: Option<String>,
    pub number: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub customer: Option<String>,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    /// True only when fully refunded; see `amount_refunded` for partial refunds.
    pub refunded: bool,
    /// Removed from charges in API 2025-03-31; `None` there.
    pub invoice: Option<String>,
    pub created: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// A JSON object and its path, for reading fields and reporting problems by path.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(map: &'a Map<String, Value>, path: impl Into<String>) -> Self {
        Self {
            map,
            path: path.into(),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field, with JSON `null` treated as absent (Stripe sends `null` for unset).
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(&self, key: &str, required: bool, p: &mut Vec<Problem>) {
        if required {
            p.push(Problem::new(self.at(key), "is required"));
        }
    }

    fn child(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<Obj<'a>> {
        match self.get(key) {
            None => {
                self.missing(key, required, p);
                None
            }
            Some(Value::Object(m)) => Some(Obj::new(m, self.at(key))),
            Some(_) => {
                p.push(Problem::new(self.at(key), "must be an object"));
                None
            }
        }
    }

    /// A string; an empty string counts as absent.
    fn string(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<String> {
        match self.get(key) {
            None => {
                self.missing(key, required, p);
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                if required {
                    p.push(Problem::new(self.at(key), "must not be empty"));
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                p.push(Problem::new(self.at(key), "must be a string"));
                None
            }
        }
    }

    fn int(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<i64> {
        match self.get(key) {
            None => {
                self.missing(key, required, p);
                None
            }
            Some(Value::Number(n)) => n.as_i64().or_else(|| {
                p.push(Problem::new(self.at(key), "must be a whole number"));
                None
            }),
            Some(_) => {
                p.push(Problem::new(self.at(key), "must be a number"));
                None
            }
        }
    }

    /// An amount in minor units: a whole number, never negative.
    fn amount(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<i64> {
        let n = self.int(key, required, p)?;
        if n < 0 {
            p.push(Problem::new(self.at(key), "must not be negative"));
            return None;
        }
        Some(n)
    }

    fn flag(&self, key: &str, p: &mut Vec<Problem>) -> bool {
        match self.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                p.push(Problem::new(self.at(key), "must be true or false"));
                false
            }
        }
    }

    /// Unix seconds, as Stripe sends every timestamp.
    fn time(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<DateTime<Utc>> {
        let secs = self.int(key, required, p)?;
        DateTime::from_timestamp(secs, 0).or_else(|| {
            p.push(Problem::new(self.at(key), "is not a valid unix timestamp"));
            None
        })
    }

    /// An expandable reference: an id string, or the expanded object's `id`.
    fn id(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<String> {
        match self.get(key) {
            Some(Value::Object(m)) => Obj::new(m, self.at(key)).string("id", true, p),
            Some(Value::String(_)) | None => self.string(key, required, p),
            Some(_) => {
                p.push(Problem::new(
                    self.at(key),
                    "must be an id or an object with an id",
                ));
                None
            }
        }
    }

    /// A three-letter ISO currency code, returned uppercase.
    fn currency(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<String> {
        let raw = self.string(key, required, p)?;
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_alphabetic()) {
            Some(raw.to_ascii_uppercase())
        } else {
            p.push(Problem::new(
                self.at(key),
                "must be a three-letter currency code",
            ));
            None
        }
    }

    /// Stripe metadata: string keys and values. Numbers and booleans (which Stripe never
    /// sends but hand-written test events do) are kept as text; `null` entries are unset.
    fn metadata(&self, p: &mut Vec<Problem>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(meta) = self.child("metadata", false, p) else {
            return out;
        };
        for (k, v) in meta.map {
            match v {
                Value::Null => {}
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Number(n) => {
                    out.insert(k.clone(), n.to_string());
                }
                Value::Bool(b) => {
                    out.insert(k.clone(), b.to_string());
                }
                _ => p.push(Problem::new(meta.at(k), "must be a string")),
            }
        }
        out
    }

    /// `key` as a Stripe list (`{"object": "list", "data": [...]}`), its objects with
    /// their paths.
    fn list(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Vec<Obj<'a>> {
        let Some(list) = self.child(key, required, p) else {
            return Vec::new();
        };
        let Some(Value::Array(data)) = list.get("data") else {
            p.push(Problem::new(list.at("data"), "must be an array"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, v) in data.iter().enumerate() {
            let path = format!("{}[{i}]", list.at("data"));
            match v {
                Value::Object(m) => out.push(Obj::new(m, path)),
                _ => p.push(Problem::new(path, "must be an object")),
            }
        }
        out
    }
}

/// Parses a decimal string such as `"2500.5"` to the nearest whole minor unit (halves up),
/// saturating at `i64::MAX`. `None` unless it is plain digits with an optional fraction.
fn parse_decimal_minor(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        return None;
    }
    let mut n: i64 = 0;
    for b in whole.bytes() {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    // Only the first fractional digit decides: x.5000… and above round up.
    if frac.bytes().next().is_some_and(|b| b >= b'5') {
        n = n.saturating_add(1);
    }
    Some(n)
}

fn parse_customer(o: &Obj, deleted_event: bool, p: &mut Vec<Problem>) -> Customer {
    Customer {
        id: o.string("id", true, p).unwrap_or_default(),
        email: o.string("email", false, p),
        name: o.string("name", false, p),
        metadata: o.metadata(p),
        deleted: o.flag("deleted", p) || deleted_event,
    }
}

/// The billing terms of an item: from `price` (current API) or `plan` (legacy). Stripe
/// sends both on subscription items; `price` wins.
struct Terms {
    id: String,
    product: Option<String>,
    nickname: Option<String>,
    unit_amount: Option<i64>,
    currency: String,
    interval: Interval,
    interval_count: u32,
    usage_type: UsageType,
}

fn parse_interval(o: &Obj, p: &mut Vec<Problem>) -> (Interval, u32, UsageType) {
    let interval = match o.string("interval", true, p) {
        Some(s) => Interval::parse(&s).unwrap_or_else(|| {
            p.push(Problem::new(
                o.at("interval"),
                "must be day, week, month or year",
            ));
            Interval::Month
        }),
        None => Interval::Month,
    };
    let count = match o.int("interval_count", false, p) {
        None => 1,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|&n| n >= 1)
            .unwrap_or_else(|| {
                p.push(Problem::new(
                    o.at("interval_count"),
                    "must be a whole number of at least 1",
                ));
                1
            }),
    };
    let usage = match o.string("usage_type", false, p).as_deref() {
        None | Some("licensed") => UsageType::Licensed,
        Some("metered") => UsageType::Metered,
        Some(_) => {
            p.push(Problem::new(
                o.at("usage_type"),
                "must be licensed or metered",
            ));
            UsageType::Licensed
        }
    };
    (interval, count, usage)
}

/// `amount_key` (integer) or, when it is null, `{amount_key}_decimal` (string).
fn parse_unit_amount(o: &Obj, amount_key: &str, p: &mut Vec<Problem>) -> Option<i64> {
    if let Some(n) = o.amount(amount_key, false, p) {
        return Some(n);
    }
    let key = format!("{amount_key}_decimal");
    let raw = o.string(&key, false, p)?;
    parse_decimal_minor(&raw).or_else(|| {
        p.push(Problem::new(
            o.at(&key),
            "must be a non-negative decimal number",
        ));
        None
    })
}

fn parse_price(o: &Obj, p: &mut Vec<Problem>) -> Terms {
    let id = o.string("id", true, p).unwrap_or_default();
    let product = o.id("product", false, p);
    let nickname = o.string("nickname", false, p);
    let unit_amount = parse_unit_amount(o, "unit_amount", p);
    let currency = o.currency("currency", true, p).unwrap_or_default();
    let (interval, interval_count, usage_type) = match o.child("recurring", false, p) {
        Some(r) => parse_interval(&r, p),
        None => {
            p.push(Problem::new(
                o.at("recurring"),
                "is required: a subscription item needs a recurring price",
            ));
            (Interval::Month, 1, UsageType::Licensed)
        }
    };
    Terms {
        id,
        product,
        nickname,
        unit_amount,
        currency,
        interval,
        interval_count,
        usage_type,
    }
}

fn parse_plan(o: &Obj, p: &mut Vec<Problem>) -> Terms {
    let id = o.string("id", true, p).unwrap_or_default();
    let product = o.id("product", false, p);
    let nickname = o.string("nickname", false, p);
    let unit_amount = parse_unit_amount(o, "amount", p);
    let currency = o.currency("currency", true, p).unwrap_or_default();
    let (interval, interval_count, usage_type) = parse_interval(o, p);
    Terms {
        id,
        product,
        nickname,
        unit_amount,
        currency,
        interval,
        interval_count,
        usage_type,
    }
}

fn parse_item(o: &Obj, p: &mut Vec<Problem>) -> SubscriptionItem {
    let id = o.string("id", true, p).unwrap_or_default();
    let terms = if let Some(price) = o.map.get("price").and_then(Value::as_object) {
        parse_price(&Obj::new(price, o.at("price")), p)
    } else if let Some(plan) = o.map.get("plan").and_then(Value::as_object) {
        parse_plan(&Obj::new(plan, o.at("plan")), p)
    } else {
        p.push(Problem::new(
            o.at("price"),
            "is required as an expanded price object (or a legacy plan)",
        ));
        return SubscriptionItem {
            id,
            price_id: String::new(),
            product: None,
            nickname: None,
            unit_amount_minor: None,
            currency: String::new(),
            interval: Interval::Month,
            interval_count: 1,
            quantity: 1,
            usage_type: UsageType::Licensed,
            current_period_start: None,
            current_period_end: None,
        };
    };
    // Metered items carry no quantity; licensed ones default to 1 in Stripe.
    let quantity = match o.get("quantity") {
        None => 1,
        Some(v) => v.as_u64().unwrap_or_else(|| {
            p.push(Problem::new(
                o.at("quantity"),
                "must be a whole number, not negative",
            ));
            1
        }),
    };
    SubscriptionItem {
        id,
        price_id: terms.id,
        product: terms.product,
        nickname: terms.nickname,
        unit_amount_minor: terms.unit_amount,
        currency: terms.currency,
        interval: terms.interval,
        interval_count: terms.interval_count,
        quantity,
        usage_type: terms.usage_type,
        current_period_start: o.time("current_period_start", false, p),
        current_period_end: o.time("current_period_end", false, p),
    }
}

/// A discount object: its coupon is `coupon` (before 2025-09-30) or `source.coupon`; a
/// coupon given only as an id yields a discount with unknown terms.
fn parse_discount(o: &Obj, p: &mut Vec<Problem>) -> Discount {
    let id = o.string("id", false, p);
    let mut discount = Discount {
        id,
        coupon_id: None,
        percent_off: None,
        amount_off_minor: None,
        currency: None,
    };
    let holder = match o.get("coupon") {
        Some(_) => Some(Obj::new(o.map, o.path.clone())),
        None => o.child("source", false, p),
    };
    let Some(holder) = holder else {
        return discount;
    };
    match holder.get("coupon") {
        Some(Value::String(s)) => discount.coupon_id = Some(s.clone()),
        Some(Value::Object(m)) => {
            let c = Obj::new(m, holder.at("coupon"));
            discount.coupon_id = c.string("id", false, p);
            discount.percent_off = match c.get("percent_off") {
                None => None,
                Some(v) => match v.as_f64().filter(|f| *f > 0.0 && *f <= 100.0) {
                    Some(f) => Some(f),
                    None => {
                        p.push(Problem::new(
                            c.at("percent_off"),
                            "must be a number above 0 and at most 100",
                        ));
                        None
                    }
                },
            };
            discount.amount_off_minor = c.amount("amount_off", false, p);
            discount.currency = c.currency("currency", false, p);
        }
        Some(_) => p.push(Problem::new(
            holder.at("coupon"),
            "must be an id or a coupon object",
        )),
        None => {}
    }
    discount
}

fn parse_subscription(o: &Obj, p: &mut Vec<Problem>) -> Subscription {
    let id = o.string("id", true, p).unwrap_or_default();
    let customer = o.id("customer", true, p).unwrap_or_default();
    let status = o
        .string("status", true, p)
        .map_or(SubscriptionStatus::Other(String::new()), |s| {
            SubscriptionStatus::parse(&s)
        });
    let items: Vec<SubscriptionItem> = o
        .list("items", true, p)
        .iter()
        .map(|item| parse_item(item, p))
        .collect();
    let currency = match o.currency("currency", false, p) {
        Some(c) => c,
        None => match items.iter().find(|i| !i.currency.is_empty()) {
            Some(i) => i.currency.clone(),
            None => {
                if !p.iter().any(|x| x.path == o.at("currency")) {
                    p.push(Problem::new(o.at("currency"), "is required"));
                }
                String::new()
            }
        },
    };
    let current_period_start = o
        .time("current_period_start", false, p)
        .or_else(|| items.iter().filter_map(|i| i.current_period_start).min());
    let current_period_end = o
        .time("current_period_end", false, p)
        .or_else(|| items.iter().filter_map(|i| i.current_period_end).max());

    let mut discounts: Vec<Discount> = Vec::new();
    if let Some(d) = o.child("discount", false, p) {
        discounts.push(parse_discount(&d, p));
    }
    match o.get("discounts") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, v) in list.iter().enumerate() {
                let path = format!("{}[{i}]", o.at("discounts"));
                match v {
                    Value::String(_) => {}
                    Value::Object(m) => {
                        let d = parse_discount(&Obj::new(m, path), p);
                        let dup = d.id.is_some() && discounts.iter().any(|x| x.id == d.id);
                        if !dup {
                            discounts.push(d);
                        }
                    }
                    _ => p.push(Problem::new(path, "must be an id or a discount object")),
                }
            }
        }
        Some(_) => p.push(Problem::new(o.at("discounts"), "must be an array")),
    }

    Subscription {
        id,
        customer,
        status,
        items,
        currency,
        current_period_start,
        current_period_end,
        cancel_at_period_end: o.flag("cancel_at_period_end", p),
        cancel_at: o.time("cancel_at", false, p),
        canceled_at: o.time("canceled_at", false, p),
        ended_at: o.time("ended_at", false, p),
        start_date: o.time("start_date", false, p),
        trial_start: o.time("trial_start", false, p),
        trial_end: o.time("trial_end", false, p),
        discounts,
        metadata: o.metadata(p),
    }
}

/// The invoice's subscription wherever this API version put it. The line-item fallback
/// is read leniently: lines are a convenience, not something to reject an invoice over.
fn invoice_subscription(o: &Obj, p: &mut Vec<Problem>) -> Option<String> {
    if let Some(s) = o.id("subscription", false, p) {
        return Some(s);
    }
    if let Some(parent) = o.child("parent", false, p) {
        if let Some(details) = parent.child("subscription_details", false, p) {
            if let Some(s) = details.id("subscription", false, p) {
                return Some(s);
            }
        }
    }
    let lines = o
        .map
        .get("lines")
        .and_then(|l| l.get("data"))
        .and_then(Value::as_array)?;
    let id_of = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    lines.iter().find_map(|line| {
        line.pointer("/parent/subscription_item_details/subscription")
            .or_else(|| line.get("subscription"))
            .and_then(id_of)
    })
}

fn parse_invoice(o: &Obj, p: &mut Vec<Problem>) -> Invoice {
    let attempt_count = match o.int("attempt_count", false, p) {
        None => 0,
        Some(n) => u32::try_from(n).unwrap_or_else(|_| {
            p.push(Problem::new(
                o.at("attempt_count"),
                "must be a whole number, not negative",
            ));
            0
        }),
    };
    Invoice {
        id: o.string("id", true, p).unwrap_or_default(),
        customer: o.id("customer", true, p).unwrap_or_default(),
        subscription: invoice_subscription(o, p),
        status: o
            .string("status", false, p)
            .map(|s| InvoiceStatus::parse(&s)),
        currency: o.currency("currency", true, p).unwrap_or_default(),
        amount_due: o.amount("amount_due", true, p).unwrap_or_default(),
        amount_paid: o.amount("amount_paid", true, p).unwrap_or_default(),
        amount_remaining: o.amount("amount_remaining", true, p).unwrap_or_default(),
        attempt_count,
        next_payment_attempt: o.time("next_payment_attempt", false, p),
        created: o.time("created", true, p).unwrap_or_default(),
        billing_reason: o.string("billing_reason", false, p),
        number: o.string("number", false, p),
        hosted_invoice_url: o.string("hosted_invoice_url", false, p),
        period_start: o.time("period_start", false, p),
        period_end: o.time("period_end", false, p),
    }
}

fn parse_charge(o: &Obj, p: &mut Vec<Problem>) -> Charge {
    Charge {
        id: o.string("id", true, p).unwrap_or_default(),
        customer: o.id("customer", false, p),
        amount: o.amount("amount", true, p).unwrap_or_default(),
        amount_refunded: o.amount("amount_refunded", false, p).unwrap_or_default(),
        currency: o.currency("currency", true, p).unwrap_or_default(),
        refunded: o.flag("refunded", p),
        invoice: o.id("invoice", false, p),
        created: o.time("created", true, p).unwrap_or_default(),
    }
}

/// The `data.object.object` a handled event type carries.
fn expected_object(kind: &str) -> Option<&'static str> {
    if kind.starts_with("customer.subscription.") {
        Some("subscription")
    } else if kind.starts_with("customer.") {
        Some("customer")
    } else if kind.starts_with("invoice.") {
        Some("invoice")
    } else if kind.starts_with("charge.") {
        Some("charge")
    } else {
        None
    }
}

/// Parses a webhook body (after [`verify_signature`]).
///
/// The variant of [`StripeObject`] follows `data.object.object`. For the
/// [`HANDLED_EVENT_TYPES`] every problem in that object is reported and the object kind
/// must match the event type. For any other type a malformed customer, subscription,
/// invoice or charge degrades to [`StripeObject::Other`]: the backend only acknowledges
/// those, and refusing them would make Stripe retry and eventually disable the endpoint.
///
/// # Errors
/// Every problem found, by JSON path (`data.object.items.data[0].price.recurring`).
pub fn parse_event(payload: &[u8]) -> Result<Event, Vec<Problem>> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| vec![Problem::new("body", format!("is not valid JSON ({e})"))])?;
    parse_event_value(&value)
}

/// [`parse_event`] for a body already parsed as JSON.
///
/// # Errors
/// Every problem found, by JSON path.
pub fn parse_event_value(value: &Value) -> Result<Event, Vec<Problem>> {
    let Some(map) = value.as_object() else {
        return Err(vec![Problem::new("body", "must be a JSON object")]);
    };
    let top = Obj::new(map, "");
    let mut p = Vec::new();
    if let Some(o) = top.string("object", false, &mut p) {
        if o != "event" {
            p.push(Problem::new("object", "must be \"event\""));
        }
    }
    let id = top.string("id", true, &mut p).unwrap_or_default();
    let kind = top.string("type", true, &mut p).unwrap_or_default();
    let created = top.time("created", true, &mut p).unwrap_or_default();
    let livemode = top.flag("livemode", &mut p);
    let api_version = top.string("api_version", false, &mut p);
    let data = top
        .child("data", true, &mut p)
        .and_then(|d| d.child("object", true, &mut p));
    let object = match data {
        None => StripeObject::Other {
            object: String::new(),
        },
        Some(o) => {
            let name = o.string("object", true, &mut p).unwrap_or_default();
            let handled = HANDLED_EVENT_TYPES.contains(&kind.as_str());
            if handled && !name.is_empty() && expected_object(&kind) != Some(name.as_str()) {
                p.push(Problem::new(
                    o.at("object"),
                    format!(
                        "is {name:?} but a {kind} event carries a {}",
                        expected_object(&kind).unwrap_or("different object")
                    ),
                ));
            }
            let mut q = Vec::new();
            let parsed = match name.as_str() {
                "customer" => Some(StripeObject::Customer(parse_customer(
                    &o,
                    kind == "customer.deleted",
                    &mut q,
                ))),
                "subscription" => Some(StripeObject::Subscription(parse_subscription(&o, &mut q))),
                "invoice" => Some(StripeObject::Invoice(parse_invoice(&o, &mut q))),
                "charge" => Some(StripeObject::Charge(parse_charge(&o, &mut q))),
                _ => None,
            };
            match parsed {
                Some(obj) if q.is_empty() => obj,
                _ if handled => {
                    p.extend(q);
                    StripeObject::Other { object: name }
                }
                _ => StripeObject::Other { object: name },
            }
        }
    };
    if p.is_empty() {
        Ok(Event {
            id,
            kind,
            created,
            livemode,
            api_version,
            object,
        })
    } else {
        Err(p)
    }
}

// ---------------------------------------------------------------------------------------
// MRR
// ---------------------------------------------------------------------------------------

/// `n / d` rounded to the nearest integer, halves up; `n ≥ 0`, `d > 0`.
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    if (n % d) * 2 >= d {
        q + 1
    } else {
        q
    }
}

/// An amount per billing period (every `count` × `interval`) as an amount per month,
/// rounded to the nearest minor unit (halves up). Never negative.
fn monthly(amount: i128, interval: Interval, count: u32) -> i128 {
    let (num, den) = interval.per_month();
    let den = den * i128::from(count.max(1));
    div_round(amount.max(0).saturating_mul(num), den)
}

impl SubscriptionItem {
    /// This item's recurring revenue per month in minor units: unit amount × quantity,
    /// normalised from its billing period (see [`Subscription::mrr_minor`]). Metered items
    /// and prices without a unit amount (tiered) count 0.
    pub fn monthly_amount_minor(&self) -> i64 {
        clamp_i64(self.monthly_i128())
    }

    fn monthly_i128(&self) -> i128 {
        match (self.usage_type, self.unit_amount_minor) {
            (UsageType::Licensed, Some(unit)) => monthly(
                i128::from(unit).saturating_mul(i128::from(self.quantity)),
                self.interval,
                self.interval_count,
            ),
            _ => 0,
        }
    }
}

fn clamp_i64(n: i128) -> i64 {
    i64::try_from(n.clamp(0, i128::from(i64::MAX))).unwrap_or(i64::MAX)
}

impl Subscription {
    /// Whether this subscription is recurring revenue now. Canceled and expired ones have
    /// ended; `incomplete` ones never had their first payment succeed; `paused` ones
    /// (a trial that ended without a payment method) generate no invoices. Unknown
    /// statuses count, so a new Stripe status does not silently drop revenue.
    pub fn counts_toward_mrr(&self) -> bool {
        !matches!(
            self.status,
            SubscriptionStatus::Canceled
                | SubscriptionStatus::IncompleteExpired
                | SubscriptionStatus::Incomplete
                | SubscriptionStatus::Paused
        )
    }

    /// Monthly recurring revenue in minor units of [`Subscription::currency`].
    ///
    /// Each licensed item contributes unit amount × quantity per billing period, turned
    /// into a month: month ÷ count, year ÷ 12 ÷ count, week × 52 ÷ 12 ÷ count,
    /// day × 365 ÷ 12 ÷ count; each item is rounded to the nearest minor unit, halves up.
    /// Metered items count 0: usage-based revenue varies period to period and is not
    /// recurring revenue (track it from invoices instead). Tiered prices count 0 too.
    ///
    /// Discounts with known terms then apply: each `percent_off` multiplies the total
    /// (rounded as above), then each `amount_off` (in the subscription's currency; taken
    /// off once per invoice) is normalised from the billing period of the first licensed
    /// item, as Stripe bills a subscription's items together, and subtracted.
    ///
    /// Arithmetic saturates instead of overflowing; the result is never negative, and 0
    /// when [`Subscription::counts_toward_mrr`] is false.
    pub fn mrr_minor(&self) -> i64 {
        if !self.counts_toward_mrr() {
            return 0;
        }
        let gross = self
            .items
            .iter()
            .fold(0i128, |acc, i| acc.saturating_add(i.monthly_i128()));
        let mut net = gross.min(i128::from(i64::MAX));
        for d in &self.discounts {
            if let Some(pct) = d.percent_off {
                // Kept share in millionths of a percent: exact for any coupon Stripe allows.
                let pct = if pct.is_finite() {
                    pct.clamp(0.0, 100.0)
                } else {
                    0.0
                };
                let keep = ((100.0 - pct) * 1_000_000.0).round() as i128;
                net = div_round(net.saturating_mul(keep), 100_000_000);
            }
        }
        let billing = self
            .items
            .iter()
            .find(|i| i.usage_type == UsageType::Licensed)
            .or(self.items.first());
        if let Some(item) = billing {
            for d in &self.discounts {
                let same_currency = d
                    .currency
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(&self.currency));
                if let (Some(off), true) = (d.amount_off_minor, same_currency) {
                    let off = monthly(i128::from(off), item.interval, item.interval_count);
                    net = net.saturating_sub(off);
                }
            }
        }
        clamp_i64(net)
    }

    /// The name to show for the plan: the nickname, else the product id, of the item
    /// bringing the most monthly revenue (the first on ties).
    pub fn plan_name(&self) -> Option<String> {
        let mut best: Option<&SubscriptionItem> = None;
        for item in &self.items {
            if best.is_none_or(|b| item.monthly_i128() > b.monthly_i128()) {
                best = Some(item);
            }
        }
        let best = best?;
        best.nickname.clone().or_else(|| best.product.clone())
    }

    /// [`payment_health`] for this subscription.
    pub fn payment_health(&self, latest_invoice: Option<&Invoice>) -> PaymentHealth {
        payment_health(&self.status, latest_invoice)
    }
}

// ---------------------------------------------------------------------------------------
// Account mapping
// ---------------------------------------------------------------------------------------

/// Metadata keys that may hold our customer's id, most specific first: our own keys,
/// then the generic names teams commonly use. Matched case-insensitively.
pub const ACCOUNT_ID_METADATA_KEYS: [&str; 5] = [
    "vcsm_customer_id",
    "vcsm_external_id",
    "customer_id",
    "external_id",
    "account_id",
];

/// Clues for matching a Stripe customer to one of our customers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHint {
    /// The first non-blank value (trimmed) under [`ACCOUNT_ID_METADATA_KEYS`], in order.
    pub customer_id_metadata: Option<String>,
    /// Which of [`ACCOUNT_ID_METADATA_KEYS`] it came from: `vcsm_customer_id` is our id,
    /// the others are the customer's own id (`external_id`).
    pub metadata_key: Option<String>,
    /// The email's lowercase domain, unless it is a free-mail provider (gmail.com,
    /// outlook.com, ...), which many unrelated customers share.
    pub email_domain: Option<String>,
}

pub fn account_hint(customer: &Customer) -> AccountHint {
    let found = ACCOUNT_ID_METADATA_KEYS.iter().find_map(|want| {
        customer.metadata.iter().find_map(|(k, v)| {
            let v = v.trim();
            (k.trim().eq_ignore_ascii_case(want) && !v.is_empty()).then(|| (*want, v.to_string()))
        })
    });
    AccountHint {
        customer_id_metadata: found.as_ref().map(|(_, v)| v.clone()),
        metadata_key: found.map(|(k, _)| k.to_string()),
        email_domain: customer
            .email
            .as_deref()
            .and_then(crate::customer::company_email_domain),
    }
}

// ---------------------------------------------------------------------------------------
// Payment health
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentHealth {
    /// Nothing owed that Stripe failed to collect.
    Good,
    /// A payment failed and Stripe will retry (`next_attempt`): worth a nudge.
    Failing {
        attempts: u32,
        next_attempt: Option<DateTime<Utc>>,
    },
    /// Stripe has stopped retrying, or the subscription is past due/unpaid: money is owed
    /// and the account is at risk.
    Delinquent,
}

/// Payment health from a subscription's status and its latest invoice, first rule wins:
///
/// 1. Latest invoice `paid` → Good (the newest fact: a lagging `past_due` status from an
///    earlier event does not outweigh it; Stripe delivers events out of order).
/// 2. Latest invoice `open`, attempted and with an amount remaining → Failing while Stripe
///    has a `next_payment_attempt`, Delinquent once it has none (retries exhausted).
/// 3. Status `past_due` or `unpaid` → Delinquent.
/// 4. Latest invoice `uncollectible` → Delinquent.
/// 5. Otherwise Good.
///
/// Rule 2 comes before rule 3 because Stripe sets `past_due` as soon as a renewal payment
/// fails, while its retries are still scheduled; that is Failing, not yet Delinquent.
pub fn payment_health(
    status: &SubscriptionStatus,
    latest_invoice: Option<&Invoice>,
) -> PaymentHealth {
    if let Some(inv) = latest_invoice {
        match inv.status {
            Some(InvoiceStatus::Paid) => return PaymentHealth::Good,
            Some(InvoiceStatus::Open) if inv.attempt_count > 0 && inv.amount_remaining > 0 => {
                return match inv.next_payment_attempt {
                    Some(next) => PaymentHealth::Failing {
                        attempts: inv.attempt_count,
                        next_attempt: Some(next),
                    },
                    None => PaymentHealth::Delinquent,
                };
            }
            _ => {}
        }
    }
    if matches!(
        status,
        SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid
    ) {
        return PaymentHealth::Delinquent;
    }
    if latest_invoice.is_some_and(|i| i.status == Some(InvoiceStatus::Uncollectible)) {
        return PaymentHealth::Delinquent;
    }
    PaymentHealth::Good
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const SECRET: &str = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
    const T: i64 = 1_717_243_200; // 2024-06-01T12:00:00Z

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn verify(
        header: &str,
        payload: &[u8],
        secrets: &[&str],
        now: i64,
    ) -> Result<(), SignatureError> {
        verify_signature(header, payload, secrets, at(now), DEFAULT_TOLERANCE_SECS)
    }

    // ---- signatures ---------------------------------------------------------------

    #[test]
    fn signature_valid_and_matches_a_known_vector() {
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let header = sign(body, SECRET, T);
        assert!(header.starts_with(&format!("t={T},v1=")));
        assert_eq!(header.len(), format!("t={T},v1=").len() + 64);
        assert_eq!(verify(&header, body, &[SECRET], T), Ok(()));
        assert_eq!(
            verify(&header, body, &[SECRET], T + 300),
            Ok(()),
            "edge of tolerance"
        );
        // Known answer, computed independently (Python's hmac) for this secret, t and body.
        assert_eq!(
            header,
            format!("t={T},v1=87743192d9a060fece76b4a8c12b5d7ca011c48612930107faed9d90521f74b9")
        );
    }

    #[test]
    fn signature_failures() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, T);
        assert_eq!(
            verify(&header, br#"{"id":"evt_2"}"#, &[SECRET], T),
            Err(SignatureError::NoMatch),
            "tampered body"
        );
        assert_eq!(
            verify(&header, body, &["whsec_other"], T),
            Err(SignatureError::NoMatch),
            "wrong secret"
        );
        assert_eq!(
            verify(&header, body, &[], T),
            Err(SignatureError::NoMatch),
            "no secret configured"
        );
        assert_eq!(
            verify(&sign(body, "", T), body, &["", "  "], T),
            Err(SignatureError::NoMatch),
            "blank secrets are never used"
        );
        assert!(
            matches!(
                verify(&header, body, &[SECRET], T + 301),
                Err(SignatureError::TimestampOutsideTolerance { timestamp: T, .. })
            ),
            "old timestamp"
        );
        assert!(
            matches!(
                verify(&header, body, &[SECRET], T - 301),
                Err(SignatureError::TimestampOutsideTolerance { .. })
            ),
            "future timestamp"
        );
        assert!(
            matches!(
                verify_signature(&header, body, &[SECRET], at(T + 1), -5),
                Err(SignatureError::TimestampOutsideTolerance {
                    tolerance_secs: 0,
                    ..
                })
            ),
            "negative tolerance means none"
        );
        let v0_only = header.replace("v1=", "v0=");
        assert_eq!(
            verify(&v0_only, body, &[SECRET], T),
            Err(SignatureError::NoV1Signature)
        );
        assert_eq!(
            verify(&format!("t={T}"), body, &[SECRET], T),
            Err(SignatureError::NoV1Signature)
        );
        assert_eq!(
            verify("", body, &[SECRET], T),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            verify("  ", body, &[SECRET], T),
            Err(SignatureError::MissingHeader)
        );
        for bad in [
            "garbage",
            "v1=abcd",
            "t=soon,v1=abcd",
            &format!("t={T},t={T},v1=abcd"),
            &format!("t={},v1=abcd", u64::MAX),
        ] {
            assert!(
                matches!(
                    verify(bad, body, &[SECRET], T),
                    Err(SignatureError::MalformedHeader(_))
                ),
                "{bad}"
            );
        }
        let not_hex = format!("t={T},v1=zz");
        assert_eq!(
            verify(&not_hex, body, &[SECRET], T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn any_v1_entry_and_any_secret_may_match() {
        let body = b"{}";
        let good = sign(body, SECRET, T);
        let good_sig = good.split_once(",v1=").unwrap().1;
        let bad_sig = sign(body, "whsec_old", T)
            .split_once(",v1=")
            .unwrap()
            .1
            .to_string();
        let rotating = format!("t={T}, v1={bad_sig}, v1={good_sig}, v0=deadbeef, v9=x");
        assert_eq!(
            verify(&rotating, body, &[SECRET], T),
            Ok(()),
            "second v1 entry"
        );
        assert_eq!(
            verify(&good, body, &["whsec_retired", SECRET], T),
            Ok(()),
            "second secret during rotation"
        );
        let upper = good
            .to_uppercase()
            .replace("T=", "t=")
            .replace("V1=", "v1=");
        assert_eq!(verify(&upper, body, &[SECRET], T), Ok(()), "hex case");
    }

    #[test]
    fn signature_errors_read_well() {
        assert_eq!(
            SignatureError::TimestampOutsideTolerance {
                timestamp: 1,
                now: 400,
                tolerance_secs: 300
            }
            .to_string(),
            "the signature timestamp 1 is more than 300 s away from now (400)"
        );
        assert!(SignatureError::NoV1Signature.to_string().contains("no v1"));
        assert!(SignatureError::MalformedHeader("x".into())
            .to_string()
            .ends_with(": x"));
    }

    // ---- events -------------------------------------------------------------------

    /// `customer.subscription.updated` as Stripe sends it with API version 2024-06-20.
    fn subscription_updated_2024() -> Value {
        serde_json::from_str(
            r#"{
          "id": "evt_1PXq8bLkdIwHu7ixhF3Ktd1N",
          "object": "event",
          "api_version": "2024-06-20",
          "created": 1717243260,
          "data": {
            "object": {
              "id": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q",
              "object": "subscription",
              "application": null,
              "application_fee_percent": null,
              "automatic_tax": {"enabled": false, "liability": null},
              "billing_cycle_anchor": 1714564800,
              "billing_cycle_anchor_config": null,
              "billing_thresholds": null,
              "cancel_at": null,
              "cancel_at_period_end": false,
              "canceled_at": null,
              "cancellation_details": {"comment": null, "feedback": null, "reason": null},
              "collection_method": "charge_automatically",
              "created": 1714564800,
              "currency": "usd",
              "current_period_end": 1719835200,
              "current_period_start": 1717243200,
              "customer": "cus_QOgGdwQ3Ay4Jx1",
              "days_until_due": null,
              "default_payment_method": "pm_1PXq7nLkdIwHu7ixK0wGn8iG",
              "default_source": null,
              "default_tax_rates": [],
              "description": null,
              "discount": null,
              "discounts": [],
              "ended_at": null,
              "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
              "items": {
                "object": "list",
                "data": [{
                  "id": "si_QOgGqmoCNhWx2F",
                  "object": "subscription_item",
                  "billing_thresholds": null,
                  "created": 1714564801,
                  "discounts": [],
                  "metadata": {},
                  "plan": {
                    "id": "price_1PXq6xLkdIwHu7ixTeam0001", "object": "plan", "active": true,
                    "aggregate_usage": null, "amount": 2500, "amount_decimal": "2500",
                    "billing_scheme": "per_unit", "created": 1714000000, "currency": "usd",
                    "interval": "month", "interval_count": 1, "livemode": false, "metadata": {},
                    "meter": null, "nickname": "Team", "product": "prod_QOgF3Zs8dG7Lr0",
                    "tiers_mode": null, "transform_usage": null, "trial_period_days": null,
                    "usage_type": "licensed"
                  },
                  "price": {
                    "id": "price_1PXq6xLkdIwHu7ixTeam0001", "object": "price", "active": true,
                    "billing_scheme": "per_unit", "created": 1714000000, "currency": "usd",
                    "custom_unit_amount": null, "livemode": false, "lookup_key": null,
                    "metadata": {}, "nickname": "Team", "product": "prod_QOgF3Zs8dG7Lr0",
                    "recurring": {
                      "aggregate_usage": null, "interval": "month", "interval_count": 1,
                      "meter": null, "trial_period_days": null, "usage_type": "licensed"
                    },
                    "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
                    "type": "recurring", "unit_amount": 2500, "unit_amount_decimal": "2500"
                  },
                  "quantity": 12,
                  "subscription": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q",
                  "tax_rates": []
                }],
                "has_more": false,
                "total_count": 1,
                "url": "/v1/subscription_items?subscription=sub_1PXq7oLkdIwHu7ixR5yZ2a9q"
              },
              "latest_invoice": "in_1PXq8aLkdIwHu7ixu3wFk1cE",
              "livemode": false,
              "metadata": {"vcsm_customer_id": "c_42"},
              "next_pending_invoice_item_invoice": null,
              "on_behalf_of": null,
              "pause_collection": null,
              "payment_settings": {
                "payment_method_options": null, "payment_method_types": null,
                "save_default_payment_method": "off"
              },
              "pending_invoice_item_interval": null,
              "pending_setup_intent": null,
              "pending_update": null,
              "schedule": null,
              "start_date": 1714564800,
              "status": "active",
              "test_clock": null,
              "transfer_data": null,
              "trial_end": null,
              "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
              "trial_start": null
            },
            "previous_attributes": {
              "items": {"data": [{"id": "si_QOgGqmoCNhWx2F", "quantity": 10}]}
            }
          },
          "livemode": false,
          "pending_webhooks": 1,
          "request": {"id": null, "idempotency_key": null},
          "type": "customer.subscription.updated"
        }"#,
        )
        .unwrap()
    }

    /// The same subscription rendered with API version 2025-03-31.basil: periods live on
    /// the items, the customer is expanded.
    fn subscription_created_basil() -> Value {
        serde_json::from_str(
            r#"{
          "id": "evt_1RAbCdLkdIwHu7ixBasil001",
          "object": "event",
          "api_version": "2025-03-31.basil",
          "created": 1743465600,
          "data": {"object": {
            "id": "sub_1RAbCdLkdIwHu7ixBasil",
            "object": "subscription",
            "billing_cycle_anchor": 1743465600,
            "cancel_at": 1775001600,
            "cancel_at_period_end": true,
            "canceled_at": 1743500000,
            "collection_method": "charge_automatically",
            "created": 1743465600,
            "currency": "eur",
            "customer": {"id": "cus_Basil", "object": "customer", "email": "a@b.de"},
            "discounts": [],
            "ended_at": null,
            "items": {"object": "list", "data": [
              {
                "id": "si_A", "object": "subscription_item", "created": 1743465600,
                "current_period_start": 1743465600, "current_period_end": 1775001600,
                "discounts": [], "metadata": {},
                "price": {
                  "id": "price_year", "object": "price", "currency": "eur",
                  "nickname": null, "product": {"id": "prod_Pro", "object": "product", "name": "Pro"},
                  "recurring": {"interval": "year", "interval_count": 1, "meter": null, "usage_type": "licensed"},
                  "type": "recurring", "unit_amount": 119900, "unit_amount_decimal": "119900"
                },
                "quantity": 1, "subscription": "sub_1RAbCdLkdIwHu7ixBasil", "tax_rates": []
              },
              {
                "id": "si_B", "object": "subscription_item", "created": 1743465600,
                "current_period_start": 1743465600, "current_period_end": 1743552000,
                "price": {
                  "id": "price_calls", "object": "price", "currency": "eur",
                  "product": "prod_Calls",
                  "recurring": {"interval": "month", "interval_count": 1, "meter": "mtr_1", "usage_type": "metered"},
                  "type": "recurring", "unit_amount": null, "unit_amount_decimal": "0.25"
                },
                "subscription": "sub_1RAbCdLkdIwHu7ixBasil"
              }
            ], "has_more": false, "total_count": 2, "url": "/v1/subscription_items?subscription=sub_1RAbCdLkdIwHu7ixBasil"},
            "livemode": true,
            "metadata": {},
            "start_date": 1743465600,
            "status": "trialing",
            "trial_end": 1744675200,
            "trial_start": 1743465600
          }},
          "livemode": true,
          "pending_webhooks": 2,
          "request": {"id": "req_abc", "idempotency_key": "8e0c-idem"},
          "type": "customer.subscription.created"
        }"#,
        )
        .unwrap()
    }

    fn subscription_of(v: &Value) -> Subscription {
        match parse_event(v.to_string().as_bytes()).unwrap().object {
            StripeObject::Subscription(s) => s,
            other => panic!("not a subscription: {other:?}"),
        }
    }

    fn problems(v: &Value) -> Vec<String> {
        parse_event(v.to_string().as_bytes())
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn parses_a_2024_subscription_updated_event() {
        let e = parse_event(subscription_updated_2024().to_string().as_bytes()).unwrap();
        assert_eq!(e.id, "evt_1PXq8bLkdIwHu7ixhF3Ktd1N");
        assert_eq!(e.kind, "customer.subscription.updated");
        assert_eq!(e.created, at(1717243260));
        assert!(!e.livemode);
        assert!(e.is_handled());
        assert_eq!(e.api_version.as_deref(), Some("2024-06-20"));
        let StripeObject::Subscription(s) = e.object else {
            panic!()
        };
        assert_eq!(s.id, "sub_1PXq7oLkdIwHu7ixR5yZ2a9q");
        assert_eq!(s.customer, "cus_QOgGdwQ3Ay4Jx1");
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert_eq!(s.currency, "USD");
        assert_eq!(s.current_period_start, Some(at(1717243200)));
        assert_eq!(s.current_period_end, Some(at(1719835200)));
        assert_eq!(s.start_date, Some(at(1714564800)));
        assert!(!s.cancel_at_period_end);
        assert_eq!((s.canceled_at, s.ended_at, s.trial_end), (None, None, None));
        assert!(s.discounts.is_empty());
        assert_eq!(s.metadata["vcsm_customer_id"], "c_42");
        assert_eq!(
            s.items,
            vec![SubscriptionItem {
                id: "si_QOgGqmoCNhWx2F".into(),
                price_id: "price_1PXq6xLkdIwHu7ixTeam0001".into(),
                product: Some("prod_QOgF3Zs8dG7Lr0".into()),
                nickname: Some("Team".into()),
                unit_amount_minor: Some(2500),
                currency: "USD".into(),
                interval: Interval::Month,
                interval_count: 1,
                quantity: 12,
                usage_type: UsageType::Licensed,
                current_period_start: None,
                current_period_end: None,
            }]
        );
        assert_eq!(s.mrr_minor(), 300_00);
        assert_eq!(s.plan_name().as_deref(), Some("Team"));
    }

    #[test]
    fn parses_the_2025_basil_shape_with_periods_on_items() {
        let e = parse_event(subscription_created_basil().to_string().as_bytes()).unwrap();
        assert!(e.livemode);
        let StripeObject::Subscription(s) = e.object else {
            panic!()
        };
        assert_eq!(
            s.customer, "cus_Basil",
            "expanded customer reduced to its id"
        );
        assert_eq!(s.status, SubscriptionStatus::Trialing);
        assert_eq!(s.currency, "EUR");
        assert_eq!(
            s.current_period_start,
            Some(at(1743465600)),
            "earliest item start"
        );
        assert_eq!(
            s.current_period_end,
            Some(at(1775001600)),
            "latest item end"
        );
        assert!(s.cancel_at_period_end);
        assert_eq!(s.cancel_at, Some(at(1775001600)));
        assert_eq!(s.canceled_at, Some(at(1743500000)));
        assert_eq!(s.trial_end, Some(at(1744675200)));
        assert_eq!(
            s.items[0].product.as_deref(),
            Some("prod_Pro"),
            "expanded product"
        );
        assert_eq!(s.items[0].interval, Interval::Year);
        assert_eq!(s.items[1].usage_type, UsageType::Metered);
        assert_eq!(s.items[1].quantity, 1, "metered items carry no quantity");
        assert_eq!(s.items[1].unit_amount_minor, Some(0), "0.25 rounds to 0");
        // 119900 / 12 = 9991.67 → 9992; the metered item adds nothing.
        assert_eq!(s.mrr_minor(), 9992);
        assert_eq!(
            s.plan_name().as_deref(),
            Some("prod_Pro"),
            "no nickname: product"
        );
    }

    #[test]
    fn subscription_level_period_wins_over_items() {
        let mut v = subscription_created_basil();
        v["data"]["object"]["current_period_end"] = json!(1750000000);
        assert_eq!(subscription_of(&v).current_period_end, Some(at(1750000000)));
    }

    #[test]
    fn parses_the_legacy_plan_shape() {
        let mut v = subscription_updated_2024();
        let item = &mut v["data"]["object"]["items"]["data"][0];
        item.as_object_mut().unwrap().remove("price");
        item["plan"] = json!({
            "id": "gold", "object": "plan", "amount": null, "amount_decimal": "999.5",
            "currency": "gbp", "interval": "month", "interval_count": 3,
            "nickname": "Gold quarterly", "product": {"id": "prod_gold", "object": "product"}
        });
        item["quantity"] = json!(2);
        v["data"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("currency");
        let s = subscription_of(&v);
        let i = &s.items[0];
        assert_eq!(i.price_id, "gold");
        assert_eq!(
            i.unit_amount_minor,
            Some(1000),
            "amount_decimal rounded half up"
        );
        assert_eq!(
            (i.interval, i.interval_count, i.usage_type),
            (Interval::Month, 3, UsageType::Licensed)
        );
        assert_eq!(i.product.as_deref(), Some("prod_gold"));
        assert_eq!(
            s.currency, "GBP",
            "currency from the item when the subscription has none"
        );
        assert_eq!(s.mrr_minor(), 667, "2000 per quarter");
    }

    #[test]
    fn discounts_in_both_shapes() {
        let mut v = subscription_updated_2024();
        v["data"]["object"]["discount"] = json!({
            "id": "di_1", "object": "discount",
            "coupon": {"id": "TEN", "object": "coupon", "percent_off": 10.0, "amount_off": null, "currency": null, "duration": "forever"},
            "customer": "cus_QOgGdwQ3Ay4Jx1", "start": 1714564800, "end": null
        });
        v["data"]["object"]["discounts"] = json!([
            "di_1",
            {"id": "di_1", "object": "discount", "coupon": {"id": "TEN", "percent_off": 10}},
            {"id": "di_2", "object": "discount", "source": {"type": "coupon", "coupon": {"id": "FIVER", "object": "coupon", "percent_off": null, "amount_off": 500, "currency": "usd"}}},
            {"id": "di_3", "object": "discount", "source": {"type": "coupon", "coupon": "UNEXPANDED"}}
        ]);
        let s = subscription_of(&v);
        assert_eq!(s.discounts.len(), 3, "di_1 once, bare ids skipped");
        assert_eq!(s.discounts[0].percent_off, Some(10.0));
        assert_eq!(s.discounts[1].amount_off_minor, Some(500));
        assert_eq!(s.discounts[1].currency.as_deref(), Some("USD"));
        assert_eq!(s.discounts[2].coupon_id.as_deref(), Some("UNEXPANDED"));
        // 30000 × 0.9 − 500 = 26500.
        assert_eq!(s.mrr_minor(), 265_00);
    }

    fn invoice_event(kind: &str, invoice: Value) -> Value {
        json!({
            "id": "evt_1Inv", "object": "event", "api_version": "2024-06-20", "created": 1717243300,
            "data": {"object": invoice}, "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null}, "type": kind
        })
    }

    fn invoice_of(v: &Value) -> Invoice {
        match parse_event(v.to_string().as_bytes()).unwrap().object {
            StripeObject::Invoice(i) => i,
            other => panic!("not an invoice: {other:?}"),
        }
    }

    #[test]
    fn invoice_paid_with_top_level_subscription() {
        let v = invoice_event(
            "invoice.paid",
            json!({
                "id": "in_1PXq8aLkdIwHu7ixu3wFk1cE", "object": "invoice", "account_country": "US",
                "amount_due": 30000, "amount_paid": 30000, "amount_remaining": 0, "amount_shipping": 0,
                "attempt_count": 1, "attempted": true, "auto_advance": false,
                "billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
                "created": 1717243200, "currency": "usd", "customer": "cus_QOgGdwQ3Ay4Jx1",
                "customer_email": "jane@acme.io", "discount": null, "discounts": [],
                "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_x",
                "lines": {"object": "list", "data": [], "has_more": false, "url": "/v1/invoices/in_1/lines"},
                "livemode": false, "metadata": {}, "next_payment_attempt": null,
                "number": "ACME-0007", "paid": true, "period_end": 1717243200, "period_start": 1714564800,
                "status": "paid", "subscription": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q", "subtotal": 30000, "total": 30000
            }),
        );
        let i = invoice_of(&v);
        assert_eq!(
            i.subscription.as_deref(),
            Some("sub_1PXq7oLkdIwHu7ixR5yZ2a9q")
        );
        assert_eq!(i.status, Some(InvoiceStatus::Paid));
        assert_eq!(i.currency, "USD");
        assert_eq!(
            (
                i.amount_due,
                i.amount_paid,
                i.amount_remaining,
                i.attempt_count
            ),
            (30000, 30000, 0, 1)
        );
        assert_eq!(i.number.as_deref(), Some("ACME-0007"));
        assert_eq!(i.billing_reason.as_deref(), Some("subscription_cycle"));
        assert!(i
            .hosted_invoice_url
            .unwrap()
            .starts_with("https://invoice.stripe.com/"));
        assert_eq!(
            (i.period_start, i.period_end),
            (Some(at(1714564800)), Some(at(1717243200)))
        );
        assert_eq!(i.created, at(1717243200));
    }

    #[test]
    fn invoice_payment_failed_with_parent_subscription() {
        let v = invoice_event(
            "invoice.payment_failed",
            json!({
                "id": "in_1RFail", "object": "invoice", "amount_due": 4900, "amount_paid": 0,
                "amount_remaining": 4900, "attempt_count": 2, "attempted": true,
                "billing_reason": "subscription_cycle", "created": 1743465600, "currency": "eur",
                "customer": {"id": "cus_Basil", "object": "customer"},
                "lines": {"object": "list", "data": [{"id": "il_1", "object": "line_item",
                    "parent": {"type": "subscription_item_details", "subscription_item_details": {"subscription": "sub_from_line", "subscription_item": "si_A"}}}]},
                "next_payment_attempt": 1743724800, "number": null,
                "parent": {"quote_details": null, "subscription_details": {"metadata": {}, "subscription": "sub_1RAbCdLkdIwHu7ixBasil"}, "type": "subscription_details"},
                "status": "open"
            }),
        );
        let i = invoice_of(&v);
        assert_eq!(i.subscription.as_deref(), Some("sub_1RAbCdLkdIwHu7ixBasil"));
        assert_eq!(i.customer, "cus_Basil");
        assert_eq!(i.status, Some(InvoiceStatus::Open));
        assert_eq!(i.next_payment_attempt, Some(at(1743724800)));
        assert_eq!(i.number, None);
        assert_eq!(
            payment_health(&SubscriptionStatus::PastDue, Some(&i)),
            PaymentHealth::Failing {
                attempts: 2,
                next_attempt: Some(at(1743724800))
            }
        );
        // Without parent, the line's subscription is used.
        let mut v2 = v.clone();
        v2["data"]["object"]["parent"] = Value::Null;
        assert_eq!(
            invoice_of(&v2).subscription.as_deref(),
            Some("sub_from_line")
        );
    }

    #[test]
    fn charge_refunded() {
        let v = json!({
            "id": "evt_3PXq", "object": "event", "api_version": "2024-06-20", "created": 1717250000,
            "data": {"object": {
                "id": "ch_3PXq9cLkdIwHu7ix0Y4sX1", "object": "charge", "amount": 30000,
                "amount_captured": 30000, "amount_refunded": 30000, "captured": true, "created": 1717243205,
                "currency": "usd", "customer": "cus_QOgGdwQ3Ay4Jx1", "invoice": "in_1PXq8aLkdIwHu7ixu3wFk1cE",
                "livemode": false, "paid": true, "refunded": true, "status": "succeeded"
            }, "previous_attributes": {"amount_refunded": 0, "refunded": false}},
            "livemode": false, "pending_webhooks": 1, "request": {"id": "req_9", "idempotency_key": null},
            "type": "charge.refunded"
        });
        let StripeObject::Charge(c) = parse_event(v.to_string().as_bytes()).unwrap().object else {
            panic!()
        };
        assert_eq!(
            c,
            Charge {
                id: "ch_3PXq9cLkdIwHu7ix0Y4sX1".into(),
                customer: Some("cus_QOgGdwQ3Ay4Jx1".into()),
                amount: 30000,
                amount_refunded: 30000,
                currency: "USD".into(),
                refunded: true,
                invoice: Some("in_1PXq8aLkdIwHu7ixu3wFk1cE".into()),
                created: at(1717243205),
            }
        );
    }

    fn customer_event(kind: &str) -> Value {
        json!({
            "id": "evt_1Cus", "object": "event", "api_version": "2024-06-20", "created": 1717243000,
            "data": {"object": {
                "id": "cus_QOgGdwQ3Ay4Jx1", "object": "customer", "address": null, "balance": 0,
                "created": 1717243000, "currency": null, "default_source": null, "delinquent": false,
                "description": null, "discount": null, "email": "Jane.Doe@Acme.IO",
                "invoice_prefix": "ACME", "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
                "livemode": false, "metadata": {"external_id": " acme-001 ", "seats": "12"},
                "name": "Acme Inc.", "phone": null, "preferred_locales": [], "shipping": null,
                "tax_exempt": "none", "test_clock": null
            }},
            "livemode": false, "pending_webhooks": 1, "request": {"id": "req_c", "idempotency_key": "k"},
            "type": kind
        })
    }

    #[test]
    fn customer_created_with_metadata_and_deleted() {
        let e = parse_event(customer_event("customer.created").to_string().as_bytes()).unwrap();
        let StripeObject::Customer(c) = e.object else {
            panic!()
        };
        assert_eq!(c.id, "cus_QOgGdwQ3Ay4Jx1");
        assert_eq!(c.email.as_deref(), Some("Jane.Doe@Acme.IO"));
        assert_eq!(c.name.as_deref(), Some("Acme Inc."));
        assert_eq!(c.metadata.len(), 2);
        assert!(!c.deleted);
        assert_eq!(
            account_hint(&c),
            AccountHint {
                customer_id_metadata: Some("acme-001".into()),
                metadata_key: Some("external_id".into()),
                email_domain: Some("acme.io".into()),
            }
        );
        let e = parse_event(customer_event("customer.deleted").to_string().as_bytes()).unwrap();
        let StripeObject::Customer(c) = e.object else {
            panic!()
        };
        assert!(c.deleted);
    }

    #[test]
    fn other_events_are_accepted_as_other() {
        let v = json!({
            "id": "evt_pi", "object": "event", "created": 1717243000, "livemode": false,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 100}},
            "type": "payment_intent.succeeded"
        });
        let e = parse_event(v.to_string().as_bytes()).unwrap();
        assert!(!e.is_handled());
        assert_eq!(
            e.object,
            StripeObject::Other {
                object: "payment_intent".into()
            }
        );
        // A known object kind that does not parse, in an event we do not handle: Other.
        let v = invoice_event(
            "invoice.created",
            json!({"id": "in_x", "object": "invoice", "amount_due": "lots"}),
        );
        let e = parse_event(v.to_string().as_bytes()).unwrap();
        assert_eq!(
            e.object,
            StripeObject::Other {
                object: "invoice".into()
            }
        );
        // ...but a well-formed one still parses.
        let v = invoice_event(
            "invoice.finalized",
            json!({
                "id": "in_y", "object": "invoice", "customer": "cus_1", "currency": "usd",
                "amount_due": 1, "amount_paid": 0, "amount_remaining": 1, "created": 1
            }),
        );
        assert!(matches!(
            parse_event(v.to_string().as_bytes()).unwrap().object,
            StripeObject::Invoice(_)
        ));
    }

    #[test]
    fn problems_name_their_paths() {
        assert_eq!(problems(&json!([1])), vec!["body"]);
        assert_eq!(parse_event(b"{not json").unwrap_err()[0].path, "body");
        assert_eq!(
            problems(&json!({"object": "list"})),
            vec!["object", "id", "type", "created", "data"]
        );
        let mut v = subscription_updated_2024();
        let o = &mut v["data"]["object"];
        o["status"] = json!(3);
        o["customer"] = json!({"object": "customer"});
        o["items"]["data"][0]["price"]["recurring"]["interval"] = json!("fortnight");
        o["items"]["data"][0]["price"]["recurring"]["interval_count"] = json!(0);
        o["items"]["data"][0]["price"]["unit_amount"] = json!(-5);
        o["items"]["data"][0]["quantity"] = json!(-1);
        o["items"]["data"][0]["price"]["currency"] = json!("dollars");
        o["current_period_end"] = json!(1e300);
        o["trial_end"] = json!(i64::MAX);
        o["metadata"] = json!({"k": [1]});
        assert_eq!(
            problems(&v),
            vec![
                "data.object.customer.id",
                "data.object.status",
                "data.object.items.data[0].price.unit_amount",
                "data.object.items.data[0].price.currency",
                "data.object.items.data[0].price.recurring.interval",
                "data.object.items.data[0].price.recurring.interval_count",
                "data.object.items.data[0].quantity",
                "data.object.current_period_end",
                "data.object.trial_end",
                "data.object.metadata.k",
            ]
        );
        let mut v = subscription_updated_2024();
        v["data"]["object"]["object"] = json!("invoice");
        assert_eq!(
            problems(&v)[0],
            "data.object.object",
            "object must match the event type"
        );
        let mut v = subscription_updated_2024();
        v["data"]["object"]["items"]["data"][0]["price"] = json!("price_123");
        v["data"]["object"]["items"]["data"][0]
            .as_object_mut()
            .unwrap()
            .remove("plan");
        assert_eq!(problems(&v), vec!["data.object.items.data[0].price"]);
    }

    #[test]
    fn unknown_statuses_are_kept() {
        let mut v = subscription_updated_2024();
        v["data"]["object"]["status"] = json!("hibernating");
        let s = subscription_of(&v);
        assert_eq!(s.status, SubscriptionStatus::Other("hibernating".into()));
        assert_eq!(s.status.as_str(), "hibernating");
        assert!(s.counts_toward_mrr());
        for raw in [
            "trialing",
            "active",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "canceled",
            "unpaid",
            "paused",
        ] {
            assert_eq!(SubscriptionStatus::parse(raw).as_str(), raw);
        }
        for raw in ["draft", "open", "paid", "uncollectible", "void", "new"] {
            assert_eq!(InvoiceStatus::parse(raw).as_str(), raw);
        }
    }

    #[test]
    fn decimal_amounts() {
        assert_eq!(parse_decimal_minor("2500"), Some(2500));
        assert_eq!(parse_decimal_minor("0.4999"), Some(0));
        assert_eq!(parse_decimal_minor("0.5"), Some(1));
        assert_eq!(parse_decimal_minor(".5"), Some(1));
        assert_eq!(parse_decimal_minor("7."), Some(7));
        assert_eq!(
            parse_decimal_minor("99999999999999999999999"),
            Some(i64::MAX)
        );
        for bad in ["", ".", "-1", "1e3", "1.2.3", " 1 2", "abc"] {
            assert_eq!(parse_decimal_minor(bad), None, "{bad}");
        }
    }

    // ---- MRR ----------------------------------------------------------------------

    fn item(unit: i64, interval: Interval, count: u32, quantity: u64) -> SubscriptionItem {
        SubscriptionItem {
            id: "si".into(),
            price_id: "price".into(),
            product: Some("prod".into()),
            nickname: None,
            unit_amount_minor: Some(unit),
            currency: "USD".into(),
            interval,
            interval_count: count,
            quantity,
            usage_type: UsageType::Licensed,
            current_period_start: None,
            current_period_end: None,
        }
    }

    fn sub(items: Vec<SubscriptionItem>) -> Subscription {
        Subscription {
            id: "sub".into(),
            customer: "cus".into(),
            status: SubscriptionStatus::Active,
            items,
            currency: "USD".into(),
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: None,
            ended_at: None,
            start_date: None,
            trial_start: None,
            trial_end: None,
            discounts: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }

    fn discount(percent: Option<f64>, amount: Option<i64>) -> Discount {
        Discount {
            id: None,
            coupon_id: Some("C".into()),
            percent_off: percent,
            amount_off_minor: amount,
            currency: amount.map(|_| "USD".into()),
        }
    }

    #[test]
    fn mrr_by_interval() {
        use Interval::*;
        assert_eq!(sub(vec![item(49_00, Month, 1, 1)]).mrr_minor(), 49_00);
        assert_eq!(sub(vec![item(1200_00, Year, 1, 1)]).mrr_minor(), 100_00);
        assert_eq!(
            sub(vec![item(1000_00, Year, 1, 1)]).mrr_minor(),
            8333,
            "83.333… rounds down"
        );
        assert_eq!(
            sub(vec![item(1000_02, Year, 1, 1)]).mrr_minor(),
            8334,
            "8333.5 rounds up"
        );
        assert_eq!(
            sub(vec![item(2000_00, Year, 2, 1)]).mrr_minor(),
            8333,
            "biennial"
        );
        assert_eq!(
            sub(vec![item(300_00, Month, 3, 1)]).mrr_minor(),
            100_00,
            "quarterly"
        );
        assert_eq!(sub(vec![item(100, Month, 3, 1)]).mrr_minor(), 33);
        assert_eq!(
            sub(vec![item(10_00, Week, 1, 1)]).mrr_minor(),
            4333,
            "10 × 52 / 12"
        );
        assert_eq!(sub(vec![item(10_00, Week, 2, 1)]).mrr_minor(), 2167);
        assert_eq!(
            sub(vec![item(1_00, Day, 1, 1)]).mrr_minor(),
            3042,
            "365 / 12 = 30.4166…"
        );
        assert_eq!(
            sub(vec![item(25_00, Month, 1, 12)]).mrr_minor(),
            300_00,
            "quantity"
        );
        assert_eq!(
            sub(vec![item(25_00, Month, 1, 0)]).mrr_minor(),
            0,
            "zero seats"
        );
    }

    #[test]
    fn mrr_multiple_items_and_metered() {
        use Interval::*;
        let mut metered = item(5, Month, 1, 1);
        metered.usage_type = UsageType::Metered;
        let mut tiered = item(0, Month, 1, 3);
        tiered.unit_amount_minor = None;
        let mut big = item(12_000_00, Year, 1, 1);
        big.nickname = Some("Enterprise".into());
        let s = sub(vec![item(25_00, Month, 1, 4), metered, tiered, big]);
        assert_eq!(s.mrr_minor(), 100_00 + 1000_00);
        assert_eq!(s.plan_name().as_deref(), Some("Enterprise"));
        assert_eq!(s.items[1].monthly_amount_minor(), 0);
        assert_eq!(sub(vec![]).mrr_minor(), 0);
        assert_eq!(sub(vec![]).plan_name(), None);
    }

    #[test]
    fn mrr_discounts() {
        use Interval::*;
        let mut s = sub(vec![item(100_00, Month, 1, 1)]);
        s.discounts = vec![discount(Some(25.0), None)];
        assert_eq!(s.mrr_minor(), 75_00);
        s.discounts = vec![discount(Some(12.5), None)];
        assert_eq!(s.mrr_minor(), 87_50);
        s.discounts = vec![discount(Some(100.0), None)];
        assert_eq!(s.mrr_minor(), 0);
        s.discounts = vec![discount(None, Some(30_00))];
        assert_eq!(s.mrr_minor(), 70_00);
        s.discounts = vec![discount(None, Some(500_00))];
        assert_eq!(s.mrr_minor(), 0, "never negative");
        s.discounts = vec![discount(Some(50.0), None), discount(None, Some(10_00))];
        assert_eq!(s.mrr_minor(), 40_00, "percent first, then amount");
        let mut euro = discount(None, Some(10_00));
        euro.currency = Some("EUR".into());
        s.discounts = vec![euro];
        assert_eq!(s.mrr_minor(), 100_00, "other currency ignored");
        // amount_off is per invoice: a yearly plan's 120.00 off is 10.00 a month.
        let mut y = sub(vec![item(1200_00, Year, 1, 1)]);
        y.discounts = vec![discount(None, Some(120_00))];
        assert_eq!(y.mrr_minor(), 90_00);
        y.discounts = vec![discount(Some(f64::NAN), None), discount(Some(-5.0), None)];
        assert_eq!(y.mrr_minor(), 100_00, "nonsense percentages change nothing");
    }

    #[test]
    fn mrr_status_and_saturation() {
        use Interval::*;
        for (status, counts) in [
            (SubscriptionStatus::Active, true),
            (SubscriptionStatus::Trialing, true),
            (SubscriptionStatus::PastDue, true),
            (SubscriptionStatus::Unpaid, true),
            (SubscriptionStatus::Canceled, false),
            (SubscriptionStatus::Incomplete, false),
            (SubscriptionStatus::IncompleteExpired, false),
            (SubscriptionStatus::Paused, false),
        ] {
            let mut s = sub(vec![item(10_00, Month, 1, 1)]);
            s.status = status.clone();
            assert_eq!(s.counts_toward_mrr(), counts, "{status:?}");
            assert_eq!(s.mrr_minor(), if counts { 10_00 } else { 0 }, "{status:?}");
        }
        let huge = sub(vec![
            item(i64::MAX, Day, 1, u64::MAX),
            item(i64::MAX, Month, 1, u64::MAX),
        ]);
        assert_eq!(huge.mrr_minor(), i64::MAX);
        let mut h = huge.clone();
        h.discounts = vec![discount(Some(50.0), None)];
        assert_eq!(h.mrr_minor(), i64::MAX / 2 + 1);
        h.discounts = vec![discount(None, Some(i64::MAX))];
        assert_eq!(h.mrr_minor(), 0);
        let mut odd = item(-50, Month, 0, 1);
        assert_eq!(
            sub(vec![odd.clone()]).mrr_minor(),
            0,
            "negative amounts count 0"
        );
        odd.unit_amount_minor = Some(30);
        assert_eq!(
            sub(vec![odd]).mrr_minor(),
            30,
            "interval_count 0 treated as 1"
        );
    }

    // ---- account hints ------------------------------------------------------------

    fn customer(email: Option<&str>, meta: &[(&str, &str)]) -> Customer {
        Customer {
            id: "cus_1".into(),
            email: email.map(str::to_string),
            name: None,
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            deleted: false,
        }
    }

    #[test]
    fn account_hint_metadata_order() {
        let c = customer(
            None,
            &[
                ("account_id", "a"),
                ("customer_id", "c"),
                ("VCSM_Customer_ID", "v"),
                ("vcsm_external_id", " "),
            ],
        );
        let h = account_hint(&c);
        assert_eq!(h.customer_id_metadata.as_deref(), Some("v"));
        assert_eq!(h.metadata_key.as_deref(), Some("vcsm_customer_id"));
        let c = customer(None, &[("account_id", "a"), ("external_id", "e")]);
        assert_eq!(account_hint(&c).customer_id_metadata.as_deref(), Some("e"));
        assert_eq!(
            account_hint(&customer(None, &[("plan", "x")])),
            AccountHint::default()
        );
    }

    #[test]
    fn account_hint_email_domains() {
        let domain = |e: &str| account_hint(&customer(Some(e), &[])).email_domain;
        assert_eq!(domain("ops@Acme.Co.UK").as_deref(), Some("acme.co.uk"));
        assert_eq!(
            domain(" \"odd@name\"@sub.acme.io. ").as_deref(),
            Some("sub.acme.io")
        );
        assert_eq!(
            domain("pat@live.acme.com").as_deref(),
            Some("live.acme.com")
        );
        for free in [
            "a@gmail.com",
            "a@GMAIL.COM",
            "a@outlook.com",
            "a@yahoo.com",
            "a@yahoo.co.uk",
            "a@hotmail.com",
            "a@hotmail.fr",
            "a@icloud.com",
            "a@proton.me",
            "a@aol.com",
            "a@gmx.de",
            "a@gmx.at",
            "a@outlook.com.br",
            "a@web.de",
        ] {
            assert_eq!(domain(free), None, "{free}");
        }
        for bad in [
            "no-at-sign",
            "@acme.io",
            "a@localhost",
            "a@acme..io",
            "a@ac me.io",
            "a@",
        ] {
            assert_eq!(domain(bad), None, "{bad}");
        }
    }

    // ---- payment health -----------------------------------------------------------

    fn invoice(status: InvoiceStatus, attempts: u32, remaining: i64, next: Option<i64>) -> Invoice {
        Invoice {
            id: "in".into(),
            customer: "cus".into(),
            subscription: Some("sub".into()),
            status: Some(status),
            currency: "USD".into(),
            amount_due: 100,
            amount_paid: 100 - remaining,
            amount_remaining: remaining,
            attempt_count: attempts,
            next_payment_attempt: next.map(at),
            created: at(T),
            billing_reason: None,
            number: None,
            hosted_invoice_url: None,
            period_start: None,
            period_end: None,
        }
    }

    #[test]
    fn payment_health_rules() {
        use InvoiceStatus::*;
        use PaymentHealth::*;
        use SubscriptionStatus as S;
        let h = payment_health;
        assert_eq!(h(&S::Active, None), Good);
        assert_eq!(h(&S::Active, Some(&invoice(Paid, 1, 0, None))), Good);
        assert_eq!(
            h(&S::PastDue, Some(&invoice(Paid, 3, 0, None))),
            Good,
            "invoice is newer news"
        );
        assert_eq!(
            h(&S::PastDue, Some(&invoice(Open, 1, 100, Some(T + 86400)))),
            Failing {
                attempts: 1,
                next_attempt: Some(at(T + 86400))
            }
        );
        assert_eq!(
            h(&S::Active, Some(&invoice(Open, 4, 100, None))),
            Delinquent,
            "retries exhausted"
        );
        assert_eq!(h(&S::PastDue, None), Delinquent);
        assert_eq!(
            h(&S::Unpaid, Some(&invoice(Open, 0, 100, None))),
            Delinquent
        );
        assert_eq!(
            h(&S::Canceled, Some(&invoice(Uncollectible, 4, 100, None))),
            Delinquent
        );
        assert_eq!(
            h(&S::Active, Some(&invoice(Open, 0, 100, None))),
            Good,
            "not attempted yet"
        );
        assert_eq!(h(&S::Active, Some(&invoice(Draft, 0, 100, None))), Good);
        let s = sub(vec![]);
        assert_eq!(s.payment_health(None), Good);
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
                (-2_000_000_000i64..5_000_000_000).prop_map(|n| json!(n)),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| json!(f)),
                "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
                prop_oneof![
                    Just("subscription"),
                    Just("customer"),
                    Just("invoice"),
                    Just("charge"),
                    Just("month"),
                    Just("year"),
                    Just("metered"),
                    Just("usd"),
                    Just("0.5"),
                    Just("customer.subscription.updated"),
                    Just("invoice.paid"),
                ]
                .prop_map(|s| Value::String(s.into())),
            ];
            let keys = prop_oneof![
                Just("id"),
                Just("object"),
                Just("type"),
                Just("created"),
                Just("data"),
                Just("items"),
                Just("price"),
                Just("plan"),
                Just("recurring"),
                Just("interval"),
                Just("interval_count"),
                Just("unit_amount"),
                Just("unit_amount_decimal"),
                Just("quantity"),
                Just("currency"),
                Just("customer"),
                Just("status"),
                Just("discount"),
                Just("discounts"),
                Just("coupon"),
                Just("source"),
                Just("percent_off"),
                Just("amount_off"),
                Just("metadata"),
                Just("parent"),
                Just("subscription_details"),
                Just("subscription"),
                Just("lines"),
                Just("amount"),
                Just("usage_type"),
                Just("current_period_end"),
            ]
            .prop_map(str::to_string);
            leaf.prop_recursive(5, 96, 8, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::vec((keys.clone(), inner), 0..8)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        /// Every JSON pointer in a value.
        fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                        out.push(p.clone());
                        pointers(x, p, out);
                    }
                }
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        let p = format!("{here}/{i}");
                        out.push(p.clone());
                        pointers(x, p, out);
                    }
                }
                _ => {}
            }
        }

        fn fixtures() -> Vec<Value> {
            vec![
                subscription_updated_2024(),
                subscription_created_basil(),
                customer_event("customer.updated"),
                invoice_event(
                    "invoice.payment_failed",
                    json!({
                        "id": "in_1", "object": "invoice", "amount_due": 1, "amount_paid": 0,
                        "amount_remaining": 1, "attempt_count": 1, "created": 1, "currency": "usd",
                        "customer": "cus_1", "status": "open", "next_payment_attempt": 2,
                        "parent": {"subscription_details": {"subscription": "sub_1"}},
                        "lines": {"data": [{"subscription": "sub_1"}]}
                    }),
                ),
            ]
        }

        fn check(v: &Value) {
            match parse_event(v.to_string().as_bytes()) {
                Ok(e) => {
                    if let StripeObject::Subscription(s) = &e.object {
                        let m = s.mrr_minor();
                        assert!(m >= 0);
                        let _ = s.plan_name();
                        let _ = s.payment_health(None);
                    }
                    if let StripeObject::Customer(c) = &e.object {
                        let _ = account_hint(c);
                    }
                    if let StripeObject::Invoice(i) = &e.object {
                        let _ = payment_health(&SubscriptionStatus::PastDue, Some(i));
                    }
                }
                Err(p) => assert!(!p.is_empty()),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), header in ".{0,120}") {
                if let Err(p) = parse_event(&bytes) {
                    prop_assert!(!p.is_empty());
                }
                let _ = verify_signature(&header, &bytes, &[SECRET], at(T), DEFAULT_TOLERANCE_SECS);
                let _ = verify_signature(&String::from_utf8_lossy(&bytes), &bytes, &[SECRET, ""], at(T), i64::MIN);
            }

            #[test]
            fn structured_headers_never_panic(
                parts in prop::collection::vec(
                    (prop_oneof![Just("t"), Just("v1"), Just("v0"), Just(""), Just(" t ")],
                     prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[0-9a-fA-F]{0,70}", ".{0,10}"]),
                    0..6),
                tolerance in any::<i64>(),
            ) {
                let header = parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
                let _ = verify_signature(&header, b"{}", &[SECRET], at(T), tolerance);
            }

            #[test]
            fn arbitrary_json_never_panics(v in any_json(), kind in prop_oneof![
                Just("customer.subscription.updated"), Just("invoice.paid"), Just("customer.created"),
                Just("charge.refunded"), Just("invoice.created"), Just("x")
            ]) {
                check(&v);
                let event = json!({"id": "evt_1", "object": "event", "created": 1, "type": kind,
                                   "livemode": false, "data": {"object": v.clone()}});
                check(&event);
                for object in ["subscription", "invoice", "customer", "charge"] {
                    let mut inner = v.clone();
                    if let Value::Object(m) = &mut inner {
                        m.insert("object".into(), json!(object));
                    }
                    check(&json!({"id": "evt_1", "created": 1, "type": kind, "data": {"object": inner}}));
                }
            }

            #[test]
            fn mutated_real_events_never_panic(which in 0usize..4, pick in any::<prop::sample::Index>(), replacement in any_json()) {
                let mut v = fixtures().swap_remove(which);
                let mut ptrs = Vec::new();
                pointers(&v, String::new(), &mut ptrs);
                let ptr = pick.get(&ptrs);
                if let Some(slot) = v.pointer_mut(ptr) {
                    *slot = replacement;
                }
                check(&v);
            }

            #[test]
            fn signed_payloads_verify(payload in prop::collection::vec(any::<u8>(), 0..256),
                                      secret in "whsec_[A-Za-z0-9]{1,40}",
                                      t in 0i64..4_000_000_000,
                                      skew in -300i64..=300) {
                let header = sign(&payload, &secret, t);
                prop_assert_eq!(verify_signature(&header, &payload, &[&secret], at(t + skew), 300), Ok(()));
            }

            #[test]
            fn any_single_byte_change_fails(payload in prop::collection::vec(any::<u8>(), 1..256),
                                            pick in any::<prop::sample::Index>(),
                                            flip in 1u8..=255) {
                let header = sign(&payload, SECRET, T);
                let mut tampered = payload.clone();
                let i = pick.index(tampered.len());
                tampered[i] ^= flip;
                prop_assert_eq!(verify(&header, &tampered, &[SECRET], T), Err(SignatureError::NoMatch));
            }
        }
    }
}
