//! Delivering the playbooks' outbox: e-mails rendered from their templates and sent over
//! SMTP, Slack messages posted, webhooks called (JSON, signed like Stripe's:
//! `X-VCSM-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">` with the
//! installation's playbook-webhook secret, and `X-VCSM-Delivery: <outbox id>` for the
//! receiver to drop a repeat). A row is claimed with a lease (`FOR UPDATE SKIP LOCKED`
//! on Postgres), sent, and marked sent; a refusal is retried with back-off, then the row
//! is dead with the reason. Without a relay (or a Slack channel) a row stays **unsent**
//! with the reason, looked at again each minute, and goes out once one is configured:
//! nothing is lost. Each e-mail carries a Message-ID fixed by its row, so a message sent
//! again after a crash (sent, then the server died before marking it) is the same
//! message to the receiving side.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::{json, Value};
use vcsm::playbooks::machine::Effect;
use vcsm::playbooks::sending::{self, Verdict};
use vcsm::playbooks::templates::{self, Rendered};
use vcsm::playbooks::unsubscribe;

use super::subject::{self, UsageRanks};
use crate::backend::entities::{
    contact, customer, email_template, integration_setting, outbox, user,
};
use crate::backend::mail::OutgoingMail;
use crate::backend::notify::{backoff, Channels};
use crate::backend::slack;

/// Tries before a row is dead.
pub const MAX_ATTEMPTS: i32 = 8;

/// How long a claim on a row holds (or the job lease when that is shorter, as in tests
/// of a killed server).
const LEASE: Duration = Duration::seconds(60);

/// When an unsent row (no relay, no channel) is looked at again.
const UNSENT_RECHECK: Duration = Duration::minutes(1);

/// Rows claimed per pass.
const BATCH: i64 = 100;

/// Messages in flight at once. A relay sees each message's end a delayed ACK after its
/// body (lettre writes the two apart, and Nagle holds the second): about 40 ms a
/// message, so one at a time caps a server near 20 a second, whatever the relay's speed.
const SENDING_AT_ONCE: usize = 8;

/// An outbox row's states.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const SENT: &str = "sent";
    pub const UNSENT: &str = "unsent";
    pub const DEAD: &str = "dead";
    /// Not sent, on purpose: the contact unsubscribed.
    pub const SKIPPED: &str = "skipped";
}

#[derive(FromQueryResult)]
struct Claimed {
    id: i64,
}

/// Claims due e-mail and Slack rows for `worker`.
async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    let backend = db.get_database_backend();
    let until = now + LEASE.min(crate::backend::jobs::lease());
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        DatabaseBackend::Postgres => (
            "UPDATE outbox SET locked_by = $1, locked_until = $2 WHERE id IN (\
             SELECT id FROM outbox WHERE status IN ('pending', 'unsent') \
             AND kind IN ('email', 'slack', 'webhook') AND next_attempt_at <= $3 \
             AND (locked_until IS NULL OR locked_until < $3) \
             ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id",
            vec![worker.into(), until.into(), now.into(), BATCH.into()],
        ),
        _ => (
            "UPDATE outbox SET locked_by = ?, locked_until = ? WHERE id IN (\
             SELECT id FROM outbox WHERE status IN ('pending', 'unsent') \
             AND kind IN ('email', 'slack', 'webhook') AND next_attempt_at <= ? \
             AND (locked_until IS NULL OR locked_until < ?) \
             ORDER BY next_attempt_at, id LIMIT ?) RETURNING id",
            vec![
                worker.into(),
                until.into(),
                now.into(),
                now.into(),
                BATCH.into(),
            ],
        ),
    };
    let rows = Claimed::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    // Sent in the order they were written (`RETURNING` keeps no order): a contact's
    // messages go out as the playbook's steps made them, and the cap holds the later ones.
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// What became of one attempt.
enum Attempt {
    Sent(Value),
    /// No channel to send through: waits, not counted as a try.
    Unsent(String),
    /// Can't ever be sent as it is (no recipient, a template that fails): dead at once.
    Impossible(String),
    /// The relay or Slack refused or was unreachable: tried again.
    Failed(String),
    /// Not now (quiet hours, the weekly cap): goes out at the time, not counted as a try.
    Held(DateTime<Utc>, String),
    /// Not at all, on purpose (the contact unsubscribed).
    Skipped(String),
}

