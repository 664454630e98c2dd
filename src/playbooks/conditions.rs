//! Conditions on what we know of a customer (its [`Subject`]), as entry and exit rules,
//! branch tests and goals use them. Every evaluation says what it read, so a playbook's
//! history can show why a branch went the way it did.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::definition::Condition;
use crate::churn::Risk;
use crate::health::Level;

/// How much a customer uses the product against the portfolio: the top third, the middle
/// or the bottom (by events in the last 28 days per seat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSegment {
    High,
    Medium,
    Low,
}

impl UsageSegment {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSegment::High => "high",
            UsageSegment::Medium => "medium",
            UsageSegment::Low => "low",
        }
    }

    /// The segment of a customer at `percentile` (0–100) of the portfolio's usage.
    pub fn of_percentile(percentile: f64) -> Self {
        if percentile >= 200.0 / 3.0 {
            UsageSegment::High
        } else if percentile >= 100.0 / 3.0 {
            UsageSegment::Medium
        } else {
            UsageSegment::Low
        }
    }
}

/// What conditions read about one customer now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub tier: String,
    pub stage: String,
    pub plan: Option<String>,
    /// The owner's e-mail.
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    pub health_score: Option<i64>,
    pub health_level: Option<Level>,
    pub churn_risk: Option<Risk>,
    pub churn_probability: Option<f64>,
    pub usage_segment: Option<UsageSegment>,
    pub mrr_cents: i64,
    pub seats: Option<i64>,
    /// Active users over seats, 0–1 and beyond.
    pub seat_utilisation: Option<f64>,
    /// Usage against the plan's limit, 0–1 and beyond.
    pub plan_usage: Option<f64>,
    pub days_since_start: Option<i64>,
    pub days_to_renewal: Option<i64>,
    pub open_alerts: i64,
    /// Product events by name in the last 28 days.
    pub events_28d: BTreeMap<String, i64>,
}

/// A field a condition can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    HealthScore,
    HealthLevel,
    ChurnRisk,
    ChurnProbability,
    UsageSegment,
    Tier,
    Stage,
    Plan,
    Owner,
    Tag,
    Mrr,
    Seats,
    SeatUtilisation,
    PlanUsage,
    DaysSinceStart,
    DaysToRenewal,
    OpenAlerts,
    /// A custom attribute.
    Attribute(String),
    /// A product event's count in the last 28 days.
    Events(String),
}

/// The fields by name, for people and error messages.
pub const FIELD_NAMES: &[&str] = &[
    "health.score",
    "health.level",
    "churn.risk",
    "churn.probability",
    "usage.segment",
    "tier",
    "stage",
    "plan",
    "owner",
    "tag",
    "mrr",
    "seats",
    "seat_utilisation",
    "plan_usage",
    "days_since_start",
    "days_to_renewal",
    "open_alerts",
    "attr.<name>",
    "events.<name>",
];

impl Field {
    pub fn parse(s: &str) -> Option<Field> {
        Some(match s.trim() {
            "health.score" => Field::HealthScore,
            "health.level" => Field::HealthLevel,
            "churn.risk" => Field::ChurnRisk,
            "churn.probability" => Field::ChurnProbability,
            "usage.segment" => Field::UsageSegment,
            "tier" => Field::Tier,
            "stage" => Field::Stage,
            "plan" => Field::Plan,
            "owner" => Field::Owner,
            "tag" => Field::Tag,
            "mrr" => Field::Mrr,
            "seats" => Field::Seats,
            "seat_utilisation" => Field::SeatUtilisation,
            "plan_usage" => Field::PlanUsage,
            "days_since_start" => Field::DaysSinceStart,
            "days_to_renewal" => Field::DaysToRenewal,
            "open_alerts" => Field::OpenAlerts,
            other => {
                if let Some(name) = other.strip_prefix("attr.").filter(|n| !n.is_empty()) {
                    Field::Attribute(name.into())
                } else if let Some(name) = other.strip_prefix("events.").filter(|n| !n.is_empty()) {
                    Field::Events(name.into())
                } else {
                    return None;
                }
            }
        })
    }

