//! Churn prediction: the features of a customer at a moment (from the same point-in-time
//! [`Facts`] as its health), the labels of a training set, a calibrated logistic model with
//! the factors behind each prediction, and the metrics that say how well it works (AUC,
//! top-decile lift, calibration, backtest).
//!
//! Inference is plain arithmetic here and compiles everywhere. Fitting (feature
//! `training`, server only) uses linfa's L2-regularised logistic regression: pure Rust, no
//! BLAS to install, explainable coefficients, and fast enough to cross-validate 100,000
//! accounts in seconds. Gradient-boosted trees (forust-ml, pure Rust on stable) compete
//! with it in the forward test and are kept only when they rank clearly better; their
//! trees are stored as plain data ([`trees`]) and walked here.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::health::{Facts, Level, Payment};

/// How far ahead a prediction looks: churned within this many days of the observation.
pub const HORIZON_DAYS: i64 = 90;

/// Fewer churned customers than this in the history and no model is trained: risk falls
/// back to the health score.
pub const MIN_CHURNED: usize = 25;

/// Days between two observation dates of a training set.
pub const OBSERVATION_STEP_DAYS: i64 = 14;

/// One input of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    pub id: &'static str,
    pub label: &'static str,
}

/// The model's inputs, in the order of [`features`]' vector.
pub const FEATURES: [Feature; 20] = [
    Feature {
        id: "events",
        label: "Events (log)",
    },
    Feature {
        id: "events_change",
        label: "Events vs prior window (log ratio)",
    },
    Feature {
        id: "active_days",
        label: "Share of days active",
    },
    Feature {
        id: "active_days_change",
        label: "Active days vs prior window (log ratio)",
    },
    Feature {
        id: "active_users",
        label: "Active users (log)",
    },
    Feature {
        id: "seat_utilisation",
        label: "Seat utilisation",
    },
    Feature {
        id: "features",
        label: "Features used",
    },
    Feature {
        id: "days_since_last_event",
        label: "Months since last activity",
    },
    Feature {
        id: "tenure",
        label: "Tenure (log days)",
    },
    Feature {
        id: "mrr",
        label: "MRR (log)",
    },
    Feature {
        id: "mrr_change",
        label: "MRR vs one window ago (log ratio)",
    },
    Feature {
        id: "open_tickets",
        label: "Open tickets",
    },
    Feature {
        id: "tickets",
        label: "Tickets in the window",
    },
    Feature {
        id: "ticket_sentiment",
        label: "Ticket sentiment",
    },
    Feature {
        id: "escalations",
        label: "Escalations",
    },
    Feature {
        id: "payment",
        label: "Payment trouble (0 good, 1 failing, 2 delinquent)",
    },
    Feature {
        id: "failed_payments",
        label: "Failed payments in 90 days",
    },
    Feature {
        id: "renewal_soon",
        label: "Renewal within 90 days",
    },
    Feature {
        id: "touches",
        label: "Team touches",
    },
    Feature {
        id: "contacts_engaged",
        label: "Contacts engaged (log)",
    },
];

/// A quiet customer's "days since last event" is capped here (and "never" counts as it).
const QUIET_CAP_DAYS: f64 = 120.0;

fn log_ratio(after: f64, before: f64) -> f64 {
    ((after + 1.0) / (before + 1.0)).ln()
}

