//! What we know about customers at a moment: the point-in-time [`Facts`] that health
//! scores and churn predictions are computed from, gathered for the whole portfolio (or a
//! few customers) with a handful of aggregate queries.
//!
//! Facts about a past moment read only data from before it: events, tickets, notes and
//! billing history by their own times, MRR from the subscription history, payment standing
//! from the invoice history, renewal from the contract and the billing period. State that has no
//! history (the CSM's sentiment, the subscription's live payment status) is read only for
//! "now". Seats are today's (no seat history is kept).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Func, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use vcsm::customers::BillingPeriod;
use vcsm::health::{Facts, Payment, Scorecard, UsageWindow};

use super::entities::{
    billing_event, contact, customer, health_score, note, subscription, support_ticket, usage_event,
};

/// Ids per `IN` list.
const CHUNK: usize = 500;
/// SQL for the UTC calendar day of `occurred_at`, per database.
fn day_of_occurred_at(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "(occurred_at AT TIME ZONE 'UTC')::date",
        // Stored as ISO-8601 text: the date is its first ten characters.
        _ => "substr(occurred_at, 1, 10)",
    }
}

/// Runs `query` once per chunk of `ids` (with `filter` adding the chunk), or once over
/// everything when `ids` is `None`.
async fn for_customers(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    query: impl Fn() -> SelectStatement,
    filter: impl Fn(&mut SelectStatement, Vec<i64>),
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    match ids {
        None => db.query_all(&query()).await,
        Some(ids) => {
            let mut rows = Vec::new();
            for chunk in ids.chunks(CHUNK) {
                let mut q = query();
                filter(&mut q, chunk.to_vec());
                rows.extend(db.query_all(&q).await?);
            }
            Ok(rows)
        }
    }
}

