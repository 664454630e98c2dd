//! Domain events: the facts a playbook can start from ("health fell to Poor", "a payment
//! failed", "renewal in 30 days"), each about one customer. The backend writes them in the
//! same transaction as the change that caused them; consumers read them in order.
//!
//! Here: their kinds, and the rules deciding which events a change makes — pure, so the
//! same rules hold wherever the change comes from.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::churn::Risk;
use crate::health::Level;

macro_rules! kinds {
    ($($variant:ident => $name:literal, $label:literal;)+) => {
        /// What happened.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind { $($variant),+ }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The stored name, e.g. `health.level_changed`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),+ }
            }

            /// In words, for people.
            pub fn label(self) -> &'static str {
                match self { $(EventKind::$variant => $label),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.as_str() == s)
            }
        }
    };
}

kinds! {
    EventReceived => "event.received", "Product event received";
    CustomerCreated => "customer.created", "Customer created";
    StageChanged => "customer.stage_changed", "Lifecycle stage changed";
    TierChanged => "customer.tier_changed", "Tier changed";
    OwnerChanged => "customer.owner_changed", "Owner changed";
    PlanChanged => "customer.plan_changed", "Plan changed";
    HealthLevelChanged => "health.level_changed", "Health level changed";
    HealthThresholdCrossed => "health.threshold_crossed", "Health score crossed a threshold";
    ChurnRiskChanged => "churn.risk_changed", "Churn risk changed";
    AlertOpened => "alert.opened", "Alert opened";
    ExpansionOpened => "expansion.opened", "Expansion signal opened";
    TrialStarted => "billing.trial_started", "Trial started";
    PaymentFailed => "billing.payment_failed", "Payment failed";
    SubscriptionCancelled => "billing.subscription_cancelled", "Subscription cancelled";
    RenewalDue => "renewal.due", "Renewal coming up";
    NpsAnswered => "nps.answered", "NPS answered";
}

/// An event about to be written: its kind and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub data: Value,
}

impl NewEvent {
    pub fn new(kind: EventKind, data: Value) -> Self {
        Self { kind, data }
    }
}

/// The health scores a threshold event is about: every multiple of ten, so a playbook can
/// start when a score falls below 50 or rises above 80.
pub const THRESHOLD_STEP: i16 = 10;

/// What a new health score makes: a level change, and each threshold the score crossed
/// (from `before` to `after`; none for a first score).
pub fn health_changes(before: Option<(i16, Level)>, after: (i16, Level)) -> Vec<NewEvent> {
    let Some((from, from_level)) = before else {
        return Vec::new();
    };
    let (to, to_level) = after;
    let mut events = Vec::new();
    if from_level != to_level {
        events.push(NewEvent::new(
            EventKind::HealthLevelChanged,
            json!({ "from": from_level.as_str(), "to": to_level.as_str(), "score": to }),
        ));
    }
    let (low, high) = (from.min(to), from.max(to));
    // Thresholds t with low < t <= high: rising to t reaches it, falling from t leaves it.
    let first = (low / THRESHOLD_STEP + 1) * THRESHOLD_STEP;
    let direction = if to > from { "up" } else { "down" };
    let mut t = first;
    while t <= high && t < 100 + THRESHOLD_STEP {
        events.push(NewEvent::new(
            EventKind::HealthThresholdCrossed,
            json!({ "threshold": t, "direction": direction, "from": from, "to": to }),
        ));
        t += THRESHOLD_STEP;
    }
    events
}

/// What a new churn prediction makes: a risk change (none for a first prediction).
pub fn churn_changes(before: Option<Risk>, after: Risk, probability: f64) -> Vec<NewEvent> {
    match before {
        Some(from) if from != after => vec![NewEvent::new(
            EventKind::ChurnRiskChanged,
            json!({
                "from": from.as_str(),
                "to": after.as_str(),
                "probability": (probability * 1000.0).round() / 1000.0,
            }),
        )],
        _ => Vec::new(),
    }
}

/// A customer's fields that events follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracked {
    pub stage: String,
    pub tier: String,
    pub owner_id: Option<i64>,
    pub plan: Option<String>,
}

/// What an edit of a customer makes: one event per tracked field that changed.
pub fn customer_changes(before: &Tracked, after: &Tracked) -> Vec<NewEvent> {
    let mut events = Vec::new();
    let mut changed = |kind, from: Value, to: Value| {
        if from != to {
            events.push(NewEvent::new(kind, json!({ "from": from, "to": to })));
        }
    };
    changed(
        EventKind::StageChanged,
        json!(before.stage),
        json!(after.stage),
    );
    changed(
        EventKind::TierChanged,
        json!(before.tier),
        json!(after.tier),
    );
    changed(
        EventKind::OwnerChanged,
        json!(before.owner_id),
        json!(after.owner_id),
    );
    changed(
        EventKind::PlanChanged,
        json!(before.plan),
        json!(after.plan),
    );
    events
}