/// The model's inputs for one customer at one moment, from facts gathered before it.
/// Shapes are chosen for a linear model: logs of counts, log ratios for changes, caps on
/// open-ended values. `window_days` is the length of the facts' usage windows.
pub fn features(f: &Facts, window_days: u32) -> [f64; FEATURES.len()] {
    let cur = &f.current;
    let prev = &f.previous;
    let window = f64::from(window_days.max(1));
    let payment = match f.payment {
        Some(Payment::Failing) => 1.0,
        Some(Payment::Delinquent) => 2.0,
        _ => 0.0,
    };
    // A young customer's previous window is partly before it existed: no change.
    let change = |after: f64, before: f64| {
        if f.previous_partial {
            0.0
        } else {
            log_ratio(after, before)
        }
    };
    [
        (cur.events as f64).ln_1p(),
        change(cur.events as f64, prev.events as f64),
        f64::from(cur.active_days) / window,
        change(f64::from(cur.active_days), f64::from(prev.active_days)),
        f64::from(cur.active_users).ln_1p(),
        if f.seats > 0 {
            (f64::from(cur.active_users) / f64::from(f.seats)).min(2.0)
        } else {
            0.0
        },
        f64::from(cur.features),
        f.days_since_last_event
            .map_or(QUIET_CAP_DAYS, |d| f64::from(d).min(QUIET_CAP_DAYS))
            / 30.0,
        f64::from(f.tenure_days.unwrap_or(0)).ln_1p(),
        (f.mrr_minor.max(0) as f64 / 100.0).ln_1p(),
        f.mrr_minor_before.map_or(0.0, |b| {
            log_ratio(f.mrr_minor.max(0) as f64, b.max(0) as f64)
        }),
        f64::from(f.open_tickets),
        f64::from(f.tickets),
        f.ticket_sentiment.unwrap_or(0.0),
        f64::from(f.escalations),
        payment,
        f64::from(f.failed_payments),
        if f.days_to_renewal.is_some_and(|d| (0..=90).contains(&d)) {
            1.0
        } else {
            0.0
        },
        f64::from(f.touches),
        f64::from(f.contacts_engaged).ln_1p(),
    ]
}

fn percent(before: f64, after: f64) -> String {
    if before <= 0.0 {
        return format!("{after:.0} (from none)");
    }
    let change = (after - before) / before * 100.0;
    if change < 0.0 {
        format!("down {:.0} %", -change)
    } else {
        format!("up {change:.0} %")
    }
}

/// Says in words what feature `index` is for this customer ("events down 52 % vs the
/// prior 28 days"), for the factors shown beside a prediction.
pub fn describe(index: usize, f: &Facts, window_days: u32) -> String {
    let cur = &f.current;
    let prev = &f.previous;
    let w = window_days;
    let id = FEATURES.get(index).map(|x| x.id);
    if f.previous_partial && matches!(id, Some("events_change" | "active_days_change")) {
        return match f.tenure_days {
            Some(d) => format!("Too new for a trend: a customer for {d} days"),
            None => "Too new for a trend".into(),
        };
    }
    match id {
        Some("events") => format!("{} events in the last {w} days", cur.events),
        Some("events_change") => format!(
            "Events {} vs the prior {w} days ({} → {})",
            percent(prev.events as f64, cur.events as f64),
            prev.events,
            cur.events
        ),
        Some("active_days") => format!("Active on {} of the last {w} days", cur.active_days),
        Some("active_days_change") => format!(
            "Active days {} ({} → {})",
            percent(f64::from(prev.active_days), f64::from(cur.active_days)),
            prev.active_days,
            cur.active_days
        ),
        Some("active_users") => format!("{} active users in {w} days", cur.active_users),
        Some("seat_utilisation") if f.seats > 0 => format!(
            "{} of {} seats in use ({:.0} %)",
            cur.active_users,
            f.seats,
            f64::from(cur.active_users) / f64::from(f.seats) * 100.0
        ),
        Some("seat_utilisation") => "No seats on record".into(),
        Some("features") => format!("{} features used in {w} days", cur.features),
        Some("days_since_last_event") => match f.days_since_last_event {
            Some(d) => format!("Last activity {d} days ago"),
            None => "No product activity recorded".into(),
        },
        Some("tenure") => match f.tenure_days {
            Some(d) => format!("Customer for {d} days"),
            None => "Start date unknown".into(),
        },
        Some("mrr") => format!(
            "MRR {}",
            crate::money::group_thousands(f.mrr_minor.max(0) as u64 / 100)
        ),
        Some("mrr_change") => match f.mrr_minor_before {
            Some(b) => format!(
                "MRR {} over {w} days",
                percent(b as f64, f.mrr_minor as f64)
            ),
            None => "No MRR history".into(),
        },
        Some("open_tickets") => format!("{} open tickets", f.open_tickets),
        Some("tickets") => format!("{} tickets in {w} days", f.tickets),
        Some("ticket_sentiment") => match f.ticket_sentiment {
            Some(s) => format!("Ticket sentiment {s:+.2} (−1 to +1)"),
            None => "No recent tickets to read".into(),
        },
        Some("escalations") => format!("{} escalated tickets in {w} days", f.escalations),
        Some("payment") => match f.payment {
            Some(Payment::Failing) => "Payments failing".into(),
            Some(Payment::Delinquent) => "Payments delinquent".into(),
            Some(Payment::Good) => "Payments in good standing".into(),
            None => "Not billed through a connected system".into(),
        },
        Some("failed_payments") => format!("{} failed payments in 90 days", f.failed_payments),
        Some("renewal_soon") => match f.days_to_renewal {
            Some(d) if (0..=90).contains(&d) => format!("Renewal in {d} days"),
            Some(d) => format!("Renewal in {d} days"),
            None => "No renewal date".into(),
        },
        Some("touches") => format!("{} team touches in {w} days", f.touches),
        Some("contacts_engaged") => format!("{} contacts engaged in {w} days", f.contacts_engaged),
        _ => String::new(),
    }
}

