//! Alert rules: which conditions a customer is in, and when that opens an alert.
//!
//! Each rule looks at a customer's [`Signals`] and says whether its condition holds now.
//! An alert opens when a condition *starts* (it did not hold at the previous evaluation)
//! and no alert of that rule is open for the customer: so each condition fires exactly
//! once, however often it is evaluated, and a customer never has two open alerts of one
//! rule. A condition that clears and comes back is a new episode and may fire again.
//! Everything here is pure; the backend stores the open alerts and which conditions held.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::health::{Level, Payment};
use crate::validation::ValidationErrors;

/// How urgent an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// The alert rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The score fell by more than `threshold` points over 7 days.
    ScoreDrop,
    /// The score is below `threshold` (60: under Good).
    BelowGood,
    /// The score is below `threshold` (40: the red zone).
    RedZone,
    /// Usage fell by at least `threshold` % against the prior window.
    UsageDrop,
    /// A payment failed (failing or delinquent).
    PaymentFailed,
    /// A ticket with sentiment at or below `threshold` (−1 to 1) in the window.
    NegativeTicket,
    /// A ticket flagged with cancellation intent in the window.
    CancellationIntent,
    /// The churn probability is at or above `threshold` (0–1).
    ChurnRisk,
    /// Renewal within `threshold` days with Poor or Fair health.
    RenewalAtRisk,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::ScoreDrop,
        Rule::BelowGood,
        Rule::RedZone,
        Rule::UsageDrop,
        Rule::PaymentFailed,
        Rule::NegativeTicket,
        Rule::CancellationIntent,
        Rule::ChurnRisk,
        Rule::RenewalAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ScoreDrop => "score_drop",
            Rule::BelowGood => "below_good",
            Rule::RedZone => "red_zone",
            Rule::UsageDrop => "usage_drop",
            Rule::PaymentFailed => "payment_failed",
            Rule::NegativeTicket => "negative_ticket",
            Rule::CancellationIntent => "cancellation_intent",
            Rule::ChurnRisk => "churn_risk",
            Rule::RenewalAtRisk => "renewal_at_risk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule's name on screen.
    pub fn label(self) -> &'static str {
        match self {
            Rule::ScoreDrop => "Score drop",
            Rule::BelowGood => "Below Good",
            Rule::RedZone => "Red zone",
            Rule::UsageDrop => "Usage drop",
            Rule::PaymentFailed => "Payment failed",
            Rule::NegativeTicket => "Negative ticket",
            Rule::CancellationIntent => "Cancellation intent",
            Rule::ChurnRisk => "Churn risk",
            Rule::RenewalAtRisk => "Renewal at risk",
        }
    }

    /// What the threshold means and the values it may take, or `None` for rules without
    /// one (a failed payment, cancellation intent).
    pub fn threshold(self) -> Option<Threshold> {
        let t = |meaning, min, max| Some(Threshold { meaning, min, max });
        match self {
            Rule::ScoreDrop => t("points lost in 7 days (more than)", 1.0, 100.0),
            Rule::BelowGood => t("score below", 1.0, 100.0),
            Rule::RedZone => t("score below", 1.0, 100.0),
            Rule::UsageDrop => t(
                "% fewer events than the prior window (at least)",
                1.0,
                100.0,
            ),
            Rule::PaymentFailed | Rule::CancellationIntent => None,
            Rule::NegativeTicket => t("ticket sentiment at or below (−1 to 1)", -1.0, 1.0),
            Rule::ChurnRisk => t("churn probability at or above (0–1)", 0.01, 0.99),
            Rule::RenewalAtRisk => t("days to renewal, with Poor or Fair health", 1.0, 365.0),
        }
    }
}

/// What a rule's threshold means, and its bounds (inclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub meaning: &'static str,
    pub min: f64,
    pub max: f64,
}

/// One rule's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleConfig {
    pub rule: Rule,
    pub enabled: bool,
    pub severity: Severity,
    /// The rule's number (points, score, percent, sentiment, probability or days).
    pub threshold: f64,
    /// Tell the owner (e-mail) and the team's Slack channel when an alert opens.
    pub notify: bool,
    /// Open a task for the owner when an alert opens and no running playbook handles
    /// it (the alert becomes work in the cockpit, due within the tier's SLA).
    #[serde(default)]
    pub opens_task: bool,
}