/// Sends what is due. Returns the rows attempted.
///
/// # Errors
/// Database errors (a delivery's own failure is recorded on its row).
pub async fn deliver_due(
    db: &impl ConnectionTrait,
    channels: &Channels<'_>,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    use futures::StreamExt;
    let ids = claim(db, worker, now).await?;
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        rows.extend(
            outbox::Entity::find()
                .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
                .filter(outbox::Column::LockedBy.eq(worker))
                .order_by_asc(outbox::Column::Id)
                .all(db)
                .await?,
        );
    }
    // A customer's rows one after another, in the order written (its contacts' rules
    // read what went before); customers side by side.
    let mut by_customer: Vec<Vec<outbox::Model>> = Vec::new();
    let mut slot: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for row in rows {
        let i = *slot.entry(row.customer_id).or_insert_with(|| {
            by_customer.push(Vec::new());
            by_customer.len() - 1
        });
        by_customer[i].push(row);
    }
    let results: Vec<Result<(), DbErr>> = futures::stream::iter(by_customer)
        .map(|rows| async move {
            for row in rows {
                let attempt = match attempt(db, channels, &row, now).await {
                    Ok(a) => a,
                    Err(e) => Attempt::Failed(format!("reading what to send failed: {e}")),
                };
                record(db, row, attempt, now).await?;
            }
            Ok(())
        })
        .buffer_unordered(SENDING_AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), DbErr>>()?;
    Ok(ids.len())
}

async fn record(
    db: &impl ConnectionTrait,
    row: outbox::Model,
    attempt: Attempt,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let attempts = row.attempts;
    let mut a = row.into_active_model();
    a.locked_by = Set(None);
    a.locked_until = Set(None);
    match attempt {
        Attempt::Sent(result) => {
            a.status = Set(status::SENT.into());
            a.attempts = Set(attempts + 1);
            a.sent_at = Set(Some(now));
            a.result = Set(Some(result));
            a.last_error = Set(None);
        }
        Attempt::Unsent(reason) => {
            a.status = Set(status::UNSENT.into());
            a.last_error = Set(Some(reason));
            a.next_attempt_at = Set(now + UNSENT_RECHECK);
        }
        Attempt::Impossible(reason) => {
            a.status = Set(status::DEAD.into());
            a.last_error = Set(Some(reason));
        }
        Attempt::Held(until, reason) => {
            a.status = Set(status::UNSENT.into());
            a.last_error = Set(Some(reason));
            a.next_attempt_at = Set(until);
        }
        Attempt::Skipped(reason) => {
            a.status = Set(status::SKIPPED.into());
            a.last_error = Set(Some(reason));
        }
        Attempt::Failed(reason) => {
            let tries = attempts + 1;
            a.attempts = Set(tries);
            a.last_error = Set(Some(reason));
            if tries >= MAX_ATTEMPTS {
                a.status = Set(status::DEAD.into());
            } else {
                a.status = Set(status::PENDING.into());
                a.next_attempt_at = Set(now + backoff(tries));
            }
        }
    }
    a.update(db).await?;
    Ok(())
}

async fn attempt(
    db: &impl ConnectionTrait,
    channels: &Channels<'_>,
    row: &outbox::Model,
    now: DateTime<Utc>,
) -> Result<Attempt, DbErr> {
    let Some(c) = customer::Entity::find_by_id(row.customer_id)
        .one(db)
        .await?
    else {
        return Ok(Attempt::Impossible("the customer no longer exists".into()));
    };
    let effect: Effect = match serde_json::from_value(row.payload.clone()) {
        Ok(e) => e,
        Err(e) => return Ok(Attempt::Impossible(format!("unreadable payload: {e}"))),
    };
    match effect {
        Effect::SendEmail { template, to } => {
            email(db, channels, row, &c, &template, &to, now).await
        }
        Effect::Slack { text } => {
            let ctx = context(db, &c, None, now).await?;
            let text = match templates::render(&text, "", None, &ctx) {
                Ok(r) => r.subject,
                Err(e) => {
                    return Ok(Attempt::Impossible(format!(
                        "the message doesn't render: {e}"
                    )))
                }
            };
            let Some(url) = slack::webhook_url(db, now).await? else {
                return Ok(Attempt::Unsent(
                    "Slack is not configured (Integrations page): the message waits and goes out once it is".into(),
                ));
            };
            Ok(
                match slack::post(db, channels.meter, channels.http, &url, &text, now).await {
                    Ok(()) => Attempt::Sent(json!({ "text": text })),
                    Err(e) => Attempt::Failed(e.to_string()),
                },
            )
        }
        Effect::Webhook { url, body } => webhook(db, channels, row, &c, &url, body, now).await,
        _ => Ok(Attempt::Impossible(
            "not an e-mail, a Slack message or a webhook".into(),
        )),
    }
}