/// A probability as a list shows it: whole percents, with the ends said as bounds
/// ("> 99 %", "< 1 %") rather than a certainty no model has.
pub fn probability_text(p: f64) -> String {
    if p >= 0.995 {
        "> 99 %".into()
    } else if p < 0.005 {
        "< 1 %".into()
    } else {
        format!("{:.0} %", p * 100.0)
    }
}

/// How worried to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// Probability from which a customer is at high risk.
pub const HIGH_RISK: f64 = 0.30;
/// Probability from which a customer is at medium risk.
pub const MEDIUM_RISK: f64 = 0.10;

impl Risk {
    pub fn from_probability(p: f64) -> Self {
        if p >= HIGH_RISK {
            Risk::High
        } else if p >= MEDIUM_RISK {
            Risk::Medium
        } else {
            Risk::Low
        }
    }

    /// Without a model: Poor health is high risk, Fair medium.
    pub fn from_health(level: Level) -> Self {
        match level {
            Level::Poor => Risk::High,
            Level::Fair => Risk::Medium,
            _ => Risk::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Risk::Low => "Low",
            Risk::Medium => "Medium",
            Risk::High => "High",
        }
    }
}

/// The shape of a stored model this build reads (older ones are retrained).
pub const MODEL_VERSION: u32 = 2;

/// Features that move together, read as one factor: their standardised values averaged
/// (as *Fighting Churn With Data* groups correlated metrics), so the model doesn't split
/// one behaviour's weight between two names and a CSM reads one factor, not three.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureGroup {
    /// Indices into the spec's features, the most representative first.
    pub members: Vec<usize>,
    /// The first member's label, and how many others it stands for.
    pub label: String,
}

/// A fitted model: what it reads (its [`FeatureSpec`]), how each feature is transformed
/// and scaled, the groups of features it weighs, and Platt calibration of its logit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    pub version: u32,
    pub spec: FeatureSpec,
    /// Per feature of the spec: `ln(1 + x)` before scaling (skewed counts and rates).
    pub log: Vec<bool>,
    /// Per feature, after the transform.
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    pub groups: Vec<FeatureGroup>,
    /// Per group: the mean of its members' standardised values is standardised again.
    pub group_means: Vec<f64>,
    pub group_scales: Vec<f64>,
    /// Coefficients on standardised groups: the log-odds change per standard deviation.
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// Calibration: p = 1 / (1 + exp(a · logit + b)), fitted on out-of-fold logits.
    pub platt_a: f64,
    pub platt_b: f64,
    /// Gradient-boosted trees on the group values, added to the logit (the weights are
    /// then zero): present when trees won the forward test.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trees: Vec<trees::Tree>,
}

/// One reason behind a prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub feature: String,
    /// "Events down 52 % vs the prior 28 days".
    pub text: String,
    /// Its push on the log-odds of churn (positive raises the risk).
    pub impact: f64,
}

/// A prediction for one customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub probability: f64,
    pub risk: Risk,
    /// The largest pushes towards churn, biggest first (at most [`TOP_FACTORS`]).
    pub factors: Vec<Factor>,
}

