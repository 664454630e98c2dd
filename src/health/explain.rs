//! Health in words: values for people, what moved a score between two days, its trend.

use super::*;

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

pub(super) fn signed_points(p: f64) -> String {
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

pub(super) fn describe_move(
    label: &str,
    before: Option<f64>,
    after: Option<f64>,
    unit: &str,
) -> String {
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
