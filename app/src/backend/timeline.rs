//! A customer's timeline as a story: product usage summarised per day (counted in the
//! database, grouped by day, event name and person; `vcsm::activity` adds up), weekly
//! events and active users for the chart, and what playbooks and people did — e-mails
//! sent, tasks done with their outcomes, alerts opened. Notes, tickets and billing are
//! read by the customer page itself (`customers::detail`).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use vcsm::activity::{self, UsageCount, WeekUsage};
use vcsm::tasks::Outcome;

use super::entities::{alert, enrollment, outbox, playbook, task};
use crate::dto::{TimelineItem, TimelineKind};

/// Weeks of usage in the chart (about six months).
pub const CHART_WEEKS: u32 = 26;
/// Most-frequent event names a day's line names before "…".
const TOP_NAMES: usize = 3;

#[derive(FromQueryResult)]
struct DayNameRow {
    day: String,
    name: String,
    contact_id: Option<i64>,
    n: i64,
}

/// Usage counts per day, event name and person since `since`.
async fn counts(
    db: &impl ConnectionTrait,
    customer_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<UsageCount>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT CAST((occurred_at AT TIME ZONE 'UTC')::date AS TEXT) AS day, name, contact_id, \
             COUNT(*) AS n FROM usage_events WHERE customer_id = $1 AND occurred_at >= $2 \
             GROUP BY 1, name, contact_id"
        }
        // Stored as ISO-8601 text: the date is its first ten characters.
        _ => {
            "SELECT substr(occurred_at, 1, 10) AS day, name, contact_id, COUNT(*) AS n \
             FROM usage_events WHERE customer_id = ? AND occurred_at >= ? \
             GROUP BY 1, name, contact_id"
        }
    };
    let rows = DayNameRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [customer_id.into(), since.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(UsageCount {
                day: r.day.parse::<NaiveDate>().ok()?,
                name: r.name,
                contact_id: r.contact_id,
                count: u64::try_from(r.n).ok()?,
            })
        })
        .collect())
}

#[derive(FromQueryResult)]
struct DayRow {
    day: String,
}

/// The `n`th latest day with usage (none when there are fewer days).
async fn nth_latest_day(
    db: &impl ConnectionTrait,
    customer_id: i64,
    n: usize,
) -> Result<Option<NaiveDate>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT DISTINCT CAST((occurred_at AT TIME ZONE 'UTC')::date AS TEXT) AS day \
             FROM usage_events WHERE customer_id = $1 ORDER BY day DESC LIMIT 1 OFFSET $2"
        }
        _ => {
            "SELECT DISTINCT substr(occurred_at, 1, 10) AS day FROM usage_events \
             WHERE customer_id = ? ORDER BY day DESC LIMIT 1 OFFSET ?"
        }
    };
    let offset = i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX);
    Ok(DayRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [customer_id.into(), offset.into()],
    ))
    .one(db)
    .await?
    .and_then(|r| r.day.parse().ok()))
}

/// The customer's usage: one timeline line per day with events (at most `days_shown`,
/// newest first), and the chart's weeks.
///
/// # Errors
/// Database errors.
pub async fn usage(
    db: &impl ConnectionTrait,
    customer_id: i64,
    days_shown: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<TimelineItem>, Vec<WeekUsage>), DbErr> {
    let today = now.date_naive();
    let chart_from = activity::week_of(today) - Duration::weeks(i64::from(CHART_WEEKS - 1));
    // The timeline's days go back as far as its lines need, however old (a backfill).
    let from = match nth_latest_day(db, customer_id, days_shown).await? {
        Some(day) => day.min(chart_from),
        // Fewer days than lines: all of them (the Unix epoch is before any event).
        None => NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(chart_from),
    };
    let rows = counts(db, customer_id, from.and_time(NaiveTime::MIN).and_utc()).await?;
    let weeks = activity::by_week(&rows, today, CHART_WEEKS);
    let items = activity::by_day(&rows)
        .into_iter()
        .take(days_shown)
        .map(|d| {
            // A day's line sits at its end (or now, for today's), after what happened in it.
            let end = d
                .day
                .and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
                .and_utc()
                .min(now);
            TimelineItem {
                at: end,
                kind: TimelineKind::Usage,
                title: format!("Product usage: {}", d.headline()),
                detail: Some(d.top(TOP_NAMES)),
                actor: None,
                alert: false,
                more: (d.by_name.len() > TOP_NAMES)
                    .then(|| d.by_name.iter().map(|(n, c)| format!("{n} ×{c}")).collect()),
            }
        })
        .collect();
    Ok((items, weeks))
}