/// Factors kept per prediction.
pub const TOP_FACTORS: usize = 3;

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl ChurnModel {
    /// Whether this build can read the model (its shape and lengths agree).
    pub fn is_compatible(&self) -> bool {
        let n = self.spec.features().len();
        let g = self.groups.len();
        self.version == MODEL_VERSION
            && self.log.len() == n
            && self.means.len() == n
            && self.scales.len() == n
            && self.group_means.len() == g
            && self.group_scales.len() == g
            && self.weights.len() == g
            && self
                .groups
                .iter()
                .all(|gr| !gr.members.is_empty() && gr.members.iter().all(|m| *m < n))
            && self.trees.iter().all(|t| t.is_valid(g))
    }

    /// Which algorithm this is, in words.
    pub fn algorithm(&self) -> &'static str {
        if self.trees.is_empty() {
            "logistic regression"
        } else {
            "gradient-boosted trees"
        }
    }

    /// Each group's push on the logit for group values `u`: weight × value, plus what
    /// the trees' splits on the group added (see [`trees`]).
    pub fn group_impacts(&self, u: &[f64]) -> Vec<f64> {
        let mut impacts: Vec<f64> = u.iter().zip(&self.weights).map(|(u, w)| u * w).collect();
        for t in &self.trees {
            t.contribute(u, &mut impacts);
        }
        impacts
    }

    /// The usage windows' length the features were computed over.
    pub fn window_days(&self) -> u32 {
        self.spec.window_days
    }

    /// Each feature of `x` (the spec's values) transformed and standardised.
    pub fn standardised(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.log)
            .zip(self.means.iter().zip(&self.scales))
            .map(|((v, log), (m, s))| {
                let t = if *log { v.max(0.0).ln_1p() } else { *v };
                (t - m) / s
            })
            .collect()
    }

    /// Each group's standardised value for standardised features `z`.
    pub fn group_values(&self, z: &[f64]) -> Vec<f64> {
        self.groups
            .iter()
            .zip(self.group_means.iter().zip(&self.group_scales))
            .map(|(g, (m, s))| {
                let mean =
                    g.members.iter().map(|i| z[*i]).sum::<f64>() / g.members.len().max(1) as f64;
                (mean - m) / s
            })
            .collect()
    }

    /// The uncalibrated log-odds of churn for the spec's values `x`.
    pub fn logit(&self, x: &[f64]) -> f64 {
        let u = self.group_values(&self.standardised(x));
        self.intercept
            + u.iter().zip(&self.weights).map(|(u, w)| u * w).sum::<f64>()
            + self.trees.iter().map(|t| t.output(&u)).sum::<f64>()
    }

    /// The calibrated probability of churn within the horizon.
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(-(self.platt_a * self.logit(x) + self.platt_b))
    }

    /// The prediction for one customer, with the groups pushing most towards churn, each
    /// said through the member that pushes hardest.
    pub fn predict(&self, f: &Facts) -> Prediction {
        let defs = self.spec.features();
        let x = self.spec.values_for(&defs, f);
        let probability = self.probability(&x);
        let z = self.standardised(&x);
        let u = self.group_values(&z);
        let mut pushes: Vec<(usize, f64)> = self
            .group_impacts(&u)
            .into_iter()
            .enumerate()
            .filter(|(_, impact)| *impact > 0.05)
            .collect();
        pushes.sort_by(|a, b| b.1.total_cmp(&a.1));
        Prediction {
            probability,
            risk: Risk::from_probability(probability),
            factors: pushes
                .into_iter()
                .take(TOP_FACTORS)
                .map(|(k, impact)| {
                    // Which way the group pushes: a high value raising the risk, or a
                    // low one (for a linear group, the weight's sign).
                    let sign = u[k].signum();
                    let group = &self.groups[k];
                    let member = group
                        .members
                        .iter()
                        .copied()
                        .max_by(|a, b| (z[*a] * sign).total_cmp(&(z[*b] * sign)))
                        .unwrap_or(group.members[0]);
                    Factor {
                        feature: defs[member].id.clone(),
                        text: self.spec.describe(&defs[member], f),
                        impact,
                    }
                })
                .collect(),
        }
    }
}

