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

mod explain;
mod scorecard;

pub use explain::*;
pub use scorecard::*;

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
    /// The previous window began before the customer did: trends against it are
    /// missing, not growth from nothing (a 27-day-old account is not "+500 %").
    #[serde(default)]
    pub previous_partial: bool,
    /// Failed payment attempts in the last 90 days.
    pub failed_payments: u32,
    /// The most negative sentiment among the current window's tickets.
    pub worst_ticket_sentiment: Option<f64>,
    /// A ticket in the current window said the customer means to cancel or leave.
    pub cancellation_intent: bool,
    /// Months in the customer's billing period, when known.
    #[serde(default)]
    pub billing_months: Option<u32>,
    /// Days since the last event of each name asked for (the churn model's event names),
    /// for the names seen in the last 120 days.
    #[serde(default)]
    pub days_since_event: BTreeMap<String, u32>,
    /// The customer's custom attributes (channel, country…): today's, no history is kept.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
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
            MeasureKind::UsageTrend if facts.previous_partial => None,
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
            // A monthly subscription renews every month: how many days are left in this
            // one says nothing about one customer over another (it was noise).
            MeasureKind::DaysToRenewal if facts.billing_months == Some(1) => None,
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

/// Customers younger than this many days are ranked among customers of their age.
pub const YOUNG_DAYS: u32 = 90;

/// Young customers are ranked among their own only when at least this many have a
/// value for the measure; fewer, and the whole portfolio is the better yardstick.
pub const MIN_COHORT: usize = 20;

/// Whether `facts` belong to a young customer (ranked among its age group).
pub fn is_young(facts: &Facts) -> bool {
    facts.tenure_days.is_some_and(|t| t < YOUNG_DAYS)
}

/// Every customer's raw value per measure id, sorted: what percentiles rank against.
/// Young customers ([`YOUNG_DAYS`]) are ranked among customers of their age: a
/// six-week-old account can't have used as many features as a three-year-old one, and
/// ranking it against those makes every new account look unhealthy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    values: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    young: BTreeMap<String, Vec<f64>>,
}

impl Portfolio {
    /// Gathers the raw values of every measure over `facts` (one per customer).
    pub fn from_facts<'f>(card: &Scorecard, facts: impl IntoIterator<Item = &'f Facts>) -> Self {
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut young: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let measures: Vec<&Measure> = card
            .measures()
            .filter(|(_, m)| matches!(m.normalisation, Normalisation::Percentile { .. }))
            .map(|(_, m)| m)
            .collect();
        for f in facts {
            for m in &measures {
                if let Some(v) = m.kind.value(f).filter(|v| v.is_finite()) {
                    values.entry(m.id.clone()).or_default().push(v);
                    if is_young(f) {
                        young.entry(m.id.clone()).or_default().push(v);
                    }
                }
            }
        }
        for v in values.values_mut().chain(young.values_mut()) {
            v.sort_unstable_by(f64::total_cmp);
        }
        Self { values, young }
    }

    /// The whole portfolio's values for a measure.
    pub fn values(&self, measure_id: &str) -> &[f64] {
        self.values.get(measure_id).map_or(&[], Vec::as_slice)
    }

    /// The values `facts` are ranked against: its age group's when it is young and the
    /// group is large enough ([`MIN_COHORT`]), else everyone's.
    pub fn values_for(&self, measure_id: &str, facts: &Facts) -> &[f64] {
        match self.young.get(measure_id) {
            Some(v) if is_young(facts) && v.len() >= MIN_COHORT => v,
            _ => self.values(measure_id),
        }
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
                    .apply(r, portfolio.values_for(&measure.id, facts))
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

#[cfg(test)]
mod tests;
