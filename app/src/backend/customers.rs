//! Customers: the list, the detail page, the form, archive and notes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{LikeExpr, NullOrdering};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};
use vcsm::auth::Role;
use vcsm::customers::{ContactRole, CustomerDraft, CustomerInput, Stage, Tier};
use vcsm::listing::{like_contains_pattern, CustomerQuery, SortKey};
use vcsm::ValidationErrors;

use super::audit;
use super::entities::{
    billing_event, churn_prediction, contact, customer, note, subscription, support_ticket,
    usage_event, user,
};
use crate::dto::{
    ContactDto, CurrentUser, CustomerDetail, CustomerPage, CustomerRow, SubscriptionDto,
    TimelineItem, TimelineKind,
};
use crate::error::{unique_as, AppError};

/// What the list's search matches: name, domain and external id, lower-cased.
pub fn search_text(name: &str, domain: Option<&str>, external_id: Option<&str>) -> String {
    [Some(name), domain, external_id]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Customer ids by external id, for those of `external_ids` that exist: one query per 500.
pub(crate) async fn ids_by_external_id(
    db: &impl ConnectionTrait,
    external_ids: &[String],
) -> Result<HashMap<String, i64>, DbErr> {
    let mut found = HashMap::new();
    for chunk in external_ids.chunks(500) {
        let rows: Vec<(i64, Option<String>)> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::ExternalId)
            .filter(customer::Column::ExternalId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows.into_iter().filter_map(|(id, ext)| Some((ext?, id))));
    }
    Ok(found)
}

/// Owner names by user id (users are few: one query instead of a join per row).
async fn user_names(db: &impl ConnectionTrait) -> Result<HashMap<i64, (String, String)>, DbErr> {
    Ok(user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, (u.name, u.email)))
        .collect())
}

fn row(m: &customer::Model, users: &HashMap<i64, (String, String)>) -> CustomerRow {
    CustomerRow {
        id: m.id,
        name: m.name.clone(),
        external_id: m.external_id.clone(),
        domain: m.domain.clone(),
        tier: Tier::parse(&m.tier).unwrap_or(Tier::SmallBusiness),
        stage: Stage::parse(&m.stage).unwrap_or(Stage::Active),
        plan: m.plan.clone(),
        mrr_minor: m.mrr_minor,
        currency: m.currency.clone(),
        seats: m.seats,
        renewal_date: m.renewal_date,
        owner_name: m
            .owner_id
            .and_then(|id| users.get(&id))
            .map(|(n, _)| n.clone()),
        last_seen_at: m.last_seen_at,
        archived: m.archived_at.is_some(),
        health_score: m.health_score.and_then(|s| u8::try_from(s).ok()),
        health_level: m
            .health_level
            .as_deref()
            .and_then(vcsm::health::Level::parse),
        churn_risk: None,
        churn_probability: None,
    }
}

/// The churn predictions of `ids`, by customer.
pub(crate) async fn churn_of(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, churn_prediction::Model>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            churn_prediction::Entity::find()
                .filter(churn_prediction::Column::CustomerId.is_in(chunk.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.customer_id, p)),
        );
    }
    Ok(out)
}

/// Customers whose current churn risk is `risk`: a subquery for `IN`.
pub(crate) fn with_risk(risk: vcsm::churn::Risk) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(churn_prediction::Column::CustomerId)
        .from(churn_prediction::Entity)
        .and_where(churn_prediction::Column::Risk.eq(risk.as_str()))
        .to_owned()
}

/// The churn sort order of a customer row: its risk band, then its probability (risk
/// bands follow the probability when a model gives one); `NULL` before any prediction.
fn churn_order() -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::Expr::cust(
        "(SELECT CASE p.risk WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END \
         + COALESCE(p.probability, 0) FROM churn_predictions p WHERE p.customer_id = customers.id)",
    )
}

