//! Reads behind the token-authenticated REST API (`/api/v1/…`): customers by id or
//! external id, and their events, tickets and billing history, newest first with an
//! id cursor. The shapes are the API's contract and are described in the OpenAPI document.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::entities::{
    billing_event, churn_prediction, contact, customer, subscription, support_ticket, usage_event,
    user,
};

/// Most items one page may hold.
pub const MAX_LIMIT: u64 = 500;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestSubscription {
    pub external_id: Option<String>,
    pub plan: Option<String>,
    /// Stripe's status: active, trialing, past_due, canceled…
    pub status: String,
    /// month, year, "3 months"…
    pub interval: String,
    pub quantity: i32,
    /// Monthly recurring revenue in minor units (cents).
    pub mrr_minor: i64,
    pub currency: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    /// good, failing or delinquent.
    pub payment_status: String,
    pub failed_attempts: i32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestContact {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: String,
    /// The user id in the customer's product (Segment's `userId`).
    pub external_user_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestCustomer {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    /// enterprise, mid_market, small_business or trial.
    pub tier: String,
    /// trial, onboarding, active, at_risk or churned.
    pub stage: String,
    pub plan: Option<String>,
    /// Monthly recurring revenue in minor units (cents).
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    /// monthly, quarterly or annual; absent when unknown.
    pub billing_period: Option<String>,
    pub owner_email: Option<String>,
    pub tags: Vec<String>,
    /// Custom attributes (channel, country, industry…): name → text.
    pub attributes: BTreeMap<String, String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<RestContact>,
    pub subscriptions: Vec<RestSubscription>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestEvent {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub contact_id: Option<i64>,
    /// When it happened (the sender's timestamp).
    pub occurred_at: DateTime<Utc>,
    /// When it reached Virtual CSM.
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestTicket {
    pub id: i64,
    /// zendesk, intercom, api or demo.
    pub source: String,
    pub external_id: Option<String>,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub requester_email: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<String>,
    /// VADER compound score, −1 to 1.
    pub sentiment: Option<f64>,
    pub cancellation_intent: bool,
    /// What made it count as cancellation intent.
    pub intent_phrases: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestBillingEvent {
    pub id: i64,
    /// invoice_paid, payment_failed, refund, subscription_started, subscription_changed,
    /// subscription_canceled…
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// A page of a customer's history, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestPage<T> {
    pub items: Vec<T>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

fn page<T>(mut items: Vec<T>, limit: u64, id: impl Fn(&T) -> i64) -> RestPage<T> {
    let more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    let next_before = if more { items.last().map(id) } else { None };
    RestPage { items, next_before }
}

/// A customer with its contacts and subscriptions.
///
/// # Errors
/// Returns the database error.
pub async fn customer(
    db: &impl ConnectionTrait,
    by_id: Option<i64>,
    by_external_id: Option<&str>,
) -> Result<Option<RestCustomer>, DbErr> {
    let mut q = customer::Entity::find();
    if let Some(id) = by_id {
        q = q.filter(customer::Column::Id.eq(id));
    }
    if let Some(ext) = by_external_id {
        q = q.filter(customer::Column::ExternalId.eq(ext));
    }
    let Some(c) = q.one(db).await? else {
        return Ok(None);
    };
    let owner_email = match c.owner_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.email),
        None => None,
    };
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(c.id))
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|k| RestContact {
            id: k.id,
            name: k.name,
            email: k.email,
            title: k.title,
            role: k.role,
            external_user_id: k.external_user_id,
        })
        .collect();
    let subscriptions = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(c.id))
        .order_by_desc(subscription::Column::StartedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|s| RestSubscription {
            external_id: s.external_id,
            plan: s.plan,
            status: s.status,
            interval: s.billing_interval,
            quantity: s.quantity,
            mrr_minor: s.mrr_minor,
            currency: s.currency,
            current_period_end: s.current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at: s.canceled_at,
            payment_status: s.payment_status,
            failed_attempts: s.failed_attempts,
        })
        .collect();
    let tags = serde_json::from_value::<Vec<String>>(c.tags.clone()).unwrap_or_default();
    let attributes = super::customers::attributes_of(&c);
    Ok(Some(RestCustomer {
        id: c.id,
        external_id: c.external_id,
        name: c.name,
        domain: c.domain,
        tier: c.tier,
        stage: c.stage,
        plan: c.plan,
        mrr_minor: c.mrr_minor,
        currency: c.currency,
        seats: c.seats,
        contract_start: c.contract_start,
        renewal_date: c.renewal_date,
        billing_period: c.billing_period.clone(),
        owner_email,
        tags,
        attributes,
        last_seen_at: c.last_seen_at,
        archived: c.archived_at.is_some(),
        created_at: c.created_at,
        contacts,
        subscriptions,
    }))
}

/// A customer's usage events, the most recently received first (by id, which is also
/// the cursor; `occurred_at` says when each happened).
///
/// # Errors
/// Returns the database error.
pub async fn events(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestEvent>, DbErr> {
    let mut q = usage_event::Entity::find().filter(usage_event::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(usage_event::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(usage_event::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|e| RestEvent {
            id: e.id,
            name: e.name,
            properties: e.properties,
            contact_id: e.contact_id,
            occurred_at: e.occurred_at,
            received_at: e.received_at,
        })
        .collect();
    Ok(page(rows, limit, |e| e.id))
}

/// A customer's tickets, newest first.
///
/// # Errors
/// Returns the database error.
pub async fn tickets(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestTicket>, DbErr> {
    let mut q =
        support_ticket::Entity::find().filter(support_ticket::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(support_ticket::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(support_ticket::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|t| RestTicket {
            id: t.id,
            source: t.source,
            external_id: t.external_id,
            subject: t.subject,
            status: t.status,
            priority: t.priority,
            requester_email: t.requester_email,
            opened_at: t.opened_at,
            solved_at: t.solved_at,
            satisfaction: t.satisfaction,
            sentiment: t.sentiment,
            cancellation_intent: t.cancellation_intent,
            intent_phrases: t.intent_phrases,
            updated_at: t.updated_at,
        })
        .collect();
    Ok(page(rows, limit, |t| t.id))
}

/// A customer's billing history, newest first.
///
/// # Errors
/// Returns the database error.
pub async fn billing(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestBillingEvent>, DbErr> {
    let mut q =
        billing_event::Entity::find().filter(billing_event::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(billing_event::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(billing_event::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|b| RestBillingEvent {
            id: b.id,
            kind: b.kind,
            amount_minor: b.amount_minor,
            currency: b.currency,
            description: b.description,
            external_id: b.external_id,
            occurred_at: b.occurred_at,
        })
        .collect();
    Ok(page(rows, limit, |b| b.id))
}

/// Whether a customer with this id exists.
///
/// # Errors
/// Returns the database error.
pub async fn exists(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(customer::Entity::find_by_id(id)
        .select_only()
        .column(customer::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// One measure in a customer's health score.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestMeasure {
    pub id: String,
    pub label: String,
    pub group: String,
    /// The value read from the data (events, days, %…); absent: no data, left out.
    pub raw: Option<f64>,
    pub unit: String,
    /// The value on 0–100.
    pub normalised: Option<f64>,
    /// Its share of the whole score (0–1).
    pub share: f64,
    /// Points it contributed to the score (`normalised × share`).
    pub points: f64,
}

/// One group of measures in a customer's health score.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestHealthGroup {
    pub id: String,
    pub label: String,
    pub score: Option<f64>,
    pub share: f64,
    pub points: f64,
}

/// A customer's current health score with what made it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestHealth {
    pub customer_id: i64,
    /// 0–100.
    pub score: u8,
    /// poor, fair, good or excellent.
    pub level: String,
    pub computed_at: DateTime<Utc>,
    pub scorecard_version: i32,
    /// The score about 7 and 30 days before, when there is one.
    pub score_7d_ago: Option<u8>,
    pub score_30d_ago: Option<u8>,
    pub groups: Vec<RestHealthGroup>,
    pub measures: Vec<RestMeasure>,
}

/// One reason a customer's churn risk is what it is.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestFactor {
    pub feature: String,
    /// In words: "Events down 52 % vs the prior 28 days".
    pub text: String,
    /// Its push on the log-odds of churning (positive raises the risk).
    pub impact: f64,
}

/// A customer's churn prediction.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestChurn {
    pub customer_id: i64,
    /// Calibrated probability of churning within `horizon_days`; absent while the model
    /// falls back to health (too little history).
    pub probability: Option<f64>,
    /// high, medium or low.
    pub risk: String,
    pub factors: Vec<RestFactor>,
    pub horizon_days: i64,
    pub computed_at: DateTime<Utc>,
    /// When the model in use was trained; absent in fallback.
    pub model_trained_at: Option<DateTime<Utc>>,
}

/// Predicted against observed churn for one tenth of predicted probability.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestCalibrationBin {
    pub from: f64,
    pub samples: u64,
    pub mean_predicted: f64,
    pub observed: f64,
}

/// The churn model in use and how well it did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestChurnModel {
    /// trained, fallback (too few churned customers: risk follows health), failed, or
    /// untrained.
    pub status: String,
    pub trained_at: Option<DateTime<Utc>>,
    pub horizon_days: i64,
    pub observations: i64,
    pub customers: i64,
    pub churned: i64,
    /// Cross-validated area under the ROC curve.
    pub cv_auc: Option<f64>,
    /// Churn rate among the riskiest tenth over the base rate.
    pub top_decile_lift: Option<f64>,
    /// The health score's own AUC on the same observations (the baseline).
    pub health_auc: Option<f64>,
    pub base_rate: Option<f64>,
    pub calibration: Vec<RestCalibrationBin>,
    /// Trained up to T − horizon, scored then, compared with who churned by T.
    pub backtest_auc: Option<f64>,
    pub backtest_customers: Option<u64>,
    pub backtest_churned: Option<u64>,
    /// The forward test: at past validation dates, a model trained on what was known
    /// then, against tenure alone and the health score; absent without enough history.
    pub forward: Option<RestForwardTest>,
}

/// AUC and top-decile lift of one way of ranking customers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestRanking {
    pub auc: Option<f64>,
    pub lift: Option<f64>,
}

impl From<vcsm::churn::Ranking> for RestRanking {
    fn from(r: vcsm::churn::Ranking) -> Self {
        RestRanking {
            auc: r.auc,
            lift: r.lift,
        }
    }
}

/// One validation date of the forward test.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestForwardDate {
    pub at: NaiveDate,
    /// Observations the model learned from (labels known by `at`).
    pub trained_on: u64,
    pub customers: u64,
    pub churned: u64,
    pub model: RestRanking,
    pub tenure: RestRanking,
    pub health: RestRanking,
}

/// The forward test: per validation date, and the means over them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestForwardTest {
    pub dates: Vec<RestForwardDate>,
    pub model: RestRanking,
    pub tenure: RestRanking,
    pub health: RestRanking,
}

impl From<vcsm::churn::ForwardTest> for RestForwardTest {
    fn from(f: vcsm::churn::ForwardTest) -> Self {
        RestForwardTest {
            dates: f
                .dates
                .into_iter()
                .map(|d| RestForwardDate {
                    at: d.at,
                    trained_on: d.trained_on,
                    customers: d.customers,
                    churned: d.churned,
                    model: d.model.into(),
                    tenure: d.tenure.into(),
                    health: d.health.into(),
                })
                .collect(),
            model: f.model.into(),
            tenure: f.tenure.into(),
            health: f.health.into(),
        }
    }
}

/// A customer's current health, or `None` when it has not been scored yet.
///
/// # Errors
/// `NotFound` for no such customer; database errors.
pub async fn health(
    db: &impl ConnectionTrait,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<RestHealth>, crate::error::AppError> {
    let Some(h) = super::health::customer_health(db, customer_id, now).await? else {
        return Ok(None);
    };
    let then = |days: u32| h.moves.iter().find(|m| m.days == days).and_then(|m| m.from);
    Ok(Some(RestHealth {
        customer_id,
        score: h.health.score.value(),
        level: h.health.level.as_str().into(),
        computed_at: h.computed_at,
        scorecard_version: h.scorecard_version,
        score_7d_ago: then(7),
        score_30d_ago: then(30),
        groups: h
            .health
            .groups
            .into_iter()
            .map(|g| RestHealthGroup {
                id: g.id,
                label: g.label,
                score: g.score,
                share: g.share,
                points: g.points,
            })
            .collect(),
        measures: h
            .health
            .measures
            .into_iter()
            .map(|m| RestMeasure {
                id: m.id,
                label: m.label,
                group: m.group,
                raw: m.raw,
                unit: m.unit,
                normalised: m.normalised,
                share: m.share,
                points: m.points,
            })
            .collect(),
    }))
}

/// A customer's churn prediction; `Ok(None)` for no such customer, `Ok(Some(None))` when
/// it has none yet.
///
/// # Errors
/// Database errors.
pub async fn churn(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Option<Option<RestChurn>>, crate::error::AppError> {
    if customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let Some(c) = super::churn::customer_churn(db, customer_id).await? else {
        return Ok(Some(None));
    };
    Ok(Some(Some(RestChurn {
        customer_id,
        probability: c.probability,
        risk: c.risk.as_str().into(),
        factors: c.factors.into_iter().map(RestFactor::from).collect(),
        horizon_days: c.horizon_days,
        computed_at: c.computed_at,
        model_trained_at: c.model_trained_at,
    })))
}

/// The churn model: the latest run's status, and the metrics of the model in use.
///
/// # Errors
/// Database errors.
pub async fn churn_model(
    db: &impl ConnectionTrait,
) -> Result<RestChurnModel, crate::error::AppError> {
    let o = super::churn::model_overview(db, false).await?;
    let m = o.metrics;
    // The status is the latest run's; the figures are those of the model in use (an
    // older trained model stays in use when a later run fell back or failed).
    let status = o
        .latest
        .as_ref()
        .map_or("untrained".into(), |r| r.status.clone());
    let run = o.in_use.or(o.latest);
    let backtest = m.as_ref().and_then(|m| m.backtest.clone());
    Ok(RestChurnModel {
        status,
        trained_at: run.as_ref().map(|r| r.trained_at),
        horizon_days: vcsm::churn::HORIZON_DAYS,
        observations: run.as_ref().map_or(0, |r| r.observations),
        customers: run.as_ref().map_or(0, |r| r.customers),
        churned: run.as_ref().map_or(0, |r| r.churned),
        cv_auc: m.as_ref().and_then(|m| m.cv_auc),
        top_decile_lift: m.as_ref().and_then(|m| m.top_decile_lift),
        health_auc: m.as_ref().and_then(|m| m.health_auc),
        base_rate: m.as_ref().map(|m| m.base_rate),
        calibration: m
            .as_ref()
            .map(|m| {
                m.calibration
                    .iter()
                    .map(|b| RestCalibrationBin {
                        from: b.from,
                        samples: b.samples,
                        mean_predicted: b.mean_predicted,
                        observed: b.observed,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        backtest_auc: backtest.as_ref().and_then(|b| b.auc),
        backtest_customers: backtest.as_ref().map(|b| b.customers),
        backtest_churned: backtest.as_ref().map(|b| b.churned),
        forward: m
            .as_ref()
            .and_then(|m| m.forward.clone())
            .map(RestForwardTest::from),
    })
}

/// A customer's health in a list: the score and level now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestHealthSummary {
    /// 0–100.
    pub score: u8,
    /// poor, fair, good or excellent.
    pub level: String,
    pub computed_at: Option<DateTime<Utc>>,
}

/// A customer's churn prediction in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestChurnSummary {
    /// Calibrated probability of churning within the model's horizon (90 days); absent
    /// while risk falls back to health (too little history for a model).
    pub probability: Option<f64>,
    /// high, medium or low.
    pub risk: String,
    /// The largest pushes towards churn, biggest first (at most three).
    pub factors: Vec<RestFactor>,
    pub computed_at: DateTime<Utc>,
}

/// One customer of the bulk list: what it is, its health and its churn risk.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestCustomerItem {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    /// enterprise, mid_market, small_business or trial.
    pub tier: String,
    /// trial, onboarding, active, at_risk or churned.
    pub stage: String,
    pub plan: Option<String>,
    /// Monthly recurring revenue in minor units (cents).
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    /// monthly, quarterly or annual; absent when unknown.
    pub billing_period: Option<String>,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub owner_email: Option<String>,
    pub tags: Vec<String>,
    /// Custom attributes: name → text.
    pub attributes: BTreeMap<String, String>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    /// The last change to the customer's record (not its scores).
    pub updated_at: DateTime<Utc>,
    /// Absent before the customer's first score.
    pub health: Option<RestHealthSummary>,
    /// Absent before the customer's first prediction (and for departed customers).
    pub churn: Option<RestChurnSummary>,
}

/// A page of the bulk customer list, in id order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestCustomerPage {
    pub items: Vec<RestCustomerItem>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// Which customers the bulk list returns (all given filters apply together).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerFilter {
    pub tier: Option<vcsm::customers::Tier>,
    pub stage: Option<vcsm::customers::Stage>,
    /// The owner's user id; `Some(None)`: customers without an owner.
    pub owner: Option<Option<i64>>,
    pub risk: Option<vcsm::churn::Risk>,
    /// Customers whose record, health or churn prediction changed at or after this.
    pub updated_since: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

/// The user id of an owner named by e-mail, for [`CustomerFilter::owner`].
///
/// # Errors
/// Returns the database error.
pub async fn user_id_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<i64>, DbErr> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .into_tuple::<i64>()
        .one(db)
        .await
}

/// A page of customers with their health and churn risk, in id order after `after`.
///
/// # Errors
/// Returns the database error.
pub async fn customer_list(
    db: &impl ConnectionTrait,
    filter: &CustomerFilter,
    after: Option<i64>,
    limit: u64,
) -> Result<RestCustomerPage, DbErr> {
    use sea_orm::sea_query::Query;
    let mut q = customer::Entity::find();
    if let Some(a) = after {
        q = q.filter(customer::Column::Id.gt(a));
    }
    if !filter.include_archived {
        q = q.filter(customer::Column::ArchivedAt.is_null());
    }
    if let Some(t) = filter.tier {
        q = q.filter(customer::Column::Tier.eq(t.as_str()));
    }
    if let Some(s) = filter.stage {
        q = q.filter(customer::Column::Stage.eq(s.as_str()));
    }
    match filter.owner {
        Some(Some(id)) => q = q.filter(customer::Column::OwnerId.eq(id)),
        Some(None) => q = q.filter(customer::Column::OwnerId.is_null()),
        None => {}
    }
    if let Some(r) = filter.risk {
        q = q.filter(customer::Column::Id.in_subquery(super::customers::with_risk(r)));
    }
    if let Some(t) = filter.updated_since {
        let predicted = Query::select()
            .column(churn_prediction::Column::CustomerId)
            .from(churn_prediction::Entity)
            .and_where(churn_prediction::Column::ComputedAt.gte(t))
            .to_owned();
        q = q.filter(
            sea_orm::Condition::any()
                .add(customer::Column::UpdatedAt.gte(t))
                .add(customer::Column::HealthComputedAt.gte(t))
                .add(customer::Column::Id.in_subquery(predicted)),
        );
    }
    let rows = q
        .order_by_asc(customer::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut predictions = super::customers::churn_of(db, &ids).await?;
    let owners: HashMap<i64, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let items: Vec<RestCustomerItem> = rows
        .iter()
        .map(|c| RestCustomerItem {
            id: c.id,
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            domain: c.domain.clone(),
            tier: c.tier.clone(),
            stage: c.stage.clone(),
            plan: c.plan.clone(),
            mrr_minor: c.mrr_minor,
            currency: c.currency.clone(),
            seats: c.seats,
            billing_period: c.billing_period.clone(),
            contract_start: c.contract_start,
            renewal_date: c.renewal_date,
            owner_email: c.owner_id.and_then(|id| owners.get(&id).cloned()),
            tags: serde_json::from_value(c.tags.clone()).unwrap_or_default(),
            attributes: super::customers::attributes_of(c),
            archived: c.archived_at.is_some(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            health: match (c.health_score, c.health_level.clone()) {
                (Some(score), Some(level)) => Some(RestHealthSummary {
                    score: u8::try_from(score).unwrap_or(0),
                    level,
                    computed_at: c.health_computed_at,
                }),
                _ => None,
            },
            churn: predictions.remove(&c.id).map(|p| RestChurnSummary {
                probability: p.probability,
                risk: p.risk,
                factors: rest_factors(p.factors),
                computed_at: p.computed_at,
            }),
        })
        .collect();
    let next_after = if more {
        items.last().map(|c| c.id)
    } else {
        None
    };
    Ok(RestCustomerPage { items, next_after })
}

impl From<vcsm::churn::Factor> for RestFactor {
    fn from(f: vcsm::churn::Factor) -> Self {
        RestFactor {
            feature: f.feature,
            text: f.text,
            impact: f.impact,
        }
    }
}

/// Stored churn factors in the API's shape.
fn rest_factors(stored: Value) -> Vec<RestFactor> {
    serde_json::from_value::<Vec<vcsm::churn::Factor>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(RestFactor::from)
        .collect()
}

/// A customer as the REST API takes it: every field optional. Creating starts from the
/// form's defaults (tier small_business, stage active, USD); updating from the stored
/// customer, so a PATCH changes only what it names. Text fields are as the form takes
/// them (dates `YYYY-MM-DD`, MRR in major units); an empty string clears an optional one.
#[derive(Clone, Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestCustomerInput {
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub domain: Option<String>,
    /// enterprise, mid_market, small_business or trial.
    pub tier: Option<String>,
    /// trial, onboarding, active, at_risk or churned.
    pub stage: Option<String>,
    pub churned_on: Option<String>,
    pub plan: Option<String>,
    /// Monthly recurring revenue in major units: `1250.00` or `"1250.00"`.
    #[schema(value_type = Option<String>)]
    pub mrr: Option<Value>,
    pub currency: Option<String>,
    pub seats: Option<i64>,
    pub contract_start: Option<String>,
    pub renewal_date: Option<String>,
    /// monthly, quarterly or annual (month, quarter, year accepted); empty for unknown.
    pub billing_period: Option<String>,
    /// An active user's e-mail address; empty for none.
    pub owner_email: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Replaces every attribute: name → text (an empty value drops it).
    pub attributes: Option<BTreeMap<String, String>>,
}

impl RestCustomerInput {
    /// `base` with the fields this names, as the form's text; problems by field.
    ///
    /// # Errors
    /// Fields that can't be form text (an MRR that is neither a number nor text,
    /// attributes that break the form's rules).
    pub fn apply(
        self,
        base: vcsm::customers::CustomerInput,
    ) -> Result<vcsm::customers::CustomerInput, vcsm::ValidationErrors> {
        let mut input = base;
        let mut errors = vcsm::ValidationErrors::default();
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut input.name, self.name);
        set(&mut input.external_id, self.external_id);
        set(&mut input.domain, self.domain);
        set(&mut input.tier, self.tier);
        set(&mut input.stage, self.stage);
        set(&mut input.churned_on, self.churned_on);
        set(&mut input.plan, self.plan);
        set(&mut input.currency, self.currency);
        set(&mut input.contract_start, self.contract_start);
        set(&mut input.renewal_date, self.renewal_date);
        set(&mut input.billing_period, self.billing_period);
        set(&mut input.owner_email, self.owner_email);
        match self.mrr {
            None => {}
            Some(Value::Number(n)) => input.mrr = n.to_string(),
            Some(Value::String(s)) => input.mrr = s,
            Some(Value::Null) => input.mrr = String::new(),
            Some(_) => errors.push("mrr", "must be a number or a text like \"1250.00\""),
        }
        if let Some(seats) = self.seats {
            input.seats = seats.to_string();
        }
        if let Some(tags) = self.tags {
            if tags.iter().any(|t| t.contains(',')) {
                errors.push("tags", "a tag can't contain a comma");
            }
            input.tags = tags.join(", ");
        }
        if let Some(a) = self.attributes {
            match vcsm::customers::validate_attributes(
                a.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ) {
                Ok(a) => input.attributes = vcsm::customers::format_attributes(&a),
                Err(e) => errors.push("attributes", e),
            }
        }
        errors.into_result(input)
    }
}
