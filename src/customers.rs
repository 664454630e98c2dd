//! Customers (accounts): tiers, lifecycle stages, contact roles and the validation of
//! what a user types into the customer form or a CSV row.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::auth::Email;
use crate::money::{parse_currency, parse_major};
use crate::validation::{non_empty, ValidationErrors};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal, $label:literal;)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored form, also used in URLs and CSV files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// The form shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Every stored form, comma-separated: what an error lists as the choices.
            pub fn choices() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }

            /// Accepts the stored form or the label, any case, `-`/`_`/space alike.
            pub fn parse(raw: &str) -> Option<$name> {
                let norm = |s: &str| s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                let want = norm(raw);
                $name::ALL.iter().copied().find(|v| norm(v.as_str()) == want || norm(v.label()) == want)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Service tier, by annual revenue as in the product documents.
    Tier {
        Enterprise => "enterprise", "Enterprise";
        MidMarket => "mid_market", "Mid-Market";
        SmallBusiness => "small_business", "Small Business";
        Trial => "trial", "Trial";
    }
);

string_enum!(
    /// Where the customer is in its lifecycle.
    Stage {
        Trial => "trial", "Trial";
        Onboarding => "onboarding", "Onboarding";
        Active => "active", "Active";
        AtRisk => "at_risk", "At risk";
        Churned => "churned", "Churned";
    }
);

string_enum!(
    /// A contact's role in the relationship.
    ContactRole {
        Champion => "champion", "Champion";
        ExecutiveSponsor => "executive_sponsor", "Executive sponsor";
        Admin => "admin", "Admin";
        User => "user", "User";
    }
);

string_enum!(
    /// How often the customer is billed, and so how often it can leave: a monthly
    /// subscriber decides every month, an annual one at its anniversary.
    BillingPeriod {
        Monthly => "monthly", "Monthly";
        Quarterly => "quarterly", "Quarterly";
        Annual => "annual", "Annual";
    }
);

impl BillingPeriod {
    /// Months in one period.
    pub fn months(self) -> u32 {
        match self {
            BillingPeriod::Monthly => 1,
            BillingPeriod::Quarterly => 3,
            BillingPeriod::Annual => 12,
        }
    }

    /// Accepts the stored form, the label, and the words billing systems use
    /// (`month`, `quarter`, `year`, `yearly`).
    pub fn parse_loose(raw: &str) -> Option<BillingPeriod> {
        BillingPeriod::parse(raw).or_else(|| match raw.trim().to_ascii_lowercase().as_str() {
            "month" | "mo" => Some(BillingPeriod::Monthly),
            "quarter" | "qtr" => Some(BillingPeriod::Quarterly),
            "year" | "yearly" | "annually" | "yr" => Some(BillingPeriod::Annual),
            _ => None,
        })
    }

    /// The period a billing system's interval makes (`month` × 3 is quarterly); `None`
    /// for intervals that are none of the three (weekly, every two years).
    pub fn from_interval(months: u32) -> Option<BillingPeriod> {
        match months {
            1 => Some(BillingPeriod::Monthly),
            3 => Some(BillingPeriod::Quarterly),
            12 => Some(BillingPeriod::Annual),
            _ => None,
        }
    }

    /// The first renewal strictly after `day` of a contract that started on `start` and
    /// renews every period (the 31st renews on the last day of shorter months).
    pub fn next_renewal(self, start: NaiveDate, day: NaiveDate) -> Option<NaiveDate> {
        let step = self.months();
        let elapsed = (day.year() - start.year()) * 12 + day.month() as i32 - start.month() as i32;
        // Periods whole before `day`'s month: one short of the answer at most.
        let mut periods = u32::try_from(elapsed.max(0)).ok()? / step;
        loop {
            let candidate = start.checked_add_months(Months::new(periods.checked_mul(step)?))?;
            if candidate > day {
                return Some(candidate);
            }
            periods += 1;
        }
    }
}

