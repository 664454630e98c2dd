//! What a playbook is, as stored and as its JSON reads: a trigger, who may enter and when
//! they leave, a goal, and a tree of steps. Names that point at other things (templates,
//! event kinds, fields) are kept as text here and checked by [`super::validate`], so a
//! wrong one is reported with its path instead of failing the whole document.

use serde::{Deserialize, Serialize};

/// One playbook version's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub trigger: Trigger,
    /// All must hold for a customer to enter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<Condition>,
    #[serde(default)]
    pub reentry: Reentry,
    /// Checked before every step: the enrollment ends as soon as any holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    pub steps: Vec<Step>,
}

/// What starts an enrollment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A product event by name, with optional filters on its properties.
    Event {
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
    },
    /// The health level changed (to / from a level, when given).
    HealthLevelChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// The health score crossed a threshold (a multiple of ten), up or down.
    HealthThreshold {
        threshold: i64,
        direction: String,
    },
    /// The churn risk band changed (to a band, when given).
    ChurnRiskChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// An alert opened (of a rule, when given).
    AlertOpened {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// An expansion signal opened (of a kind, when given).
    ExpansionOpened {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
    TrialStarted,
    PaymentFailed,
    SubscriptionCancelled,
    /// The renewal is this many days away (one of the renewal notice days).
    RenewalIn {
        days: i64,
    },
    /// This many days after the contract started (or the customer was first seen).
    DaysAfterStart {
        days: i64,
    },
    /// The customer starts matching a condition (tier, stage, plan, owner, tag, attribute).
    SegmentEntry {
        condition: Condition,
    },
    /// At a time of day in the customer's time zone, on the given weekdays (every day
    /// when none), for every customer matching the entry conditions.
    Schedule {
        time: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        days: Vec<String>,
    },
    /// A person enrolls a customer or a filtered list.
    Manual,
}

/// A filter on a product event's properties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilter {
    pub property: String,
    pub op: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A test on what we know of a customer: `field op value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `health.score`, `tier`, `attr.industry`… (see [`super::conditions::Field`]).
    pub field: String,
    /// `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`, `exists`, `missing`.
    pub op: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// May a customer enter again?
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Reentry {
    /// Once ever.
    Once,
    /// Again once this long has passed since it last entered ("30d").
    Every(String),
    /// Again whenever it isn't enrolled now.
    #[default]
    NotWhileEnrolled,
}

/// What the playbook is for, measured for every enrollment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub name: String,
    /// All must hold.
    pub when: Vec<Condition>,
    /// Within this long of entering ("14d").
    pub within: String,
}

/// One step of the tree. Ids are unique in the playbook: an enrollment's place is the id
/// of the step it runs next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    #[serde(flatten)]
    pub kind: StepKind,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKind {
    /// Wait a duration ("2h", "3d", "1w 2d").
    Wait {
        #[serde(rename = "for")]
        duration: String,
    },
    /// Wait until a time of day in the customer's time zone, on given weekdays.
    WaitUntil {
        time: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        days: Vec<String>,
    },
    /// Wait for a product event (or a domain event kind) by name: on it, go on; after
    /// `timeout`, take `on_timeout` instead.
    WaitForEvent {
        event: String,
        timeout: String,
        #[serde(default)]
        on_timeout: Vec<Step>,
    },
    /// The first branch whose conditions all hold is taken, else `otherwise`. Paths don't
    /// rejoin: a branch is the last step of its list.
    Branch {
        branches: Vec<BranchArm>,
        #[serde(default)]
        otherwise: Vec<Step>,
    },
    /// Customers are dealt to arms by their percentages; the holdout gets nothing.
    Split {
        arms: Vec<SplitArm>,
        #[serde(default)]
        holdout: u32,
    },
    SendEmail {
        template: String,
        /// `primary_contact`, `owner`, or `role:<contact role>`.
        to: String,
    },
    CreateTask {
        title: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
        /// `owner`, `team:<team>` (round robin), or `role:<user role>`.
        assignee: String,
        #[serde(default = "default_priority")]
        priority: String,
        /// `sla` (from the tier's SLA) or a duration ("2d").
        #[serde(default = "default_due")]
        due: String,
    },
    Slack {
        text: String,
    },
    UpdateField {
        /// `stage`, `tier`, `tag`, or `attr.<name>`.
        field: String,
        /// For tags: add (default) or remove.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<String>,
        value: String,
    },
    Webhook {
        url: String,
        /// Extra JSON merged into the payload.
        #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
        body: serde_json::Value,
    },
    GoalReached,
    End,
}

fn default_priority() -> String {
    "normal".into()
}

fn default_due() -> String {
    "sla".into()
}

/// One way out of a branch step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchArm {
    pub name: String,
    pub when: Vec<Condition>,
    pub steps: Vec<Step>,
}

/// One arm of a split test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitArm {
    pub name: String,
    pub percent: u32,
    pub steps: Vec<Step>,
}

impl StepKind {
    /// The step's type as its JSON names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            StepKind::Wait { .. } => "wait",
            StepKind::WaitUntil { .. } => "wait_until",
            StepKind::WaitForEvent { .. } => "wait_for_event",
            StepKind::Branch { .. } => "branch",
            StepKind::Split { .. } => "split",
            StepKind::SendEmail { .. } => "send_email",
            StepKind::CreateTask { .. } => "create_task",
            StepKind::Slack { .. } => "slack",
            StepKind::UpdateField { .. } => "update_field",
            StepKind::Webhook { .. } => "webhook",
            StepKind::GoalReached => "goal_reached",
            StepKind::End => "end",
        }
    }

    /// Whether the step's path stops with it (the steps after it in its list are never
    /// reached): branches and splits go down their arms, `end` ends.
    pub fn ends_its_list(&self) -> bool {
        matches!(
            self,
            StepKind::Branch { .. } | StepKind::Split { .. } | StepKind::End
        )
    }

    /// The lists of steps under this one, each with its path suffix (`branches[0].steps`).
    pub fn children(&self) -> Vec<(String, &[Step])> {
        match self {
            StepKind::WaitForEvent { on_timeout, .. } => {
                vec![("on_timeout".into(), on_timeout.as_slice())]
            }
            StepKind::Branch {
                branches,
                otherwise,
            } => branches
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("branches[{i}].steps"), b.steps.as_slice()))
                .chain(std::iter::once(("otherwise".into(), otherwise.as_slice())))
                .collect(),
            StepKind::Split { arms, .. } => arms
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("arms[{i}].steps"), a.steps.as_slice()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Where a step sits: the list holding it and its index there.
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    pub step: &'a Step,
    pub list: &'a [Step],
    pub index: usize,
}

impl Playbook {
    /// Every step with its JSON path, depth first in reading order.
    pub fn walk(&self) -> Vec<(String, &Step)> {
        fn go<'a>(prefix: &str, list: &'a [Step], out: &mut Vec<(String, &'a Step)>) {
            for (i, s) in list.iter().enumerate() {
                let path = format!("{prefix}[{i}]");
                out.push((path.clone(), s));
                for (suffix, children) in s.kind.children() {
                    go(&format!("{path}.{suffix}"), children, out);
                }
            }
        }
        let mut out = Vec::new();
        go("steps", &self.steps, &mut out);
        out
    }

    /// The step with `id`, and where it sits.
    pub fn find(&self, id: &str) -> Option<Located<'_>> {
        fn go<'a>(list: &'a [Step], id: &str) -> Option<Located<'a>> {
            for (index, step) in list.iter().enumerate() {
                if step.id == id {
                    return Some(Located { step, list, index });
                }
                for (_, children) in step.kind.children() {
                    if let Some(found) = go(children, id) {
                        return Some(found);
                    }
                }
            }
            None
        }
        go(&self.steps, id)
    }

    /// The step after `id` in its list (none at the end of a path).
    pub fn next_after(&self, id: &str) -> Option<&Step> {
        let at = self.find(id)?;
        at.list.get(at.index + 1)
    }
}