/// Checks an edited rule set: every rule exactly once, thresholds within their bounds.
/// Rules without a threshold keep 0.
///
/// # Errors
/// Every problem, on fields named `rules[i].threshold` (or `rules` for a missing or
/// repeated rule).
pub fn validate_rules(rules: &[RuleConfig]) -> Result<Vec<RuleConfig>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut out = Vec::with_capacity(rules.len());
    for (i, c) in rules.iter().enumerate() {
        if rules[..i].iter().any(|o| o.rule == c.rule) {
            errors.push("rules", format!("{} appears twice", c.rule.label()));
            continue;
        }
        let mut c = *c;
        match c.rule.threshold() {
            Some(t) if !(c.threshold.is_finite() && (t.min..=t.max).contains(&c.threshold)) => {
                errors.push(
                    format!("rules[{i}].threshold"),
                    format!("{}: must be from {} to {}", c.rule.label(), t.min, t.max),
                );
            }
            Some(_) => {}
            None => c.threshold = 0.0,
        }
        out.push(c);
    }
    for r in Rule::ALL {
        if !rules.iter().any(|c| c.rule == r) {
            errors.push("rules", format!("{} is missing", r.label()));
        }
    }
    errors.into_result(out)
}

/// The rule set in effect: the stored settings over the defaults, in the defaults' order
/// (a rule added in a later version appears with its default until someone edits it).
pub fn merge_rules(stored: &[RuleConfig]) -> Vec<RuleConfig> {
    default_rules()
        .into_iter()
        .map(|d| {
            stored
                .iter()
                .find(|s| s.rule == d.rule)
                .copied()
                .unwrap_or(d)
        })
        .collect()
}

/// A notification of a newly opened alert, in words for e-mail and Slack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    /// Plain text (e-mail).
    pub text: String,
    /// Slack mrkdwn, with the link.
    pub slack: String,
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The words of a notification: customer, severity, what happened, owner, and a link to
/// the customer's page (`link`, absolute when the server knows its public address).
pub fn message(
    severity: Severity,
    customer: &str,
    title: &str,
    owner: Option<&str>,
    link: &str,
) -> Message {
    let owner_line = owner.map_or_else(
        || "No owner: assign one on the customer's page.".to_string(),
        |o| format!("Owner: {o}"),
    );
    Message {
        subject: format!("[{}] {customer}: {title}", severity.label()),
        text: format!(
            "{title}\n\nCustomer: {customer}\nSeverity: {}\n{owner_line}\n\nOpen the customer: {link}\n\n\
             Acknowledge, snooze or resolve it in the alert inbox.\n",
            severity.label()
        ),
        slack: format!(
            "*{}* alert for <{link}|{}>: {}\n{}",
            severity.label(),
            slack_escape(customer),
            slack_escape(title),
            slack_escape(&owner_line)
        ),
    }
}

/// The rules that ship, with the thresholds.
pub fn default_rules() -> Vec<RuleConfig> {
    // The urgent ones notify by default; the rest wait in the inbox.
    let r = |rule, severity, threshold| RuleConfig {
        rule,
        enabled: true,
        severity,
        threshold,
        notify: severity >= Severity::High,
        opens_task: severity >= Severity::High,
    };
    vec![
        r(Rule::ScoreDrop, Severity::High, 10.0),
        r(Rule::BelowGood, Severity::Medium, 60.0),
        r(Rule::RedZone, Severity::Critical, 40.0),
        r(Rule::UsageDrop, Severity::High, 50.0),
        r(Rule::PaymentFailed, Severity::High, 0.0),
        r(Rule::NegativeTicket, Severity::Medium, -0.5),
        r(Rule::CancellationIntent, Severity::Critical, 0.0),
        r(Rule::ChurnRisk, Severity::High, 0.5),
        r(Rule::RenewalAtRisk, Severity::High, 90.0),
    ]
}

