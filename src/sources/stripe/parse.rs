//! Reading an event body into [`Event`], every problem reported by path, across API versions.

use super::*;

/// A JSON object and its path, for reading fields and reporting problems by path.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    pub(super) fn new(map: &'a Map<String, Value>, path: impl Into<String>) -> Self {
        Self {
            map,
            path: path.into(),
        }
    }

    pub(super) fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field, with JSON `null` treated as absent (Stripe sends `null` for unset).
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
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
    pub(super) fn id(&self, key: &str, required: bool, p: &mut Vec<Problem>) -> Option<String> {
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
    pub(super) fn currency(
        &self,
        key: &str,
        required: bool,
        p: &mut Vec<Problem>,
    ) -> Option<String> {
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
    pub(super) fn metadata(&self, p: &mut Vec<Problem>) -> BTreeMap<String, String> {
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
pub(super) fn parse_decimal_minor(raw: &str) -> Option<i64> {
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
