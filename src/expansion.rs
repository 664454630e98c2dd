//! Expansion signals: which customers look ready to buy more, by how much (ARR uplift)
//! and how sure we are (confidence, 0–1). Pure: the backend gathers the inputs (facts,
//! the customer's plan and the next one up, NPS, feature requests) and keeps the signals.
//!
//! The signals and their estimates:
//! - **Near the plan's limit**: events in the window, or active users, at 80 % or more of
//!   what the plan includes. Uplift: the move to the next plan. Confidence rises from
//!   0.4 at 80 % to 0.7 at the limit.
//! - **Over the limit**: over it in this window *and* the one before (consecutive
//!   overage). Uplift: the next plan; confidence 0.8.
//! - **Seat growth**: more active users than seats, or active users up 20 % or more with
//!   90 % of the seats in use. Uplift: the extra seats at the plan's seat price;
//!   confidence 0.5 (0.65 when already over the seats).
//! - **Asks for a higher tier's feature**: a ticket in the window names a feature that
//!   only a higher plan has. Uplift: the cheapest plan with it; confidence 0.5.
//! - **Promoter in good health**: health 80 or more and an NPS answer of 9 or 10.
//!   Uplift: 10 % of ARR (an add-on or a wider roll-out); confidence 0.3.
//!
//! Uplifts are annual, in the customer's minor currency unit.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// A plan as sold: its rank among plans, its price and what it includes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Matches `customers.plan` / the subscription's plan.
    pub code: String,
    pub name: String,
    /// Higher is a bigger plan.
    pub rank: i32,
    /// Price per seat per month (minor units).
    pub seat_price_minor: i64,
    /// Seats included; `None`: no seat limit.
    pub seat_limit: Option<u32>,
    /// Product events included per 28 days; `None`: unlimited.
    pub event_limit: Option<u64>,
    /// Features only this plan and bigger ones have (names as customers write them,
    /// matched case-insensitively in tickets).
    pub features: Vec<String>,
}

/// The plan a customer is on, by the code or name it carries (case and spaces aside).
pub fn find_plan<'a>(plans: &'a [Plan], customer_plan: &str) -> Option<&'a Plan> {
    let wanted = customer_plan.trim();
    plans
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(wanted) || p.name.eq_ignore_ascii_case(wanted))
}

/// Checks an edited plan list: codes and names present and at most 100 characters, codes
/// and ranks unique, prices not negative, limits at least 1 when set; feature names are
/// trimmed and blanks dropped.
///
/// # Errors
/// Every problem, on fields named `plans[i].code` and so on.
pub fn validate_plans(plans: &[Plan]) -> Result<Vec<Plan>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut out = Vec::with_capacity(plans.len());
    if plans.len() > 50 {
        errors.push("plans", "at most 50 plans");
    }
    for (i, p) in plans.iter().enumerate() {
        let field = |f: &str| format!("plans[{i}].{f}");
        let mut p = p.clone();
        p.code = p.code.trim().to_string();
        p.name = p.name.trim().to_string();
        if p.code.is_empty() || p.code.chars().count() > 100 {
            errors.push(field("code"), "must be 1 to 100 characters");
        } else if plans[..i]
            .iter()
            .any(|o| o.code.trim().eq_ignore_ascii_case(&p.code))
        {
            errors.push(field("code"), format!("{} is used by another plan", p.code));
        }
        if p.name.is_empty() || p.name.chars().count() > 100 {
            errors.push(field("name"), "must be 1 to 100 characters");
        }
        if plans[..i].iter().any(|o| o.rank == p.rank) {
            errors.push(
                field("rank"),
                "another plan has this rank: ranks order the plans",
            );
        }
        if !(0..=1_000_000_000).contains(&p.seat_price_minor) {
            errors.push(field("seat_price_minor"), "must be from 0 to 10,000,000.00");
        }
        if p.seat_limit == Some(0) {
            errors.push(
                field("seat_limit"),
                "must be at least 1, or empty for no limit",
            );
        }
        if p.event_limit == Some(0) {
            errors.push(
                field("event_limit"),
                "must be at least 1, or empty for no limit",
            );
        }
        p.features = p
            .features
            .iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
        if p.features.len() > 50 || p.features.iter().any(|f| f.chars().count() > 100) {
            errors.push(
                field("features"),
                "at most 50 features of 100 characters each",
            );
        }
        out.push(p);
    }
    errors.into_result(out)
}

