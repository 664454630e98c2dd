//! Health scoring: a scorecard turns what we know about a customer at a moment (its
//! [`Facts`]) into a 0–100 score and a level, and says why.
//!
//! A scorecard is groups of measures, each with a weight. Every measure reads one number
//! from the facts (active days, open tickets, MRR change…), normalises it to 0–100 by
//! thresholds or by its percentile in the portfolio, and contributes
//! `normalised × its share of the total weight` points. A measure without data (no
//! seats, no tickets, no renewal date) is left out and the others' shares grow to fill
//! its place, so missing data never counts as bad. Every score keeps each measure's raw
//! value, normalised value and points, so the UI can show what makes a score and what
//! moved it between two days ([`explain_change`]).
//!
//! Everything here is a pure function of (facts, scorecard, portfolio, as-of time): the
//! same code scores today, any past day, and the history used for training.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// Days of history a customer's page shows.
pub const HISTORY_DAYS: i64 = 90;

/// Days in a measuring window unless the scorecard says otherwise.
pub const DEFAULT_WINDOW_DAYS: u32 = 28;

/// A health score, 0–100: can't be built out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct HealthScore(u8);

impl HealthScore {
    /// Rounds and clamps `points` into 0–100 (NaN counts as 0).
    pub fn from_points(points: f64) -> Self {
        if points.is_nan() {
            return Self(0);
        }
        Self(points.round().clamp(0.0, 100.0) as u8)
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for HealthScore {
    type Error = String;

    fn try_from(v: u8) -> Result<Self, String> {
        if v <= 100 {
            Ok(Self(v))
        } else {
            Err(format!("a health score is 0–100, not {v}"))
        }
    }
}

impl From<HealthScore> for u8 {
    fn from(s: HealthScore) -> u8 {
        s.0
    }
}

impl fmt::Display for HealthScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Health levels, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    Poor,
    Fair,
    Good,
    Excellent,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Poor, Level::Fair, Level::Good, Level::Excellent];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Poor => "poor",
            Level::Fair => "fair",
            Level::Good => "good",
            Level::Excellent => "excellent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Poor => "Poor",
            Level::Fair => "Fair",
            Level::Good => "Good",
            Level::Excellent => "Excellent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Where each level starts: Poor below `fair`, Fair from `fair`, Good from `good`,
/// Excellent from `excellent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    pub fair: u8,
    pub good: u8,
    pub excellent: u8,
}

impl Default for Levels {
    fn default() -> Self {
        Self {
            fair: 40,
            good: 60,
            excellent: 80,
        }
    }
}

impl Levels {
    pub fn level(&self, score: HealthScore) -> Level {
        let s = score.value();
        if s >= self.excellent {
            Level::Excellent
        } else if s >= self.good {
            Level::Good
        } else if s >= self.fair {
            Level::Fair
        } else {
            Level::Poor
        }
    }
}

/// Product usage in one window of days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageWindow {
    /// Events of any kind.
    pub events: u64,
    /// Days with at least one event.
    pub active_days: u32,
    /// Distinct users (contacts) with at least one event.
    pub active_users: u32,
    /// Distinct event names: the breadth of features used.
    pub features: u32,
    /// Events by name, for the names some measure counts (key events, logins).
    pub by_name: BTreeMap<String, u64>,
}

impl UsageWindow {
    /// Events with any of `names`.
    pub fn count_of(&self, names: &[String]) -> u64 {
        names
            .iter()
            .filter_map(|n| self.by_name.get(n))
            .sum::<u64>()
    }
}

/// How collecting money stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payment {
    Good,
    Failing,
    Delinquent,
}

/// What we know about one customer at the moment scored, gathered from its data before
/// that moment only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The window ending at the moment scored.
    pub current: UsageWindow,
    /// The window before it, for trends.
    pub previous: UsageWindow,
    pub seats: u32,
    /// Contacts who did something in the current window (used the product, wrote a ticket).
    pub contacts_engaged: u32,
    /// Touches by the team (notes, calls, meetings) in the current window.
    pub touches: u32,
    pub open_tickets: u32,
    /// Tickets opened in the current window.
    pub tickets: u32,
    /// Mean sentiment of the current window's tickets, −1 to 1.
    pub ticket_sentiment: Option<f64>,
    /// Urgent or high-priority tickets, or ones flagged with cancellation intent, in the
    /// current window.
    pub escalations: u32,
    /// `None` for customers we don't bill through a connected system.
    pub payment: Option<Payment>,
    pub mrr_minor: i64,
    /// MRR one window ago, when the customer existed then.
    pub mrr_minor_before: Option<i64>,
    pub days_to_renewal: Option<i64>,
    /// The CSM's own view, 1 (very worried) to 5 (very happy), when given.
    pub csm_sentiment: Option<u8>,
    /// Days since the customer's last product event, when it ever had one.
    pub days_since_last_event: Option<u32>,
    /// Days since the customer started (contract start, else first seen).
    pub tenure_days: Option<u32>,
    /// Failed payment attempts in the last 90 days.
    pub failed_payments: u32,
    /// The most negative sentiment among the current window's tickets.
    pub worst_ticket_sentiment: Option<f64>,
    /// A ticket in the current window said the customer means to cancel or leave.
    pub cancellation_intent: bool,
}