/// Usage per customer in `[from, to)`: events, active days, active users, features.
async fn usage_windows(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<i64, UsageWindow>, DbErr> {
    use usage_event::Column as E;
    let day = day_of_occurred_at(db.get_database_backend());
    let rows = for_customers(
        db,
        ids,
        || {
            Query::select()
                .column(E::CustomerId)
                .expr(Func::count(Expr::col(E::Id)))
                .expr(Func::count_distinct(Expr::cust(day)))
                .expr(Func::count_distinct(Expr::col(E::ContactId)))
                .expr(Func::count_distinct(Expr::col(E::Name)))
                .from(usage_event::Entity)
                .and_where(E::OccurredAt.gte(from))
                .and_where(E::OccurredAt.lt(to))
                .group_by_col(E::CustomerId)
                .to_owned()
        },
        |q, chunk| {
            q.and_where(E::CustomerId.is_in(chunk));
        },
    )
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        let n = |i: usize| row.try_get_by_index::<i64>(i);
        out.insert(
            n(0)?,
            UsageWindow {
                events: n(1)?.max(0) as u64,
                active_days: n(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                active_users: n(3)?.clamp(0, i64::from(u32::MAX)) as u32,
                features: n(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                by_name: Default::default(),
            },
        );
    }
    Ok(out)
}

/// Counts of the named events per customer in `[from, to)`, added to `windows`.
async fn count_named_events(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    names: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    windows: &mut HashMap<i64, UsageWindow>,
) -> Result<(), DbErr> {
    use usage_event::Column as E;
    if names.is_empty() {
        return Ok(());
    }
    let rows = for_customers(
        db,
        ids,
        || {
            Query::select()
                .column(E::CustomerId)
                .column(E::Name)
                .expr(Func::count(Expr::col(E::Id)))
                .from(usage_event::Entity)
                .and_where(E::OccurredAt.gte(from))
                .and_where(E::OccurredAt.lt(to))
                .and_where(E::Name.is_in(names.iter().cloned()))
                .group_by_col(E::CustomerId)
                .group_by_col(E::Name)
                .to_owned()
        },
        |q, chunk| {
            q.and_where(E::CustomerId.is_in(chunk));
        },
    )
    .await?;
    for row in rows {
        let customer: i64 = row.try_get_by_index(0)?;
        let name: String = row.try_get_by_index(1)?;
        let count: i64 = row.try_get_by_index(2)?;
        windows
            .entry(customer)
            .or_default()
            .by_name
            .insert(name, count.max(0) as u64);
    }
    Ok(())
}

/// Id, seats, renewal date, contract start, MRR, CSM sentiment, created, billing period,
/// attributes.
type CustomerRow = (
    i64,
    i32,
    Option<NaiveDate>,
    Option<NaiveDate>,
    i64,
    Option<i16>,
    DateTime<Utc>,
    Option<String>,
    serde_json::Value,
);

/// Customer, status, priority, opened, solved, sentiment and cancellation intent.
type TicketRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<f64>,
    bool,
);

/// Whether a ticket in this state still needs work.
fn is_open(status: &str) -> bool {
    !matches!(status, "solved" | "closed")
}

/// Facts about a moment less than this before `now` may read today's state.
const LIVE: Duration = Duration::hours(1);

/// How far back "days since the last event" looks (longer quiet counts as this).
const QUIET_DAYS: i64 = 120;

/// The facts of `ids` (or of every customer) as of `as_of`, from data before it only.
/// Customers churned or archived by then are left out. A handful of aggregate queries for
/// the whole set, whatever its size.
///
/// # Errors
/// Database errors.
pub async fn gather_facts(
    db: &impl ConnectionTrait,
    card: &Scorecard,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Facts>, DbErr> {
    let live = now - as_of < LIVE;
    let window = Duration::days(i64::from(card.window_days));
    let start = as_of - window;
    let counted = card.counted_events();
    let usage = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let counted = &counted;
        async move {
            let mut w = usage_windows(db, ids, from, to).await?;
            count_named_events(db, ids, counted, from, to, &mut w).await?;
            Ok::<_, DbErr>(w)
        }
    };
    let today = as_of.date_naive();
    // The queries are independent: on a pool they run side by side (Postgres uses both
    // cores; SQLite's readers don't block each other), in a transaction one after another.
    let (mut current, mut previous, mut last_active, customers, tickets, notes, engaged) = tokio::try_join!(
        usage(start, as_of),
        usage(start - window, start),
        last_active_days(db, ids, as_of - Duration::days(QUIET_DAYS), as_of),
        live_customers(db, ids, as_of),
        ticket_rows(db, ids, start, as_of),
        note_counts(db, ids, start, as_of),
        contacts_engaged(db, ids, start, as_of),
    )?;

    let mut facts: HashMap<i64, Facts> = HashMap::with_capacity(customers.len());
    for (id, seats, renewal, contract_start, mrr, sentiment, created, period, attributes) in
        customers
    {
        let first_seen = (created <= as_of).then(|| created.date_naive());
        let started = contract_start.filter(|d| *d <= today).or(first_seen);
        let period = period.as_deref().and_then(BillingPeriod::parse);
        let days_to_renewal = vcsm::customers::next_renewal(
            today,
            // The renewal date is today's: a past moment can't read it.
            renewal.filter(|_| live),
            contract_start,
            first_seen,
            period,
        )
        .map(|d| (d - today).num_days());
        let tenure_days = started.and_then(|s| u32::try_from((today - s).num_days()).ok());
        facts.insert(
            id,
            Facts {
                current: current.remove(&id).unwrap_or_default(),
                previous: previous.remove(&id).unwrap_or_default(),
                seats: u32::try_from(seats).unwrap_or(0),
                mrr_minor: mrr,
                days_to_renewal,
                // A manual measure with no history: it speaks for today only.
                csm_sentiment: sentiment
                    .filter(|_| live)
                    .and_then(|s| u8::try_from(s).ok())
                    .filter(|s| (1..=5).contains(s)),
                days_since_last_event: last_active
                    .remove(&id)
                    .and_then(|d| u32::try_from((today - d).num_days()).ok()),
                tenure_days,
                billing_months: period.map(BillingPeriod::months),
                // The previous window began before the customer did: a trend against it
                // would compare with days it didn't exist.
                previous_partial: tenure_days
                    .is_some_and(|t| i64::from(t) < 2 * i64::from(card.window_days)),
                attributes: attributes
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..Facts::default()
            },
        );
    }
    if facts.is_empty() {
        return Ok(facts);
    }

    // Tickets: open then, and those opened in the window with their sentiment and
    // escalations.
    let mut sentiments: HashMap<i64, (f64, u32)> = HashMap::new();
    for (customer, status, priority, opened, solved, sentiment, intent) in tickets {
        let Some(f) = facts.get_mut(&customer) else {
            continue;
        };
        // Open as of then: not solved by then (a solved ticket's status is today's).
        let open_then = match solved {
            Some(s) => s >= as_of,
            None => is_open(&status),
        };
        if open_then {
            f.open_tickets += 1;
        }
        if opened >= start {
            f.tickets += 1;
            if matches!(priority.as_str(), "high" | "urgent") || intent {
                f.escalations += 1;
            }
            f.cancellation_intent |= intent;
            if let Some(s) = sentiment {
                f.worst_ticket_sentiment = Some(f.worst_ticket_sentiment.map_or(s, |w| w.min(s)));
            }
            if let Some(s) = sentiment {
                let e = sentiments.entry(customer).or_default();
                e.0 += s;
                e.1 += 1;
            }
        }
    }
    for (customer, (sum, n)) in sentiments {
        if let Some(f) = facts.get_mut(&customer) {
            f.ticket_sentiment = Some(sum / f64::from(n));
        }
    }

    // Team touches: notes in the window.
    for (customer, n) in notes {
        if let Some(f) = facts.get_mut(&customer) {
            f.touches = n;
        }
    }

    // Contacts engaged: people who used the product or wrote to support in the window.
    for (customer, n) in engaged {
        if let Some(f) = facts.get_mut(&customer) {
            f.contacts_engaged = n;
        }
    }

    billing_facts(db, ids, as_of, live, window, &mut facts).await?;
    Ok(facts)
}

/// Adds to `facts` (gathered as of `as_of` over windows of `window_days`) what the churn
/// model reads about each of `names`: its count in the current and previous windows
/// (beside the scorecard's counted events) and the days since its last occurrence in the
/// last 120 days.
///
/// # Errors
/// Database errors.
pub async fn gather_behaviour(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    names: &[String],
    as_of: DateTime<Utc>,
    window_days: u32,
    facts: &mut HashMap<i64, Facts>,
) -> Result<(), DbErr> {
    use usage_event::Column as E;
    if names.is_empty() || facts.is_empty() {
        return Ok(());
    }
    let window = Duration::days(i64::from(window_days));
    let start = as_of - window;
    let mut current = HashMap::new();
    let mut previous = HashMap::new();
    count_named_events(db, ids, names, start, as_of, &mut current).await?;
    count_named_events(db, ids, names, start - window, start, &mut previous).await?;
    for (id, f) in facts.iter_mut() {
        if let Some(w) = current.remove(id) {
            f.current.by_name.extend(w.by_name);
        }
        if let Some(w) = previous.remove(id) {
            f.previous.by_name.extend(w.by_name);
        }
    }
    let backend = db.get_database_backend();
    let since = as_of - Duration::days(QUIET_DAYS);
    let rows = for_customers(
        db,
        ids,
        || {
            Query::select()
                .column(E::CustomerId)
                .column(E::Name)
                .expr(Func::max(Expr::col(E::OccurredAt)))
                .from(usage_event::Entity)
                .and_where(E::OccurredAt.gte(since))
                .and_where(E::OccurredAt.lt(as_of))
                .and_where(E::Name.is_in(names.iter().cloned()))
                .group_by_col(E::CustomerId)
                .group_by_col(E::Name)
                .to_owned()
        },
        |q, chunk| {
            q.and_where(E::CustomerId.is_in(chunk));
        },
    )
    .await?;
    let today = as_of.date_naive();
    for row in rows {
        let customer: i64 = row.try_get_by_index(0)?;
        let name: String = row.try_get_by_index(1)?;
        let Some(last) = aggregate_day(&row, 2, backend)? else {
            continue;
        };
        if let Some(f) = facts.get_mut(&customer) {
            if let Ok(days) = u32::try_from((today - last).num_days()) {
                f.days_since_event.insert(name, days);
            }
        }
    }
    Ok(())
}

/// The customers live at `as_of` (not churned or archived by then), of `ids` or all.
async fn live_customers(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
) -> Result<Vec<CustomerRow>, DbErr> {
    let today = as_of.date_naive();
    let mut customers_q = customer::Entity::find().filter(
        sea_orm::Condition::all()
            .add(
                sea_orm::Condition::any()
                    .add(customer::Column::ChurnedOn.is_null())
                    .add(customer::Column::ChurnedOn.gt(today)),
            )
            .add(
                sea_orm::Condition::any()
                    .add(customer::Column::ArchivedAt.is_null())
                    .add(customer::Column::ArchivedAt.gt(as_of)),
            ),
    );
    if let Some(ids) = ids {
        // The list is bounded by the caller (one customer, or a debounced batch).
        customers_q = customers_q.filter(customer::Column::Id.is_in(ids.to_vec()));
    }
    customers_q
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Seats)
        .column(customer::Column::RenewalDate)
        .column(customer::Column::ContractStart)
        .column(customer::Column::MrrMinor)
        .column(customer::Column::CsmSentiment)
        .column(customer::Column::CreatedAt)
        .column(customer::Column::BillingPeriod)
        .column(customer::Column::Attributes)
        .into_tuple()
        .all(db)
        .await
}