/// The list's customers for `q` (already normalised), filtered and sorted, ties broken
/// by id so pages never overlap or skip rows.
fn list_select(q: &CustomerQuery) -> sea_orm::Select<customer::Entity> {
    let mut cond = Condition::all();
    if !q.include_archived {
        cond = cond.add(customer::Column::ArchivedAt.is_null());
    }
    if !q.search.is_empty() {
        cond = cond.add(
            customer::Column::SearchText
                .like(LikeExpr::new(like_contains_pattern(&q.search)).escape('\\')),
        );
    }
    if let Some(t) = q.tier {
        cond = cond.add(customer::Column::Tier.eq(t.as_str()));
    }
    if let Some(s) = q.stage {
        cond = cond.add(customer::Column::Stage.eq(s.as_str()));
    }
    match q.owner {
        Some(0) => cond = cond.add(customer::Column::OwnerId.is_null()),
        Some(id) => cond = cond.add(customer::Column::OwnerId.eq(id)),
        None => {}
    }
    if let Some(r) = q.risk {
        cond = cond.add(customer::Column::Id.in_subquery(with_risk(r)));
    }
    let order = if q.desc { Order::Desc } else { Order::Asc };
    let base = customer::Entity::find().filter(cond);
    let sorted = match q.sort {
        SortKey::Name => base.order_by(customer::Column::Name, order),
        SortKey::Mrr => base.order_by(customer::Column::MrrMinor, order),
        SortKey::Renewal => {
            base.order_by_with_nulls(customer::Column::RenewalDate, order, NullOrdering::Last)
        }
        SortKey::LastSeen => {
            base.order_by_with_nulls(customer::Column::LastSeenAt, order, NullOrdering::Last)
        }
        SortKey::Created => base.order_by(customer::Column::CreatedAt, order),
        SortKey::Health => {
            base.order_by_with_nulls(customer::Column::HealthScore, order, NullOrdering::Last)
        }
        SortKey::Churn => base.order_by_with_nulls(churn_order(), order, NullOrdering::Last),
    };
    sorted.order_by_asc(customer::Column::Id)
}

/// The ids of the live customers the list shows for `query` (archived ones left out,
/// whatever the query says), at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn ids_matching(
    db: &impl ConnectionTrait,
    query: &CustomerQuery,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let mut q = query.normalized();
    q.include_archived = false;
    list_select(&q)
        .select_only()
        .column(customer::Column::Id)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// One page of the customer list.
///
/// # Errors
/// Returns the database error.
pub async fn list(
    db: &impl ConnectionTrait,
    query: &CustomerQuery,
    now: DateTime<Utc>,
) -> Result<CustomerPage, AppError> {
    // The JSON endpoint takes any values: bound them before they reach SQL.
    let q = &query.normalized();
    let select = list_select(q);
    let total = select.clone().count(db).await?;
    let models = select.offset(q.offset()).limit(q.per_page).all(db).await?;
    let users = user_names(db).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let churn = churn_of(db, &ids).await?;
    Ok(CustomerPage {
        rows: models
            .iter()
            .map(|m| {
                let mut r = row(m, &users);
                if let Some(p) = churn.get(&m.id) {
                    r.churn_risk = vcsm::churn::Risk::parse(&p.risk);
                    r.churn_probability = p.probability;
                }
                r
            })
            .collect(),
        total,
        query: q.clone(),
        now,
    })
}

/// The columns of the customer list's CSV export.
pub const EXPORT_COLUMNS: [&str; 20] = [
    "id",
    "external_id",
    "name",
    "domain",
    "tier",
    "stage",
    "plan",
    "mrr",
    "currency",
    "seats",
    "billing_period",
    "renewal_date",
    "owner",
    "last_seen_at",
    "health_score",
    "health_level",
    "churn_risk",
    "churn_probability",
    "churn_factors",
    "attributes",
];