/// What a measure reads from the facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeasureKind {
    /// Days with activity in the window.
    ActiveDays,
    /// Users active in the window.
    ActiveUsers,
    /// Active users as a percentage of seats (no data without seats).
    SeatUtilisation,
    /// Events with any of these names in the window (key events, logins…).
    KeyEvents { events: Vec<String> },
    /// Distinct features (event names) used in the window.
    FeatureBreadth,
    /// Percent change of all events against the previous window.
    UsageTrend,
    /// Contacts who did something in the window.
    ContactsEngaged,
    /// Team touches in the window.
    Touches,
    /// The CSM's own view, 1–5 (a manual measure).
    CsmSentiment,
    /// Tickets open now.
    OpenTickets,
    /// Mean ticket sentiment in the window, −100 to 100 (no data without tickets).
    TicketSentiment,
    /// Escalated tickets in the window.
    Escalations,
    /// 100 good, 40 failing, 0 delinquent (no data without billing).
    PaymentHealth,
    /// Percent change of MRR against one window ago.
    MrrChange,
    /// Days until the renewal date (no data without one).
    DaysToRenewal,
}

fn percent_change(before: f64, after: f64) -> Option<f64> {
    if before == 0.0 {
        // From nothing: growth if anything happened, no data if nothing did.
        return (after > 0.0).then_some(100.0);
    }
    Some((after - before) / before * 100.0)
}

impl MeasureKind {
    /// The raw value of this measure for `facts`; `None` when there is no data for it.
    pub fn value(&self, facts: &Facts) -> Option<f64> {
        let cur = &facts.current;
        match self {
            MeasureKind::ActiveDays => Some(f64::from(cur.active_days)),
            MeasureKind::ActiveUsers => Some(f64::from(cur.active_users)),
            MeasureKind::SeatUtilisation => (facts.seats > 0)
                .then(|| f64::from(cur.active_users) / f64::from(facts.seats) * 100.0),
            MeasureKind::KeyEvents { events } => Some(cur.count_of(events) as f64),
            MeasureKind::FeatureBreadth => Some(f64::from(cur.features)),
            MeasureKind::UsageTrend => {
                percent_change(facts.previous.events as f64, cur.events as f64)
            }
            MeasureKind::ContactsEngaged => Some(f64::from(facts.contacts_engaged)),
            MeasureKind::Touches => Some(f64::from(facts.touches)),
            MeasureKind::CsmSentiment => facts.csm_sentiment.map(f64::from),
            MeasureKind::OpenTickets => Some(f64::from(facts.open_tickets)),
            MeasureKind::TicketSentiment => facts.ticket_sentiment.map(|s| s * 100.0),
            MeasureKind::Escalations => Some(f64::from(facts.escalations)),
            MeasureKind::PaymentHealth => facts.payment.map(|p| match p {
                Payment::Good => 100.0,
                Payment::Failing => 40.0,
                Payment::Delinquent => 0.0,
            }),
            MeasureKind::MrrChange => facts
                .mrr_minor_before
                .and_then(|b| percent_change(b as f64, facts.mrr_minor as f64)),
            MeasureKind::DaysToRenewal => facts.days_to_renewal.map(|d| d as f64),
        }
    }

    /// The unit the raw value is shown in.
    pub fn unit(&self) -> &'static str {
        match self {
            MeasureKind::SeatUtilisation | MeasureKind::UsageTrend | MeasureKind::MrrChange => "%",
            MeasureKind::ActiveDays | MeasureKind::DaysToRenewal => " days",
            MeasureKind::CsmSentiment => "/5",
            _ => "",
        }
    }
}

/// How a raw value becomes 0–100.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Normalisation {
    /// 0 at `poor` or worse, 100 at `good` or better, linear between. `poor` above
    /// `good` means lower is better (open tickets).
    Thresholds { poor: f64, good: f64 },
    /// The value's percentile among the portfolio's values for this measure.
    Percentile { higher_is_better: bool },
}

impl Normalisation {
    /// `raw` as 0–100; `portfolio` is every customer's value for the measure, sorted
    /// ascending (only percentiles read it; an empty portfolio gives 50).
    pub fn apply(&self, raw: f64, portfolio: &[f64]) -> f64 {
        match *self {
            Normalisation::Thresholds { poor, good } => {
                if poor == good {
                    return if raw >= good { 100.0 } else { 0.0 };
                }
                ((raw - poor) / (good - poor) * 100.0).clamp(0.0, 100.0)
            }
            Normalisation::Percentile { higher_is_better } => {
                if portfolio.is_empty() {
                    return 50.0;
                }
                // Mid-rank: values below, plus half of those equal.
                let below = portfolio.partition_point(|v| *v < raw);
                let not_above = portfolio.partition_point(|v| *v <= raw);
                let rank = (below as f64 + (not_above - below) as f64 / 2.0)
                    / portfolio.len() as f64
                    * 100.0;
                if higher_is_better {
                    rank
                } else {
                    100.0 - rank
                }
            }
        }
    }
}

/// One measure of a scorecard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// Stable id (lower-case letters, digits, `_`): history and explanations refer to it.
    pub id: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: MeasureKind,
    /// Relative weight within its group.
    pub weight: f64,
    pub normalisation: Normalisation,
}

/// A group of measures (usage, engagement, support, financial).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub label: String,
    /// Relative weight within the scorecard.
    pub weight: f64,
    pub measures: Vec<Measure>,
}

/// An admin's definition of health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub window_days: u32,
    pub levels: Levels,
    pub groups: Vec<Group>,
}

fn measure(id: &str, label: &str, kind: MeasureKind, weight: f64, n: Normalisation) -> Measure {
    Measure {
        id: id.into(),
        label: label.into(),
        kind,
        weight,
        normalisation: n,
    }
}

fn between(poor: f64, good: f64) -> Normalisation {
    Normalisation::Thresholds { poor, good }
}

const HIGHER_RANKS_BETTER: Normalisation = Normalisation::Percentile {
    higher_is_better: true,
};

