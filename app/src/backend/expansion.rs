//! Expansion signals: evaluated right after every current scoring (with the alerts), one
//! row per episode of a signal while it holds, its uplift and confidence kept current;
//! a signal that stops holding lapses; won and dismissed ones stay closed for 90 days.
//! Plans (prices, limits, features) are edited on the pipeline page.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use vcsm::expansion::{self, Inputs, Kind, Plan};
use vcsm::health::{Facts, Health};

use super::entities::{customer, expansion_signal, plan, support_ticket, usage_event};
use super::{audit, users};
use crate::dto::{CurrentUser, ExpansionPage, ExpansionRow, PipelineTotal, SignalAction};
use crate::error::AppError;

pub const OPEN: &str = "open";
pub const WON: &str = "won";
pub const DISMISSED: &str = "dismissed";
pub const LAPSED: &str = "lapsed";

/// The product event carrying an NPS answer, with the 0–10 answer in `properties.score`
/// (what survey tools send through Segment-style tracking).
pub const NPS_EVENT: &str = "NPS Submitted";

/// How far back an NPS answer counts.
const NPS_DAYS: i64 = 180;

/// How long a won or dismissed signal keeps the same kind from reopening.
const QUIET_DAYS: i64 = 90;

/// Rows per statement, ids per `IN` list.
const CHUNK: usize = 500;

/// The plans as sold, smallest first.
///
/// # Errors
/// Database errors.
pub async fn plans(db: &impl ConnectionTrait) -> Result<Vec<Plan>, DbErr> {
    Ok(plan::Entity::find()
        .order_by_asc(plan::Column::Rank)
        .all(db)
        .await?
        .into_iter()
        .map(|p| Plan {
            code: p.code,
            name: p.name,
            rank: p.rank,
            seat_price_minor: p.seat_price_minor,
            seat_limit: p.seat_limit.and_then(|l| u32::try_from(l).ok()),
            event_limit: p.event_limit.and_then(|l| u64::try_from(l).ok()),
            features: serde_json::from_value(p.features).unwrap_or_default(),
        })
        .collect())
}