/// A customer's next renewal after `day`: the contract's renewal date when it is still
/// ahead (`renewal_date`, given only for "now": it is today's value), else the next
/// period boundary from the start (`contract_start`, else when the customer was first
/// seen) by the billing period, else (period unknown) the contract's anniversary, as a
/// contract start suggests a yearly contract. `None` without a start.
pub fn next_renewal(
    day: NaiveDate,
    renewal_date: Option<NaiveDate>,
    contract_start: Option<NaiveDate>,
    first_seen: Option<NaiveDate>,
    period: Option<BillingPeriod>,
) -> Option<NaiveDate> {
    if let Some(r) = renewal_date.filter(|r| *r >= day) {
        return Some(r);
    }
    let contract_start = contract_start.filter(|s| *s <= day);
    match period {
        Some(p) => p.next_renewal(contract_start.or(first_seen.filter(|s| *s <= day))?, day),
        None => BillingPeriod::Annual.next_renewal(contract_start?, day),
    }
}

/// Most custom attributes on one customer.
pub const MAX_ATTRIBUTES: usize = 20;
/// Longest attribute name.
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 40;
/// Longest attribute value.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 200;

/// An attribute's name as stored: trimmed, lower case, spaces as `_`.
fn attribute_name(raw: &str) -> Result<String, String> {
    let name = raw.trim().to_lowercase().replace([' ', '-'], "_");
    if name.is_empty() {
        return Err("an attribute needs a name before its colon".into());
    }
    if name.chars().count() > MAX_ATTRIBUTE_NAME_LEN {
        return Err(format!(
            "attribute names are at most {MAX_ATTRIBUTE_NAME_LEN} characters ({name})"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!(
            "attribute names are letters, digits, _ and . ({name})"
        ));
    }
    Ok(name)
}

/// Checks a set of attributes (name → value): names as [`attribute_name`] stores them,
/// values short and on one line, empty values dropped, at most [`MAX_ATTRIBUTES`].
///
/// # Errors
/// A user-facing reason for the first problem.
pub fn validate_attributes<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (name, value) in pairs {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let name = attribute_name(name)?;
        if value.chars().count() > MAX_ATTRIBUTE_VALUE_LEN {
            return Err(format!(
                "{name} must be at most {MAX_ATTRIBUTE_VALUE_LEN} characters"
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{name} must be on one line"));
        }
        if out.insert(name.clone(), value.to_string()).is_some() {
            return Err(format!("{name} is given twice"));
        }
    }
    if out.len() > MAX_ATTRIBUTES {
        return Err(format!("at most {MAX_ATTRIBUTES} attributes"));
    }
    Ok(out)
}

/// Parses attributes as the form takes them: one `name: value` per line.
///
/// # Errors
/// A user-facing reason for the first problem.
pub fn parse_attributes(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pairs = Vec::new();
    for line in raw.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "write one attribute per line as name: value (not \"{}\")",
                line.trim()
            ));
        };
        pairs.push((name, value));
    }
    validate_attributes(pairs)
}

/// The form's text for `attributes`: one `name: value` per line.
pub fn format_attributes(attributes: &BTreeMap<String, String>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Tier {
    /// The tier the product documents give an annual revenue (in USD minor units):
    /// Enterprise ≥ $100k, Mid-Market ≥ $25k, Small Business ≥ $5k, else Trial/Freemium.
    pub fn for_arr_cents(arr: i64) -> Tier {
        match arr {
            a if a >= 100_000_00 => Tier::Enterprise,
            a if a >= 25_000_00 => Tier::MidMarket,
            a if a >= 5_000_00 => Tier::SmallBusiness,
            _ => Tier::Trial,
        }
    }
}

/// Longest customer name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// Most tags on one customer.
pub const MAX_TAGS: usize = 20;
/// Longest single tag.
pub const MAX_TAG_LEN: usize = 40;

/// The customer form as typed: every field a string, exactly as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerInput {
    pub name: String,
    pub external_id: String,
    pub domain: String,
    pub tier: String,
    pub stage: String,
    pub churned_on: String,
    pub plan: String,
    /// MRR in major units, e.g. `"1250.00"`.
    pub mrr: String,
    pub currency: String,
    pub seats: String,
    pub contract_start: String,
    pub renewal_date: String,
    /// The owner's e-mail address, empty for none.
    pub owner_email: String,
    /// Comma-separated.
    pub tags: String,
    /// Monthly, quarterly or annual; empty when unknown.
    #[serde(default)]
    pub billing_period: String,
    /// One `name: value` per line (channel, country, industry…).
    #[serde(default)]
    pub attributes: String,
}