/// What the rules look at for one customer, as of one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub score: Option<u8>,
    pub level: Option<Level>,
    /// The score about 7 days earlier.
    pub score_7d_ago: Option<u8>,
    /// Events in the current window and the one before.
    pub events: u64,
    pub events_before: u64,
    pub payment: Option<Payment>,
    /// The lowest ticket sentiment in the window (−1 to 1).
    pub worst_ticket_sentiment: Option<f64>,
    pub cancellation_intent: bool,
    pub churn_probability: Option<f64>,
    pub days_to_renewal: Option<i64>,
}

/// A condition that holds now, with words for the alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub rule: Rule,
    pub severity: Severity,
    pub title: String,
}

fn holds(c: &RuleConfig, s: &Signals) -> Option<String> {
    let t = c.threshold;
    match c.rule {
        Rule::ScoreDrop => {
            let (now, then) = (s.score?, s.score_7d_ago?);
            let drop = f64::from(then) - f64::from(now);
            (drop > t).then(|| format!("Health fell {drop:.0} points in 7 days ({then} → {now})"))
        }
        Rule::BelowGood => {
            let now = s.score?;
            (f64::from(now) < t).then(|| format!("Health {now} is below {t:.0}"))
        }
        Rule::RedZone => {
            let now = s.score?;
            (f64::from(now) < t).then(|| format!("Health {now} is in the red zone (below {t:.0})"))
        }
        Rule::UsageDrop => {
            if s.events_before == 0 {
                return None;
            }
            let change =
                (s.events as f64 - s.events_before as f64) / s.events_before as f64 * 100.0;
            (-change >= t).then(|| {
                format!(
                    "Usage down {:.0} % against the prior window ({} → {} events)",
                    -change, s.events_before, s.events
                )
            })
        }
        Rule::PaymentFailed => match s.payment? {
            Payment::Failing => Some("A payment failed; the billing system is retrying".into()),
            Payment::Delinquent => {
                Some("Payments have failed and retries are over: money is owed".into())
            }
            Payment::Good => None,
        },
        Rule::NegativeTicket => {
            let worst = s.worst_ticket_sentiment?;
            (worst <= t).then(|| format!("A support ticket reads negative (sentiment {worst:.2})"))
        }
        Rule::CancellationIntent => s
            .cancellation_intent
            .then(|| "A support ticket mentions cancelling or leaving".to_string()),
        Rule::ChurnRisk => {
            let p = s.churn_probability?;
            (p >= t).then(|| format!("Churn probability {:.0} %", p * 100.0))
        }
        Rule::RenewalAtRisk => {
            let days = s.days_to_renewal?;
            let level = s.level?;
            (days >= 0 && (days as f64) <= t && level <= Level::Fair)
                .then(|| format!("Renews in {days} days with {} health", level.label()))
        }
    }
}

/// The enabled rules whose conditions hold for `signals`.
pub fn conditions(rules: &[RuleConfig], signals: &Signals) -> Vec<Condition> {
    rules
        .iter()
        .filter(|c| c.enabled)
        .filter_map(|c| {
            holds(c, signals).map(|title| Condition {
                rule: c.rule,
                severity: c.severity,
                title,
            })
        })
        .collect()
}

/// Which alerts to open now: conditions that hold now but did not at the previous
/// evaluation (`held_before`), for rules with no open alert for this customer (`open`).
pub fn to_open(
    now: &[Condition],
    held_before: &BTreeSet<Rule>,
    open: &BTreeSet<Rule>,
) -> Vec<Condition> {
    now.iter()
        .filter(|c| !held_before.contains(&c.rule) && !open.contains(&c.rule))
        .cloned()
        .collect()
}

