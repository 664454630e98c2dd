//! Checking a playbook before it is stored or published: every problem, each with the
//! JSON path of what is wrong (`steps[2].branches[0].when`), so an API caller or the
//! editor can point at it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::conditions::{Field, Op, FIELD_NAMES};
use super::definition::{Condition, Playbook, Reentry, Step, StepKind, Trigger};
use super::timing::{parse_days, parse_duration, parse_time};
use crate::validation::ValidationErrors;

/// Names a playbook may point at, known to the caller (the templates stored).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Template keys; `None` skips the check (no store to ask).
    pub templates: Option<BTreeSet<String>>,
}

/// Longest playbook name.
pub const MAX_NAME: usize = 120;
/// Longest step id.
pub const MAX_STEP_ID: usize = 64;
/// Most steps in one playbook.
pub const MAX_STEPS: usize = 500;

/// Reads a playbook from JSON: a document that isn't one is refused with the path and
/// reason of its first problem; one that is, with every problem [`validate`] finds.
///
/// # Errors
/// Every problem found, by path.
pub fn parse(json: &str, catalog: &Catalog) -> Result<Playbook, ValidationErrors> {
    let mut de = serde_json::Deserializer::from_str(json);
    let playbook: Playbook = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let mut errors = ValidationErrors::default();
        errors.push(
            if path == "." { "playbook".into() } else { path },
            e.inner().to_string(),
        );
        errors
    })?;
    let errors = validate(&playbook, catalog);
    errors.into_result(playbook)
}

/// Every problem with `p`, by path; empty when it can be published.
pub fn validate(p: &Playbook, catalog: &Catalog) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    let name = p.name.trim();
    if name.is_empty() {
        e.push("name", "a playbook needs a name");
    } else if name.chars().count() > MAX_NAME {
        e.push("name", format!("at most {MAX_NAME} characters"));
    }
    trigger(&p.trigger, &mut e);
    conditions("entry", &p.entry, &mut e);
    conditions("exit", &p.exit, &mut e);
    if let Reentry::Every(d) = &p.reentry {
        if let Err(m) = parse_duration(d) {
            e.push("reentry.every", m);
        }
    }
    if let Some(goal) = &p.goal {
        if goal.name.trim().is_empty() {
            e.push("goal.name", "a goal needs a name");
        }
        if goal.when.is_empty() {
            e.push("goal.when", "a goal needs at least one condition");
        }
        conditions("goal.when", &goal.when, &mut e);
        if let Err(m) = parse_duration(&goal.within) {
            e.push("goal.within", m);
        }
    }
    if p.steps.is_empty() {
        e.push("steps", "a playbook needs at least one step");
    }
    let all = p.walk();
    if all.len() > MAX_STEPS {
        e.push(
            "steps",
            format!("at most {MAX_STEPS} steps ({} here)", all.len()),
        );
    }
    let mut ids = BTreeSet::new();
    for (path, s) in &all {
        step_id(path, s, &mut ids, &mut e);
        step(path, s, catalog, &mut e);
    }
    unreachable("steps", &p.steps, &mut e);
    e
}

fn step_id(path: &str, s: &Step, ids: &mut BTreeSet<String>, e: &mut ValidationErrors) {
    let id = s.id.as_str();
    let field = format!("{path}.id");
    if id.is_empty() {
        e.push(field, "a step needs an id");
    } else if id.len() > MAX_STEP_ID
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        e.push(
            field,
            format!("use up to {MAX_STEP_ID} letters, digits, - or _"),
        );
    } else if !ids.insert(id.to_string()) {
        e.push(field, format!("“{id}” is used by another step"));
    }
}

/// Steps after one that ends its list (a branch, a split, an end) are never reached.
fn unreachable(prefix: &str, list: &[Step], e: &mut ValidationErrors) {
    if let Some(stop) = list.iter().position(|s| s.kind.ends_its_list()) {
        for i in stop + 1..list.len() {
            e.push(
                format!("{prefix}[{i}]"),
                format!(
                    "no path reaches this step: the {} before it ends the path (put it inside the branches)",
                    list[stop].kind.type_name().replace('_', " ")
                ),
            );
        }
    }
    for (i, s) in list.iter().enumerate() {
        for (suffix, children) in s.kind.children() {
            unreachable(&format!("{prefix}[{i}].{suffix}"), children, e);
        }
    }
}