/// Tickets opened before `as_of` that were still open then or opened since `start`.
async fn ticket_rows(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    start: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Vec<TicketRow>, DbErr> {
    let mut tickets_q = support_ticket::Entity::find()
        .filter(support_ticket::Column::OpenedAt.lt(as_of))
        .filter(
            sea_orm::Condition::any()
                .add(support_ticket::Column::OpenedAt.gte(start))
                .add(support_ticket::Column::SolvedAt.is_null())
                .add(support_ticket::Column::SolvedAt.gte(as_of)),
        );
    if let Some(ids) = ids {
        tickets_q = tickets_q.filter(support_ticket::Column::CustomerId.is_in(ids.to_vec()));
    }
    tickets_q
        .select_only()
        .column(support_ticket::Column::CustomerId)
        .column(support_ticket::Column::Status)
        .column(support_ticket::Column::Priority)
        .column(support_ticket::Column::OpenedAt)
        .column(support_ticket::Column::SolvedAt)
        .column(support_ticket::Column::Sentiment)
        .column(support_ticket::Column::CancellationIntent)
        .into_tuple()
        .all(db)
        .await
}

/// The team's notes per customer in `[start, as_of)`.
async fn note_counts(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    start: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Vec<(i64, u32)>, DbErr> {
    let mut notes_q = Query::select()
        .column(note::Column::CustomerId)
        .expr(Func::count(Expr::col(note::Column::Id)))
        .from(note::Entity)
        .and_where(note::Column::CreatedAt.gte(start))
        .and_where(note::Column::CreatedAt.lt(as_of))
        .group_by_col(note::Column::CustomerId)
        .to_owned();
    if let Some(ids) = ids {
        notes_q.and_where(note::Column::CustomerId.is_in(ids.to_vec()));
    }
    let mut out = Vec::new();
    for row in db.query_all(&notes_q).await? {
        let customer: i64 = row.try_get_by_index(0)?;
        let n: i64 = row.try_get_by_index(1)?;
        out.push((customer, u32::try_from(n).unwrap_or(u32::MAX)));
    }
    Ok(out)
}

/// The UTC day of a `MIN`/`MAX` over timestamps in column `index` (SQLite hands such an
/// aggregate back as text).
///
/// # Errors
/// The column is not a timestamp.
pub(crate) fn aggregate_day(
    row: &sea_orm::QueryResult,
    index: usize,
    backend: DatabaseBackend,
) -> Result<Option<NaiveDate>, DbErr> {
    Ok(match backend {
        DatabaseBackend::Postgres => row
            .try_get_by_index::<Option<DateTime<Utc>>>(index)?
            .map(|t| t.date_naive()),
        _ => row
            .try_get_by_index::<Option<String>>(index)?
            .and_then(|t| t.get(..10).and_then(|d| d.parse().ok())),
    })
}

/// The last day with an event per customer in `[from, to)`.
async fn last_active_days(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<i64, NaiveDate>, DbErr> {
    use usage_event::Column as E;
    let backend = db.get_database_backend();
    let rows = for_customers(
        db,
        ids,
        || {
            Query::select()
                .column(E::CustomerId)
                .expr(Func::max(Expr::col(E::OccurredAt)))
                .from(usage_event::Entity)
                .and_where(E::OccurredAt.gte(from))
                .and_where(E::OccurredAt.lt(to))
                .group_by_col(E::CustomerId)
                .to_owned()
        },
        |q, chunk| {
            q.and_where(E::CustomerId.is_in(chunk));
        },
    )
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let customer: i64 = row.try_get_by_index(0)?;
        let Some(last) = aggregate_day(&row, 1, backend)? else {
            continue;
        };
        out.insert(customer, last);
    }
    Ok(out)
}

/// Billing history rows: customer, kind, amount, subscription, when.
type BillingRow = (i64, String, i64, Option<String>, DateTime<Utc>);

/// Failed payments over this many days count.
const FAILED_PAYMENTS_DAYS: i64 = 90;

/// Consecutive failed invoices from which a customer is delinquent (past days).
const DELINQUENT_AFTER: u32 = 3;

/// Payment standing, failed payments, and (for past moments) MRR then and one window
/// before, from the billing history; "now" reads the subscriptions' live state.
async fn billing_facts(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
    live: bool,
    window: Duration,
    facts: &mut HashMap<i64, Facts>,
) -> Result<(), DbErr> {
    use billing_event::Column as B;
    let mut history_q = billing_event::Entity::find()
        .filter(B::OccurredAt.lt(as_of))
        .filter(B::Kind.is_in([
            "invoice_paid",
            "payment_failed",
            "subscription_started",
            "subscription_changed",
            "subscription_canceled",
        ]));
    if let Some(ids) = ids {
        history_q = history_q.filter(B::CustomerId.is_in(ids.to_vec()));
    }
    let mut rows: Vec<BillingRow> = history_q
        .select_only()
        .column(B::CustomerId)
        .column(B::Kind)
        .column(B::AmountMinor)
        .column(B::SubscriptionRef)
        .column(B::OccurredAt)
        .into_tuple()
        .all(db)
        .await?;
    rows.sort_by_key(|r| r.4);

    // Per customer: MRR per subscription now and one window ago, failed payments, and
    // the run of failures at the end of the invoice history.
    #[derive(Default)]
    struct Billing {
        mrr: HashMap<String, i64>,
        mrr_before: HashMap<String, i64>,
        failed: u32,
        failing_run: u32,
        invoices: bool,
    }
    let before = as_of - window;
    let failed_since = as_of - Duration::days(FAILED_PAYMENTS_DAYS);
    let mut billing: HashMap<i64, Billing> = HashMap::new();
    for (customer, kind, amount, subscription, at) in rows {
        if !facts.contains_key(&customer) {
            continue;
        }
        let b = billing.entry(customer).or_default();
        match kind.as_str() {
            "invoice_paid" => {
                b.invoices = true;
                b.failing_run = 0;
            }
            "payment_failed" => {
                b.invoices = true;
                b.failing_run += 1;
                if at >= failed_since {
                    b.failed += 1;
                }
            }
            _ => {
                let sub = subscription.unwrap_or_default();
                if at < before {
                    b.mrr_before.insert(sub.clone(), amount);
                }
                b.mrr.insert(sub, amount);
            }
        }
    }
    for (customer, b) in &billing {
        let Some(f) = facts.get_mut(customer) else {
            continue;
        };
        f.failed_payments = b.failed;
        if !live {
            if !b.mrr.is_empty() {
                f.mrr_minor = b.mrr.values().fold(0i64, |a, m| a.saturating_add(*m));
            }
            if b.invoices || !b.mrr.is_empty() {
                f.payment = Some(match b.failing_run {
                    0 => Payment::Good,
                    n if n >= DELINQUENT_AFTER => Payment::Delinquent,
                    _ => Payment::Failing,
                });
            }
        }
        if !b.mrr_before.is_empty() {
            f.mrr_minor_before = Some(
                b.mrr_before
                    .values()
                    .fold(0i64, |a, m| a.saturating_add(*m)),
            );
        }
    }

    if live {
        // Payment: the worst state among the customer's subscriptions, as stored now.
        let mut subs_q = subscription::Entity::find();
        if let Some(ids) = ids {
            subs_q = subs_q.filter(subscription::Column::CustomerId.is_in(ids.to_vec()));
        }
        let subs: Vec<(i64, String, DateTime<Utc>)> = subs_q
            .select_only()
            .column(subscription::Column::CustomerId)
            .column(subscription::Column::PaymentStatus)
            .column(subscription::Column::StartedAt)
            .into_tuple()
            .all(db)
            .await?;
        for (customer, status, started) in subs {
            if started >= as_of {
                continue;
            }
            let Some(f) = facts.get_mut(&customer) else {
                continue;
            };
            let p = match status.as_str() {
                "delinquent" => Payment::Delinquent,
                "failing" => Payment::Failing,
                _ => Payment::Good,
            };
            f.payment = Some(match (f.payment, p) {
                (Some(Payment::Delinquent), _) | (_, Payment::Delinquent) => Payment::Delinquent,
                (Some(Payment::Failing), _) | (_, Payment::Failing) => Payment::Failing,
                _ => Payment::Good,
            });
        }
    }

    // MRR one window ago, for customers billed outside a connected system: from that
    // day's history row, when there is one.
    let before_day = before.date_naive();
    let mut history_q = health_score::Entity::find()
        .select_only()
        .column(health_score::Column::CustomerId)
        .column(health_score::Column::MrrMinor)
        .filter(health_score::Column::Day.eq(before_day));
    if let Some(ids) = ids {
        history_q = history_q.filter(health_score::Column::CustomerId.is_in(ids.to_vec()));
    }
    let rows: Vec<(i64, Option<i64>)> = history_q.into_tuple().all(db).await?;
    for (customer, mrr) in rows {
        if let Some(f) = facts.get_mut(&customer) {
            if f.mrr_minor_before.is_none() {
                f.mrr_minor_before = mrr;
            }
        }
    }
    Ok(())
}

/// Distinct contacts per customer who used the product or opened a ticket (matched to a
/// contact by e-mail) in `[from, to)`.
async fn contacts_engaged(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, u32)>, DbErr> {
    use sea_orm::sea_query::{Alias, ExprTrait, UnionType};
    let who = Alias::new("who");
    let customer_col = Alias::new("customer_id");
    let users = |chunk: Option<Vec<i64>>| {
        let mut q = Query::select()
            .column(usage_event::Column::CustomerId)
            .expr_as(Expr::col(usage_event::Column::ContactId), who.clone())
            .from(usage_event::Entity)
            .and_where(usage_event::Column::OccurredAt.gte(from))
            .and_where(usage_event::Column::OccurredAt.lt(to))
            .and_where(usage_event::Column::ContactId.is_not_null())
            .to_owned();
        if let Some(chunk) = chunk {
            q.and_where(usage_event::Column::CustomerId.is_in(chunk));
        }
        q
    };
    let writers = |chunk: Option<Vec<i64>>| {
        let mut q = Query::select()
            .column((support_ticket::Entity, support_ticket::Column::CustomerId))
            .expr_as(
                Expr::col((contact::Entity, contact::Column::Id)),
                who.clone(),
            )
            .from(support_ticket::Entity)
            .inner_join(
                contact::Entity,
                Expr::col((contact::Entity, contact::Column::CustomerId))
                    .equals((support_ticket::Entity, support_ticket::Column::CustomerId))
                    .and(
                        Expr::col((contact::Entity, contact::Column::Email)).equals((
                            support_ticket::Entity,
                            support_ticket::Column::RequesterEmail,
                        )),
                    ),
            )
            .and_where(
                Expr::col((support_ticket::Entity, support_ticket::Column::OpenedAt)).gte(from),
            )
            .and_where(Expr::col((support_ticket::Entity, support_ticket::Column::OpenedAt)).lt(to))
            .to_owned();
        if let Some(chunk) = chunk {
            q.and_where(
                Expr::col((support_ticket::Entity, support_ticket::Column::CustomerId))
                    .is_in(chunk),
            );
        }
        q
    };
    let query = |chunk: Option<Vec<i64>>| {
        let union = users(chunk.clone())
            .union(UnionType::Distinct, writers(chunk))
            .to_owned();
        Query::select()
            .column(customer_col.clone())
            .expr(Func::count_distinct(Expr::col(who.clone())))
            .from_subquery(union, Alias::new("engaged"))
            .group_by_col(customer_col.clone())
            .to_owned()
    };
    let mut rows = Vec::new();
    match ids {
        None => rows.extend(db.query_all(&query(None)).await?),
        Some(ids) => {
            for chunk in ids.chunks(CHUNK) {
                rows.extend(db.query_all(&query(Some(chunk.to_vec()))).await?);
            }
        }
    }
    rows.into_iter()
        .map(|row| {
            let n: i64 = row.try_get_by_index(1)?;
            Ok((
                row.try_get_by_index(0)?,
                u32::try_from(n).unwrap_or(u32::MAX),
            ))
        })
        .collect()
}