/// Every customer the list shows for `query` (all pages, in its order) as CSV, with
/// health and churn columns.
///
/// # Errors
/// Returns the database error.
pub async fn export_csv(
    db: &impl ConnectionTrait,
    query: &CustomerQuery,
) -> Result<String, AppError> {
    let q = &query.normalized();
    let models = list_select(q).all(db).await?;
    let users = user_names(db).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let churn = churn_of(db, &ids).await?;
    let rows = models.iter().map(|m| {
        let p = churn.get(&m.id);
        let factors: Vec<vcsm::churn::Factor> = p
            .and_then(|p| serde_json::from_value(p.factors.clone()).ok())
            .unwrap_or_default();
        vec![
            m.id.to_string(),
            m.external_id.clone().unwrap_or_default(),
            m.name.clone(),
            m.domain.clone().unwrap_or_default(),
            m.tier.clone(),
            m.stage.clone(),
            m.plan.clone().unwrap_or_default(),
            vcsm::money::to_major_string(m.mrr_minor, &m.currency),
            m.currency.clone(),
            m.seats.to_string(),
            m.billing_period.clone().unwrap_or_default(),
            m.renewal_date.map(|d| d.to_string()).unwrap_or_default(),
            m.owner_id
                .and_then(|id| users.get(&id))
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
            m.last_seen_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            m.health_score.map(|s| s.to_string()).unwrap_or_default(),
            m.health_level.clone().unwrap_or_default(),
            p.map(|p| p.risk.clone()).unwrap_or_default(),
            p.and_then(|p| p.probability)
                .map(|v| format!("{v:.4}"))
                .unwrap_or_default(),
            factors
                .iter()
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            vcsm::customers::format_attributes(&attributes_of(m)).replace('\n', "; "),
        ]
    });
    Ok(vcsm::sources::csv::write_table(&EXPORT_COLUMNS, rows))
}

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<customer::Model, AppError> {
    customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No customer with id {id}.")))
}