fn trigger(t: &Trigger, e: &mut ValidationErrors) {
    use crate::{alerts::Rule, churn::Risk, expansion::Kind, health::Level};
    match t {
        Trigger::Event { name, filters } => {
            if name.trim().is_empty() {
                e.push("trigger.name", "which product event starts the playbook?");
            }
            for (i, f) in filters.iter().enumerate() {
                let path = format!("trigger.filters[{i}]");
                if f.property.trim().is_empty() {
                    e.push(format!("{path}.property"), "a filter needs a property");
                }
                match Op::parse(&f.op) {
                    None => e.push(format!("{path}.op"), format!("use one of {}", Op::NAMES)),
                    Some(op) => value_fits(&path, op, None, &f.value, e),
                }
            }
        }
        Trigger::HealthLevelChanged { to, from } => {
            for (field, level) in [("trigger.to", to), ("trigger.from", from)] {
                if let Some(l) = level.as_deref().filter(|l| Level::parse(l).is_none()) {
                    e.push(
                        field,
                        format!("“{l}” is not a level: poor, fair, good or excellent"),
                    );
                }
            }
        }
        Trigger::HealthThreshold {
            threshold,
            direction,
        } => {
            if !(10..=100).contains(threshold) || threshold % 10 != 0 {
                e.push("trigger.threshold", "a multiple of 10 from 10 to 100");
            }
            if direction != "up" && direction != "down" {
                e.push("trigger.direction", "up or down");
            }
        }
        Trigger::ChurnRiskChanged { to } => {
            if let Some(r) = to.as_deref().filter(|r| Risk::parse(r).is_none()) {
                e.push(
                    "trigger.to",
                    format!("“{r}” is not a risk band: low, medium or high"),
                );
            }
        }
        Trigger::AlertOpened { rule } => {
            if let Some(r) = rule.as_deref().filter(|r| Rule::parse(r).is_none()) {
                let names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
                e.push(
                    "trigger.rule",
                    format!("“{r}” is not an alert rule: {}", names.join(", ")),
                );
            }
        }
        Trigger::ExpansionOpened { kind } => {
            if let Some(k) = kind.as_deref().filter(|k| Kind::parse(k).is_none()) {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                e.push(
                    "trigger.kind",
                    format!("“{k}” is not an expansion signal: {}", names.join(", ")),
                );
            }
        }
        Trigger::RenewalIn { days } => {
            let days_allowed = crate::events::RENEWAL_NOTICE_DAYS;
            if !days_allowed.contains(days) {
                let list: Vec<String> = days_allowed.iter().map(i64::to_string).collect();
                e.push("trigger.days", format!("one of {} days", list.join(", ")));
            }
        }
        Trigger::DaysAfterStart { days } => {
            if !(0..=3650).contains(days) {
                e.push("trigger.days", "from 0 to 3650 days");
            }
        }
        Trigger::SegmentEntry { condition } => {
            condition_at("trigger.condition", condition, e);
        }
        Trigger::Schedule { time, days } => {
            if let Err(m) = parse_time(time) {
                e.push("trigger.time", m);
            }
            if let Err(m) = parse_days(days) {
                e.push("trigger.days", m);
            }
        }
        Trigger::TrialStarted
        | Trigger::PaymentFailed
        | Trigger::SubscriptionCancelled
        | Trigger::Manual => {}
    }
}

fn conditions(prefix: &str, list: &[Condition], e: &mut ValidationErrors) {
    for (i, c) in list.iter().enumerate() {
        condition_at(&format!("{prefix}[{i}]"), c, e);
    }
}

fn condition_at(path: &str, c: &Condition, e: &mut ValidationErrors) {
    let field = Field::parse(&c.field);
    if field.is_none() {
        e.push(
            format!("{path}.field"),
            format!("“{}” is not a field: {}", c.field, FIELD_NAMES.join(", ")),
        );
    }
    match Op::parse(&c.op) {
        None => e.push(format!("{path}.op"), format!("use one of {}", Op::NAMES)),
        Some(op) => value_fits(path, op, field.as_ref(), &c.value, e),
    }
}