/// A customer that passed validation, ready to store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDraft {
    pub name: String,
    pub external_id: Option<String>,
    pub domain: Option<String>,
    pub tier: Tier,
    pub stage: Stage,
    pub churned_on: Option<NaiveDate>,
    pub plan: Option<String>,
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub owner_email: Option<Email>,
    pub tags: Vec<String>,
    pub billing_period: Option<BillingPeriod>,
    pub attributes: BTreeMap<String, String>,
}

/// Parses `YYYY-MM-DD`.
///
/// # Errors
/// Returns a user-facing reason for any other shape or an impossible date.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| "must be a date like 2026-01-31".to_string())
}

/// Validates a domain name such as `acme.io` (scheme and path are stripped).
///
/// # Errors
/// Returns a user-facing reason when it is not a host name.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let mut d = raw.trim().to_ascii_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(prefix) {
            d = rest.to_string();
        }
    }
    let d = d.trim_end_matches('/').to_string();
    let d = match d.strip_prefix("www.") {
        Some(rest) if rest.contains('.') => rest.to_string(),
        _ => d,
    };
    let labels_ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if d.len() <= 253 && d.contains('.') && labels_ok {
        Ok(d)
    } else {
        Err("must be a domain such as acme.com".into())
    }
}

/// Splits, trims and de-duplicates comma-separated tags.
///
/// # Errors
/// Returns a user-facing reason when there are too many or one is too long.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw.split(',').filter_map(non_empty) {
        if t.chars().count() > MAX_TAG_LEN {
            return Err(format!("each tag must be at most {MAX_TAG_LEN} characters"));
        }
        if !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            tags.push(t.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(tags)
}

impl CustomerInput {
    /// Checks every field and returns all problems at once. `today` bounds dates that
    /// cannot lie in the future (a churn date).
    ///
    /// # Errors
    /// Returns every invalid field with its reason.
    pub fn validate(&self, today: NaiveDate) -> Result<CustomerDraft, ValidationErrors> {
        let mut errors = ValidationErrors::default();

        let name = non_empty(&self.name).map(str::to_string);
        match &name {
            None => errors.push("name", "is required"),
            Some(n) if n.chars().count() > MAX_NAME_LEN => {
                errors.push("name", format!("must be at most {MAX_NAME_LEN} characters"))
            }
            Some(n) if n.chars().any(char::is_control) => {
                errors.push("name", "must not contain control characters")
            }
            _ => {}
        }

        let external_id = non_empty(&self.external_id).map(str::to_string);
        if let Some(x) = &external_id {
            if x.len() > 100 || x.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errors.push(
                    "external_id",
                    "must be at most 100 characters, without spaces",
                );
            }
        }