/// The stored attributes (name → text value); anything else in the column is ignored.
pub(crate) fn attributes_of(m: &customer::Model) -> std::collections::BTreeMap<String, String> {
    m.attributes
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn tags_of(m: &customer::Model) -> Vec<String> {
    m.tags
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Timeline entries shown on the detail page, newest first.
const TIMELINE_LEN: u64 = 60;

/// Everything the customer page shows.
///
/// # Errors
/// `NotFound` for an unknown id; database errors.
pub async fn detail(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<CustomerDetail, AppError> {
    let m = find(db, id).await?;
    let users = user_names(db).await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(id))
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?;
    let sub = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(id))
        .order_by_desc(subscription::Column::StartedAt)
        .one(db)
        .await?;

    let events_30d = usage_event::Entity::find()
        .filter(usage_event::Column::CustomerId.eq(id))
        .filter(usage_event::Column::OccurredAt.gte(now - Duration::days(30)))
        .count(db)
        .await?;
    let notes = note::Entity::find()
        .filter(note::Column::CustomerId.eq(id))
        .order_by_desc(note::Column::CreatedAt)
        .limit(TIMELINE_LEN)
        .all(db)
        .await?;
    let tickets = support_ticket::Entity::find()
        .filter(support_ticket::Column::CustomerId.eq(id))
        .order_by_desc(support_ticket::Column::OpenedAt)
        .limit(TIMELINE_LEN)
        .all(db)
        .await?;
    let open_tickets = support_ticket::Entity::find()
        .filter(support_ticket::Column::CustomerId.eq(id))
        .filter(support_ticket::Column::Status.ne("solved"))
        .filter(support_ticket::Column::Status.ne("closed"))
        .count(db)
        .await?;
    let billing = billing_event::Entity::find()
        .filter(billing_event::Column::CustomerId.eq(id))
        .order_by_desc(billing_event::Column::OccurredAt)
        .limit(TIMELINE_LEN)
        .all(db)
        .await?;

    // Usage as one line per day, and what playbooks and people did, beside the rest.
    let (mut timeline, weekly_usage) =
        super::timeline::usage(db, id, TIMELINE_LEN as usize, now).await?;
    timeline.extend(super::timeline::work(db, id, TIMELINE_LEN, &users).await?);
    timeline.extend(notes.into_iter().map(|n| {
        TimelineItem {
            at: n.created_at,
            kind: TimelineKind::Note,
            title: "Note".into(),
            detail: Some(n.body),
            actor: n
                .author_id
                .and_then(|a| users.get(&a))
                .map(|(name, _)| name.clone()),
            alert: false,
            more: None,
        }
    }));
    timeline.extend(tickets.into_iter().map(|t| {
        let negative = t.sentiment.is_some_and(|s| s <= -0.05);
        let mood = t.sentiment.map(|s| {
            let label = vcsm::sources::tickets::SentimentLabel::from_compound(s).as_str();
            format!(" · {label} ({s:+.2})")
        });
        TimelineItem {
            at: t.opened_at,
            kind: TimelineKind::Ticket,
            alert: matches!(t.priority.as_str(), "high" | "urgent")
                || t.satisfaction.as_deref() == Some("bad")
                || t.cancellation_intent
                || negative,
            title: format!("Ticket: {}", t.subject),
            detail: Some(format!(
                "{} · {} priority{}{}{}",
                t.status,
                t.priority,
                t.satisfaction
                    .map(|s| format!(" · rated {s}"))
                    .unwrap_or_default(),
                mood.unwrap_or_default(),
                t.intent_phrases
                    .filter(|_| t.cancellation_intent)
                    .map(|p| format!(" · cancellation intent: “{p}”"))
                    .unwrap_or_default()
            )),
            actor: t.requester_email,
            more: None,
        }
    }));
    timeline.extend(billing.into_iter().map(|b| TimelineItem {
        at: b.occurred_at,
        kind: TimelineKind::Billing,
        alert: matches!(b.kind.as_str(), "payment_failed" | "subscription_canceled"),
        title: match b.kind.as_str() {
            "invoice_paid" => "Invoice paid".to_string(),
            "payment_failed" => "Payment failed".to_string(),
            "refund" => "Refund".to_string(),
            "subscription_started" => "Subscription started".to_string(),
            "subscription_changed" => "Subscription changed".to_string(),
            "subscription_canceled" => "Subscription canceled".to_string(),
            other => other.replace('_', " "),
        },
        detail: Some(format!(
            "{}{}",
            vcsm::money::format_money(b.amount_minor, &b.currency),
            b.description.map(|d| format!(" · {d}")).unwrap_or_default()
        )),
        actor: None,
        more: None,
    }));
    timeline.sort_by_key(|t| std::cmp::Reverse(t.at));
    timeline.truncate(TIMELINE_LEN as usize);

    Ok(CustomerDetail {
        row: row(&m, &users),
        churned_on: m.churned_on,
        contract_start: m.contract_start,
        owner_email: m
            .owner_id
            .and_then(|id| users.get(&id))
            .map(|(_, e)| e.clone()),
        tags: tags_of(&m),
        created_at: m.created_at,
        contacts: contacts
            .into_iter()
            .map(|c| ContactDto {
                id: c.id,
                name: c.name,
                email: c.email,
                title: c.title,
                role: ContactRole::parse(&c.role).unwrap_or(ContactRole::User),
            })
            .collect(),
        subscription: sub.map(|s| SubscriptionDto {
            plan: s.plan,
            status: s.status,
            interval: s.billing_interval,
            quantity: s.quantity,
            mrr_minor: s.mrr_minor,
            currency: s.currency,
            current_period_end: s.current_period_end,
            canceled_at: s.canceled_at,
            payment_status: s.payment_status,
            failed_attempts: s.failed_attempts,
        }),
        open_tickets,
        events_30d,
        timeline,
        weekly_usage,
        now,
    })
}

/// The edit form filled in with the stored customer.
///
/// # Errors
/// `NotFound` for an unknown id; database errors.
pub async fn form_input(db: &impl ConnectionTrait, id: i64) -> Result<CustomerInput, AppError> {
    let m = find(db, id).await?;
    let users = user_names(db).await?;
    let owner = m
        .owner_id
        .and_then(|id| users.get(&id))
        .and_then(|(_, e)| vcsm::auth::Email::parse(e).ok());
    let draft = CustomerDraft {
        name: m.name.clone(),
        external_id: m.external_id.clone(),
        domain: m.domain.clone(),
        tier: Tier::parse(&m.tier).unwrap_or(Tier::SmallBusiness),
        stage: Stage::parse(&m.stage).unwrap_or(Stage::Active),
        churned_on: m.churned_on,
        plan: m.plan.clone(),
        mrr_minor: m.mrr_minor,
        currency: m.currency.clone(),
        seats: m.seats,
        contract_start: m.contract_start,
        renewal_date: m.renewal_date,
        owner_email: owner,
        tags: tags_of(&m),
        billing_period: m
            .billing_period
            .as_deref()
            .and_then(vcsm::customers::BillingPeriod::parse),
        attributes: attributes_of(&m),
    };
    Ok(draft.to_input())
}

/// Resolves owner e-mails to user ids; unknown, inactive or executive users are errors.
pub(crate) async fn owner_ids(db: &impl ConnectionTrait) -> Result<HashMap<String, i64>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Executive.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.email, u.id))
        .collect())
}