/// Event names counted as logins by the default scorecard (Segment's and common names).
pub const LOGIN_EVENTS: [&str; 4] = ["Signed In", "Logged In", "Login", "User Signed In"];

impl Default for Scorecard {
    /// The scorecard that ships. Its four groups and weights follow the product
    /// documents' four-component health score (engagement 30 %, success 30 %,
    /// satisfaction 20 %, financial 20 %), mapped onto the data we receive: product
    /// usage (30), engagement with the team and the product (30), support (20) and
    /// financial (20). Thresholds assume the 28-day window.
    fn default() -> Self {
        use MeasureKind as K;
        let logins = LOGIN_EVENTS.iter().map(|s| (*s).to_string()).collect();
        Scorecard {
            window_days: DEFAULT_WINDOW_DAYS,
            levels: Levels::default(),
            groups: vec![
                Group {
                    id: "usage".into(),
                    label: "Usage".into(),
                    weight: 30.0,
                    measures: vec![
                        measure(
                            "active_days",
                            "Active days",
                            K::ActiveDays,
                            30.0,
                            between(2.0, 20.0),
                        ),
                        measure(
                            "seat_utilisation",
                            "Seat utilisation",
                            K::SeatUtilisation,
                            25.0,
                            between(10.0, 70.0),
                        ),
                        measure(
                            "feature_breadth",
                            "Features used",
                            K::FeatureBreadth,
                            20.0,
                            HIGHER_RANKS_BETTER,
                        ),
                        measure(
                            "usage_trend",
                            "Usage trend",
                            K::UsageTrend,
                            25.0,
                            between(-50.0, 10.0),
                        ),
                    ],
                },
                Group {
                    id: "engagement".into(),
                    label: "Engagement".into(),
                    weight: 30.0,
                    measures: vec![
                        measure(
                            "logins",
                            "Logins",
                            K::KeyEvents { events: logins },
                            30.0,
                            HIGHER_RANKS_BETTER,
                        ),
                        measure(
                            "active_users",
                            "Active users",
                            K::ActiveUsers,
                            25.0,
                            HIGHER_RANKS_BETTER,
                        ),
                        measure(
                            "contacts_engaged",
                            "Contacts engaged",
                            K::ContactsEngaged,
                            15.0,
                            between(0.0, 5.0),
                        ),
                        measure(
                            "touches",
                            "Team touches",
                            K::Touches,
                            10.0,
                            between(0.0, 3.0),
                        ),
                        measure(
                            "csm_sentiment",
                            "CSM sentiment",
                            K::CsmSentiment,
                            20.0,
                            between(1.0, 5.0),
                        ),
                    ],
                },
                Group {
                    id: "support".into(),
                    label: "Support".into(),
                    weight: 20.0,
                    measures: vec![
                        measure(
                            "open_tickets",
                            "Open tickets",
                            K::OpenTickets,
                            35.0,
                            between(6.0, 0.0),
                        ),
                        measure(
                            "ticket_sentiment",
                            "Ticket sentiment",
                            K::TicketSentiment,
                            40.0,
                            between(-50.0, 30.0),
                        ),
                        measure(
                            "escalations",
                            "Escalations",
                            K::Escalations,
                            25.0,
                            between(3.0, 0.0),
                        ),
                    ],
                },
                Group {
                    id: "financial".into(),
                    label: "Financial".into(),
                    weight: 20.0,
                    measures: vec![
                        measure(
                            "payment_health",
                            "Payment health",
                            K::PaymentHealth,
                            50.0,
                            between(0.0, 100.0),
                        ),
                        measure(
                            "mrr_change",
                            "MRR change",
                            K::MrrChange,
                            30.0,
                            between(-20.0, 5.0),
                        ),
                        measure(
                            "days_to_renewal",
                            "Days to renewal",
                            K::DaysToRenewal,
                            20.0,
                            between(14.0, 120.0),
                        ),
                    ],
                },
            ],
        }
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_weight(errors: &mut ValidationErrors, path: &str, w: f64) {
    if !(w.is_finite() && w > 0.0 && w <= 1000.0) {
        errors.push(path, "must be a number above 0 and at most 1000");
    }
}

impl Scorecard {
    /// Checks what an admin edited.
    ///
    /// # Errors
    /// Every problem, by path (`groups[1].measures[0].weight`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if !(7..=180).contains(&self.window_days) {
            errors.push("window_days", "must be between 7 and 180 days");
        }
        let l = self.levels;
        if !(0 < l.fair && l.fair < l.good && l.good < l.excellent && l.excellent <= 100) {
            errors.push("levels", "must rise: 0 < Fair < Good < Excellent ≤ 100");
        }
        if self.groups.is_empty() {
            errors.push("groups", "a scorecard needs at least one group");
        }
        let mut ids = std::collections::HashSet::new();
        for (g, group) in self.groups.iter().enumerate() {
            let at = format!("groups[{g}]");
            if !is_slug(&group.id) || !ids.insert(group.id.clone()) {
                errors.push(
                    format!("{at}.id"),
                    "must be unique: lower-case letters, digits and _",
                );
            }
            if group.label.trim().is_empty() {
                errors.push(format!("{at}.label"), "is required");
            }
            check_weight(&mut errors, &format!("{at}.weight"), group.weight);
            if group.measures.is_empty() {
                errors.push(
                    format!("{at}.measures"),
                    "a group needs at least one measure",
                );
            }
            for (k, m) in group.measures.iter().enumerate() {
                let at = format!("{at}.measures[{k}]");
                if !is_slug(&m.id) || !ids.insert(m.id.clone()) {
                    errors.push(
                        format!("{at}.id"),
                        "must be unique: lower-case letters, digits and _",
                    );
                }
                if m.label.trim().is_empty() {
                    errors.push(format!("{at}.label"), "is required");
                }
                check_weight(&mut errors, &format!("{at}.weight"), m.weight);
                if let MeasureKind::KeyEvents { events } = &m.kind {
                    if events.is_empty() || events.iter().any(|e| e.trim().is_empty()) {
                        errors.push(format!("{at}.events"), "name at least one event");
                    }
                }
                if let Normalisation::Thresholds { poor, good } = m.normalisation {
                    if !poor.is_finite() || !good.is_finite() {
                        errors.push(format!("{at}.normalisation"), "thresholds must be numbers");
                    } else if poor == good {
                        errors.push(
                            format!("{at}.normalisation"),
                            "the poor and good thresholds must differ",
                        );
                    }
                }
            }
        }
        errors.into_result(())
    }