/// The kinds of signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NearLimit,
    Overage,
    SeatGrowth,
    FeatureRequest,
    Promoter,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::NearLimit,
        Kind::Overage,
        Kind::SeatGrowth,
        Kind::FeatureRequest,
        Kind::Promoter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NearLimit => "near_limit",
            Kind::Overage => "overage",
            Kind::SeatGrowth => "seat_growth",
            Kind::FeatureRequest => "feature_request",
            Kind::Promoter => "promoter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::NearLimit => "Near plan limit",
            Kind::Overage => "Over plan limit",
            Kind::SeatGrowth => "Seat growth",
            Kind::FeatureRequest => "Higher-tier feature request",
            Kind::Promoter => "Healthy promoter",
        }
    }
}

/// What the rules look at for one customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// Seats paid for.
    pub seats: u32,
    /// Events and active users in the current window and the one before.
    pub events: u64,
    pub events_before: u64,
    pub active_users: u32,
    pub active_users_before: u32,
    pub health: Option<u8>,
    /// The latest NPS answer (0–10) in the last 180 days.
    pub nps: Option<u8>,
    /// Ticket texts (subject and body) from the window.
    pub ticket_texts: Vec<String>,
    /// Current MRR (minor units).
    pub mrr_minor: i64,
}

/// One signal, with its estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub kind: Kind,
    pub title: String,
    /// Estimated extra ARR (minor units).
    pub uplift_minor: i64,
    /// 0–1.
    pub confidence: f64,
}