pub(crate) fn resolve_owner(
    draft: &CustomerDraft,
    owners: &HashMap<String, i64>,
) -> Result<Option<i64>, String> {
    match &draft.owner_email {
        None => Ok(None),
        Some(e) => owners
            .get(e.as_str())
            .copied()
            .map(Some)
            .ok_or_else(|| format!("{e} is not an active user who can own customers")),
    }
}

/// The stored form of a validated customer (id, timestamps of creation and activity left
/// for the caller). Every writer of customers goes through here.
pub(crate) fn active_model(
    draft: &CustomerDraft,
    owner_id: Option<i64>,
    now: DateTime<Utc>,
) -> customer::ActiveModel {
    customer::ActiveModel {
        name: Set(draft.name.clone()),
        external_id: Set(draft.external_id.clone()),
        domain: Set(draft.domain.clone()),
        tier: Set(draft.tier.as_str().into()),
        stage: Set(draft.stage.as_str().into()),
        churned_on: Set(draft.churned_on),
        plan: Set(draft.plan.clone()),
        mrr_minor: Set(draft.mrr_minor),
        currency: Set(draft.currency.clone()),
        seats: Set(draft.seats),
        contract_start: Set(draft.contract_start),
        renewal_date: Set(draft.renewal_date),
        owner_id: Set(owner_id),
        tags: Set(serde_json::json!(draft.tags)),
        billing_period: Set(draft.billing_period.map(|p| p.as_str().to_string())),
        attributes: Set(serde_json::json!(draft.attributes)),
        search_text: Set(search_text(
            &draft.name,
            draft.domain.as_deref(),
            draft.external_id.as_deref(),
        )),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn external_id_taken(
    db: &impl ConnectionTrait,
    external_id: &str,
    except: Option<i64>,
) -> Result<bool, DbErr> {
    let mut q = customer::Entity::find().filter(customer::Column::ExternalId.eq(external_id));
    if let Some(id) = except {
        q = q.filter(customer::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Validates the form against the rules and the database.
async fn validate(
    db: &impl ConnectionTrait,
    input: &CustomerInput,
    except: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(CustomerDraft, Option<i64>), AppError> {
    let draft = input
        .validate(now.date_naive())
        .map_err(AppError::Validation)?;
    let mut errors = ValidationErrors::default();
    let owners = owner_ids(db).await?;
    let owner = resolve_owner(&draft, &owners)
        .map_err(|e| errors.push("owner_email", e))
        .ok()
        .flatten();
    if let Some(x) = &draft.external_id {
        if external_id_taken(db, x, except).await? {
            errors.push("external_id", "is already used by another customer");
        }
    }
    errors
        .into_result((draft, owner))
        .map_err(AppError::Validation)
}

/// Where a change came from, for the audit log: a signed-in user's form, or the REST API
/// (an API token has no user).
fn via(actor: Option<&CurrentUser>) -> &'static str {
    if actor.is_some() {
        "form"
    } else {
        "REST API"
    }
}

/// Creates a customer from the form (or the REST API, without a user).
///
/// # Errors
/// `Validation` with every bad field; database errors.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Option<&CurrentUser>,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let (draft, owner) = validate(db, input, None, now).await?;
    let txn = super::db::begin_write(db).await?;
    let mut am = active_model(&draft, owner, now);
    am.created_at = Set(now);
    let m = am.insert(&txn).await.map_err(unique_as(
        "external_id",
        "is already used by another customer",
    ))?;
    // Scored at once, not when its first data arrives or at night.
    super::score_queue::request(&txn, &[m.id], now).await?;
    audit::record(
        &txn,
        actor,
        "customer.create",
        "customer",
        Some(m.id),
        serde_json::json!({ "name": m.name, "via": via(actor) }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(m.id)
}

/// Saves the edit form over an existing customer.
///
/// # Errors
/// `NotFound`, `Validation`; database errors.
pub async fn update<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Option<&CurrentUser>,
    id: i64,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let before = find(db, id).await?;
    let (draft, owner) = validate(db, input, Some(id), now).await?;
    let txn = super::db::begin_write(db).await?;
    let mut am = active_model(&draft, owner, now);
    am.id = Set(id);
    am.created_at = sea_orm::ActiveValue::Unchanged(before.created_at);
    let after = am.update(&txn).await.map_err(unique_as(
        "external_id",
        "is already used by another customer",
    ))?;
    let mut changed = serde_json::Map::new();
    for (field, old, new) in [
        ("name", before.name.clone(), after.name.clone()),
        ("stage", before.stage.clone(), after.stage.clone()),
        ("tier", before.tier.clone(), after.tier.clone()),
        (
            "mrr_minor",
            before.mrr_minor.to_string(),
            after.mrr_minor.to_string(),
        ),
        (
            "owner_id",
            format!("{:?}", before.owner_id),
            format!("{:?}", after.owner_id),
        ),
    ] {
        if old != new {
            changed.insert(field.into(), serde_json::json!({ "from": old, "to": new }));
        }
    }
    // Seats, MRR, dates and the billing period all weigh in the score.
    super::score_queue::request(&txn, &[id], now).await?;
    changed.insert("via".into(), serde_json::json!(via(actor)));
    audit::record(
        &txn,
        actor,
        "customer.update",
        "customer",
        Some(id),
        serde_json::Value::Object(changed),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Archives (hides from lists, keeps all data) or restores a customer.
///
/// # Errors
/// `NotFound`; database errors.
pub async fn set_archived<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    id: i64,
    archived: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let m = find(db, id).await?;
    let txn = super::db::begin_write(db).await?;
    let mut am: customer::ActiveModel = m.into();
    am.archived_at = Set(archived.then_some(now));
    am.updated_at = Set(now);
    am.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor),
        if archived {
            "customer.archive"
        } else {
            "customer.restore"
        },
        "customer",
        Some(id),
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Longest note accepted.
pub const MAX_NOTE_LEN: usize = 10_000;

/// Adds a note to a customer's timeline.
///
/// # Errors
/// `Validation` for an empty or huge note, `NotFound`; database errors.
pub async fn add_note<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::validation("body", "is empty"));
    }
    if body.chars().count() > MAX_NOTE_LEN {
        return Err(AppError::validation(
            "body",
            format!("must be at most {MAX_NOTE_LEN} characters"),
        ));
    }
    find(db, id).await?;
    let txn = super::db::begin_write(db).await?;
    note::ActiveModel {
        customer_id: Set(id),
        author_id: Set(Some(actor.id)),
        body: Set(body.into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(actor),
        "note.create",
        "customer",
        Some(id),
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Adds a contact to a customer.
///
/// # Errors
/// `Validation` for bad fields or an e-mail already on this customer, `NotFound`; database errors.
pub async fn add_contact<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    customer_id: i64,
    input: &vcsm::customers::ContactInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let draft = input.validate().map_err(AppError::Validation)?;
    find(db, customer_id).await?;
    if let Some(email) = &draft.email {
        let taken = contact::Entity::find()
            .filter(contact::Column::CustomerId.eq(customer_id))
            .filter(contact::Column::Email.eq(email.as_str()))
            .count(db)
            .await?;
        if taken > 0 {
            return Err(AppError::validation(
                "email",
                "is already a contact of this customer",
            ));
        }
    }
    let txn = super::db::begin_write(db).await?;
    let m = contact::ActiveModel {
        customer_id: Set(customer_id),
        name: Set(draft.name.clone()),
        email: Set(draft.email.as_ref().map(|e| e.to_string())),
        title: Set(draft.title.clone()),
        role: Set(draft.role.as_str().into()),
        external_user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(unique_as("email", "is already a contact of this customer"))?;
    audit::record(
        &txn,
        Some(actor),
        "contact.create",
        "customer",
        Some(customer_id),
        serde_json::json!({ "contact_id": m.id, "name": m.name }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(m.id)
}

/// The names of the customers in `ids` (missing ones are left out).
///
/// # Errors
/// Database errors.
pub async fn names_of(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .filter(customer::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The ids of up to `limit` customers after id `after`, in id order (to walk the whole
/// portfolio a step at a time).
///
/// # Errors
/// Database errors.
pub async fn ids_after(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::Id.gt(after))
        .order_by_asc(customer::Column::Id)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// The highest customer id (0 without customers): what a bulk insert's new rows come
/// after.
///
/// # Errors
/// Database errors.
pub async fn max_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(customer::Entity::find()
        .select_only()
        .column_as(customer::Column::Id.max(), "m")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten()
        .unwrap_or(0))
}

/// How many customers there are (archived and churned ones included).
///
/// # Errors
/// Database errors.
pub async fn count_all(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    customer::Entity::find().count(db).await
}