/// The rules holding now, to keep as `held_before` for the next evaluation.
pub fn holding(now: &[Condition]) -> BTreeSet<Rule> {
    now.iter().map(|c| c.rule).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<RuleConfig> {
        default_rules()
    }

    fn fired(s: &Signals) -> Vec<Rule> {
        conditions(&rules(), s)
            .into_iter()
            .map(|c| c.rule)
            .collect()
    }

    fn healthy() -> Signals {
        Signals {
            score: Some(75),
            level: Some(Level::Good),
            score_7d_ago: Some(76),
            events: 500,
            events_before: 480,
            payment: Some(Payment::Good),
            worst_ticket_sentiment: Some(0.3),
            cancellation_intent: false,
            churn_probability: Some(0.1),
            days_to_renewal: Some(200),
        }
    }

    #[test]
    fn a_healthy_customer_raises_nothing_and_no_data_raises_nothing() {
        assert_eq!(fired(&healthy()), vec![]);
        assert_eq!(fired(&Signals::default()), vec![]);
    }

    #[test]
    fn each_rule_fires_on_its_condition_and_not_just_before_it() {
        let with = |f: fn(&mut Signals)| {
            let mut s = healthy();
            f(&mut s);
            fired(&s)
        };
        assert_eq!(with(|s| s.score_7d_ago = Some(86)), vec![Rule::ScoreDrop]);
        assert_eq!(
            with(|s| s.score_7d_ago = Some(85)),
            vec![],
            "10 points is not more than 10"
        );
        assert_eq!(
            with(|s| {
                s.score = Some(59);
                s.score_7d_ago = Some(60);
            }),
            vec![Rule::BelowGood]
        );
        assert_eq!(
            with(|s| {
                s.score = Some(60);
                s.score_7d_ago = Some(60);
            }),
            vec![]
        );
        assert_eq!(
            with(|s| {
                s.score = Some(39);
                s.score_7d_ago = Some(45);
            }),
            vec![Rule::BelowGood, Rule::RedZone]
        );
        assert_eq!(
            with(|s| s.events = 240),
            vec![Rule::UsageDrop],
            "down exactly 50 %"
        );
        assert_eq!(with(|s| s.events = 241), vec![]);
        assert_eq!(
            with(|s| s.events_before = 0),
            vec![],
            "no usage before: no drop"
        );
        assert_eq!(
            with(|s| s.payment = Some(Payment::Failing)),
            vec![Rule::PaymentFailed]
        );
        assert_eq!(
            with(|s| s.payment = Some(Payment::Delinquent)),
            vec![Rule::PaymentFailed]
        );
        assert_eq!(
            with(|s| s.worst_ticket_sentiment = Some(-0.5)),
            vec![Rule::NegativeTicket]
        );
        assert_eq!(with(|s| s.worst_ticket_sentiment = Some(-0.49)), vec![]);
        assert_eq!(
            with(|s| s.cancellation_intent = true),
            vec![Rule::CancellationIntent]
        );
        assert_eq!(
            with(|s| s.churn_probability = Some(0.5)),
            vec![Rule::ChurnRisk]
        );
        assert_eq!(with(|s| s.churn_probability = Some(0.49)), vec![]);
        assert_eq!(
            with(|s| {
                s.days_to_renewal = Some(90);
                s.level = Some(Level::Fair);
            }),
            vec![Rule::RenewalAtRisk]
        );
        assert_eq!(
            with(|s| s.days_to_renewal = Some(30)),
            vec![],
            "renewing soon with Good health is fine"
        );
        assert_eq!(
            with(|s| {
                s.days_to_renewal = Some(-3);
                s.level = Some(Level::Poor);
            }),
            vec![],
            "a renewal date in the past is not upcoming"
        );
    }

    #[test]
    fn disabled_rules_and_other_thresholds_are_respected() {
        let mut config = rules();
        config.iter_mut().for_each(|c| {
            if c.rule == Rule::BelowGood {
                c.enabled = false;
            }
            if c.rule == Rule::RedZone {
                c.threshold = 50.0;
            }
        });
        let s = Signals {
            score: Some(45),
            score_7d_ago: Some(47),
            ..healthy()
        };
        let got: Vec<Rule> = conditions(&config, &s)
            .into_iter()
            .map(|c| c.rule)
            .collect();
        assert_eq!(got, vec![Rule::RedZone]);
    }

    /// One evaluation: the alerts it opens, with the open set and the held set updated
    /// as the backend would.
    fn evaluate(s: &Signals, held: &mut BTreeSet<Rule>, open: &mut BTreeSet<Rule>) -> Vec<Rule> {
        let now = conditions(&rules(), s);
        let new = to_open(&now, held, open);
        open.extend(new.iter().map(|c| c.rule));
        *held = holding(&now);
        new.into_iter().map(|c| c.rule).collect()
    }

    #[test]
    fn a_condition_opens_one_alert_per_episode() {
        let (mut held, mut open) = (BTreeSet::new(), BTreeSet::new());
        let failing = Signals {
            payment: Some(Payment::Failing),
            ..healthy()
        };
        // Evaluated three times while failing: one alert.
        let mut opened = Vec::new();
        for _ in 0..3 {
            opened.extend(evaluate(&failing, &mut held, &mut open));
        }
        assert_eq!(opened, vec![Rule::PaymentFailed]);
        // Resolved by the CSM while still failing: no new alert for the same episode.
        open.clear();
        assert_eq!(evaluate(&failing, &mut held, &mut open), vec![]);
        // Paid, then failing again: a new episode, a new alert.
        assert_eq!(evaluate(&healthy(), &mut held, &mut open), vec![]);
        assert_eq!(
            evaluate(&failing, &mut held, &mut open),
            vec![Rule::PaymentFailed]
        );
        // Still open from before, the condition comes back: no second open alert.
        evaluate(&healthy(), &mut held, &mut open);
        assert_eq!(evaluate(&failing, &mut held, &mut open), vec![]);
    }

    #[test]
    fn rule_sets_are_checked_whole() {
        assert_eq!(validate_rules(&rules()).unwrap(), rules());
        let mut bad = rules();
        bad[0].threshold = 0.0; // score drop: 1–100
        bad[7].threshold = f64::NAN; // churn risk
        bad[4].threshold = 12.0; // payment failed has none: reset, not refused
        let errors = validate_rules(&bad).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["rules[0].threshold", "rules[7].threshold"]);
        let mut fixed = bad.clone();
        fixed[0].threshold = 5.0;
        fixed[7].threshold = 0.4;
        assert_eq!(validate_rules(&fixed).unwrap()[4].threshold, 0.0);

        let mut twice = rules();
        twice[1] = twice[0];
        let errors = validate_rules(&twice).unwrap_err();
        assert_eq!(
            errors
                .0
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            vec!["Score drop appears twice", "Below Good is missing"]
        );
    }

    #[test]
    fn stored_rules_override_defaults_and_new_rules_keep_theirs() {
        let mut quiet = default_rules()[2];
        quiet.enabled = false;
        let merged = merge_rules(&[quiet]);
        assert_eq!(merged.len(), Rule::ALL.len());
        assert!(!merged[2].enabled);
        assert_eq!(merged[3], default_rules()[3]);
        assert!(merged
            .iter()
            .filter(|c| c.notify)
            .all(|c| c.severity >= Severity::High));
    }

    #[test]
    fn messages_name_the_customer_and_escape_slack_markup() {
        let m = message(
            Severity::Critical,
            "Acme <Labs> & Co",
            "Health 38 is in the red zone (below 40)",
            Some("Priya"),
            "https://csm.example.com/customers/7",
        );
        assert_eq!(
            m.subject,
            "[Critical] Acme <Labs> & Co: Health 38 is in the red zone (below 40)"
        );
        assert!(m.text.contains("Owner: Priya"));
        assert!(m.text.contains("https://csm.example.com/customers/7"));
        assert!(m.slack.starts_with(
            "*Critical* alert for <https://csm.example.com/customers/7|Acme &lt;Labs&gt; &amp; Co>:"
        ));
        let unowned = message(Severity::Low, "A", "t", None, "/customers/1");
        assert!(unowned.text.contains("No owner"));
    }

    #[test]
    fn titles_say_what_happened() {
        let s = Signals {
            score: Some(38),
            score_7d_ago: Some(55),
            level: Some(Level::Poor),
            days_to_renewal: Some(45),
            ..healthy()
        };
        let titles: Vec<String> = conditions(&rules(), &s)
            .into_iter()
            .map(|c| c.title)
            .collect();
        assert_eq!(
            titles,
            vec![
                "Health fell 17 points in 7 days (55 → 38)",
                "Health 38 is below 60",
                "Health 38 is in the red zone (below 40)",
                "Renews in 45 days with Poor health",
            ]
        );
        assert_eq!(Rule::parse("red_zone"), Some(Rule::RedZone));
        assert!(Rule::ALL
            .iter()
            .all(|r| Rule::parse(r.as_str()) == Some(*r)));
        assert!(Severity::Critical > Severity::High);
    }
}