        let domain = match non_empty(&self.domain).map(parse_domain) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                errors.push("domain", e);
                None
            }
        };

        let tier = Tier::parse(&self.tier);
        if tier.is_none() {
            errors.push(
                "tier",
                "must be one of Enterprise, Mid-Market, Small Business, Trial",
            );
        }
        let stage = Stage::parse(&self.stage);
        if stage.is_none() {
            errors.push(
                "stage",
                "must be one of Trial, Onboarding, Active, At risk, Churned",
            );
        }

        let churned_on = match non_empty(&self.churned_on).map(parse_date) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                errors.push("churned_on", e);
                None
            }
        };
        match (stage, churned_on) {
            (Some(Stage::Churned), None) if non_empty(&self.churned_on).is_none() => {
                errors.push("churned_on", "is required when the stage is Churned")
            }
            (Some(s), Some(_)) if s != Stage::Churned => {
                errors.push("churned_on", "only applies to churned customers")
            }
            (_, Some(d)) if d > today => errors.push("churned_on", "cannot be in the future"),
            _ => {}
        }

        let plan = non_empty(&self.plan).map(str::to_string);
        if plan.as_ref().is_some_and(|p| p.chars().count() > 100) {
            errors.push("plan", "must be at most 100 characters");
        }

        let currency = match parse_currency(if self.currency.trim().is_empty() {
            "USD"
        } else {
            &self.currency
        }) {
            Ok(c) => c,
            Err(e) => {
                errors.push("currency", e);
                "USD".to_string()
            }
        };
        let mrr_minor = if self.mrr.trim().is_empty() {
            0
        } else {
            parse_major(&self.mrr, &currency).unwrap_or_else(|e| {
                errors.push("mrr", e);
                0
            })
        };

        let seats = match non_empty(&self.seats) {
            None => 0,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (0..=10_000_000).contains(&n) => n as i32,
                Ok(_) => {
                    errors.push("seats", "must be between 0 and 10,000,000");
                    0
                }
                Err(_) => {
                    errors.push("seats", "must be a whole number");
                    0
                }
            },
        };

        let mut date_field = |field: &str, raw: &str| match non_empty(raw).map(parse_date) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                errors.push(field, e);
                None
            }
        };
        let contract_start = date_field("contract_start", &self.contract_start);
        let renewal_date = date_field("renewal_date", &self.renewal_date);
        if let (Some(s), Some(r)) = (contract_start, renewal_date) {
            if r < s {
                errors.push("renewal_date", "must be on or after the contract start");
            }
        }
        if let (Some(s), Some(c)) = (contract_start, churned_on) {
            if c < s {
                errors.push("churned_on", "must be on or after the contract start");
            }
        }

        let owner_email = match non_empty(&self.owner_email).map(Email::parse) {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                errors.push("owner_email", e);
                None
            }
        };

        let tags = parse_tags(&self.tags).unwrap_or_else(|e| {
            errors.push("tags", e);
            Vec::new()
        });

        let billing_period = match non_empty(&self.billing_period) {
            None => None,
            Some(raw) => BillingPeriod::parse_loose(raw).or_else(|| {
                errors.push(
                    "billing_period",
                    "must be one of Monthly, Quarterly, Annual",
                );
                None
            }),
        };

        let attributes = parse_attributes(&self.attributes).unwrap_or_else(|e| {
            errors.push("attributes", e);
            BTreeMap::new()
        });

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CustomerDraft {
            name: name.unwrap_or_default(),
            external_id,
            domain,
            tier: tier.unwrap_or(Tier::SmallBusiness),
            stage: stage.unwrap_or(Stage::Active),
            churned_on,
            plan,
            mrr_minor,
            currency,
            seats,
            contract_start,
            renewal_date,
            owner_email,
            tags,
            billing_period,
            attributes,
        })
    }
}

impl CustomerDraft {
    /// The form filled in with this customer, for editing.
    pub fn to_input(&self) -> CustomerInput {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        CustomerInput {
            name: self.name.clone(),
            external_id: self.external_id.clone().unwrap_or_default(),
            domain: self.domain.clone().unwrap_or_default(),
            tier: self.tier.as_str().into(),
            stage: self.stage.as_str().into(),
            churned_on: date(self.churned_on),
            plan: self.plan.clone().unwrap_or_default(),
            mrr: crate::money::to_major_string(self.mrr_minor, &self.currency),
            currency: self.currency.clone(),
            seats: self.seats.to_string(),
            contract_start: date(self.contract_start),
            renewal_date: date(self.renewal_date),
            owner_email: self
                .owner_email
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            tags: self.tags.join(", "),
            billing_period: self
                .billing_period
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            attributes: format_attributes(&self.attributes),
        }
    }
}

/// Email domains shared by unrelated people: a customer's domain says nothing about its
/// account when it is one of these.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "rocketmail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "tuta.io",
    "hey.com",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "free.fr",
    "orange.fr",
    "t-online.de",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
];

/// Providers with a free-mail domain per country (`yahoo.co.uk`, `gmx.at`, `hotmail.fr`).
const FREE_MAIL_FAMILIES: &[&str] = &[
    "gmail", "yahoo", "hotmail", "outlook", "live", "gmx", "aol", "yandex",
];