    /// Whether the field holds a number (compared with lt/gt), else text.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Field::HealthScore
                | Field::ChurnProbability
                | Field::Mrr
                | Field::Seats
                | Field::SeatUtilisation
                | Field::PlanUsage
                | Field::DaysSinceStart
                | Field::DaysToRenewal
                | Field::OpenAlerts
                | Field::Events(_)
        )
    }

    /// The values a text field may take, when they are fixed.
    pub fn choices(&self) -> Option<Vec<&'static str>> {
        use crate::customers::{Stage, Tier};
        Some(match self {
            Field::HealthLevel => Level::ALL.iter().map(|l| l.as_str()).collect(),
            Field::ChurnRisk => vec!["low", "medium", "high"],
            Field::UsageSegment => vec!["high", "medium", "low"],
            Field::Tier => Tier::ALL.iter().map(|t| t.as_str()).collect(),
            Field::Stage => Stage::ALL.iter().map(|s| s.as_str()).collect(),
            _ => return None,
        })
    }

    /// What the subject holds for this field (null when unknown).
    pub fn read(&self, s: &Subject) -> Value {
        match self {
            Field::HealthScore => json!(s.health_score),
            Field::HealthLevel => json!(s.health_level.map(Level::as_str)),
            Field::ChurnRisk => json!(s.churn_risk.map(Risk::as_str)),
            Field::ChurnProbability => json!(s.churn_probability),
            Field::UsageSegment => json!(s.usage_segment.map(UsageSegment::as_str)),
            Field::Tier => json!(s.tier),
            Field::Stage => json!(s.stage),
            Field::Plan => json!(s.plan),
            Field::Owner => json!(s.owner),
            Field::Tag => json!(s.tags),
            Field::Mrr => json!(s.mrr_cents as f64 / 100.0),
            Field::Seats => json!(s.seats),
            Field::SeatUtilisation => json!(s.seat_utilisation),
            Field::PlanUsage => json!(s.plan_usage),
            Field::DaysSinceStart => json!(s.days_since_start),
            Field::DaysToRenewal => json!(s.days_to_renewal),
            Field::OpenAlerts => json!(s.open_alerts),
            Field::Attribute(name) => json!(s.attributes.get(name)),
            Field::Events(name) => json!(s.events_28d.get(name).copied().unwrap_or(0)),
        }
    }
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Exists,
    Missing,
}

impl Op {
    pub const NAMES: &'static str = "eq, ne, lt, lte, gt, gte, in, not_in, exists, missing";

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s.trim() {
            "eq" | "=" | "==" => Op::Eq,
            "ne" | "!=" => Op::Ne,
            "lt" | "<" => Op::Lt,
            "lte" | "<=" => Op::Lte,
            "gt" | ">" => Op::Gt,
            "gte" | ">=" => Op::Gte,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "exists" => Op::Exists,
            "missing" => Op::Missing,
            _ => return None,
        })
    }

    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Lte | Op::Gt | Op::Gte)
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "≠",
            Op::Lt => "<",
            Op::Lte => "≤",
            Op::Gt => ">",
            Op::Gte => "≥",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Exists => "is known",
            Op::Missing => "is unknown",
        }
    }
}

/// One condition evaluated: what it tested, what it read, whether it held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// "health.score < 40".
    pub test: String,
    /// The value read (null when unknown).
    pub value: Value,
    pub holds: bool,
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => a == b,
        },
    }
}

/// Whether `read` (a field's value) satisfies `op value`. Unknown values satisfy only
/// `missing` (and `ne`/`not_in`); a tag list satisfies `eq`/`in` when any tag does.
pub fn holds(read: &Value, op: Op, value: &Value) -> bool {
    if let Value::Array(tags) = read {
        let any = |v: &Value| tags.iter().any(|t| same(t, v));
        return match op {
            Op::Eq => any(value),
            Op::Ne => !any(value),
            Op::In => value.as_array().is_some_and(|vs| vs.iter().any(any)),
            Op::NotIn => !value.as_array().is_some_and(|vs| vs.iter().any(any)),
            Op::Exists => !tags.is_empty(),
            Op::Missing => tags.is_empty(),
            _ => false,
        };
    }
    match op {
        Op::Exists => !read.is_null(),
        Op::Missing => read.is_null(),
        Op::Eq => !read.is_null() && same(read, value),
        Op::Ne => !same(read, value),
        Op::In => value
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| same(read, v))),
        Op::NotIn => !value
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| same(read, v))),
        Op::Lt | Op::Lte | Op::Gt | Op::Gte => match (read.as_f64(), value.as_f64()) {
            (Some(x), Some(y)) => match op {
                Op::Lt => x < y,
                Op::Lte => x <= y,
                Op::Gt => x > y,
                _ => x >= y,
            },
            _ => false,
        },
    }
}

