//! What customers *do*, as the churn model reads it: for the event names that matter in
//! this portfolio (learned from its own events), how often each happens per 28 days
//! (scaled up for customers younger than the window), its change against the previous
//! window, the months since the last one and its rate per active user; ratios between
//! related events; and the customer's categorical attributes. In the style of the
//! churn-analysis literature (Gold, *Fighting Churn With Data*, ch. 5–7).
//!
//! A [`FeatureSpec`] names the events, ratios and attribute values; it is chosen when a
//! model is trained and stored with it, so a prediction computes exactly the features
//! the model learned from. The fixed features of [`super::FEATURES`] come first.

use serde::{Deserialize, Serialize};

use super::{describe as describe_base, features as base_features, FEATURES};
use crate::health::Facts;

/// Days an event rate is expressed per.
pub const RATE_DAYS: f64 = 28.0;

/// A quiet event's "months since the last one" is capped here (never counts as it).
const RECENCY_CAP_DAYS: f64 = 120.0;

/// What the model reads beyond the fixed features, learned from the portfolio.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The usage windows' length.
    pub window_days: u32,
    /// Event names whose rate, change, recency and rate per user are features.
    pub events: Vec<String>,
    /// Ratios between two of `events` (numerator, denominator).
    pub ratios: Vec<(String, String)>,
    /// Categorical attributes: the name, and the values that get an indicator each (the
    /// others are the baseline).
    pub attributes: Vec<(String, Vec<String>)>,
}

/// Where a feature's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One of [`FEATURES`], by index.
    Base(usize),
    /// `events[i]` per 28 days.
    Rate(usize),
    /// `events[i]` against the previous window (log ratio; 0 without a whole one).
    Change(usize),
    /// Months since the last `events[i]`.
    Recency(usize),
    /// `events[i]` per active user, per 28 days.
    PerUser(usize),
    /// `ratios[i]`: log of (numerator + 1) / (denominator + 1).
    Ratio(usize),
    /// `attributes[i]` has its `j`-th value.
    Attribute(usize, usize),
}

/// One input of a model: a stable id, a label for people, and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureDef {
    pub id: String,
    pub label: String,
    pub source: Source,
}