pub fn is_free_mail(domain: &str) -> bool {
    if FREE_MAIL_DOMAINS.contains(&domain) {
        return true;
    }
    let Some((label, rest)) = domain.split_once('.') else {
        return false;
    };
    if !FREE_MAIL_FAMILIES.contains(&label) {
        return false;
    }
    // Only a country suffix may follow (`fr`, `co.uk`, `com.br`), so `live.acme.com` is
    // not mistaken for Microsoft's `live.com`.
    let short = |s: &str| (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic());
    match rest.split_once('.') {
        None => short(rest),
        Some((second, cc)) => matches!(second, "co" | "com" | "ne" | "or") && short(cc),
    }
}

/// Lowercase domain of an email address, if it looks like one.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_lowercase();
    let valid = !local.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    valid.then_some(domain)
}

/// The company domain of an e-mail address: `None` when it isn't one or is a free-mail
/// provider's (many unrelated people share `gmail.com`).
pub fn company_email_domain(email: &str) -> Option<String> {
    email_domain(email).filter(|d| !is_free_mail(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn valid() -> CustomerInput {
        CustomerInput {
            name: "Acme Corp".into(),
            external_id: "acct_1".into(),
            domain: "https://www.Acme.com/".into(),
            tier: "Mid-Market".into(),
            stage: "active".into(),
            plan: "Business".into(),
            mrr: "2,500.00".into(),
            currency: "usd".into(),
            seats: "25".into(),
            contract_start: "2025-01-15".into(),
            renewal_date: "2026-01-15".into(),
            owner_email: "CSM@Example.com".into(),
            tags: "beta, EU, beta".into(),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_and_normalises_a_full_customer() {
        let d = valid().validate(today()).unwrap();
        assert_eq!(d.domain.as_deref(), Some("acme.com"));
        assert_eq!(d.tier, Tier::MidMarket);
        assert_eq!(d.mrr_minor, 250_000);
        assert_eq!(d.currency, "USD");
        assert_eq!(d.owner_email.unwrap().as_str(), "csm@example.com");
        assert_eq!(d.tags, vec!["beta", "EU"]);
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn renewals_follow_the_billing_period() {
        let start = d("2026-01-31");
        let monthly = BillingPeriod::Monthly;
        assert_eq!(
            monthly.next_renewal(start, d("2026-01-31")),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            monthly.next_renewal(start, d("2026-02-28")),
            Some(d("2026-03-31"))
        );
        assert_eq!(
            monthly.next_renewal(start, d("2026-05-10")),
            Some(d("2026-05-31"))
        );
        assert_eq!(
            monthly.next_renewal(start, d("2025-12-01")),
            Some(d("2026-01-31"))
        );
        let quarterly = BillingPeriod::Quarterly;
        assert_eq!(
            quarterly.next_renewal(d("2025-11-15"), d("2026-06-01")),
            Some(d("2026-08-15"))
        );
        let annual = BillingPeriod::Annual;
        assert_eq!(
            annual.next_renewal(d("2024-02-29"), d("2026-03-01")),
            Some(d("2027-02-28"))
        );
        assert_eq!(
            annual.next_renewal(d("2024-06-01"), d("2026-05-31")),
            Some(d("2026-06-01"))
        );
    }

    #[test]
    fn the_next_renewal_prefers_the_contract_then_the_period() {
        let today = d("2026-06-10");
        let start = Some(d("2025-03-05"));
        let seen = Some(d("2025-04-20"));
        // The contract's date, while ahead.
        let r = next_renewal(
            today,
            Some(d("2026-09-01")),
            start,
            seen,
            Some(BillingPeriod::Monthly),
        );
        assert_eq!(r, Some(d("2026-09-01")));
        // A passed renewal date rolls on by the period.
        let r = next_renewal(
            today,
            Some(d("2026-03-05")),
            start,
            seen,
            Some(BillingPeriod::Monthly),
        );
        assert_eq!(r, Some(d("2026-07-05")));
        // Monthly without a contract start: from when the customer was first seen.
        assert_eq!(
            next_renewal(today, None, None, seen, Some(BillingPeriod::Monthly)),
            Some(d("2026-06-20"))
        );
        // Unknown period: a contract start means a yearly anniversary; nothing else does.
        assert_eq!(
            next_renewal(today, None, start, seen, None),
            Some(d("2027-03-05"))
        );
        assert_eq!(next_renewal(today, None, None, seen, None), None);
    }

    #[test]
    fn choices_list_every_stored_form() {
        assert_eq!(
            Stage::choices(),
            "trial, onboarding, active, at_risk, churned"
        );
        assert_eq!(BillingPeriod::choices(), "monthly, quarterly, annual");
    }

    #[test]
    fn billing_periods_read_the_words_billing_systems_use() {
        assert_eq!(
            BillingPeriod::parse_loose("Monthly"),
            Some(BillingPeriod::Monthly)
        );
        assert_eq!(
            BillingPeriod::parse_loose("year"),
            Some(BillingPeriod::Annual)
        );
        assert_eq!(
            BillingPeriod::parse_loose("quarter"),
            Some(BillingPeriod::Quarterly)
        );
        assert_eq!(BillingPeriod::parse_loose("weekly"), None);
        assert_eq!(
            BillingPeriod::from_interval(3),
            Some(BillingPeriod::Quarterly)
        );
        assert_eq!(BillingPeriod::from_interval(24), None);
    }

    #[test]
    fn attributes_are_named_lines() {
        let a = parse_attributes("Sales Channel: partner\n\ncountry: DE \nempty:   ").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a["sales_channel"], "partner");
        assert_eq!(a["country"], "DE");
        assert_eq!(parse_attributes(&format_attributes(&a)).unwrap(), a);
        assert!(parse_attributes("no colon here")
            .unwrap_err()
            .contains("name: value"));
        assert!(parse_attributes("a: 1\nA: 2")
            .unwrap_err()
            .contains("twice"));
        assert!(parse_attributes(": x").is_err());
        let many: String = (0..=MAX_ATTRIBUTES).map(|i| format!("k{i}: v\n")).collect();
        assert!(parse_attributes(&many).unwrap_err().contains("at most"));
        let input = CustomerInput {
            billing_period: "fortnightly".into(),
            attributes: "bad name!: x".into(),
            ..valid()
        };
        let errors = input.validate(today()).unwrap_err();
        assert!(errors.0.iter().any(|e| e.field == "billing_period"));
        assert!(errors.0.iter().any(|e| e.field == "attributes"));
    }

    #[test]
    fn round_trips_through_the_form() {
        let mut input = valid();
        input.billing_period = "month".into();
        input.attributes = "industry: Retail".into();
        let d = input.validate(today()).unwrap();
        assert_eq!(d.billing_period, Some(BillingPeriod::Monthly));
        assert_eq!(d.to_input().validate(today()).unwrap(), d);
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let input = CustomerInput {
            name: " ".into(),
            domain: "not a domain".into(),
            tier: "gold".into(),
            stage: "sleeping".into(),
            mrr: "-5".into(),
            seats: "2.5".into(),
            contract_start: "2025-13-01".into(),
            owner_email: "nobody".into(),
            ..Default::default()
        };
        let errors = input.validate(today()).unwrap_err();
        for f in [
            "name",
            "domain",
            "tier",
            "stage",
            "mrr",
            "seats",
            "contract_start",
            "owner_email",
        ] {
            assert!(errors.for_field(f).is_some(), "no error for {f}: {errors}");
        }
    }

    #[test]
    fn churn_date_rules() {
        let mut c = valid();
        c.stage = "churned".into();
        assert_eq!(
            c.validate(today()).unwrap_err().for_field("churned_on"),
            Some("is required when the stage is Churned")
        );
        c.churned_on = "2026-07-01".into();
        assert_eq!(
            c.validate(today()).unwrap_err().for_field("churned_on"),
            Some("cannot be in the future")
        );
        c.churned_on = "2024-01-01".into();
        assert_eq!(
            c.validate(today()).unwrap_err().for_field("churned_on"),
            Some("must be on or after the contract start")
        );
        c.churned_on = "2026-02-01".into();
        assert_eq!(
            c.validate(today()).unwrap().churned_on,
            NaiveDate::from_ymd_opt(2026, 2, 1)
        );
        let mut active = valid();
        active.churned_on = "2026-02-01".into();
        assert_eq!(
            active
                .validate(today())
                .unwrap_err()
                .for_field("churned_on"),
            Some("only applies to churned customers")
        );
    }

    #[test]
    fn renewal_after_start_and_limits() {
        let mut c = valid();
        c.renewal_date = "2024-01-01".into();
        assert!(c
            .validate(today())
            .unwrap_err()
            .for_field("renewal_date")
            .is_some());
        let mut c = valid();
        c.name = "x".repeat(MAX_NAME_LEN + 1);
        c.tags = (0..=MAX_TAGS)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        c.seats = "99999999999".into();
        let e = c.validate(today()).unwrap_err();
        assert!(
            e.for_field("name").is_some()
                && e.for_field("tags").is_some()
                && e.for_field("seats").is_some()
        );
    }

    #[test]
    fn enums_parse_labels_and_stored_forms() {
        assert_eq!(Tier::parse("small business"), Some(Tier::SmallBusiness));
        assert_eq!(Tier::parse("MID_MARKET"), Some(Tier::MidMarket));
        assert_eq!(Stage::parse("At risk"), Some(Stage::AtRisk));
        assert_eq!(Stage::parse("at-risk"), Some(Stage::AtRisk));
        assert_eq!(
            ContactRole::parse("Executive Sponsor"),
            Some(ContactRole::ExecutiveSponsor)
        );
        assert_eq!(Tier::parse(""), None);
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(*t));
        }
    }

    #[test]
    fn tier_from_arr() {
        assert_eq!(Tier::for_arr_cents(120_000_00), Tier::Enterprise);
        assert_eq!(Tier::for_arr_cents(25_000_00), Tier::MidMarket);
        assert_eq!(Tier::for_arr_cents(6_000_00), Tier::SmallBusiness);
        assert_eq!(Tier::for_arr_cents(0), Tier::Trial);
    }

    #[test]
    fn domains() {
        assert_eq!(
            parse_domain("http://shop.example.co.uk"),
            Ok("shop.example.co.uk".into())
        );
        assert_eq!(parse_domain("www.com"), Ok("www.com".into()));
        assert_eq!(parse_domain("www.www.acme.com"), Ok("www.acme.com".into()));
        for bad in [
            "localhost",
            "-a.com",
            "a..com",
            "ex ample.com",
            "a.com/path/x",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }
}

/// The "add contact" form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub title: String,
    pub role: String,
}

/// A contact that passed validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDraft {
    pub name: String,
    pub email: Option<Email>,
    pub title: Option<String>,
    pub role: ContactRole,
}

impl ContactInput {
    /// # Errors
    /// Returns every invalid field with its reason.
    pub fn validate(&self) -> Result<ContactDraft, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = non_empty(&self.name).unwrap_or("").to_string();
        if name.is_empty() {
            errors.push("name", "is required");
        } else if name.chars().count() > MAX_NAME_LEN {
            errors.push("name", format!("must be at most {MAX_NAME_LEN} characters"));
        }
        let email = match non_empty(&self.email).map(Email::parse) {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                errors.push("email", e);
                None
            }
        };
        let title = non_empty(&self.title).map(str::to_string);
        if title
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_NAME_LEN)
        {
            errors.push(
                "title",
                format!("must be at most {MAX_NAME_LEN} characters"),
            );
        }
        let role = ContactRole::parse(if self.role.trim().is_empty() {
            "user"
        } else {
            &self.role
        });
        if role.is_none() {
            errors.push("role", "must be Champion, Executive sponsor, Admin or User");
        }
        errors.into_result(()).map(|()| ContactDraft {
            name,
            email,
            title,
            role: role.unwrap_or(ContactRole::User),
        })
    }
}

#[cfg(test)]
mod contact_tests {
    use super::*;

    #[test]
    fn contacts_validate_and_default_to_user() {
        let c = ContactInput {
            name: " Ada ".into(),
            email: "ADA@x.com".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(
            (c.name.as_str(), c.email.unwrap().as_str(), c.role),
            ("Ada", "ada@x.com", ContactRole::User)
        );
        let e = ContactInput {
            name: "".into(),
            email: "nope".into(),
            role: "boss".into(),
            title: "t".repeat(300),
        }
        .validate()
        .unwrap_err();
        for f in ["name", "email", "role", "title"] {
            assert!(e.for_field(f).is_some(), "{f}");
        }
    }
}