impl Condition {
    /// Evaluates against `s`. A condition that doesn't parse (validation refuses those
    /// before a playbook is stored) never holds.
    pub fn evaluate(&self, s: &Subject) -> Reading {
        let (field, op) = (Field::parse(&self.field), Op::parse(&self.op));
        let value_text = match &self.value {
            Value::Null => String::new(),
            Value::String(t) => format!(" {t}"),
            v => format!(" {v}"),
        };
        let test = format!(
            "{} {}{}",
            self.field,
            match op {
                Some(op) => op.symbol(),
                None => self.op.as_str(),
            },
            value_text
        );
        match (field, op) {
            (Some(field), Some(op)) => {
                let read = field.read(s);
                Reading {
                    test,
                    holds: holds(&read, op, &self.value),
                    value: read,
                }
            }
            _ => Reading {
                test,
                value: Value::Null,
                holds: false,
            },
        }
    }
}

/// Every condition evaluated, and whether all held (true for none).
pub fn all(conditions: &[Condition], s: &Subject) -> (bool, Vec<Reading>) {
    let readings: Vec<Reading> = conditions.iter().map(|c| c.evaluate(s)).collect();
    (readings.iter().all(|r| r.holds), readings)
}

/// The first condition that holds, if any.
pub fn first_holding(conditions: &[Condition], s: &Subject) -> Option<Reading> {
    conditions.iter().map(|c| c.evaluate(s)).find(|r| r.holds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(field: &str, op: &str, value: Value) -> Condition {
        Condition {
            field: field.into(),
            op: op.into(),
            value,
        }
    }

    fn subject() -> Subject {
        Subject {
            tier: "enterprise".into(),
            stage: "active".into(),
            tags: vec!["beta".into(), "vip".into()],
            attributes: [("industry".to_string(), "Retail".to_string())].into(),
            health_score: Some(35),
            health_level: Some(Level::Poor),
            churn_risk: Some(Risk::High),
            plan_usage: Some(0.85),
            events_28d: [("Report Created".to_string(), 12)].into(),
            ..Subject::default()
        }
    }

    #[test]
    fn conditions_compare_numbers_text_lists_and_unknowns() {
        let s = subject();
        let yes = |f: &str, o: &str, v: Value| {
            assert!(c(f, o, v.clone()).evaluate(&s).holds, "{f} {o} {v}")
        };
        let no = |f: &str, o: &str, v: Value| {
            assert!(!c(f, o, v.clone()).evaluate(&s).holds, "{f} {o} {v}")
        };
        yes("health.score", "lt", json!(40));
        no("health.score", "gte", json!(40));
        yes("health.level", "eq", json!("POOR"));
        yes("tier", "in", json!(["enterprise", "mid_market"]));
        no("tier", "not_in", json!(["enterprise"]));
        yes("tag", "eq", json!("vip"));
        no("tag", "eq", json!("churned"));
        yes("attr.industry", "eq", json!("retail"));
        yes("attr.country", "missing", Value::Null);
        no("attr.country", "eq", json!("FR"));
        yes("plan_usage", "gte", json!(0.8));
        yes("events.Report Created", "gt", json!(10));
        yes("events.Logged In", "eq", json!(0));
        no("churn.probability", "gt", json!(0.1));
        no("nonsense", "eq", json!(1));
    }

    #[test]
    fn a_reading_says_what_was_tested_and_read() {
        let r = c("health.score", "lt", json!(40)).evaluate(&subject());
        assert_eq!(r.test, "health.score < 40");
        assert_eq!(r.value, json!(35));
        assert!(r.holds);
        let (ok, readings) = all(
            &[
                c("tier", "eq", json!("enterprise")),
                c("health.score", "gt", json!(50)),
            ],
            &subject(),
        );
        assert!(!ok);
        assert_eq!(readings.len(), 2);
        assert!(all(&[], &subject()).0, "no conditions: everyone");
    }

    #[test]
    fn usage_segments_are_thirds() {
        assert_eq!(UsageSegment::of_percentile(90.0), UsageSegment::High);
        assert_eq!(UsageSegment::of_percentile(50.0), UsageSegment::Medium);
        assert_eq!(UsageSegment::of_percentile(10.0), UsageSegment::Low);
    }
}