/// Replaces the plan list (admins), whole or not at all, audited.
///
/// # Errors
/// `Validation` naming each bad field; database errors.
pub async fn save_plans<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Option<&CurrentUser>,
    edited: &[Plan],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let checked = expansion::validate_plans(edited).map_err(AppError::Validation)?;
    let txn = super::db::begin_write(db).await?;
    replace_plans(&txn, &checked, now).await?;
    audit::record(
        &txn,
        actor,
        "plans.update",
        "plans",
        None,
        serde_json::json!({ "plans": checked }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces the plan list with `plans` (already checked).
///
/// # Errors
/// Database errors.
pub async fn replace_plans(
    db: &impl ConnectionTrait,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    plan::Entity::delete_many().exec(db).await?;
    if plans.is_empty() {
        return Ok(());
    }
    plan::Entity::insert_many(plans.iter().map(|p| plan::ActiveModel {
        code: Set(p.code.clone()),
        name: Set(p.name.clone()),
        rank: Set(p.rank),
        seat_price_minor: Set(p.seat_price_minor),
        seat_limit: Set(p.seat_limit.and_then(|l| i32::try_from(l).ok())),
        event_limit: Set(p.event_limit.and_then(|l| i64::try_from(l).ok())),
        features: Set(serde_json::json!(p.features)),
        updated_at: Set(now),
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The latest NPS answer per customer in the last 180 days.
async fn latest_nps(
    db: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<HashMap<i64, u8>, DbErr> {
    let mut out: HashMap<i64, (DateTime<Utc>, u8)> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, serde_json::Value, DateTime<Utc>)> = usage_event::Entity::find()
            .select_only()
            .column(usage_event::Column::CustomerId)
            .column(usage_event::Column::Properties)
            .column(usage_event::Column::OccurredAt)
            .filter(usage_event::Column::Name.eq(NPS_EVENT))
            .filter(usage_event::Column::OccurredAt.gte(now - Duration::days(NPS_DAYS)))
            .filter(usage_event::Column::OccurredAt.lte(now))
            .filter(usage_event::Column::CustomerId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, props, at) in rows {
            // An answer that isn't a number from 0 to 10 is no answer.
            let Some(score) = props
                .get("score")
                .and_then(serde_json::Value::as_f64)
                .filter(|s| (0.0..=10.0).contains(s))
            else {
                continue;
            };
            let e = out.entry(id).or_insert((at, score as u8));
            if at >= e.0 {
                *e = (at, score as u8);
            }
        }
    }
    Ok(out.into_iter().map(|(id, (_, s))| (id, s)).collect())
}

/// Ticket subjects and bodies per customer since `since`.
async fn ticket_texts(
    db: &impl ConnectionTrait,
    ids: &[i64],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Vec<String>>, DbErr> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String)> = support_ticket::Entity::find()
            .select_only()
            .column(support_ticket::Column::CustomerId)
            .column(support_ticket::Column::Subject)
            .column(support_ticket::Column::Body)
            .filter(support_ticket::Column::OpenedAt.gte(since))
            .filter(support_ticket::Column::OpenedAt.lte(now))
            .filter(support_ticket::Column::CustomerId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, subject, body) in rows {
            out.entry(id)
                .or_default()
                .push(format!("{subject}\n{body}"));
        }
    }
    Ok(out)
}

/// Evaluates the signals for the customers just scored (`scope`: those asked for, `None`:
/// everyone): opens the new ones, refreshes the estimates of open ones, and lapses those
/// that stopped holding. Returns how many opened.
///
/// # Errors
/// Database errors.
pub async fn evaluate<C: ConnectionTrait + TransactionTrait>(
    outer: &C,
    scope: Option<&[i64]>,
    facts: &HashMap<i64, Facts>,
    health: &HashMap<i64, &Health>,
    window_days: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let txn = super::db::begin_write(outer).await?;
    let db = &txn;
    let plans = plans(db).await?;
    let mut ids: Vec<i64> = facts.keys().copied().collect();
    ids.sort_unstable();
    let mut meta: HashMap<i64, (Option<String>, String)> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, Option<String>, String)> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Plan)
            .column(customer::Column::Currency)
            .filter(customer::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        meta.extend(rows.into_iter().map(|(id, p, c)| (id, (p, c))));
    }
    let nps = latest_nps(db, &ids, now).await?;
    let texts = ticket_texts(db, &ids, now - Duration::days(i64::from(window_days)), now).await?;

    // What is open, and what was closed lately, for the customers evaluated.
    let mut existing: Vec<expansion_signal::Model> = Vec::new();
    let mut recent_q = expansion_signal::Entity::find().filter(
        Condition::any()
            .add(expansion_signal::Column::Status.eq(OPEN))
            .add(
                Condition::all()
                    .add(expansion_signal::Column::Status.is_in([WON, DISMISSED]))
                    .add(expansion_signal::Column::ClosedAt.gt(now - Duration::days(QUIET_DAYS))),
            ),
    );
    if let Some(scope) = scope {
        for chunk in scope.chunks(CHUNK) {
            existing.extend(
                recent_q
                    .clone()
                    .filter(expansion_signal::Column::CustomerId.is_in(chunk.to_vec()))
                    .all(db)
                    .await?,
            );
        }
    } else {
        recent_q = recent_q.order_by_asc(expansion_signal::Column::Id);
        existing = recent_q.all(db).await?;
    }
    let mut open: HashMap<(i64, Kind), expansion_signal::Model> = HashMap::new();
    let mut quiet: HashSet<(i64, Kind)> = HashSet::new();
    for s in existing {
        let Some(kind) = Kind::parse(&s.kind) else {
            continue;
        };
        if s.status == OPEN {
            open.insert((s.customer_id, kind), s);
        } else {
            quiet.insert((s.customer_id, kind));
        }
    }

    let mut new_rows = Vec::new();
    let mut holding: HashSet<(i64, Kind)> = HashSet::new();
    for id in &ids {
        let f = &facts[id];
        let (plan_name, currency) = meta.get(id).cloned().unwrap_or_default();
        let plan = plan_name
            .as_deref()
            .and_then(|p| expansion::find_plan(&plans, p));
        let inputs = Inputs {
            seats: f.seats,
            events: f.current.events,
            events_before: f.previous.events,
            active_users: f.current.active_users,
            active_users_before: f.previous.active_users,
            health: health.get(id).map(|h| h.score.value()),
            nps: nps.get(id).copied(),
            ticket_texts: texts.get(id).cloned().unwrap_or_default(),
            mrr_minor: f.mrr_minor,
        };
        for s in expansion::signals(&plans, plan, &inputs) {
            let key = (*id, s.kind);
            holding.insert(key);
            match open.get(&key) {
                Some(row) => {
                    let changed = row.title != s.title
                        || row.uplift_minor != s.uplift_minor
                        || (row.confidence - s.confidence).abs() > 1e-9;
                    if changed {
                        expansion_signal::Entity::update_many()
                            .col_expr(
                                expansion_signal::Column::Title,
                                Expr::value(s.title.clone()),
                            )
                            .col_expr(
                                expansion_signal::Column::UpliftMinor,
                                Expr::value(s.uplift_minor),
                            )
                            .col_expr(
                                expansion_signal::Column::Confidence,
                                Expr::value(s.confidence),
                            )
                            .col_expr(expansion_signal::Column::UpdatedAt, Expr::value(now))
                            .filter(expansion_signal::Column::Id.eq(row.id))
                            .exec(db)
                            .await?;
                    }
                }
                None if quiet.contains(&key) => {}
                None => new_rows.push(expansion_signal::ActiveModel {
                    customer_id: Set(*id),
                    kind: Set(s.kind.as_str().into()),
                    title: Set(s.title.chars().take(300).collect()),
                    uplift_minor: Set(s.uplift_minor),
                    currency: Set(currency.clone()),
                    confidence: Set(s.confidence),
                    status: Set(OPEN.into()),
                    opened_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }),
            }
        }
    }
    let opened = new_rows.len() as u64;
    for chunk in new_rows.chunks(CHUNK) {
        // Another server evaluating the same customer at once: its row stands.
        expansion_signal::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    // Open signals of evaluated customers that no longer hold lapse.
    let evaluated: HashSet<i64> = ids.iter().copied().collect();
    let lapsed: Vec<i64> = open
        .iter()
        .filter(|(key, _)| evaluated.contains(&key.0) && !holding.contains(key))
        .map(|(_, row)| row.id)
        .collect();
    for chunk in lapsed.chunks(CHUNK) {
        expansion_signal::Entity::update_many()
            .col_expr(expansion_signal::Column::Status, Expr::value(LAPSED))
            .col_expr(expansion_signal::Column::ClosedAt, Expr::value(now))
            .col_expr(expansion_signal::Column::UpdatedAt, Expr::value(now))
            .filter(expansion_signal::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    txn.commit().await?;
    Ok(opened)
}

/// Adds one signal to a total.
fn accumulate(
    t: &mut PipelineTotal,
    kind: Option<Kind>,
    currency: &str,
    uplift: i64,
    confidence: f64,
) {
    t.kind = kind;
    currency.clone_into(&mut t.currency);
    t.signals += 1;
    t.uplift_minor += uplift;
    t.weighted_minor += (uplift as f64 * confidence).round() as i64;
}

/// The open pipeline per currency (for the dashboard).
///
/// # Errors
/// Database errors.
pub async fn totals(db: &impl ConnectionTrait) -> Result<Vec<PipelineTotal>, DbErr> {
    let rows: Vec<(String, i64, f64)> = expansion_signal::Entity::find()
        .select_only()
        .column(expansion_signal::Column::Currency)
        .column(expansion_signal::Column::UpliftMinor)
        .column(expansion_signal::Column::Confidence)
        .filter(expansion_signal::Column::Status.eq(OPEN))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_currency: BTreeMap<String, PipelineTotal> = BTreeMap::new();
    for (currency, uplift, confidence) in rows {
        accumulate(
            by_currency.entry(currency.clone()).or_default(),
            None,
            &currency,
            uplift,
            confidence,
        );
    }
    let mut out: Vec<PipelineTotal> = by_currency.into_values().collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.uplift_minor));
    Ok(out)
}

/// A customer's id, name, owner, health score and MRR.
type InfoRow = (i64, String, Option<i64>, Option<i16>, i64);

/// Signals per page of the pipeline.
pub const PAGE: u64 = 50;

/// The pipeline: open signals (or one customer's), largest weighted uplift first, with
/// totals per currency and per kind.
///
/// # Errors
/// Database errors.
pub async fn pipeline(
    db: &impl ConnectionTrait,
    customer_id: Option<i64>,
    page: u64,
    can_edit_plans: bool,
) -> Result<ExpansionPage, AppError> {
    let mut q = expansion_signal::Entity::find().filter(expansion_signal::Column::Status.eq(OPEN));
    if let Some(id) = customer_id {
        q = q.filter(expansion_signal::Column::CustomerId.eq(id));
    }
    let total = q.clone().count(db).await?;
    let weighted = Expr::col(expansion_signal::Column::UpliftMinor)
        .mul(Expr::col(expansion_signal::Column::Confidence));
    let rows = q
        .clone()
        .order_by(weighted, Order::Desc)
        .order_by_asc(expansion_signal::Column::Id)
        .offset(vcsm::listing::page_offset(page, PAGE).map_err(AppError::BadRequest)?)
        .limit(PAGE)
        .all(db)
        .await?;
    // Totals over every open signal, not just the page.
    let all: Vec<(String, String, i64, f64)> = q
        .select_only()
        .column(expansion_signal::Column::Kind)
        .column(expansion_signal::Column::Currency)
        .column(expansion_signal::Column::UpliftMinor)
        .column(expansion_signal::Column::Confidence)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_currency: BTreeMap<String, PipelineTotal> = BTreeMap::new();
    let mut by_kind: BTreeMap<(Option<Kind>, String), PipelineTotal> = BTreeMap::new();
    for (kind, currency, uplift, confidence) in all {
        let kind = Kind::parse(&kind);
        accumulate(
            by_currency.entry(currency.clone()).or_default(),
            None,
            &currency,
            uplift,
            confidence,
        );
        accumulate(
            by_kind.entry((kind, currency.clone())).or_default(),
            kind,
            &currency,
            uplift,
            confidence,
        );
    }
    let customer_ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
    let mut info: HashMap<i64, (String, Option<i64>, Option<i16>, i64)> = HashMap::new();
    for chunk in customer_ids.chunks(CHUNK) {
        let got: Vec<InfoRow> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Name)
            .column(customer::Column::OwnerId)
            .column(customer::Column::HealthScore)
            .column(customer::Column::MrrMinor)
            .filter(customer::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        info.extend(got.into_iter().map(|(id, n, o, h, m)| (id, (n, o, h, m))));
    }
    let owners = users::names_of(db, info.values().filter_map(|i| i.1).collect()).await?;
    let signals = rows
        .into_iter()
        .map(|r| {
            let (name, owner, health, mrr) = info.get(&r.customer_id).cloned().unwrap_or_default();
            ExpansionRow {
                id: r.id,
                customer_id: r.customer_id,
                customer_name: name,
                owner: owner.and_then(|o| owners.get(&o).cloned()),
                health: health.and_then(|h| u8::try_from(h).ok()),
                arr_minor: mrr.saturating_mul(12),
                kind: Kind::parse(&r.kind).unwrap_or(Kind::Promoter),
                title: r.title,
                uplift_minor: r.uplift_minor,
                currency: r.currency,
                confidence: r.confidence,
                opened_at: r.opened_at,
            }
        })
        .collect();
    Ok(ExpansionPage {
        signals,
        total,
        page,
        page_size: PAGE,
        totals: by_currency.into_values().collect(),
        by_kind: by_kind.into_values().collect(),
        plans: plans(db).await?,
        can_edit_plans,
    })
}

/// Marks a signal won or dismissed, with the actor's note, audited. The same kind stays
/// quiet for the customer for 90 days.
///
/// # Errors
/// `NotFound`; `Conflict` when it is no longer open; `Validation` for a note over 2,000
/// characters; database errors.
pub async fn act<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    signal_id: i64,
    action: SignalAction,
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
    let status = match action {
        SignalAction::Won => WON,
        SignalAction::Dismiss => DISMISSED,
    };
    let txn = super::db::begin_write(db).await?;
    let Some(row) = expansion_signal::Entity::find_by_id(signal_id)
        .one(&txn)
        .await?
    else {
        return Err(AppError::NotFound(format!(
            "No expansion signal with id {signal_id}."
        )));
    };
    if row.status != OPEN {
        return Err(AppError::Conflict(format!(
            "This signal is already {}.",
            row.status
        )));
    }
    let customer_id = row.customer_id;
    let mut am: expansion_signal::ActiveModel = row.into();
    am.status = Set(status.into());
    am.closed_at = Set(Some(now));
    am.updated_at = Set(now);
    am.handled_by = Set(Some(actor.id));
    am.note = Set(note.clone());
    sea_orm::ActiveModelTrait::update(am, &txn).await?;
    audit::record(
        &txn,
        Some(actor),
        &format!("expansion.{status}"),
        "customer",
        Some(customer_id),
        serde_json::json!({ "signal": signal_id, "note": note }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
