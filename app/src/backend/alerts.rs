//! Alerts: evaluated right after every scoring run (so seconds after new data), stored as
//! one row per episode of a rule's condition, assigned to the customer's owner, and
//! handled from the inbox (acknowledge, snooze, resolve, each with a note, audited).
//!
//! Which conditions hold and when one opens an alert are the domain's `vcsm::alerts`;
//! this module gathers the signals and keeps the state between evaluations.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use vcsm::alerts::{self, Rule, RuleConfig, Severity, Signals};
use vcsm::health::{Facts, Health};

use super::entities::{alert, alert_condition, alert_rule, customer, health_score};
use super::{audit, customers, notify, users};
use crate::dto::{AlertAction, AlertRow, AlertRuleDto, AlertRulesPage, AlertsPage, CurrentUser};
use crate::error::AppError;

/// Rows per multi-row statement, and ids per `IN` list.
const CHUNK: usize = 500;

/// Statuses of an alert.
pub const OPEN: &str = "open";
pub const ACKNOWLEDGED: &str = "acknowledged";
pub const SNOOZED: &str = "snoozed";
pub const RESOLVED: &str = "resolved";

/// The score about a week before `today` per customer (the nearest of days 4–10 back).
async fn scores_a_week_ago(
    db: &impl ConnectionTrait,
    scope: Option<&[i64]>,
    today: NaiveDate,
) -> Result<HashMap<i64, u8>, DbErr> {
    let wanted = today - Duration::days(7);
    let mut q = health_score::Entity::find()
        .select_only()
        .column(health_score::Column::CustomerId)
        .column(health_score::Column::Day)
        .column(health_score::Column::Score)
        .filter(health_score::Column::Day.gte(wanted - Duration::days(3)))
        .filter(health_score::Column::Day.lte(wanted + Duration::days(3)));
    if let Some(ids) = scope {
        q = q.filter(health_score::Column::CustomerId.is_in(ids.to_vec()));
    }
    let rows: Vec<(i64, NaiveDate, i16)> = q.into_tuple().all(db).await?;
    let mut best: HashMap<i64, (i64, u8)> = HashMap::new();
    for (id, day, score) in rows {
        let distance = (day - wanted).num_days().abs();
        let Ok(score) = u8::try_from(score) else {
            continue;
        };
        let e = best.entry(id).or_insert((distance, score));
        if distance < e.0 {
            *e = (distance, score);
        }
    }
    Ok(best.into_iter().map(|(id, (_, s))| (id, s)).collect())
}

/// Rules per customer, from rows of (customer, rule).
fn rules_by_customer(rows: Vec<(i64, String)>) -> HashMap<i64, BTreeSet<Rule>> {
    let mut out: HashMap<i64, BTreeSet<Rule>> = HashMap::new();
    for (id, rule) in rows {
        if let Some(r) = Rule::parse(&rule) {
            out.entry(id).or_default().insert(r);
        }
    }
    out
}

/// What the rules see for one customer.
fn signals(f: &Facts, h: &Health, week_ago: Option<u8>, churn_probability: Option<f64>) -> Signals {
    Signals {
        score: Some(h.score.value()),
        level: Some(h.level),
        score_7d_ago: week_ago,
        events: f.current.events,
        events_before: f.previous.events,
        payment: f.payment,
        worst_ticket_sentiment: f.worst_ticket_sentiment,
        cancellation_intent: f.cancellation_intent,
        churn_probability,
        days_to_renewal: f.days_to_renewal,
    }
}