    /// Every measure with its group, in order.
    pub fn measures(&self) -> impl Iterator<Item = (&Group, &Measure)> {
        self.groups
            .iter()
            .flat_map(|g| g.measures.iter().map(move |m| (g, m)))
    }

    /// Event names some measure counts: the facts must carry their counts.
    pub fn counted_events(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .measures()
            .filter_map(|(_, m)| match &m.kind {
                MeasureKind::KeyEvents { events } => Some(events.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Every customer's raw value per measure id, sorted: what percentiles rank against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    values: BTreeMap<String, Vec<f64>>,
}

impl Portfolio {
    /// Gathers the raw values of every measure over `facts` (one per customer).
    pub fn from_facts<'f>(card: &Scorecard, facts: impl IntoIterator<Item = &'f Facts>) -> Self {
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let measures: Vec<&Measure> = card
            .measures()
            .filter(|(_, m)| matches!(m.normalisation, Normalisation::Percentile { .. }))
            .map(|(_, m)| m)
            .collect();
        for f in facts {
            for m in &measures {
                if let Some(v) = m.kind.value(f).filter(|v| v.is_finite()) {
                    values.entry(m.id.clone()).or_default().push(v);
                }
            }
        }
        for v in values.values_mut() {
            v.sort_unstable_by(f64::total_cmp);
        }
        Self { values }
    }

    pub fn values(&self, measure_id: &str) -> &[f64] {
        self.values.get(measure_id).map_or(&[], Vec::as_slice)
    }
}

/// One measure's part in a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureScore {
    pub id: String,
    pub label: String,
    pub group: String,
    /// `None`: no data, left out.
    pub raw: Option<f64>,
    pub normalised: Option<f64>,
    /// Share of the whole score this measure had (0–1; 0 when left out).
    pub share: f64,
    /// Points it contributed: `normalised × share` (of 100).
    pub points: f64,
    pub unit: String,
}

/// One group's part in a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    pub id: String,
    pub label: String,
    /// The group's own 0–100 score (over its measures with data), `None` without data.
    pub score: Option<f64>,
    pub share: f64,
    pub points: f64,
}

/// A customer's health at a moment, with everything that made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub score: HealthScore,
    pub level: Level,
    pub groups: Vec<GroupScore>,
    pub measures: Vec<MeasureScore>,
}

/// Scores `facts` with `card`, ranking percentile measures against `portfolio`.
///
/// Shares: a group's share is its weight over the weights of groups with any data; a
/// measure's share is its weight over the weights of its group's measures with data,
/// times its group's share. So the points always add up to the score.
pub fn score(card: &Scorecard, facts: &Facts, portfolio: &Portfolio) -> Health {
    struct Row<'a> {
        group: &'a Group,
        measure: &'a Measure,
        raw: Option<f64>,
        normalised: Option<f64>,
    }
    let rows: Vec<Row<'_>> = card
        .measures()
        .map(|(group, measure)| {
            let raw = measure.kind.value(facts).filter(|v| v.is_finite());
            let normalised = raw.map(|r| {
                measure
                    .normalisation
                    .apply(r, portfolio.values(&measure.id))
            });
            Row {
                group,
                measure,
                raw,
                normalised,
            }
        })
        .collect();
    let group_has_data = |g: &Group| {
        rows.iter()
            .any(|r| r.group.id == g.id && r.normalised.is_some())
    };
    let group_total: f64 = card
        .groups
        .iter()
        .filter(|g| group_has_data(g))
        .map(|g| g.weight)
        .sum();
    let mut groups = Vec::new();
    let mut measures = Vec::new();
    for g in &card.groups {
        let in_group: Vec<&Row<'_>> = rows.iter().filter(|r| r.group.id == g.id).collect();
        let weight_with_data: f64 = in_group
            .iter()
            .filter(|r| r.normalised.is_some())
            .map(|r| r.measure.weight)
            .sum();
        let group_share = if weight_with_data > 0.0 && group_total > 0.0 {
            g.weight / group_total
        } else {
            0.0
        };
        let mut group_points = 0.0;
        for r in in_group {
            let share = match r.normalised {
                Some(_) if weight_with_data > 0.0 => {
                    group_share * r.measure.weight / weight_with_data
                }
                _ => 0.0,
            };
            let points = r.normalised.unwrap_or(0.0) * share;
            group_points += points;
            measures.push(MeasureScore {
                id: r.measure.id.clone(),
                label: r.measure.label.clone(),
                group: g.id.clone(),
                raw: r.raw,
                normalised: r.normalised,
                share,
                points,
                unit: r.measure.kind.unit().into(),
            });
        }
        groups.push(GroupScore {
            id: g.id.clone(),
            label: g.label.clone(),
            score: (group_share > 0.0).then(|| group_points / group_share),
            share: group_share,
            points: group_points,
        });
    }
    let total: f64 = groups.iter().map(|g| g.points).sum();
    // No data at all: the middle of the scale rather than a red alarm.
    let score = if group_total > 0.0 {
        HealthScore::from_points(total)
    } else {
        HealthScore::from_points(50.0)
    };
    Health {
        score,
        level: card.levels.level(score),
        groups,
        measures,
    }
}