/// Whether `text` names `feature` as words of their own ("SSO" in "sso for our team", not
/// "API" in "rapid"), ignoring case.
pub fn mentions(text: &str, feature: &str) -> bool {
    let (text, feature) = (text.to_lowercase(), feature.trim().to_lowercase());
    if feature.is_empty() {
        return false;
    }
    text.match_indices(&feature).any(|(at, m)| {
        let before = text[..at].chars().next_back();
        let after = text[at + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The next plan up from `plan` (the smallest rank above it).
pub fn next_plan<'a>(plans: &'a [Plan], plan: &Plan) -> Option<&'a Plan> {
    plans
        .iter()
        .filter(|p| p.rank > plan.rank)
        .min_by_key(|p| p.rank)
}

/// The ARR gained by moving from `from` to `to` with `seats` seats (never negative).
fn upgrade_uplift(from: &Plan, to: &Plan, seats: u32) -> i64 {
    ((to.seat_price_minor - from.seat_price_minor) * i64::from(seats.max(1)) * 12).max(0)
}

/// How full the plan is: the larger of events and active users against their limits.
fn fill(plan: &Plan, events: u64, users: u32) -> Option<f64> {
    let by_events = plan
        .event_limit
        .filter(|l| *l > 0)
        .map(|l| events as f64 / l as f64);
    let by_users = plan
        .seat_limit
        .filter(|l| *l > 0)
        .map(|l| f64::from(users) / f64::from(l));
    match (by_events, by_users) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The signals that hold for a customer on `plan` (`None`: no known plan, so only the
/// seat and promoter signals can hold), given every plan sold.
pub fn signals(plans: &[Plan], plan: Option<&Plan>, i: &Inputs) -> Vec<Signal> {
    let mut out = Vec::new();
    let next = plan.and_then(|p| next_plan(plans, p));
    if let (Some(plan), Some(next)) = (plan, next) {
        let now = fill(plan, i.events, i.active_users);
        let before = fill(plan, i.events_before, i.active_users_before);
        let uplift = upgrade_uplift(plan, next, i.seats);
        match (now, before) {
            (Some(n), Some(b)) if n > 1.0 && b > 1.0 => out.push(Signal {
                kind: Kind::Overage,
                title: format!(
                    "Over the {} plan's limit two windows running ({:.0} % now): {} fits",
                    plan.name,
                    n * 100.0,
                    next.name
                ),
                uplift_minor: uplift,
                confidence: 0.8,
            }),
            (Some(n), _) if n >= 0.8 => out.push(Signal {
                kind: Kind::NearLimit,
                title: format!(
                    "Using {:.0} % of the {} plan's limit: {} is next",
                    n * 100.0,
                    plan.name,
                    next.name
                ),
                uplift_minor: uplift,
                confidence: round2(0.4 + 0.3 * ((n - 0.8) / 0.2).min(1.0)),
            }),
            _ => {}
        }
    }
    let seat_price = plan.map_or_else(
        || {
            // No plan: the seat price is what the customer pays per seat now.
            if i.seats > 0 {
                i.mrr_minor / i64::from(i.seats)
            } else {
                0
            }
        },
        |p| p.seat_price_minor,
    );
    if i.seats > 0 && seat_price > 0 {
        let over = i.active_users.saturating_sub(i.seats);
        let growth = if i.active_users_before > 0 {
            (f64::from(i.active_users) - f64::from(i.active_users_before))
                / f64::from(i.active_users_before)
        } else {
            0.0
        };
        let busy = f64::from(i.active_users) >= 0.9 * f64::from(i.seats);
        if over > 0 {
            out.push(Signal {
                kind: Kind::SeatGrowth,
                title: format!("{} active users on {} seats", i.active_users, i.seats),
                uplift_minor: i64::from(over) * seat_price * 12,
                confidence: 0.65,
            });
        } else if growth >= 0.2 && busy {
            // The seats the same growth would need next window.
            let extra = (f64::from(i.active_users) * (1.0 + growth)).ceil() as u32;
            let extra = extra.saturating_sub(i.seats).max(1);
            out.push(Signal {
                kind: Kind::SeatGrowth,
                title: format!(
                    "Active users up {:.0} % with {} of {} seats in use",
                    growth * 100.0,
                    i.active_users,
                    i.seats
                ),
                uplift_minor: i64::from(extra) * seat_price * 12,
                confidence: 0.5,
            });
        }
    }
    if let Some(plan) = plan {
        // The cheapest bigger plan with a feature the customer asked for.
        let asked = plans
            .iter()
            .filter(|p| p.rank > plan.rank)
            .flat_map(|p| p.features.iter().map(move |f| (p, f)))
            .filter(|(_, f)| i.ticket_texts.iter().any(|t| mentions(t, f)))
            .min_by_key(|(p, _)| p.rank);
        if let Some((target, feature)) = asked {
            out.push(Signal {
                kind: Kind::FeatureRequest,
                title: format!("Asked about {feature}, part of {}", target.name),
                uplift_minor: upgrade_uplift(plan, target, i.seats),
                confidence: 0.5,
            });
        }
    }
    if let (Some(h), Some(nps)) = (i.health, i.nps) {
        if h >= 80 && nps >= 9 {
            out.push(Signal {
                kind: Kind::Promoter,
                title: format!(
                    "Health {h} and an NPS of {nps}: ready for an add-on or a wider roll-out"
                ),
                uplift_minor: i.mrr_minor * 12 / 10,
                confidence: 0.3,
            });
        }
    }
    out.retain(|s| s.uplift_minor > 0);
    out
}

/// The pipeline's totals: the uplift summed, and weighted by confidence.
pub fn pipeline<'a>(signals: impl IntoIterator<Item = &'a Signal>) -> (i64, i64) {
    signals.into_iter().fold((0, 0), |(total, weighted), s| {
        (
            total + s.uplift_minor,
            weighted + (s.uplift_minor as f64 * s.confidence).round() as i64,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans() -> Vec<Plan> {
        vec![
            Plan {
                code: "starter".into(),
                name: "Starter".into(),
                rank: 1,
                seat_price_minor: 2_000,
                seat_limit: Some(10),
                event_limit: Some(1_000),
                features: vec![],
            },
            Plan {
                code: "pro".into(),
                name: "Pro".into(),
                rank: 2,
                seat_price_minor: 5_000,
                seat_limit: Some(50),
                event_limit: Some(10_000),
                features: vec!["API access".into()],
            },
            Plan {
                code: "enterprise".into(),
                name: "Enterprise".into(),
                rank: 3,
                seat_price_minor: 9_000,
                seat_limit: None,
                event_limit: None,
                features: vec!["SSO".into(), "audit log".into()],
            },
        ]
    }

    fn quiet() -> Inputs {
        Inputs {
            seats: 10,
            events: 300,
            events_before: 280,
            active_users: 5,
            active_users_before: 5,
            health: Some(70),
            nps: Some(7),
            ticket_texts: vec![],
            mrr_minor: 20_000,
        }
    }

    fn kinds(plan: &str, i: &Inputs) -> Vec<(Kind, i64, f64)> {
        let all = plans();
        let plan = all.iter().find(|p| p.code == plan);
        signals(&all, plan, i)
            .into_iter()
            .map(|s| (s.kind, s.uplift_minor, s.confidence))
            .collect()
    }

    #[test]
    fn an_ordinary_customer_shows_nothing() {
        assert_eq!(kinds("starter", &quiet()), vec![]);
        assert_eq!(kinds("none", &Inputs::default()), vec![]);
    }

    #[test]
    fn nearing_the_limit_scales_confidence_and_prices_the_next_plan() {
        // (5,000 − 2,000) × 10 seats × 12 = 360,000.
        let at = |events| kinds("starter", &Inputs { events, ..quiet() });
        assert_eq!(at(799), vec![]);
        assert_eq!(at(800), vec![(Kind::NearLimit, 360_000, 0.4)]);
        assert_eq!(at(900), vec![(Kind::NearLimit, 360_000, 0.55)]);
        assert_eq!(at(1_000), vec![(Kind::NearLimit, 360_000, 0.7)]);
        // Over once only: still "near", not yet overage.
        assert_eq!(at(1_500), vec![(Kind::NearLimit, 360_000, 0.7)]);
        // Users count too: 8 of 10 seats included.
        assert_eq!(
            kinds(
                "starter",
                &Inputs {
                    active_users: 8,
                    ..quiet()
                }
            ),
            vec![(Kind::NearLimit, 360_000, 0.4)]
        );
    }

    #[test]
    fn two_windows_over_the_limit_are_overage() {
        let i = Inputs {
            events: 1_200,
            events_before: 1_100,
            ..quiet()
        };
        assert_eq!(kinds("starter", &i), vec![(Kind::Overage, 360_000, 0.8)]);
        // The biggest plan has nowhere to go.
        assert_eq!(
            kinds(
                "enterprise",
                &Inputs {
                    events: 10_000_000,
                    events_before: 10_000_000,
                    ..quiet()
                }
            ),
            vec![]
        );
    }

    #[test]
    fn seat_growth_prices_the_extra_seats() {
        // 22 active on 20 seats: 2 × 5,000 × 12.
        let over = Inputs {
            seats: 20,
            active_users: 22,
            active_users_before: 20,
            ..quiet()
        };
        assert_eq!(
            kinds("pro", &over),
            vec![(Kind::SeatGrowth, 2 * 5_000 * 12, 0.65)]
        );
        // Up 29 % with 90 % of the seats busy: the next window would need 24, 4 more.
        let growing = Inputs {
            seats: 20,
            active_users: 18,
            active_users_before: 14,
            ..quiet()
        };
        let got = kinds("pro", &growing);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Kind::SeatGrowth);
        assert_eq!(got[0].1, 4 * 5_000 * 12);
        // Growth with seats to spare is not a signal.
        let roomy = Inputs {
            seats: 50,
            active_users: 18,
            active_users_before: 14,
            ..quiet()
        };
        assert_eq!(kinds("pro", &roomy), vec![]);
        // No plan: the seat price is MRR per seat.
        let unknown = Inputs {
            seats: 10,
            active_users: 11,
            mrr_minor: 30_000,
            ..quiet()
        };
        assert_eq!(
            kinds("none", &unknown),
            vec![(Kind::SeatGrowth, 36_000, 0.65)]
        );
    }

    #[test]
    fn a_request_for_a_bigger_plans_feature_points_at_the_cheapest_plan_with_it() {
        let i = Inputs {
            ticket_texts: vec!["Can we get sso for our team?".into()],
            ..quiet()
        };
        // Starter → Enterprise: (9,000 − 2,000) × 10 × 12.
        assert_eq!(
            kinds("starter", &i),
            vec![(Kind::FeatureRequest, 840_000, 0.5)]
        );
        let api = Inputs {
            ticket_texts: vec!["We need API access and SSO".into()],
            ..quiet()
        };
        assert_eq!(
            kinds("starter", &api),
            vec![(Kind::FeatureRequest, 360_000, 0.5)]
        );
        assert!(!mentions("We need rapid exports", "API"));
        assert!(mentions("Feature request: SSO with Okta", "sso"));
        assert!(mentions("an audit-log export", "audit"));
        assert!(!mentions("anything", " "));
        // Already on a plan with it: nothing.
        assert_eq!(kinds("enterprise", &i), vec![]);
    }

    #[test]
    fn healthy_promoters_are_an_add_on_opportunity() {
        let i = Inputs {
            health: Some(85),
            nps: Some(9),
            ..quiet()
        };
        assert_eq!(kinds("starter", &i), vec![(Kind::Promoter, 24_000, 0.3)]);
        assert_eq!(
            kinds(
                "starter",
                &Inputs {
                    nps: Some(8),
                    ..i.clone()
                }
            ),
            vec![]
        );
        assert_eq!(
            kinds(
                "starter",
                &Inputs {
                    health: Some(79),
                    ..i
                }
            ),
            vec![]
        );
    }

    #[test]
    fn plans_are_found_by_code_or_name_and_checked_whole() {
        let all = plans();
        assert_eq!(find_plan(&all, " PRO ").unwrap().code, "pro");
        assert_eq!(find_plan(&all, "Enterprise").unwrap().code, "enterprise");
        assert!(find_plan(&all, "Pro (trial)").is_none());
        assert_eq!(next_plan(&all, &all[0]).unwrap().code, "pro");
        assert!(next_plan(&all, &all[2]).is_none());

        assert_eq!(validate_plans(&all).unwrap(), all);
        let mut bad = all.clone();
        bad[1].code = " STARTER ".into();
        bad[1].rank = 1;
        bad[2].seat_limit = Some(0);
        bad[2].seat_price_minor = -1;
        bad[0].name = "  ".into();
        bad[0].features = vec!["  ".into(), " SSO ".into()];
        let errors = validate_plans(&bad).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "plans[0].name",
                "plans[1].code",
                "plans[1].rank",
                "plans[2].seat_price_minor",
                "plans[2].seat_limit",
            ]
        );
        let mut tidy = all.clone();
        tidy[0].features = vec!["  ".into(), " SSO ".into()];
        assert_eq!(validate_plans(&tidy).unwrap()[0].features, vec!["SSO"]);
    }

    #[test]
    fn the_pipeline_sums_and_weights() {
        let s = |uplift, confidence| Signal {
            kind: Kind::Promoter,
            title: String::new(),
            uplift_minor: uplift,
            confidence,
        };
        assert_eq!(
            pipeline(&[s(100_000, 0.5), s(10_000, 0.3)]),
            (110_000, 53_000)
        );
        assert_eq!(pipeline(&[]), (0, 0));
        assert!(Kind::ALL
            .iter()
            .all(|k| Kind::parse(k.as_str()) == Some(*k)));
    }
}