/// Evaluates the rules for the customers just scored (`scope`: those asked for, `None`
/// for everyone), opens an alert for each condition that started, and remembers which
/// conditions hold. Returns how many alerts opened.
///
/// # Errors
/// Database errors.
pub async fn evaluate<C: ConnectionTrait + TransactionTrait>(
    outer: &C,
    scope: Option<&[i64]>,
    facts: &HashMap<i64, Facts>,
    health: &HashMap<i64, &Health>,
    churn: &HashMap<i64, f64>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    // The alerts, their notifications and the conditions are written together (a
    // savepoint inside a caller's transaction).
    let txn = super::db::begin_write(outer).await?;
    let db = &txn;
    let rules = rules(db).await?;
    let week_ago = scores_a_week_ago(db, scope, now.date_naive()).await?;
    let mut held_q = alert_condition::Entity::find()
        .select_only()
        .column(alert_condition::Column::CustomerId)
        .column(alert_condition::Column::Rule)
        .column(alert_condition::Column::Since);
    let mut open_q = alert::Entity::find()
        .select_only()
        .column(alert::Column::CustomerId)
        .column(alert::Column::Rule)
        .filter(alert::Column::Status.ne(RESOLVED));
    let mut owners_q = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId);
    if let Some(ids) = scope {
        held_q = held_q.filter(alert_condition::Column::CustomerId.is_in(ids.to_vec()));
        open_q = open_q.filter(alert::Column::CustomerId.is_in(ids.to_vec()));
        owners_q = owners_q.filter(customer::Column::Id.is_in(ids.to_vec()));
    }
    let held: Vec<(i64, String, DateTime<Utc>)> = held_q.into_tuple().all(db).await?;
    // When each condition started, kept across evaluations.
    let since: HashMap<(i64, String), DateTime<Utc>> = held
        .iter()
        .map(|(id, rule, at)| ((*id, rule.clone()), *at))
        .collect();
    let held_before = rules_by_customer(held.into_iter().map(|(id, r, _)| (id, r)).collect());
    let open = rules_by_customer(open_q.into_tuple().all(db).await?);
    let owners: HashMap<i64, Option<i64>> =
        owners_q.into_tuple().all(db).await?.into_iter().collect();

    let empty = BTreeSet::new();
    let mut new_alerts = Vec::new();
    let mut holding = Vec::new();
    let mut ids: Vec<&i64> = facts.keys().collect();
    ids.sort_unstable();
    for id in ids {
        let Some(h) = health.get(id) else {
            continue;
        };
        let s = signals(
            &facts[id],
            h,
            week_ago.get(id).copied(),
            churn.get(id).copied(),
        );
        let now_holding = alerts::conditions(&rules, &s);
        for c in alerts::to_open(
            &now_holding,
            held_before.get(id).unwrap_or(&empty),
            open.get(id).unwrap_or(&empty),
        ) {
            new_alerts.push(alert::ActiveModel {
                customer_id: Set(*id),
                rule: Set(c.rule.as_str().into()),
                severity: Set(c.severity.as_str().into()),
                title: Set(c.title.chars().take(300).collect()),
                status: Set(OPEN.into()),
                owner_id: Set(owners.get(id).copied().flatten()),
                opened_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        for rule in alerts::holding(&now_holding) {
            holding.push((*id, rule));
        }
    }
    let opened = new_alerts.len() as u64;
    let notifying: Vec<Rule> = rules.iter().filter(|c| c.notify).map(|c| c.rule).collect();
    let to_notify: BTreeSet<(i64, String)> = new_alerts
        .iter()
        .filter(|a| Rule::parse(a.rule.as_ref()).is_some_and(|r| notifying.contains(&r)))
        .map(|a| (*a.customer_id.as_ref(), a.rule.as_ref().clone()))
        .collect();
    for chunk in new_alerts.chunks(CHUNK) {
        // Another server evaluating the same customer at once: its alert stands.
        alert::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }

    if !to_notify.is_empty() {
        // The rows just opened (a racing server's rows for the same episode are the same
        // alerts, and the outbox is unique per alert and channel).
        let customer_ids: Vec<i64> = to_notify.iter().map(|(id, _)| *id).collect();
        let mut opened_now = Vec::new();
        for chunk in customer_ids.chunks(CHUNK) {
            opened_now.extend(
                alert::Entity::find()
                    .filter(alert::Column::CustomerId.is_in(chunk.to_vec()))
                    .filter(alert::Column::OpenedAt.eq(now))
                    .filter(alert::Column::Status.eq(OPEN))
                    .all(db)
                    .await?
                    .into_iter()
                    .filter(|a| to_notify.contains(&(a.customer_id, a.rule.clone()))),
            );
        }
        notify::enqueue(db, &opened_now, now).await?;
    }

    // The conditions holding now replace those of the last evaluation.
    let mut forget = alert_condition::Entity::delete_many();
    if let Some(ids) = scope {
        forget = forget.filter(alert_condition::Column::CustomerId.is_in(ids.to_vec()));
    }
    forget.exec(db).await?;
    for chunk in holding.chunks(CHUNK) {
        alert_condition::Entity::insert_many(chunk.iter().map(|(id, rule)| {
            alert_condition::ActiveModel {
                customer_id: Set(*id),
                rule: Set(rule.as_str().into()),
                since: Set(since
                    .get(&(*id, rule.as_str().to_string()))
                    .copied()
                    .unwrap_or(now)),
            }
        }))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    }
    txn.commit().await?;
    Ok(opened)
}

/// The alert rules in effect: the stored settings over the shipped defaults.
///
/// # Errors
/// Database errors.
pub async fn rules(db: &impl ConnectionTrait) -> Result<Vec<RuleConfig>, DbErr> {
    let stored: Vec<RuleConfig> = alert_rule::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            let severity = Severity::parse(&r.severity)?;
            Some(RuleConfig {
                rule: Rule::parse(&r.rule)?,
                enabled: r.enabled,
                severity,
                threshold: r.threshold,
                notify: r.notify,
                opens_task: r.opens_task.unwrap_or(severity >= Severity::High),
            })
        })
        .collect();
    Ok(alerts::merge_rules(&stored))
}