/// Whether `value` suits `op` (and `field`, when known).
fn value_fits(path: &str, op: Op, field: Option<&Field>, value: &Value, e: &mut ValidationErrors) {
    let at = format!("{path}.value");
    match op {
        Op::Exists | Op::Missing => {
            if !value.is_null() {
                e.push(at, "exists and missing take no value");
            }
        }
        _ if op.is_ordering() => {
            if !value.is_number() {
                e.push(at, "compare with a number");
            } else if field.is_some_and(|f| !f.is_numeric()) {
                e.push(
                    format!("{path}.op"),
                    "this field is text: use eq, ne, in or not_in",
                );
            }
        }
        Op::In | Op::NotIn => match value.as_array() {
            Some(vs) if !vs.is_empty() => {
                for v in vs {
                    choice_fits(&at, field, v, e);
                }
            }
            _ => e.push(at, "a list of one or more values"),
        },
        _ => {
            if value.is_null() {
                e.push(at, "a value to compare with");
            } else {
                choice_fits(&at, field, value, e);
            }
        }
    }
}

fn choice_fits(at: &str, field: Option<&Field>, v: &Value, e: &mut ValidationErrors) {
    let Some(choices) = field.and_then(Field::choices) else {
        return;
    };
    let ok = v
        .as_str()
        .is_some_and(|s| choices.iter().any(|c| c.eq_ignore_ascii_case(s.trim())));
    if !ok {
        e.push(at, format!("{v} is not one of {}", choices.join(", ")));
    }
}