/// Days before a renewal at which a "renewal coming up" event is made.
pub const RENEWAL_NOTICE_DAYS: [i64; 5] = [90, 60, 30, 14, 7];

/// The notice a renewal on `renewal` gets on `today`, if today is one of its notice days.
pub fn renewal_notice(renewal: chrono::NaiveDate, today: chrono::NaiveDate) -> Option<i64> {
    let days = (renewal - today).num_days();
    RENEWAL_NOTICE_DAYS.contains(&days).then_some(days)
}

/// One line about an event, for the admin's list: its kind and what it carries.
pub fn describe(kind: &str, data: &Value) -> String {
    let text = |k: &str| match data.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".into(),
        Some(v) => v.to_string(),
    };
    match EventKind::parse(kind) {
        Some(
            EventKind::StageChanged
            | EventKind::TierChanged
            | EventKind::OwnerChanged
            | EventKind::PlanChanged
            | EventKind::HealthLevelChanged
            | EventKind::ChurnRiskChanged,
        ) => format!("{} → {}", text("from"), text("to")),
        Some(EventKind::HealthThresholdCrossed) => format!(
            "{} {} ({} → {})",
            if text("direction") == "up" {
                "rose to"
            } else {
                "fell below"
            },
            text("threshold"),
            text("from"),
            text("to")
        ),
        Some(EventKind::EventReceived) => text("name"),
        Some(EventKind::AlertOpened | EventKind::ExpansionOpened) => text("title"),
        Some(EventKind::RenewalDue) => format!("in {} days ({})", text("days"), text("renews_on")),
        Some(EventKind::NpsAnswered) => format!("score {}", text("score")),
        Some(EventKind::PaymentFailed) => text("amount"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn a_first_score_makes_no_event() {
        assert!(health_changes(None, (30, Level::Poor)).is_empty());
    }

    #[test]
    fn a_fall_makes_a_level_change_and_each_threshold_crossed() {
        let events = health_changes(Some((72, Level::Good)), (48, Level::Fair));
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::HealthLevelChanged,
                EventKind::HealthThresholdCrossed,
                EventKind::HealthThresholdCrossed,
                EventKind::HealthThresholdCrossed,
            ]
        );
        let thresholds: Vec<_> = events[1..]
            .iter()
            .map(|e| e.data["threshold"].clone())
            .collect();
        assert_eq!(thresholds, vec![json!(50), json!(60), json!(70)]);
        assert_eq!(events[1].data["direction"], "down");
        assert_eq!(
            events[0].data,
            json!({"from": "good", "to": "fair", "score": 48})
        );
    }

    #[test]
    fn reaching_a_threshold_crosses_it_and_leaving_it_downwards_too() {
        let up = health_changes(Some((49, Level::Fair)), (50, Level::Fair));
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].data["threshold"], 50);
        assert_eq!(up[0].data["direction"], "up");
        let down = health_changes(Some((50, Level::Fair)), (49, Level::Fair));
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].data["direction"], "down");
        assert!(health_changes(Some((51, Level::Fair)), (59, Level::Fair)).is_empty());
        assert!(health_changes(Some((55, Level::Fair)), (55, Level::Fair)).is_empty());
    }

    #[test]
    fn churn_risk_events_only_on_a_change() {
        assert!(churn_changes(None, Risk::High, 0.4).is_empty());
        assert!(churn_changes(Some(Risk::High), Risk::High, 0.4).is_empty());
        let e = churn_changes(Some(Risk::Low), Risk::High, 0.41234);
        assert_eq!(
            e[0].data,
            json!({"from": "low", "to": "high", "probability": 0.412})
        );
    }

    #[test]
    fn each_changed_field_is_one_event() {
        let before = Tracked {
            stage: "onboarding".into(),
            tier: "trial".into(),
            owner_id: None,
            plan: Some("Starter".into()),
        };
        let mut after = before.clone();
        assert!(customer_changes(&before, &after).is_empty());
        after.stage = "adopting".into();
        after.owner_id = Some(4);
        let events = customer_changes(&before, &after);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, EventKind::StageChanged);
        assert_eq!(events[1].data, json!({"from": null, "to": 4}));
    }

    #[test]
    fn renewals_get_notices_on_set_days_only() {
        let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(
            renewal_notice(day("2027-03-31"), day("2027-03-01")),
            Some(30)
        );
        assert_eq!(renewal_notice(day("2027-03-31"), day("2027-03-02")), None);
        assert_eq!(renewal_notice(day("2027-03-31"), day("2027-04-01")), None);
    }

    #[test]
    fn descriptions_read_as_a_line() {
        assert_eq!(
            describe(
                "health.level_changed",
                &json!({"from": "good", "to": "poor"})
            ),
            "good → poor"
        );
        assert_eq!(
            describe(
                "health.threshold_crossed",
                &json!({"threshold": 50, "direction": "down", "from": 55, "to": 44})
            ),
            "fell below 50 (55 → 44)"
        );
        assert_eq!(describe("unknown", &json!({})), "");
    }
}