/// Saves an edited rule set (admins), whole or not at all, audited with what changed.
/// The rules apply from the next scoring (the caller starts one).
///
/// # Errors
/// `Validation` naming each bad threshold, or a missing or repeated rule; database errors.
pub async fn save_rules<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    edited: &[RuleConfig],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let rules = alerts::validate_rules(edited).map_err(AppError::Validation)?;
    let txn = super::db::begin_write(db).await?;
    let before = self::rules(&txn).await?;
    let changed: Vec<&RuleConfig> = rules.iter().filter(|r| !before.contains(r)).collect();
    let rows = rules.iter().map(|r| alert_rule::ActiveModel {
        rule: Set(r.rule.as_str().into()),
        enabled: Set(r.enabled),
        severity: Set(r.severity.as_str().into()),
        threshold: Set(r.threshold),
        notify: Set(r.notify),
        opens_task: Set(Some(r.opens_task)),
        updated_at: Set(now),
        updated_by: Set(Some(actor.id)),
    });
    alert_rule::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(alert_rule::Column::Rule)
                .update_columns([
                    alert_rule::Column::Enabled,
                    alert_rule::Column::Severity,
                    alert_rule::Column::Threshold,
                    alert_rule::Column::Notify,
                    alert_rule::Column::OpensTask,
                    alert_rule::Column::UpdatedAt,
                    alert_rule::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        Some(actor),
        "alert_rules.update",
        "alert_rules",
        None,
        serde_json::json!({ "changed": changed }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Which alerts a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Open, acknowledged, or snoozed past its time: what needs someone.
    Active,
    Open,
    Acknowledged,
    /// Snoozed and still asleep.
    Snoozed,
    Resolved,
}

impl Filter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" | "" => Some(Filter::Active),
            "open" => Some(Filter::Open),
            "acknowledged" => Some(Filter::Acknowledged),
            "snoozed" => Some(Filter::Snoozed),
            "resolved" => Some(Filter::Resolved),
            _ => None,
        }
    }

    pub(crate) fn condition(self, now: DateTime<Utc>) -> Condition {
        use alert::Column as A;
        let awake = Condition::all()
            .add(A::Status.eq(SNOOZED))
            .add(A::SnoozedUntil.lte(now));
        match self {
            Filter::Active => Condition::any()
                .add(A::Status.is_in([OPEN, ACKNOWLEDGED]))
                .add(awake),
            Filter::Open => Condition::any().add(A::Status.eq(OPEN)).add(awake),
            Filter::Acknowledged => Condition::all().add(A::Status.eq(ACKNOWLEDGED)),
            Filter::Snoozed => Condition::all()
                .add(A::Status.eq(SNOOZED))
                .add(A::SnoozedUntil.gt(now)),
            Filter::Resolved => Condition::all().add(A::Status.eq(RESOLVED)),
        }
    }
}

/// Alerts per page of the inbox.
pub const PAGE: u64 = 50;

/// A page of alerts, most severe and newest first; `mine`: assigned to `user` only.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: Filter,
    mine: Option<i64>,
    customer_id: Option<i64>,
    page: u64,
    now: DateTime<Utc>,
) -> Result<AlertsPage, AppError> {
    let mut q = alert::Entity::find().filter(filter.condition(now));
    if let Some(uid) = mine {
        q = q.filter(alert::Column::OwnerId.eq(uid));
    }
    if let Some(cid) = customer_id {
        q = q.filter(alert::Column::CustomerId.eq(cid));
    }
    let total = q.clone().count(db).await?;
    // Most severe first, then newest, across pages.
    let severity_rank: Expr =
        Expr::case(alert::Column::Severity.eq(Severity::Critical.as_str()), 4)
            .case(alert::Column::Severity.eq(Severity::High.as_str()), 3)
            .case(alert::Column::Severity.eq(Severity::Medium.as_str()), 2)
            .finally(1)
            .into();
    let rows = q
        .order_by(severity_rank, Order::Desc)
        .order_by_desc(alert::Column::OpenedAt)
        .order_by_desc(alert::Column::Id)
        .offset(vcsm::listing::page_offset(page, PAGE).map_err(AppError::BadRequest)?)
        .limit(PAGE)
        .all(db)
        .await?;
    let alerts = rows_of(db, rows, now).await?;
    Ok(AlertsPage {
        alerts,
        total,
        page,
        page_size: PAGE,
        now,
    })
}