/// The installation's secret for signing playbook webhooks: made on first use and kept in
/// the settings, so every server signs with the same one.
///
/// # Errors
/// Database errors.
pub async fn webhook_secret(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    installation_secret(db, WEBHOOK_SECRET, "vcsm_whsec_", now).await
}

/// The installation's secret for signing unsubscribe links, made on first use.
///
/// # Errors
/// Database errors.
pub async fn unsubscribe_secret(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    installation_secret(db, UNSUBSCRIBE_SECRET, "vcsm_unsub_", now).await
}

/// A secret kept in the settings row `name`: made on first use by whichever server
/// needs it first (the others read the same one).
async fn installation_secret(
    db: &impl ConnectionTrait,
    name: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let read = || integration_setting::Entity::find_by_id(name.to_string()).one(db);
    if let Some(secret) = read().await?.and_then(|r| r.secret) {
        return Ok(secret);
    }
    integration_setting::Entity::insert(integration_setting::ActiveModel {
        name: Set(name.into()),
        secret: Set(Some(format!(
            "{prefix}{}",
            crate::backend::auth::new_session_token()
        ))),
        previous_secret: Set(None),
        rotated_at: Set(None),
        config: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(integration_setting::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    read()
        .await?
        .and_then(|r| r.secret)
        .ok_or_else(|| DbErr::RecordNotFound(format!("the secret {name}")))
}

/// The settings row holding the unsubscribe links' signing secret.
pub const UNSUBSCRIBE_SECRET: &str = "unsubscribe_links";

/// The settings row holding the playbook webhooks' signing secret.
pub const WEBHOOK_SECRET: &str = "playbook_webhooks";

/// Calls a playbook's webhook: the customer, the enrollment and step, and the step's own
/// JSON merged in.
async fn webhook(
    db: &impl ConnectionTrait,
    channels: &Channels<'_>,
    row: &outbox::Model,
    c: &customer::Model,
    url: &str,
    extra: Value,
    now: DateTime<Utc>,
) -> Result<Attempt, DbErr> {
    let mut payload = json!({
        "type": "playbook.webhook",
        "delivery": row.id,
        "enrollment": row.enrollment_id,
        "step": row.step,
        "customer": { "id": c.id, "name": c.name, "external_id": c.external_id },
        "sent_at": now,
    });
    if let (Some(p), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        for (k, v) in extra {
            p.entry(k).or_insert(v);
        }
    }
    let body = payload.to_string();
    let secret = webhook_secret(db, now).await?;
    let signature = vcsm::sources::stripe::sign(body.as_bytes(), &secret, now.timestamp());
    let sent = channels
        .http
        .post(url)
        .timeout(std::time::Duration::from_secs(10))
        .header("content-type", "application/json")
        .header("x-vcsm-signature", signature)
        .header("x-vcsm-delivery", row.id.to_string())
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(r) if r.status().is_success() => {
            Attempt::Sent(json!({ "url": url, "status": r.status().as_u16() }))
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let answer = r.text().await.unwrap_or_default();
            Attempt::Failed(format!(
                "{url} answered {status}: {}",
                answer.chars().take(300).collect::<String>()
            ))
        }
        Err(e) => Attempt::Failed(format!("{url} could not be reached: {e}")),
    })
}

#[allow(clippy::too_many_arguments)]
async fn email(
    db: &impl ConnectionTrait,
    channels: &Channels<'_>,
    row: &outbox::Model,
    c: &customer::Model,
    template: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Attempt, DbErr> {
    let Some(t) = email_template::Entity::find()
        .filter(email_template::Column::Key.eq(template))
        .one(db)
        .await?
    else {
        return Ok(Attempt::Impossible(format!("no template “{template}”")));
    };
    let Prepared {
        recipient,
        contact,
        message,
    } = prepare_email(db, c, &t, to, now).await?;
    let recipient = match recipient {
        Ok(r) => r,
        Err(reason) => return Ok(Attempt::Impossible(reason)),
    };
    if let Some(k) = &contact {
        let recent = recent_sends(db, c.id, k.id, now).await?;
        let cx = sending::Context {
            operational: t.operational,
            unsubscribed: k.unsubscribed_at.is_some(),
            contact_zone: k.time_zone.as_deref(),
            account_zone: c.time_zone.as_deref(),
            recent_sends: &recent,
        };
        match sending::decide(&sending::Policy::default(), &cx, now) {
            Verdict::Send => {}
            Verdict::Wait { until, reason } => return Ok(Attempt::Held(until, reason)),
            Verdict::Skip(reason) => return Ok(Attempt::Skipped(reason)),
        }
    }
    let Rendered {
        subject,
        text,
        html,
    } = match message {
        Ok(r) => r,
        Err(e) => {
            return Ok(Attempt::Impossible(format!(
                "the template doesn't render: {e}"
            )))
        }
    };
    let Some(mailer) = channels.mailer else {
        return Ok(Attempt::Unsent(
            "no mail relay is configured (VCSM_SMTP_URL): the message waits and goes out once one is".into(),
        ));
    };
    // Success mail to a contact carries the one-click unsubscribe; operational mail and
    // mail to the team don't.
    let unsubscribe_url = match &contact {
        Some(k) if !t.operational => Some(format!(
            "{}/unsubscribe/{}",
            channels.public_url.trim_end_matches('/'),
            unsubscribe::token(&unsubscribe_secret(db, now).await?, k.id)
        )),
        _ => None,
    };
    let mail = OutgoingMail {
        to: recipient.clone(),
        subject: subject.clone(),
        text: text.clone(),
        html,
        message_id: format!("<outbox-{}.{}@virtual-csm>", row.id, row.customer_id),
        unsubscribe_url,
    };
    Ok(match mailer.send_mail(&mail).await {
        Ok(()) => Attempt::Sent(json!({
            "to": recipient,
            "subject": subject,
            "text": text,
            "contact": contact.as_ref().map(|k| k.id),
            "operational": t.operational,
        })),
        Err(e) => Attempt::Failed(e.to_string()),
    })
}

/// When a contact was sent success (not operational) mail by the customer's playbooks in
/// the last 7 days.
async fn recent_sends(
    db: &impl ConnectionTrait,
    customer_id: i64,
    contact_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::CustomerId.eq(customer_id))
        .filter(outbox::Column::Kind.eq("email"))
        .filter(outbox::Column::Status.eq(status::SENT))
        .filter(outbox::Column::SentAt.gt(now - Duration::days(7)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.result.as_ref().is_some_and(|v| {
                v.get("contact").and_then(Value::as_i64) == Some(contact_id)
                    && v.get("operational").and_then(Value::as_bool) != Some(true)
            })
        })
        .filter_map(|r| r.sent_at)
        .collect())
}

