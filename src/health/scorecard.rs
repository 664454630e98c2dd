//! Scorecards: measures, groups, weights and thresholds; the default card; validation of an edited one.

use super::*;

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

pub(super) fn measure(
    id: &str,
    label: &str,
    kind: MeasureKind,
    weight: f64,
    n: Normalisation,
) -> Measure {
    Measure {
        id: id.into(),
        label: label.into(),
        kind,
        weight,
        normalisation: n,
    }
}

pub(super) fn between(poor: f64, good: f64) -> Normalisation {
    Normalisation::Thresholds { poor, good }
}

pub(super) const HIGHER_RANKS_BETTER: Normalisation = Normalisation::Percentile {
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