/// Formats a raw value for people: whole numbers plainly, others with one decimal.
pub fn format_value(v: f64, unit: &str) -> String {
    let body = if (v - v.round()).abs() < 0.05 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    };
    format!("{body}{unit}")
}

/// One measure's part in a change of score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureChange {
    pub id: String,
    pub label: String,
    pub points: f64,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// "key events down 52 % (410 → 197)".
    pub text: String,
}

/// One group's part in a change of score, its measures biggest mover first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupChange {
    pub id: String,
    pub label: String,
    pub points: f64,
    pub measures: Vec<MeasureChange>,
    /// "Usage −18 pts: key events down 52 % (410 → 197)".
    pub text: String,
}

fn signed_points(p: f64) -> String {
    let r = p.round() as i64;
    if r > 0 {
        format!("+{r} pts")
    } else if r < 0 {
        format!("−{} pts", -r)
    } else if p > 0.0 {
        "+<1 pt".into()
    } else if p < 0.0 {
        "−<1 pt".into()
    } else {
        "±0 pts".into()
    }
}

fn describe_move(label: &str, before: Option<f64>, after: Option<f64>, unit: &str) -> String {
    let label = label.to_lowercase();
    match (before, after) {
        (None, None) => format!("{label}: no data"),
        (None, Some(a)) => format!("{label} now {}", format_value(a, unit)),
        (Some(b), None) => format!("{label} no longer measured (was {})", format_value(b, unit)),
        (Some(b), Some(a)) => {
            let span = format!("{} → {}", format_value(b, unit), format_value(a, unit));
            // Percent changes of percentages or of signed values read badly: say the span.
            if unit == "%" || b <= 0.0 || a < 0.0 {
                let dir = if a > b {
                    "up"
                } else if a < b {
                    "down"
                } else {
                    "unchanged"
                };
                format!("{label} {dir} ({span})")
            } else if (a - b).abs() < f64::EPSILON {
                format!("{label} unchanged ({span})")
            } else {
                let pct = ((a - b) / b * 100.0).abs().round();
                let dir = if a > b { "up" } else { "down" };
                format!("{label} {dir} {pct} % ({span})")
            }
        }
    }
}

/// What moved a customer's score from `before` to `after`, biggest group move first.
/// Measures are matched by id, so a change of scorecard between the two shows measures
/// appearing or going.
pub fn explain_change(before: &Health, after: &Health) -> Vec<GroupChange> {
    let mut group_ids: Vec<(&str, &str)> = after
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.label.as_str()))
        .collect();
    for g in &before.groups {
        if !group_ids.iter().any(|(id, _)| *id == g.id) {
            group_ids.push((g.id.as_str(), g.label.as_str()));
        }
    }
    let find = |h: &Health, id: &str| h.measures.iter().find(|m| m.id == id).cloned();
    let mut changes: Vec<GroupChange> = group_ids
        .into_iter()
        .map(|(gid, glabel)| {
            let mut ids: Vec<&str> = after
                .measures
                .iter()
                .chain(&before.measures)
                .filter(|m| m.group == gid)
                .map(|m| m.id.as_str())
                .collect();
            ids.dedup();
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            let mut measures: Vec<MeasureChange> = ids
                .into_iter()
                .map(|id| {
                    let b = find(before, id);
                    let a = find(after, id);
                    let any = a.as_ref().or(b.as_ref()).cloned();
                    let (label, unit) = any.map(|m| (m.label, m.unit)).unwrap_or_default();
                    let points =
                        a.as_ref().map_or(0.0, |m| m.points) - b.as_ref().map_or(0.0, |m| m.points);
                    let (rb, ra) = (b.and_then(|m| m.raw), a.and_then(|m| m.raw));
                    MeasureChange {
                        id: id.to_string(),
                        text: describe_move(&label, rb, ra, &unit),
                        label,
                        points,
                        before: rb,
                        after: ra,
                    }
                })
                .collect();
            measures.sort_by(|x, y| y.points.abs().total_cmp(&x.points.abs()));
            let points: f64 = measures.iter().map(|m| m.points).sum();
            let why = measures
                .iter()
                .filter(|m| m.points.abs() >= 0.5)
                .take(2)
                .map(|m| m.text.clone())
                .collect::<Vec<_>>();
            let text = if why.is_empty() {
                format!("{glabel} {}", signed_points(points))
            } else {
                format!("{glabel} {}: {}", signed_points(points), why.join("; "))
            };
            GroupChange {
                id: gid.to_string(),
                label: glabel.to_string(),
                points,
                measures,
                text,
            }
        })
        .collect();
    changes.sort_by(|x, y| y.points.abs().total_cmp(&x.points.abs()));
    changes
}

/// Which way a score is going over a span of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    Improving,
    Stable,
    Declining,
    /// No score that long ago.
    Unknown,
}

/// Points of change below which a score counts as stable.
pub const STABLE_BAND: i16 = 3;