/// The contact an unsubscribe link names, if the link was made here.
///
/// # Errors
/// Database errors.
pub async fn contact_for_link(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<contact::Model>, DbErr> {
    let secret = unsubscribe_secret(db, now).await?;
    let Some(id) = unsubscribe::verify(&secret, token) else {
        return Ok(None);
    };
    contact::Entity::find_by_id(id).one(db).await
}

/// Unsubscribes the contact a link names from success e-mails (operational mail still
/// goes): safe to follow twice — the first moment is kept. Returns the contact, or none
/// for a link not made here.
///
/// # Errors
/// Database errors.
pub async fn unsubscribe_by_link(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<contact::Model>, DbErr> {
    let Some(k) = contact_for_link(db, token, now).await? else {
        return Ok(None);
    };
    if k.unsubscribed_at.is_some() {
        return Ok(Some(k));
    }
    let id = k.id;
    contact::Entity::update_many()
        .col_expr(
            contact::Column::UnsubscribedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(contact::Column::Id.eq(id))
        .filter(contact::Column::UnsubscribedAt.is_null())
        .exec(db)
        .await?;
    crate::backend::audit::record(
        db,
        None,
        "contact.unsubscribed",
        "customer",
        Some(k.customer_id),
        json!({ "contact": id, "how": "one-click link" }),
        now,
    )
    .await?;
    contact::Entity::find_by_id(id).one(db).await
}

/// A playbook e-mail as it would go out to a customer now: its recipient (or why there
/// is none) and the template rendered for them (or where it fails). What the outbox
/// sends, and what the template preview shows: one path, so a preview is the message.
pub struct Prepared {
    pub recipient: Result<String, String>,
    /// The contact it goes to (none for the owner).
    pub contact: Option<contact::Model>,
    pub message: Result<Rendered, templates::TemplateError>,
}

/// Prepares template `t` for customer `c`, addressed `to` (`primary_contact`, `owner`
/// or `role:<contact role>`). Without a recipient it is still rendered, as for a
/// customer with no contact.
///
/// # Errors
/// Database errors.
pub async fn prepare_email(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    t: &email_template::Model,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Prepared, DbErr> {
    let recipient = recipient(db, c, to).await?;
    let contact = recipient.as_ref().ok().and_then(|r| r.contact.as_ref());
    let ctx = context(db, c, contact, now).await?;
    let message = templates::render(&t.subject, &t.body_text, t.body_html.as_deref(), &ctx);
    let contact = recipient.as_ref().ok().and_then(|r| r.contact.clone());
    Ok(Prepared {
        recipient: recipient.map(|r| r.email),
        contact,
        message,
    })
}

/// Who an e-mail goes to.
struct Recipient {
    email: String,
    contact: Option<contact::Model>,
}

/// `primary_contact` (a champion, else an admin, else anyone with an address), `owner`,
/// or `role:<contact role>`; or why nobody.
async fn recipient(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    to: &str,
) -> Result<Result<Recipient, String>, DbErr> {
    if to == "owner" {
        let owner = match c.owner_id {
            Some(id) => user::Entity::find_by_id(id).one(db).await?,
            None => None,
        };
        return Ok(owner
            .map(|u| Recipient {
                email: u.email,
                contact: None,
            })
            .ok_or_else(|| format!("{} has no owner to write to", c.name)));
    }
    let contacts: Vec<contact::Model> = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(c.id))
        .filter(contact::Column::Email.is_not_null())
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?;
    let chosen = match to.strip_prefix("role:") {
        Some(role) => contacts.into_iter().find(|k| k.role == role.trim()),
        None => {
            let rank = |k: &contact::Model| match k.role.as_str() {
                "champion" => 0,
                "admin" => 1,
                _ => 2,
            };
            contacts.into_iter().min_by_key(|k| (rank(k), k.id))
        }
    };
    Ok(chosen
        .and_then(|k| {
            k.email.clone().map(|email| Recipient {
                email,
                contact: Some(k),
            })
        })
        .ok_or_else(|| match to.strip_prefix("role:") {
            Some(role) => format!(
                "{} has no contact with the role {role} and an e-mail address",
                c.name
            ),
            None => format!("{} has no contact with an e-mail address", c.name),
        }))
}

/// What a template may read about the customer, its contact and its owner (the same
/// names as `vcsm::playbooks::templates::sample_context`).
async fn context(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    k: Option<&contact::Model>,
    now: DateTime<Utc>,
) -> Result<Value, DbErr> {
    let s = subject::load(db, c, &UsageRanks::default(), now).await?;
    let owner = match c.owner_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let mut contact = json!({});
    if let Some(k) = k {
        contact = json!({ "name": k.name, "email": k.email, "role": k.role });
        if let Some(first) = k.name.split_whitespace().next() {
            contact["first_name"] = json!(first);
        }
    }
    let mut owner_json = json!({});
    if let Some(u) = owner {
        owner_json = json!({ "name": u.name, "email": u.email });
    }
    let tier = vcsm::customers::Tier::parse(&c.tier).map_or(c.tier.clone(), |t| t.label().into());
    let stage =
        vcsm::customers::Stage::parse(&c.stage).map_or(c.stage.clone(), |t| t.label().into());
    Ok(json!({
        "customer": {
            "name": c.name,
            "tier": tier,
            "stage": stage,
            "plan": c.plan,
            "mrr": vcsm::money::format_money(c.mrr_minor, &c.currency),
            "seats": c.seats,
            "renewal_date": s.days_to_renewal.map(|d| (now.date_naive() + Duration::days(d)).to_string()),
            "days_to_renewal": s.days_to_renewal,
        },
        "contact": contact,
        "owner": owner_json,
        "health": {
            "score": s.health_score,
            "level": s.health_level.map(|l| l.label()),
        },
        "churn": {
            "risk": s.churn_risk.map(|r| r.label()),
            "probability": s.churn_probability.map(vcsm::churn::probability_text),
        },
        "usage": {
            "events_28d": s.events_28d.values().sum::<i64>(),
            "seat_utilisation": s.seat_utilisation.map(|u| format!("{:.0} %", u * 100.0)),
        },
    }))
}