/// Alerts as lists show them: with their customers' and people's names.
///
/// # Errors
/// Database errors.
pub(crate) async fn rows_of(
    db: &impl ConnectionTrait,
    rows: Vec<alert::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<AlertRow>, DbErr> {
    let names = customers::names_of(db, rows.iter().map(|r| r.customer_id).collect()).await?;
    let people = users::names_of(
        db,
        rows.iter()
            .flat_map(|r| [r.owner_id, r.handled_by])
            .flatten()
            .collect(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AlertRow {
            id: r.id,
            customer_id: r.customer_id,
            customer_name: names.get(&r.customer_id).cloned().unwrap_or_default(),
            rule: r.rule.clone(),
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Medium),
            title: r.title,
            status: if r.status == SNOOZED && r.snoozed_until.is_some_and(|t| t <= now) {
                OPEN.into()
            } else {
                r.status
            },
            owner: r.owner_id.and_then(|o| people.get(&o).cloned()),
            opened_at: r.opened_at,
            updated_at: r.updated_at,
            snoozed_until: r.snoozed_until.filter(|t| *t > now),
            handled_by: r.handled_by.and_then(|o| people.get(&o).cloned()),
            note: r.note,
        })
        .collect())
}

/// Alerts needing someone (open, or snoozed past its time): all, and the user's own.
///
/// # Errors
/// Database errors.
pub async fn open_counts(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(u64, u64), AppError> {
    let all = alert::Entity::find()
        .filter(Filter::Open.condition(now))
        .count(db)
        .await?;
    let mine = alert::Entity::find()
        .filter(Filter::Open.condition(now))
        .filter(alert::Column::OwnerId.eq(user_id))
        .count(db)
        .await?;
    Ok((all, mine))
}

/// The longest snooze.
const MAX_SNOOZE_DAYS: i64 = 90;

/// Acknowledges, snoozes or resolves an alert, with the actor's note, audited.
///
/// # Errors
/// `NotFound`; `Validation` for a snooze not of 1–90 days, a
/// resolution without a note, or a note over 2,000 characters; `Conflict` for a resolved
/// alert; database errors.
pub async fn act<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    alert_id: i64,
    action: AlertAction,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::validation(
            "note",
            "must be at most 2,000 characters",
        ));
    }
    let (status, snoozed_until) = match action {
        AlertAction::Acknowledge => (ACKNOWLEDGED, None),
        AlertAction::Snooze { days } => {
            if days == 0 || i64::from(days) > MAX_SNOOZE_DAYS {
                return Err(AppError::validation("days", "must be from 1 to 90"));
            }
            (SNOOZED, Some(now + Duration::days(i64::from(days))))
        }
        AlertAction::Resolve => {
            if note.is_none() {
                return Err(AppError::validation(
                    "note",
                    "say what was done: a resolution needs a note",
                ));
            }
            (RESOLVED, None)
        }
    };
    let txn = super::db::begin_write(db).await?;
    let Some(row) = alert::Entity::find_by_id(alert_id).one(&txn).await? else {
        return Err(AppError::NotFound(format!("No alert with id {alert_id}.")));
    };
    if row.status == RESOLVED {
        return Err(AppError::Conflict(
            "This alert is already resolved: a new episode of its condition opens a new alert."
                .into(),
        ));
    }
    let customer_id = row.customer_id;
    let mut am: alert::ActiveModel = row.into();
    am.status = Set(status.into());
    am.snoozed_until = Set(snoozed_until);
    am.updated_at = Set(now);
    am.handled_by = Set(Some(actor.id));
    if note.is_some() {
        am.note = Set(note.clone());
    }
    if status == RESOLVED {
        am.resolved_at = Set(Some(now));
    }
    sea_orm::ActiveModelTrait::update(am, &txn).await?;
    audit::record(
        &txn,
        Some(actor),
        &format!("alert.{status}"),
        "customer",
        Some(customer_id),
        serde_json::json!({ "alert": alert_id, "note": note, "snoozed_until": snoozed_until }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Deliveries listed on the rules page.
const RECENT_NOTIFICATIONS: u64 = 25;

/// The rules page: the rules in effect with what their thresholds mean, whether Slack and
/// e-mail are set up, and the latest deliveries.
///
/// # Errors
/// Database errors.
pub async fn rules_page(
    db: &impl ConnectionTrait,
    can_edit: bool,
    email_configured: bool,
    now: DateTime<Utc>,
) -> Result<AlertRulesPage, AppError> {
    let rules = rules(db)
        .await?
        .into_iter()
        .map(|config| {
            let t = config.rule.threshold();
            AlertRuleDto {
                label: config.rule.label().into(),
                meaning: t.map(|t| t.meaning.into()),
                min: t.map_or(0.0, |t| t.min),
                max: t.map_or(0.0, |t| t.max),
                config,
            }
        })
        .collect();
    Ok(AlertRulesPage {
        rules,
        can_edit,
        slack_configured: super::slack::webhook_url(db, now).await?.is_some(),
        email_configured,
        recent: notify::recent(db, RECENT_NOTIFICATIONS).await?,
    })
}