fn step(path: &str, s: &Step, catalog: &Catalog, e: &mut ValidationErrors) {
    use crate::auth::Role;
    use crate::customers::{ContactRole, Stage, Tier};
    let at = |f: &str| format!("{path}.{f}");
    match &s.kind {
        StepKind::Wait { duration } => {
            if let Err(m) = parse_duration(duration) {
                e.push(at("for"), m);
            }
        }
        StepKind::WaitUntil { time, days } => {
            if let Err(m) = parse_time(time) {
                e.push(at("time"), m);
            }
            if let Err(m) = parse_days(days) {
                e.push(at("days"), m);
            }
        }
        StepKind::WaitForEvent { event, timeout, .. } => {
            if event.trim().is_empty() {
                e.push(at("event"), "which event to wait for?");
            }
            if let Err(m) = parse_duration(timeout) {
                e.push(at("timeout"), m);
            }
        }
        StepKind::Branch { branches, .. } => {
            if branches.is_empty() {
                e.push(at("branches"), "a branch step needs at least one branch");
            }
            for (i, b) in branches.iter().enumerate() {
                let arm = format!("{path}.branches[{i}]");
                if b.name.trim().is_empty() {
                    e.push(format!("{arm}.name"), "a branch needs a name");
                }
                if b.when.is_empty() {
                    e.push(
                        format!("{arm}.when"),
                        "a branch needs at least one condition",
                    );
                }
                conditions(&format!("{arm}.when"), &b.when, e);
                if b.steps.is_empty() {
                    e.push(
                        format!("{arm}.steps"),
                        "a branch needs a way out: add a step (or an end)",
                    );
                }
            }
        }
        StepKind::Split { arms, holdout } => {
            if arms.is_empty() {
                e.push(at("arms"), "a split needs at least one arm");
            }
            let total: u32 = arms.iter().map(|a| a.percent).sum::<u32>() + holdout;
            if total != 100 {
                e.push(
                    at("arms"),
                    format!("the arms and the holdout add up to {total} %, not 100 %"),
                );
            }
            for (i, a) in arms.iter().enumerate() {
                if a.name.trim().is_empty() {
                    e.push(format!("{path}.arms[{i}].name"), "an arm needs a name");
                }
                if a.percent == 0 {
                    e.push(format!("{path}.arms[{i}].percent"), "more than 0 %");
                }
            }
        }
        StepKind::SendEmail { template, to } => {
            if template.trim().is_empty() {
                e.push(at("template"), "which template?");
            } else if let Some(known) = &catalog.templates {
                if !known.contains(template.trim()) {
                    e.push(at("template"), format!("no template “{template}”"));
                }
            }
            let ok = match to.trim().split_once(':') {
                Some(("role", r)) => ContactRole::parse(r).is_some(),
                None => matches!(to.trim(), "primary_contact" | "owner"),
                _ => false,
            };
            if !ok {
                e.push(
                    at("to"),
                    format!(
                        "primary_contact, owner or role:<{}>",
                        ContactRole::choices()
                    ),
                );
            }
        }
        StepKind::CreateTask {
            title,
            assignee,
            priority,
            due,
            ..
        } => {
            if title.trim().is_empty() {
                e.push(at("title"), "a task needs a title");
            }
            let ok = match assignee.trim().split_once(':') {
                Some(("role", r)) => Role::parse(r).is_some(),
                Some(("team", t)) => !t.trim().is_empty(),
                None => assignee.trim() == "owner",
                _ => false,
            };
            if !ok {
                e.push(
                    at("assignee"),
                    "owner, team:<team> or role:<admin, manager or csm>",
                );
            }
            if !matches!(priority.as_str(), "low" | "normal" | "high" | "urgent") {
                e.push(at("priority"), "low, normal, high or urgent");
            }
            if due != "sla" {
                if let Err(m) = parse_duration(due) {
                    e.push(at("due"), format!("sla, or {m}"));
                }
            }
        }
        StepKind::Slack { text } => {
            if text.trim().is_empty() {
                e.push(at("text"), "a message needs text");
            }
        }
        StepKind::UpdateField { field, op, value } => {
            let tag = field == "tag";
            match field.as_str() {
                "stage" if Stage::parse(value).is_none() => {
                    e.push(at("value"), format!("one of {}", Stage::choices()))
                }
                "tier" if Tier::parse(value).is_none() => {
                    e.push(at("value"), format!("one of {}", Tier::choices()))
                }
                "stage" | "tier" | "tag" => {}
                f if f
                    .strip_prefix("attr.")
                    .is_some_and(|n| !n.trim().is_empty()) => {}
                _ => e.push(at("field"), "stage, tier, tag or attr.<name>"),
            }
            if (tag || field.starts_with("attr."))
                && value.trim().is_empty()
                && op.as_deref() != Some("remove")
            {
                e.push(at("value"), "a value to set");
            }
            match op.as_deref() {
                None => {}
                Some("add" | "remove") if tag => {}
                Some(_) if tag => e.push(at("op"), "add or remove"),
                Some(_) => e.push(at("op"), "only tags take an op (add or remove)"),
            }
        }
        StepKind::Webhook { url, body } => {
            let rest = url.trim().strip_prefix("https://");
            if rest.is_none_or(|r| r.split('/').next().is_none_or(str::is_empty)) {
                e.push(at("url"), "an https:// address");
            }
            if !(body.is_null() || body.is_object()) {
                e.push(at("body"), "a JSON object (merged into the payload)");
            }
        }
        StepKind::GoalReached | StepKind::End => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            templates: Some(["upgrade".to_string()].into()),
        }
    }

    const GOOD: &str = r#"{
        "name": "Usage ≥ 80 % → upgrade",
        "trigger": {"type": "expansion_opened", "kind": "near_limit"},
        "entry": [{"field": "tier", "op": "in", "value": ["mid_market", "small_business"]}],
        "reentry": {"every": "90d"},
        "exit": [{"field": "stage", "op": "eq", "value": "churned"}],
        "goal": {"name": "Upgraded", "when": [{"field": "plan_usage", "op": "lt", "value": 0.8}], "within": "30d"},
        "steps": [
            {"id": "mail", "type": "send_email", "template": "upgrade", "to": "primary_contact"},
            {"id": "wait", "type": "wait", "for": "3d"},
            {"id": "check", "type": "branch",
             "branches": [{"name": "Still near", "when": [{"field": "plan_usage", "op": "gte", "value": 0.8}],
                           "steps": [{"id": "task", "type": "create_task", "title": "Call about the upgrade", "assignee": "owner"}]}],
             "otherwise": [{"id": "done", "type": "goal_reached"}]}
        ]
    }"#;

    #[test]
    fn a_good_playbook_passes_and_round_trips() {
        let p = parse(GOOD, &catalog()).unwrap();
        assert_eq!(p.walk().len(), 5);
        assert_eq!(p.next_after("mail").unwrap().id, "wait");
        assert!(p.next_after("check").is_none());
        assert!(p.next_after("task").is_none());
        let again = serde_json::to_string(&p).unwrap();
        assert_eq!(parse(&again, &catalog()).unwrap(), p);
    }

    fn problems(json: &str) -> Vec<(String, String)> {
        match parse(json, &catalog()) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|f| (f.field, f.message)).collect(),
        }
    }

    fn fields(json: &str) -> Vec<String> {
        problems(json).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_document_of_the_wrong_shape_says_where() {
        let p = problems(
            r#"{"name": "x", "trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "teleport"}]}"#,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "steps[0]");
        assert!(p[0].1.contains("teleport"), "{p:?}");
        let p =
            problems(r#"{"name": "x", "trigger": {"type": "manual"}, "steps": [], "colour": 1}"#);
        assert!(p[0].1.contains("colour"), "{p:?}");
        let p = problems("not json");
        assert_eq!(p[0].0, "playbook");
    }

    #[test]
    fn every_problem_is_found_with_its_path() {
        let json = r#"{
            "name": " ",
            "trigger": {"type": "health_threshold", "threshold": 45, "direction": "sideways"},
            "entry": [{"field": "colour", "op": "eq", "value": "red"}, {"field": "tier", "op": "lt", "value": 3}],
            "reentry": {"every": "soon"},
            "steps": [
                {"id": "w", "type": "wait"  , "for": ""},
                {"id": "w", "type": "send_email", "template": "nope", "to": "everyone"},
                {"id": "b", "type": "branch", "branches": [{"name": "x", "when": [], "steps": []}]},
                {"id": "after", "type": "end"}
            ]
        }"#;
        let f = fields(json);
        for want in [
            "name",
            "trigger.threshold",
            "trigger.direction",
            "entry[0].field",
            "entry[1].op",
            "reentry.every",
            "steps[0].for",
            "steps[1].id",
            "steps[1].template",
            "steps[1].to",
            "steps[2].branches[0].when",
            "steps[2].branches[0].steps",
            "steps[3]",
        ] {
            assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
        }
    }

    #[test]
    fn splits_add_up_and_webhooks_are_https() {
        let json = r#"{"name": "x", "trigger": {"type": "manual"}, "steps": [
            {"id": "hook", "type": "webhook", "url": "http://example.com/x"},
            {"id": "s", "type": "split", "holdout": 10, "arms": [
                {"name": "A", "percent": 50, "steps": [{"id": "a", "type": "end"}]},
                {"name": "B", "percent": 30, "steps": [{"id": "b", "type": "end"}]}]}
        ]}"#;
        let p = problems(json);
        assert!(
            p.iter()
                .any(|(f, m)| f == "steps[0].url" && m.contains("https")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(f, m)| f == "steps[1].arms" && m.contains("90 %")),
            "{p:?}"
        );
        let fixed = json.replace("http://", "https://").replace("30,", "40,");
        assert_eq!(problems(&fixed), Vec::new());
    }

    #[test]
    fn conditions_check_their_values() {
        let base = |cond: &str| {
            format!(
                r#"{{"name": "x", "trigger": {{"type": "manual"}}, "entry": [{cond}], "steps": [{{"id": "e", "type": "end"}}]}}"#
            )
        };
        assert_eq!(
            fields(&base(
                r#"{"field": "health.level", "op": "eq", "value": "great"}"#
            )),
            ["entry[0].value"]
        );
        assert_eq!(
            fields(&base(
                r#"{"field": "health.level", "op": "in", "value": []}"#
            )),
            ["entry[0].value"]
        );
        assert_eq!(
            fields(&base(r#"{"field": "seats", "op": "exists", "value": 3}"#)),
            ["entry[0].value"]
        );
        assert_eq!(
            fields(&base(r#"{"field": "seats", "op": "gt", "value": "3"}"#)),
            ["entry[0].value"]
        );
        assert!(fields(&base(
            r#"{"field": "attr.industry", "op": "eq", "value": "Retail"}"#
        ))
        .is_empty());
        assert!(fields(&base(
            r#"{"field": "churn.risk", "op": "in", "value": ["High", "medium"]}"#
        ))
        .is_empty());
    }
}