/// Whether a customer that churned on `churned_on` (if it did) is a positive at `at`:
/// churned after `at` and within `horizon_days` of it.
pub fn churned_within(churned_on: Option<NaiveDate>, at: NaiveDate, horizon_days: i64) -> bool {
    churned_on.is_some_and(|c| c > at && c <= at + Duration::days(horizon_days))
}

/// The observation dates of a training set: every [`OBSERVATION_STEP_DAYS`] back from the
/// last date whose horizon has fully passed (`today − horizon`), while at least
/// `warmup_days` of data lie before the date (its features need a window and a previous
/// one).
pub fn observation_dates(
    first_data: NaiveDate,
    today: NaiveDate,
    horizon_days: i64,
    warmup_days: i64,
) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    let mut at = today - Duration::days(horizon_days);
    while at - Duration::days(warmup_days) >= first_data {
        dates.push(at);
        at -= Duration::days(OBSERVATION_STEP_DAYS);
    }
    dates.reverse();
    dates
}

/// The area under the ROC curve: the chance a random positive scores above a random
/// negative (ties count half). `None` without both classes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mann–Whitney: sum of the positives' ranks, averaging ranks over ties.
    let (mut rank_sum, mut positives) = (0.0, 0.0_f64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += mid_rank;
                positives += 1.0;
            }
        }
        i = j + 1;
    }
    let negatives = order.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// How many times the base churn rate the top tenth by score churns at. `None` without
/// positives or with fewer than ten samples.
pub fn top_decile_lift(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len().min(labels.len());
    let positives = labels[..n].iter().filter(|l| **l).count();
    if positives == 0 || n < 10 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let top = n.div_ceil(10);
    let top_positives = order[..top].iter().filter(|&&i| labels[i]).count();
    let base = positives as f64 / n as f64;
    Some(top_positives as f64 / top as f64 / base)
}

/// Predicted against observed churn in one band of predicted probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the band (bands are tenths: 0.0, 0.1, …).
    pub from: f64,
    pub samples: u64,
    pub mean_predicted: f64,
    pub observed: f64,
}

/// Predicted against observed churn by tenths of predicted probability (empty bands left
/// out).
pub fn calibration(probabilities: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    let mut bins = [(0_u64, 0.0_f64, 0_u64); 10];
    for (p, l) in probabilities.iter().zip(labels) {
        let b = ((p * 10.0).floor().max(0.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += u64::from(*l);
    }
    bins.iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(i, (n, sum, pos))| CalibrationBin {
            from: i as f64 / 10.0,
            samples: *n,
            mean_predicted: sum / *n as f64,
            observed: *pos as f64 / *n as f64,
        })
        .collect()
}

/// One labelled row of a training set.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub customer_id: i64,
    pub at: NaiveDate,
    /// The values of the training spec's features ([`FeatureSpec::values`]).
    pub x: Vec<f64>,
    pub churned: bool,
    /// The health score the customer had then: a baseline the model must beat.
    pub health: Option<f64>,
}

/// Where the fixed "tenure" feature sits in every spec's values (log days).
pub const TENURE_INDEX: usize = 8;

/// A coefficient for the model page: one group of features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// The group's first feature's id.
    pub feature: String,
    pub label: String,
    pub weight: f64,
    /// The labels of every feature in the group.
    #[serde(default)]
    pub members: Vec<String>,
}

/// How well the model, tenure alone and the health score ranked who churned, at one
/// validation date: each trained only on observations whose label was known by then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardDate {
    /// The moment scored.
    pub at: NaiveDate,
    /// Observations the model learned from (labels known by `at`).
    pub trained_on: u64,
    pub customers: u64,
    pub churned: u64,
    pub model: Ranking,
    pub tenure: Ranking,
    pub health: Ranking,
}