fn log_ratio(after: f64, before: f64) -> f64 {
    ((after + 1.0) / (before + 1.0)).ln()
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

impl FeatureSpec {
    /// A spec with only the fixed features.
    pub fn base(window_days: u32) -> Self {
        FeatureSpec {
            window_days,
            ..FeatureSpec::default()
        }
    }

    /// Every feature, in the order of [`Self::values`]: the fixed ones, then per event
    /// its rate, change, recency and rate per user, then the ratios, then attributes.
    pub fn features(&self) -> Vec<FeatureDef> {
        let mut out: Vec<FeatureDef> = FEATURES
            .iter()
            .enumerate()
            .map(|(i, f)| FeatureDef {
                id: f.id.into(),
                label: f.label.into(),
                source: Source::Base(i),
            })
            .collect();
        for (i, e) in self.events.iter().enumerate() {
            out.push(FeatureDef {
                id: format!("event_rate:{e}"),
                label: format!("{e} per 28 days"),
                source: Source::Rate(i),
            });
            out.push(FeatureDef {
                id: format!("event_change:{e}"),
                label: format!("{e} vs the previous window"),
                source: Source::Change(i),
            });
            out.push(FeatureDef {
                id: format!("event_recency:{e}"),
                label: format!("Months since the last {e}"),
                source: Source::Recency(i),
            });
            out.push(FeatureDef {
                id: format!("event_per_user:{e}"),
                label: format!("{e} per active user"),
                source: Source::PerUser(i),
            });
        }
        for (i, (a, b)) in self.ratios.iter().enumerate() {
            out.push(FeatureDef {
                id: format!("ratio:{a}/{b}"),
                label: format!("{a} per {b}"),
                source: Source::Ratio(i),
            });
        }
        for (i, (name, values)) in self.attributes.iter().enumerate() {
            for (j, v) in values.iter().enumerate() {
                out.push(FeatureDef {
                    id: format!("attribute:{name}={v}"),
                    label: format!("{name}: {v}"),
                    source: Source::Attribute(i, j),
                });
            }
        }
        out
    }

    /// The days the current window covers for this customer: the window, or its tenure
    /// when younger (at least a day), so a three-week-old account's rate is per 28 days
    /// of its life, not diluted by days before it existed.
    fn observed_days(&self, f: &Facts) -> f64 {
        let window = f64::from(self.window_days.max(1));
        match f.tenure_days {
            Some(t) => f64::from(t.saturating_add(1)).min(window),
            None => window,
        }
    }

    fn count(f: &Facts, name: &str, current: bool) -> f64 {
        let w = if current { &f.current } else { &f.previous };
        w.by_name.get(name).copied().unwrap_or(0) as f64
    }

    /// The value of every feature of [`Self::features`] for `f`.
    pub fn values(&self, f: &Facts) -> Vec<f64> {
        self.values_for(&self.features(), f)
    }

    /// The value of each of `defs` (this spec's features) for `f`.
    pub fn values_for(&self, defs: &[FeatureDef], f: &Facts) -> Vec<f64> {
        let base = base_features(f, self.window_days);
        defs.iter()
            .map(|d| match d.source {
                Source::Base(i) => base[i],
                _ => self.value(d, f),
            })
            .collect()
    }

    /// The value of one feature for `f`.
    pub fn value(&self, def: &FeatureDef, f: &Facts) -> f64 {
        let per_28 = RATE_DAYS / self.observed_days(f);
        match def.source {
            Source::Base(i) => base_features(f, self.window_days)[i],
            Source::Rate(i) => Self::count(f, &self.events[i], true) * per_28,
            Source::Change(_) if f.previous_partial => 0.0,
            Source::Change(i) => log_ratio(
                Self::count(f, &self.events[i], true),
                Self::count(f, &self.events[i], false),
            ),
            Source::Recency(i) => {
                f.days_since_event
                    .get(&self.events[i])
                    .map_or(RECENCY_CAP_DAYS, |d| f64::from(*d).min(RECENCY_CAP_DAYS))
                    / 30.0
            }
            Source::PerUser(i) => {
                Self::count(f, &self.events[i], true) * per_28
                    / f64::from(f.current.active_users.max(1))
            }
            Source::Ratio(i) => {
                let (a, b) = &self.ratios[i];
                log_ratio(Self::count(f, a, true), Self::count(f, b, true))
            }
            Source::Attribute(i, j) => {
                let (name, values) = &self.attributes[i];
                if f.attributes.get(name) == Some(&values[j]) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Says in words what a feature is for this customer ("Report Created: 3 in the last
    /// 28 days, down 70 %"), for the factors shown beside a prediction.
    pub fn describe(&self, def: &FeatureDef, f: &Facts) -> String {
        let w = self.window_days;
        let tenure = || match f.tenure_days {
            Some(d) => format!("a customer for {d} days"),
            None => "start unknown".into(),
        };
        match def.source {
            Source::Base(i) => describe_base(i, f, w),
            Source::Rate(i) => {
                let e = &self.events[i];
                let n = Self::count(f, e, true);
                format!("{e}: {n:.0} in the last {w} days")
            }
            Source::Change(i) if f.previous_partial => {
                format!("{}: too new for a trend ({})", self.events[i], tenure())
            }
            Source::Change(i) => {
                let e = &self.events[i];
                let (before, now) = (Self::count(f, e, false), Self::count(f, e, true));
                format!(
                    "{e} {} vs the prior {w} days ({before:.0} → {now:.0})",
                    percent(before, now)
                )
            }
            Source::Recency(i) => {
                let e = &self.events[i];
                match f.days_since_event.get(e) {
                    Some(d) => format!("Last {e} {d} days ago"),
                    None => format!("No {e} in {RECENCY_CAP_DAYS:.0} days"),
                }
            }
            Source::PerUser(i) => {
                let e = &self.events[i];
                let users = f.current.active_users;
                format!(
                    "{e}: {:.1} per active user in {w} days ({users} users)",
                    Self::count(f, e, true) / f64::from(users.max(1))
                )
            }
            Source::Ratio(i) => {
                let (a, b) = &self.ratios[i];
                let (x, y) = (Self::count(f, a, true), Self::count(f, b, true));
                format!("{a} per {b}: {x:.0} to {y:.0} in {w} days")
            }
            Source::Attribute(i, _) => {
                let name = &self.attributes[i].0;
                match f.attributes.get(name) {
                    Some(v) => format!("{name}: {v}"),
                    None => format!("No {name} on record"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::UsageWindow;

    fn spec() -> FeatureSpec {
        FeatureSpec {
            window_days: 28,
            events: vec!["Report Created".into(), "Error Shown".into()],
            ratios: vec![("Error Shown".into(), "Report Created".into())],
            attributes: vec![("channel".into(), vec!["partner".into(), "direct".into()])],
        }
    }

    fn facts() -> Facts {
        let mut current = UsageWindow {
            active_users: 4,
            ..Default::default()
        };
        current.by_name.insert("Report Created".into(), 20);
        current.by_name.insert("Error Shown".into(), 5);
        let mut previous = UsageWindow::default();
        previous.by_name.insert("Report Created".into(), 40);
        let mut f = Facts {
            current,
            previous,
            tenure_days: Some(400),
            ..Facts::default()
        };
        f.days_since_event.insert("Report Created".into(), 2);
        f.attributes.insert("channel".into(), "direct".into());
        f
    }

    fn value(spec: &FeatureSpec, f: &Facts, id: &str) -> f64 {
        let def = spec
            .features()
            .into_iter()
            .find(|d| d.id == id)
            .unwrap_or_else(|| panic!("{id}"));
        spec.value(&def, f)
    }

    #[test]
    fn every_feature_has_a_unique_id_and_a_value() {
        let s = spec();
        let defs = s.features();
        assert_eq!(defs.len(), FEATURES.len() + 2 * 4 + 1 + 2);
        let mut ids: Vec<&str> = defs.iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), defs.len());
        assert_eq!(s.values(&facts()).len(), defs.len());
        assert_eq!(FeatureSpec::base(28).features().len(), FEATURES.len());
    }

    #[test]
    fn event_features_read_rates_changes_recency_and_ratios() {
        let s = spec();
        let f = facts();
        assert_eq!(value(&s, &f, "event_rate:Report Created"), 20.0);
        assert!(
            (value(&s, &f, "event_change:Report Created") - (21.0f64 / 41.0).ln()).abs() < 1e-9
        );
        assert!((value(&s, &f, "event_recency:Report Created") - 2.0 / 30.0).abs() < 1e-9);
        assert_eq!(
            value(&s, &f, "event_recency:Error Shown"),
            4.0,
            "never: the cap"
        );
        assert_eq!(value(&s, &f, "event_per_user:Report Created"), 5.0);
        assert!(
            (value(&s, &f, "ratio:Error Shown/Report Created") - (6.0f64 / 21.0).ln()).abs() < 1e-9
        );
        assert_eq!(value(&s, &f, "attribute:channel=direct"), 1.0);
        assert_eq!(value(&s, &f, "attribute:channel=partner"), 0.0);
    }

    #[test]
    fn a_young_customers_rate_is_per_28_days_of_its_life_and_has_no_change() {
        let s = spec();
        let mut f = facts();
        f.tenure_days = Some(13);
        f.previous_partial = true;
        assert_eq!(
            value(&s, &f, "event_rate:Report Created"),
            20.0 * 28.0 / 14.0
        );
        assert_eq!(value(&s, &f, "event_change:Report Created"), 0.0);
        let def = s
            .features()
            .into_iter()
            .find(|d| d.id == "event_change:Report Created")
            .unwrap();
        assert_eq!(
            s.describe(&def, &f),
            "Report Created: too new for a trend (a customer for 13 days)"
        );
    }

    #[test]
    fn features_are_said_in_words() {
        let s = spec();
        let f = facts();
        let said: Vec<String> = s.features().iter().map(|d| s.describe(d, &f)).collect();
        assert!(
            said.contains(&"Report Created down 50 % vs the prior 28 days (40 → 20)".to_string()),
            "{said:?}"
        );
        assert!(said.contains(&"No Error Shown in 120 days".to_string()));
        assert!(said.contains(&"channel: direct".to_string()));
        assert!(said.iter().all(|t| !t.is_empty()));
    }
}