/// What playbooks and people did for the customer: e-mails sent, tasks done (with their
/// outcomes), alerts opened — the latest `limit` of each.
///
/// # Errors
/// Database errors.
pub async fn work(
    db: &impl ConnectionTrait,
    customer_id: i64,
    limit: u64,
    people: &std::collections::HashMap<i64, (String, String)>,
) -> Result<Vec<TimelineItem>, DbErr> {
    let mails = outbox::Entity::find()
        .filter(outbox::Column::CustomerId.eq(customer_id))
        .filter(outbox::Column::Kind.eq("email"))
        .filter(outbox::Column::Status.eq("sent"))
        .order_by_desc(outbox::Column::SentAt)
        .limit(limit)
        .all(db)
        .await?;
    let tasks = task::Entity::find()
        .filter(task::Column::CustomerId.eq(customer_id))
        .filter(task::Column::Status.eq("done"))
        .order_by_desc(task::Column::CompletedAt)
        .limit(limit)
        .all(db)
        .await?;
    let alerts = alert::Entity::find()
        .filter(alert::Column::CustomerId.eq(customer_id))
        .order_by_desc(alert::Column::OpenedAt)
        .limit(limit)
        .all(db)
        .await?;
    let enrollment_ids: Vec<i64> = mails
        .iter()
        .filter_map(|m| m.enrollment_id)
        .chain(tasks.iter().filter_map(|t| t.enrollment_id))
        .collect();
    let playbook_of = playbook_names(db, enrollment_ids).await?;
    let by_playbook = |enrollment_id: Option<i64>| {
        enrollment_id
            .and_then(|e| playbook_of.get(&e))
            .map(|name| format!("playbook {name}"))
    };
    let mut items = Vec::with_capacity(mails.len() + tasks.len() + alerts.len());
    items.extend(mails.into_iter().filter_map(|m| {
        let result = m.result.as_ref()?;
        Some(TimelineItem {
            at: m.sent_at?,
            kind: TimelineKind::Email,
            title: format!(
                "E-mail sent: {}",
                result.get("subject").and_then(|s| s.as_str()).unwrap_or("")
            ),
            detail: result
                .get("to")
                .and_then(|s| s.as_str())
                .map(|to| format!("to {to}")),
            actor: by_playbook(m.enrollment_id),
            alert: false,
            more: None,
        })
    }));
    items.extend(tasks.into_iter().filter_map(|t| {
        let outcome = t.outcome.as_deref().and_then(Outcome::parse);
        Some(TimelineItem {
            at: t.completed_at?,
            kind: TimelineKind::Task,
            title: format!("Task done: {}", t.title),
            detail: Some(format!(
                "{}{}",
                outcome.map_or("Done", Outcome::label),
                t.outcome_note
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            )),
            actor: t
                .completed_by
                .and_then(|u| people.get(&u))
                .map(|(name, _)| name.clone())
                .into_iter()
                .chain(by_playbook(t.enrollment_id))
                .reduce(|a, b| format!("{a} · {b}")),
            alert: outcome == Some(Outcome::Lost),
            more: None,
        })
    }));
    items.extend(alerts.into_iter().map(|a| TimelineItem {
        at: a.opened_at,
        kind: TimelineKind::Alert,
        alert: matches!(a.severity.as_str(), "high" | "critical"),
        title: format!("Alert: {}", a.title),
        detail: Some(match a.status.as_str() {
            "resolved" => format!(
                "{} · resolved{}",
                a.severity,
                a.note.map(|n| format!(": {n}")).unwrap_or_default()
            ),
            status => format!("{} · {status}", a.severity),
        }),
        actor: None,
        more: None,
    }));
    Ok(items)
}

/// The playbook names of enrollments.
async fn playbook_names(
    db: &impl ConnectionTrait,
    enrollment_ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    if enrollment_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::Id.is_in(enrollment_ids))
        .all(db)
        .await?;
    let names: std::collections::HashMap<i64, String> = playbook::Entity::find()
        .filter(
            playbook::Column::Id.is_in(
                enrollments
                    .iter()
                    .map(|e| e.playbook_id)
                    .collect::<Vec<_>>(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(enrollments
        .into_iter()
        .filter_map(|e| Some((e.id, names.get(&e.playbook_id)?.clone())))
        .collect())
}