impl ForwardTest {
    /// In words: does the model add anything over tenure alone and the health score?
    pub fn verdict(&self) -> String {
        let churned: u64 = self.dates.iter().map(|d| d.churned).sum();
        let caution = if churned < 50 {
            format!(" Only {churned} churned customers across the dates: the figures are noisy.")
        } else {
            String::new()
        };
        let (Some(m), Some(t)) = (self.model.auc, self.tenure.auc) else {
            return "Not enough churned customers at the validation dates to compare.".into();
        };
        let h = self.health.auc;
        let text = match h {
            Some(h) if h >= m => format!(
                "The health score ranks who churns at least as well as the model here ({h:.2} against {m:.2}); both beat tenure alone ({t:.2})."
            ),
            _ if m < t + 0.02 => format!(
                "The model adds little over tenure alone ({m:.2} against {t:.2}): read its risk with care."
            ),
            Some(h) if m >= t + 0.05 => format!(
                "The model ranks who churns better than tenure alone (+{:.2}) and the health score (+{:.2}).",
                m - t,
                m - h
            ),
            _ => format!(
                "The model ranks who churns a little better than tenure alone ({m:.2} against {t:.2})."
            ),
        };
        text + &caution
    }
}

/// AUC and top-decile lift of one way of ranking customers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub auc: Option<f64>,
    pub lift: Option<f64>,
}

impl Ranking {
    pub fn of(scores: &[f64], labels: &[bool]) -> Self {
        Ranking {
            auc: auc(scores, labels),
            lift: top_decile_lift(scores, labels),
        }
    }

    /// The mean over `rankings` of what each has.
    pub fn mean<'a>(rankings: impl IntoIterator<Item = &'a Ranking> + Clone) -> Self {
        let avg = |get: fn(&Ranking) -> Option<f64>| {
            let v: Vec<f64> = rankings.clone().into_iter().filter_map(get).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        Ranking {
            auc: avg(|r| r.auc),
            lift: avg(|r| r.lift),
        }
    }
}

/// The forward test: validation dates in the past, each scored by a model trained on
/// what was known then, next to tenure alone and the health score.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ForwardTest {
    pub dates: Vec<ForwardDate>,
    /// Means over the dates.
    pub model: Ranking,
    pub tenure: Ranking,
    pub health: Ranking,
}

/// How a backtest went: trained on what was known `horizon` before the last labelled
/// date, scored then, compared with who churned by it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    /// The moment scored (T − horizon).
    pub scored_on: NaiveDate,
    /// The end of the horizon (T).
    pub until: NaiveDate,
    pub customers: u64,
    pub churned: u64,
    pub auc: Option<f64>,
    pub lift: Option<f64>,
    /// Churned customers found among those flagged high risk.
    pub caught: u64,
    pub flagged: u64,
}

/// What the model page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    pub cv_folds: u32,
    pub cv_auc: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// The health score alone (lower is riskier), on the same observations: the baseline
    /// the model has to beat.
    pub health_auc: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
    pub coefficients: Vec<Coefficient>,
    pub backtest: Option<Backtest>,
    /// Regularisation chosen by the forward test (by cross-validation without one).
    pub lambda: f64,
    pub base_rate: f64,
    /// Model, tenure alone and health at past validation dates.
    #[serde(default)]
    pub forward: Option<ForwardTest>,
    /// How the penalty was chosen: "forward test" or "cross-validation".
    #[serde(default)]
    pub chosen_by: String,
    /// Scorecard weights learned from the same observations, for admins to review.
    #[serde(default)]
    pub suggested_weights: Option<suggest::WeightSuggestion>,
    /// The algorithm chosen, in words ("Logistic regression, penalty 0.003").
    #[serde(default)]
    pub algorithm: String,
    /// Every candidate of the forward test and its mean ranking (empty without one).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
}

/// One way of fitting the model, as the forward test ranked it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub name: String,
    /// Mean over the validation dates.
    pub forward: Ranking,
    pub chosen: bool,
}

pub mod behaviour;
pub mod suggest;
#[cfg(feature = "training")]
pub mod training;
pub mod trees;