/// The trend from the score `then` (if there was one) to `now`.
pub fn trend(then: Option<HealthScore>, now: HealthScore) -> Trend {
    match then {
        None => Trend::Unknown,
        Some(t) => {
            let d = i16::from(now.value()) - i16::from(t.value());
            if d >= STABLE_BAND {
                Trend::Improving
            } else if d <= -STABLE_BAND {
                Trend::Declining
            } else {
                Trend::Stable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(events: u64, active_days: u32, active_users: u32, features: u32) -> UsageWindow {
        UsageWindow {
            events,
            active_days,
            active_users,
            features,
            by_name: BTreeMap::new(),
        }
    }

    fn healthy() -> Facts {
        let mut current = window(900, 22, 18, 12);
        current.by_name.insert("Signed In".into(), 300);
        Facts {
            current,
            previous: window(850, 21, 17, 11),
            seats: 20,
            contacts_engaged: 8,
            touches: 3,
            open_tickets: 0,
            tickets: 1,
            ticket_sentiment: Some(0.5),
            escalations: 0,
            payment: Some(Payment::Good),
            mrr_minor: 110_000,
            mrr_minor_before: Some(100_000),
            days_to_renewal: Some(200),
            csm_sentiment: Some(5),
            ..Facts::default()
        }
    }

    fn thresholds_only() -> Scorecard {
        let mut card = Scorecard::default();
        for g in &mut card.groups {
            for m in &mut g.measures {
                if matches!(m.normalisation, Normalisation::Percentile { .. }) {
                    m.normalisation = between(0.0, 100.0);
                }
            }
        }
        card
    }

    #[test]
    fn health_scores_are_bounded() {
        assert_eq!(HealthScore::from_points(-3.0).value(), 0);
        assert_eq!(HealthScore::from_points(100.6).value(), 100);
        assert_eq!(HealthScore::from_points(59.5).value(), 60);
        assert_eq!(HealthScore::from_points(f64::NAN).value(), 0);
        assert!(HealthScore::try_from(101).is_err());
        assert!(serde_json::from_str::<HealthScore>("101").is_err());
        assert_eq!(
            serde_json::from_str::<HealthScore>("42").unwrap().value(),
            42
        );
    }

    #[test]
    fn levels_follow_the_configured_bounds() {
        let l = Levels::default();
        let level = |s| l.level(HealthScore::from_points(s));
        assert_eq!(level(0.0), Level::Poor);
        assert_eq!(level(39.0), Level::Poor);
        assert_eq!(level(40.0), Level::Fair);
        assert_eq!(level(59.0), Level::Fair);
        assert_eq!(level(60.0), Level::Good);
        assert_eq!(level(79.0), Level::Good);
        assert_eq!(level(80.0), Level::Excellent);
        assert_eq!(level(100.0), Level::Excellent);
        let strict = Levels {
            fair: 50,
            good: 70,
            excellent: 90,
        };
        assert_eq!(strict.level(HealthScore::from_points(85.0)), Level::Good);
    }

    #[test]
    fn every_measure_reads_its_fact() {
        let f = healthy();
        let v = |k: MeasureKind| k.value(&f);
        assert_eq!(v(MeasureKind::ActiveDays), Some(22.0));
        assert_eq!(v(MeasureKind::ActiveUsers), Some(18.0));
        assert_eq!(v(MeasureKind::SeatUtilisation), Some(90.0));
        assert_eq!(
            v(MeasureKind::KeyEvents {
                events: vec!["Signed In".into(), "Login".into()]
            }),
            Some(300.0)
        );
        assert_eq!(v(MeasureKind::FeatureBreadth), Some(12.0));
        let trend = v(MeasureKind::UsageTrend).unwrap();
        assert!((trend - 900.0 / 850.0 * 100.0 + 100.0).abs() < 1e-9);
        assert_eq!(v(MeasureKind::ContactsEngaged), Some(8.0));
        assert_eq!(v(MeasureKind::Touches), Some(3.0));
        assert_eq!(v(MeasureKind::CsmSentiment), Some(5.0));
        assert_eq!(v(MeasureKind::OpenTickets), Some(0.0));
        assert_eq!(v(MeasureKind::TicketSentiment), Some(50.0));
        assert_eq!(v(MeasureKind::Escalations), Some(0.0));
        assert_eq!(v(MeasureKind::PaymentHealth), Some(100.0));
        assert_eq!(v(MeasureKind::MrrChange), Some(10.0));
        assert_eq!(v(MeasureKind::DaysToRenewal), Some(200.0));
    }

    #[test]
    fn measures_without_data_say_so() {
        let f = Facts::default();
        for k in [
            MeasureKind::SeatUtilisation,
            MeasureKind::UsageTrend,
            MeasureKind::CsmSentiment,
            MeasureKind::TicketSentiment,
            MeasureKind::PaymentHealth,
            MeasureKind::MrrChange,
            MeasureKind::DaysToRenewal,
        ] {
            assert_eq!(k.value(&f), None, "{k:?}");
        }
        // Growth from nothing is growth; MRR from zero to zero is no data.
        let mut f = Facts::default();
        f.current.events = 5;
        f.mrr_minor_before = Some(0);
        assert_eq!(MeasureKind::UsageTrend.value(&f), Some(100.0));
        assert_eq!(MeasureKind::MrrChange.value(&f), None);
        f.payment = Some(Payment::Failing);
        assert_eq!(MeasureKind::PaymentHealth.value(&f), Some(40.0));
        f.payment = Some(Payment::Delinquent);
        assert_eq!(MeasureKind::PaymentHealth.value(&f), Some(0.0));
    }

    #[test]
    fn thresholds_are_linear_clamped_and_work_both_ways() {
        let up = between(2.0, 20.0);
        assert_eq!(up.apply(2.0, &[]), 0.0);
        assert_eq!(up.apply(0.0, &[]), 0.0);
        assert_eq!(up.apply(11.0, &[]), 50.0);
        assert_eq!(up.apply(20.0, &[]), 100.0);
        assert_eq!(up.apply(28.0, &[]), 100.0);
        let down = between(6.0, 0.0);
        assert_eq!(down.apply(0.0, &[]), 100.0);
        assert_eq!(down.apply(3.0, &[]), 50.0);
        assert_eq!(down.apply(9.0, &[]), 0.0);
        let step = between(5.0, 5.0);
        assert_eq!(step.apply(4.9, &[]), 0.0);
        assert_eq!(step.apply(5.0, &[]), 100.0);
    }

    #[test]
    fn percentiles_rank_within_the_portfolio() {
        let p = HIGHER_RANKS_BETTER;
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(p.apply(0.5, &values), 0.0);
        assert_eq!(p.apply(5.0, &values), 100.0);
        assert_eq!(p.apply(2.0, &values), 37.5, "mid-rank of a tie");
        assert_eq!(p.apply(2.5, &values), 50.0);
        let lower = Normalisation::Percentile {
            higher_is_better: false,
        };
        assert_eq!(lower.apply(5.0, &values), 0.0);
        assert_eq!(p.apply(3.0, &[]), 50.0, "nothing to rank against");
        // Everyone equal: everyone in the middle.
        assert_eq!(p.apply(7.0, &[7.0, 7.0, 7.0]), 50.0);
    }

    #[test]
    fn the_default_scorecard_is_valid_and_weighted_as_documented() {
        let card = Scorecard::default();
        card.validate().unwrap();
        let weights: Vec<(&str, f64)> = card
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.weight))
            .collect();
        assert_eq!(
            weights,
            vec![
                ("usage", 30.0),
                ("engagement", 30.0),
                ("support", 20.0),
                ("financial", 20.0)
            ]
        );
        assert_eq!(card.levels, Levels::default());
        assert_eq!(card.counted_events(), {
            let mut l: Vec<String> = LOGIN_EVENTS.iter().map(|s| s.to_string()).collect();
            l.sort();
            l
        });
        // It survives a round trip through JSON (it is stored so).
        let json = serde_json::to_string(&card).unwrap();
        assert_eq!(serde_json::from_str::<Scorecard>(&json).unwrap(), card);
    }

    #[test]
    fn validation_names_every_problem_by_path() {
        let mut card = Scorecard {
            window_days: 3,
            levels: Levels {
                fair: 60,
                good: 50,
                excellent: 90,
            },
            ..Scorecard::default()
        };
        card.groups[0].weight = 0.0;
        card.groups[1].measures[0].id = "active_days".into();
        card.groups[1].measures[1].label = " ".into();
        card.groups[1].measures[0].kind = MeasureKind::KeyEvents { events: vec![] };
        card.groups[2].measures[0].normalisation = between(1.0, 1.0);
        card.groups[3].measures.clear();
        let errors = card.validate().unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "window_days",
                "levels",
                "groups[0].weight",
                "groups[1].measures[0].id",
                "groups[1].measures[0].events",
                "groups[1].measures[1].label",
                "groups[2].measures[0].normalisation",
                "groups[3].measures",
            ]
        );
        let mut empty = Scorecard::default();
        empty.groups.clear();
        assert!(empty.validate().is_err());
    }

    #[test]
    fn points_add_up_to_the_score_and_shares_to_one() {
        let card = thresholds_only();
        for facts in [healthy(), Facts::default()] {
            let h = score(&card, &facts, &Portfolio::default());
            let total: f64 = h.measures.iter().map(|m| m.points).sum();
            assert_eq!(HealthScore::from_points(total), h.score);
            let shares: f64 = h.measures.iter().map(|m| m.share).sum();
            assert!((shares - 1.0).abs() < 1e-9, "{shares}");
            let group_points: f64 = h.groups.iter().map(|g| g.points).sum();
            assert!((group_points - total).abs() < 1e-9);
        }
    }

    #[test]
    fn a_healthy_customer_scores_excellent_and_a_neglected_one_poor() {
        let card = thresholds_only();
        let h = score(&card, &healthy(), &Portfolio::default());
        assert_eq!(h.level, Level::Excellent, "{}", h.score);
        let mut bad = Facts {
            current: window(10, 1, 1, 1),
            previous: window(400, 20, 10, 8),
            seats: 50,
            open_tickets: 8,
            tickets: 5,
            ticket_sentiment: Some(-0.7),
            escalations: 4,
            payment: Some(Payment::Delinquent),
            mrr_minor: 50_000,
            mrr_minor_before: Some(100_000),
            days_to_renewal: Some(10),
            csm_sentiment: Some(1),
            ..Facts::default()
        };
        bad.current.by_name.insert("Signed In".into(), 1);
        let h = score(&card, &bad, &Portfolio::default());
        assert_eq!(h.level, Level::Poor, "{}", h.score);
        assert!(h.score.value() < 10);
    }

    #[test]
    fn missing_measures_are_left_out_not_counted_as_zero() {
        let card = thresholds_only();
        let mut f = healthy();
        let full = score(&card, &f, &Portfolio::default());
        f.payment = None;
        f.mrr_minor_before = None;
        f.days_to_renewal = None;
        let without_financial = score(&card, &f, &Portfolio::default());
        let fin = without_financial
            .groups
            .iter()
            .find(|g| g.id == "financial")
            .unwrap();
        assert_eq!(fin.score, None);
        assert_eq!(fin.share, 0.0);
        // The other groups fill the space: still excellent, not dragged down 20 points.
        assert_eq!(without_financial.level, Level::Excellent);
        assert!(without_financial.score.value() + 5 >= full.score.value());
        // Nothing at all: the middle, not red.
        let nothing = Scorecard {
            groups: vec![Group {
                id: "g".into(),
                label: "G".into(),
                weight: 1.0,
                measures: vec![measure(
                    "p",
                    "P",
                    MeasureKind::PaymentHealth,
                    1.0,
                    between(0.0, 100.0),
                )],
            }],
            ..Scorecard::default()
        };
        assert_eq!(
            score(&nothing, &Facts::default(), &Portfolio::default())
                .score
                .value(),
            50
        );
    }

    #[test]
    fn weights_decide_how_much_a_measure_counts() {
        let one_group = |w_days: f64, w_tickets: f64| Scorecard {
            groups: vec![Group {
                id: "g".into(),
                label: "G".into(),
                weight: 1.0,
                measures: vec![
                    measure(
                        "d",
                        "Days",
                        MeasureKind::ActiveDays,
                        w_days,
                        between(0.0, 20.0),
                    ),
                    measure(
                        "t",
                        "Tickets",
                        MeasureKind::OpenTickets,
                        w_tickets,
                        between(4.0, 0.0),
                    ),
                ],
            }],
            ..Scorecard::default()
        };
        let mut f = Facts::default();
        f.current.active_days = 20; // 100
        f.open_tickets = 4; // 0
        let p = Portfolio::default();
        assert_eq!(score(&one_group(1.0, 1.0), &f, &p).score.value(), 50);
        assert_eq!(score(&one_group(3.0, 1.0), &f, &p).score.value(), 75);
        assert_eq!(score(&one_group(1.0, 3.0), &f, &p).score.value(), 25);
        // Group weights work the same way one level up.
        let mut two = one_group(1.0, 1.0);
        let tickets = two.groups[0].measures.pop().unwrap();
        two.groups[0].weight = 4.0;
        two.groups.push(Group {
            id: "h".into(),
            label: "H".into(),
            weight: 1.0,
            measures: vec![tickets],
        });
        assert_eq!(score(&two, &f, &p).score.value(), 80);
    }

    #[test]
    fn percentile_measures_rank_against_the_portfolio() {
        let card = Scorecard {
            groups: vec![Group {
                id: "g".into(),
                label: "G".into(),
                weight: 1.0,
                measures: vec![measure(
                    "f",
                    "Features",
                    MeasureKind::FeatureBreadth,
                    1.0,
                    HIGHER_RANKS_BETTER,
                )],
            }],
            ..Scorecard::default()
        };
        let facts: Vec<Facts> = (0..10)
            .map(|i| Facts {
                current: window(0, 0, 0, i),
                ..Facts::default()
            })
            .collect();
        let portfolio = Portfolio::from_facts(&card, &facts);
        assert_eq!(portfolio.values("f").len(), 10);
        let top = score(&card, &facts[9], &portfolio);
        let bottom = score(&card, &facts[0], &portfolio);
        assert_eq!(top.score.value(), 95);
        assert_eq!(bottom.score.value(), 5);
    }

    #[test]
    fn a_change_is_explained_by_group_and_measure() {
        let card = thresholds_only();
        let before = healthy();
        let mut after = healthy();
        after.current.active_days = 8;
        after.current.events = 400;
        after.previous.events = 900;
        let h0 = score(&card, &before, &Portfolio::default());
        let h1 = score(&card, &after, &Portfolio::default());
        let changes = explain_change(&h0, &h1);
        assert_eq!(changes[0].id, "usage", "{changes:#?}");
        assert!(changes[0].points < -5.0);
        let total: f64 = changes.iter().map(|c| c.points).sum();
        let moved = f64::from(h1.score.value()) - f64::from(h0.score.value());
        assert!((total - moved).abs() <= 1.0, "{total} vs {moved}");
        assert!(
            changes[0].text.starts_with("Usage −"),
            "{}",
            changes[0].text
        );
        assert!(
            changes[0]
                .text
                .contains("active days down 64 % (22 days → 8 days)"),
            "{}",
            changes[0].text
        );
        // Untouched groups explain themselves as no change.
        let support = changes.iter().find(|c| c.id == "support").unwrap();
        assert_eq!(support.text, "Support ±0 pts");
    }

    #[test]
    fn moves_are_described_in_words() {
        assert_eq!(
            describe_move("Key events", Some(410.0), Some(197.0), ""),
            "key events down 52 % (410 → 197)"
        );
        assert_eq!(
            describe_move("Seat utilisation", Some(40.0), Some(55.5), "%"),
            "seat utilisation up (40% → 55.5%)"
        );
        assert_eq!(
            describe_move("Usage trend", Some(-10.0), Some(-60.0), "%"),
            "usage trend down (-10% → -60%)"
        );
        assert_eq!(
            describe_move("CSM sentiment", None, Some(4.0), "/5"),
            "csm sentiment now 4/5"
        );
        assert_eq!(
            describe_move("Days to renewal", Some(30.0), None, " days"),
            "days to renewal no longer measured (was 30 days)"
        );
        assert_eq!(
            describe_move("Touches", Some(2.0), Some(2.0), ""),
            "touches unchanged (2 → 2)"
        );
        assert_eq!(signed_points(-17.6), "−18 pts");
        assert_eq!(signed_points(0.2), "+<1 pt");
    }

    #[test]
    fn trends_need_a_real_move() {
        let s = HealthScore::from_points;
        assert_eq!(trend(None, s(50.0)), Trend::Unknown);
        assert_eq!(trend(Some(s(50.0)), s(52.0)), Trend::Stable);
        assert_eq!(trend(Some(s(50.0)), s(53.0)), Trend::Improving);
        assert_eq!(trend(Some(s(50.0)), s(47.0)), Trend::Declining);
    }
}