pub use behaviour::{FeatureDef, FeatureSpec, Source};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::UsageWindow;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn auc_counts_pairs_and_ties() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(auc(&[1.0, 2.0], &[true, false]), Some(0.0));
        assert_eq!(auc(&[1.0, 2.0], &[true, true]), None);
    }

    #[test]
    fn lift_compares_the_top_tenth_with_the_base_rate() {
        // 20 samples, 2 positives (base 10 %), both in the top two: top tenth is 100 %.
        let scores: Vec<f64> = (0..20).map(f64::from).collect();
        let labels: Vec<bool> = (0..20).map(|i| i >= 18).collect();
        assert_eq!(top_decile_lift(&scores, &labels), Some(10.0));
        let reversed: Vec<bool> = (0..20).map(|i| i < 2).collect();
        assert_eq!(top_decile_lift(&scores, &reversed), Some(0.0));
        assert_eq!(top_decile_lift(&scores, &[false; 20]), None);
    }

    #[test]
    fn calibration_bins_by_tenths() {
        let bins = calibration(&[0.05, 0.07, 0.95, 0.91], &[false, true, true, true]);
        assert_eq!(bins.len(), 2);
        assert_eq!(bins[0].samples, 2);
        assert!((bins[0].mean_predicted - 0.06).abs() < 1e-9);
        assert_eq!(bins[0].observed, 0.5);
        assert_eq!(bins[1].from, 0.9);
    }

    #[test]
    fn labels_look_only_inside_the_horizon() {
        let at = d("2026-01-01");
        assert!(churned_within(Some(d("2026-03-01")), at, 90));
        assert!(
            !churned_within(Some(d("2026-01-01")), at, 90),
            "already gone"
        );
        assert!(!churned_within(Some(d("2026-05-01")), at, 90), "too late");
        assert!(!churned_within(None, at, 90));
    }

    #[test]
    fn observation_dates_leave_room_for_the_horizon_and_the_warmup() {
        let dates = observation_dates(d("2026-01-01"), d("2026-07-01"), 90, 56);
        assert_eq!(dates.last(), Some(&d("2026-04-02")));
        assert!(dates
            .iter()
            .all(|t| *t - Duration::days(56) >= d("2026-01-01")));
        assert!(dates.windows(2).all(|w| w[1] - w[0] == Duration::days(14)));
        assert!(observation_dates(d("2026-06-01"), d("2026-07-01"), 90, 56).is_empty());
    }

    fn declining() -> Facts {
        Facts {
            current: UsageWindow {
                events: 40,
                active_days: 4,
                active_users: 1,
                features: 2,
                ..Default::default()
            },
            previous: UsageWindow {
                events: 400,
                active_days: 20,
                active_users: 6,
                features: 5,
                ..Default::default()
            },
            seats: 10,
            days_since_last_event: Some(9),
            tenure_days: Some(400),
            mrr_minor: 50_000,
            ..Facts::default()
        }
    }

    #[test]
    fn features_have_their_shapes() {
        let x = features(&declining(), 28);
        assert_eq!(x.len(), FEATURES.len());
        assert!((x[0] - 41_f64.ln()).abs() < 1e-9);
        assert!(x[1] < -2.0, "events fell tenfold");
        assert!((x[5] - 0.1).abs() < 1e-9, "1 of 10 seats");
        assert!((x[7] - 0.3).abs() < 1e-9, "9 days in months");
        let quiet = features(&Facts::default(), 28);
        assert_eq!(quiet[7], 4.0, "never active counts as the cap");
        assert_eq!(quiet[10], 0.0, "no MRR history is no change");
    }

    /// A model on the fixed features alone, each its own group, all weights zero.
    fn plain_model() -> ChurnModel {
        let n = FEATURES.len();
        ChurnModel {
            version: MODEL_VERSION,
            spec: FeatureSpec::base(28),
            log: vec![false; n],
            means: vec![0.0; n],
            scales: vec![1.0; n],
            groups: (0..n)
                .map(|i| FeatureGroup {
                    members: vec![i],
                    label: FEATURES[i].label.into(),
                })
                .collect(),
            group_means: vec![0.0; n],
            group_scales: vec![1.0; n],
            weights: vec![0.0; n],
            intercept: -2.0,
            platt_a: -1.0,
            platt_b: 0.0,
            trees: Vec::new(),
        }
    }

    #[test]
    fn predictions_name_what_pushes_towards_churn() {
        let mut model = plain_model();
        assert!(model.is_compatible());
        // Falling events raise the risk; nothing else matters.
        model.weights[1] = -1.0;
        let p = model.predict(&declining());
        assert!(p.probability > 0.5, "{p:?}");
        assert_eq!(p.risk, Risk::High);
        assert_eq!(p.factors.len(), 1);
        assert_eq!(p.factors[0].feature, "events_change");
        assert_eq!(
            p.factors[0].text,
            "Events down 90 % vs the prior 28 days (400 → 40)"
        );
        let steady = Facts {
            previous: declining().current,
            ..declining()
        };
        let q = model.predict(&steady);
        assert!(q.probability < 0.2 && q.factors.is_empty(), "{q:?}");
        model.weights.pop();
        assert!(!model.is_compatible());
        let mut old = plain_model();
        old.version = 1;
        assert!(
            !old.is_compatible(),
            "an older shape is retrained, not misread"
        );
    }

    #[test]
    fn a_group_is_said_through_the_member_that_pushes_hardest() {
        let mut model = plain_model();
        // Events (log) and active days in one group, weighed against churn.
        model.groups = vec![FeatureGroup {
            members: vec![0, 2],
            label: "Events (log) (+1 related)".into(),
        }];
        model.group_means = vec![0.0];
        model.group_scales = vec![1.0];
        model.weights = vec![-1.0];
        model.means[0] = 10.0;
        let p = model.predict(&declining());
        assert_eq!(p.factors.len(), 1, "{p:?}");
        // Events sit far below their mean: they say why.
        assert_eq!(p.factors[0].feature, "events");
        let logged = ChurnModel {
            log: vec![true; FEATURES.len()],
            ..plain_model()
        };
        let z = logged.standardised(&vec![f64::exp(1.0) - 1.0; FEATURES.len()]);
        assert!((z[0] - 1.0).abs() < 1e-9);
    }

    fn forward(model: f64, tenure: f64, health: f64, churned: u64) -> ForwardTest {
        let r = |auc: f64| Ranking {
            auc: Some(auc),
            lift: None,
        };
        ForwardTest {
            dates: vec![ForwardDate {
                at: d("2026-01-01"),
                trained_on: 1,
                customers: 1,
                churned,
                model: r(model),
                tenure: r(tenure),
                health: r(health),
            }],
            model: r(model),
            tenure: r(tenure),
            health: r(health),
        }
    }

    #[test]
    fn the_forward_verdict_says_what_the_model_adds() {
        assert_eq!(
            forward(0.80, 0.66, 0.62, 200).verdict(),
            "The model ranks who churns better than tenure alone (+0.14) and the health score (+0.18)."
        );
        assert!(forward(0.66, 0.65, 0.5, 200)
            .verdict()
            .starts_with("The model adds little over tenure alone"));
        assert!(forward(0.79, 0.59, 0.80, 21)
            .verdict()
            .starts_with("The health score ranks who churns at least as well"));
        assert!(forward(0.79, 0.59, 0.80, 21)
            .verdict()
            .ends_with("Only 21 churned customers across the dates: the figures are noisy."));
        assert!(forward(0.70, 0.67, 0.6, 200)
            .verdict()
            .starts_with("The model ranks who churns a little better"));
    }

    #[test]
    fn probabilities_never_read_as_certain() {
        assert_eq!(probability_text(0.9999), "> 99 %");
        assert_eq!(probability_text(0.001), "< 1 %");
        assert_eq!(probability_text(0.344), "34 %");
    }

    #[test]
    fn risk_bands() {
        assert_eq!(Risk::from_probability(0.05), Risk::Low);
        assert_eq!(Risk::from_probability(0.1), Risk::Medium);
        assert_eq!(Risk::from_probability(0.5), Risk::High);
        assert_eq!(Risk::from_health(Level::Poor), Risk::High);
        assert_eq!(Risk::from_health(Level::Excellent), Risk::Low);
        assert_eq!(Risk::parse(Risk::Medium.as_str()), Some(Risk::Medium));
    }
}
