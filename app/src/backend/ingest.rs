//! Segment-compatible event ingestion: sources and their write keys, resolving each
//! message to a customer, idempotent storage, and a quarantine for what can't be resolved.
//!
//! A request's messages are written in one transaction: when the caller answers 200 the
//! events are committed, and a message id seen before is acknowledged without a second row.

use base64::Engine;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sea_query::{Expr, OnConflict, Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionSession, TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use vcsm::customers::{CustomerDraft, Stage, Tier};
use vcsm::sources::segment::{Kind, Message};

use super::auth::{new_session_token, token_hash};
use super::customers::active_model;
use super::entities::{contact, customer, quarantined_event, source, usage_event};
use crate::dto::CurrentUser;
use crate::error::{unique_as, AppError};

/// A source just created: the write key is shown this once, only its hash is kept.
pub struct CreatedSource {
    pub id: i64,
    pub name: String,
    pub write_key: String,
}

/// A new write key: `wk_` and 40 random characters.
pub(crate) fn new_write_key() -> String {
    format!("wk_{}", &new_session_token()[..40])
}

/// Creates a source with a new write key.
///
/// # Errors
/// `Validation` for an empty, long or taken name; database errors.
pub async fn create_source<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: Option<&CurrentUser>,
    name: &str,
    can_create_customers: bool,
    now: DateTime<Utc>,
) -> Result<CreatedSource, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    let write_key = new_write_key();
    let txn = super::db::begin_write(db).await?;
    let m = source::ActiveModel {
        name: Set(name.to_string()),
        write_key_hash: Set(token_hash(&write_key)),
        key_prefix: Set(write_key[..10].to_string()),
        can_create_customers: Set(can_create_customers),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(unique_as("name", "is already used by another source"))?;
    let detail =
        serde_json::json!({ "name": m.name, "can_create_customers": can_create_customers });
    super::audit::record(
        &txn,
        actor,
        "source.create",
        "source",
        Some(m.id),
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedSource {
        id: m.id,
        name: m.name,
        write_key,
    })
}

/// The write key in an HTTP Basic `Authorization` header: its user name (Segment's
/// scheme, `base64(writeKey:)`).
fn write_key_of(header: Option<&str>) -> Option<String> {
    let encoded = header.and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let key = text.split(':').next().unwrap_or("");
    (!key.is_empty() && key.len() <= 200).then(|| key.to_string())
}

/// How long a write key found live is trusted without asking the database again. A key
/// revoked or rotated in this process is forgotten at once ([`SourceCache::forget_all`]);
/// by another process (`vcsm source revoke` in a shell, a second server) within this time.
const SOURCE_TTL: Duration = Duration::from_secs(5);

/// Live sources by write-key hash, so that a busy sender's requests don't each look up
/// its key.
#[derive(Default)]
pub struct SourceCache {
    live: Mutex<HashMap<String, (source::Model, Instant)>>,
}

impl SourceCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (source::Model, Instant)>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live source whose write key is the user name of an HTTP Basic
    /// `Authorization` header.
    ///
    /// # Errors
    /// Returns the database error.
    pub async fn source_for_authorization(
        &self,
        db: &impl ConnectionTrait,
        header: Option<&str>,
    ) -> Result<Option<source::Model>, DbErr> {
        let Some(key) = write_key_of(header) else {
            return Ok(None);
        };
        let hash = token_hash(&key);
        if let Some((src, at)) = self.lock().get(&hash) {
            if at.elapsed() < SOURCE_TTL {
                return Ok(Some(src.clone()));
            }
        }
        let found = source::Entity::find()
            .filter(source::Column::WriteKeyHash.eq(hash.as_str()))
            .filter(source::Column::RevokedAt.is_null())
            .one(db)
            .await?;
        let mut live = self.lock();
        match &found {
            Some(src) => {
                live.insert(hash, (src.clone(), Instant::now()));
            }
            None => {
                live.remove(&hash);
            }
        }
        Ok(found)
    }

    /// Forgets every key: after a revocation or rotation, the next request asks the
    /// database.
    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

/// What a request did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Usage events stored.
    pub stored: u64,
    /// Users tied to accounts or updated (`group`, `identify`).
    pub linked: u64,
    /// Messages seen before (same message id), acknowledged and not stored again.
    pub duplicates: u64,
    /// Messages whose customer could not be resolved, kept in the quarantine.
    pub quarantined: u64,
    /// The newest event time per customer, for the caller to move last activity forward
    /// (see `Meter::customers_seen`: not done here, so concurrent requests about the same
    /// customers never wait on each other's row locks).
    #[serde(skip)]
    pub newest: Vec<(i64, DateTime<Utc>)>,
}

/// The id a message is stored under: the sender's `messageId` (namespaced by source), or —
/// when it sent none — a hash of the message, so a retry is still recognised.
fn storage_id(source_id: i64, m: &Message, raw: &Value) -> String {
    let id = match &m.message_id {
        Some(id) => format!("s{source_id}:{id}"),
        None => format!(
            "s{source_id}:h{}",
            hex::encode(Sha256::digest(raw.to_string().as_bytes()))
        ),
    };
    if id.len() > 200 {
        format!(
            "s{source_id}:h{}",
            hex::encode(Sha256::digest(id.as_bytes()))
        )
    } else {
        id
    }
}

/// Of `ids`, those already stored as events or held in the quarantine: one query per
/// chunk for both tables.
async fn known_ids(db: &impl ConnectionTrait, ids: &[String]) -> Result<HashSet<String>, DbErr> {
    let mut known = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let held = Query::select()
            .column(quarantined_event::Column::MessageId)
            .from(quarantined_event::Entity)
            .and_where(quarantined_event::Column::MessageId.is_in(chunk.iter().cloned()))
            .to_owned();
        let query = Query::select()
            .column(usage_event::Column::MessageId)
            .from(usage_event::Entity)
            .and_where(usage_event::Column::MessageId.is_in(chunk.iter().cloned()))
            .union(UnionType::All, held)
            .to_owned();
        for row in db.query_all(&query).await? {
            known.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(known)
}

/// Rows per multi-row statement: far below SQLite's and Postgres' bound-parameter limits.
const CHUNK: usize = 500;

/// Who the users and accounts of a request are: loaded with one query each for the whole
/// request, then kept current as its `group` messages create customers and contacts, so a
/// `track` after a `group` in the same batch resolves.
#[derive(Default)]
struct Directory {
    /// Customer id by external id (`None`: looked up, no such customer).
    customers: HashMap<String, Option<i64>>,
    /// (contact id, customer id) by the user id of other systems, lowest contact id first.
    contacts: HashMap<String, Vec<(i64, i64)>>,
}

impl Directory {
    /// Looks up every account (`groupId`) and user (`userId`) the messages name, with one
    /// query per chunk for both.
    async fn load<'m>(
        db: &impl ConnectionTrait,
        messages: impl Iterator<Item = &'m Message> + Clone,
    ) -> Result<Self, DbErr> {
        let groups: HashSet<&str> = messages
            .clone()
            .filter_map(|m| m.group_id.as_deref())
            .collect();
        let users: HashSet<&str> = messages.filter_map(|m| m.user_id.as_deref()).collect();
        let mut dir = Directory::default();
        let groups: Vec<&str> = groups.into_iter().collect();
        let users: Vec<&str> = users.into_iter().collect();
        for g in &groups {
            dir.customers.insert((*g).to_string(), None);
        }
        let chunks = groups.len().max(users.len()).div_ceil(CHUNK);
        for k in 0..chunks {
            let part = |all: &[&str]| -> Vec<String> {
                all.iter()
                    .skip(k * CHUNK)
                    .take(CHUNK)
                    .map(|s| (*s).to_string())
                    .collect()
            };
            // (kind, id, customer id, key): 0 for an account by external id, 1 for a
            // user's contact by user id.
            let accounts = Query::select()
                .expr(Expr::val(0))
                .column(customer::Column::Id)
                .column(customer::Column::Id)
                .column(customer::Column::ExternalId)
                .from(customer::Entity)
                .and_where(customer::Column::ExternalId.is_in(part(&groups)))
                .to_owned();
            let contacts = Query::select()
                .expr(Expr::val(1))
                .column(contact::Column::Id)
                .column(contact::Column::CustomerId)
                .column(contact::Column::ExternalUserId)
                .from(contact::Entity)
                .and_where(contact::Column::ExternalUserId.is_in(part(&users)))
                .to_owned();
            let query = accounts
                .to_owned()
                .union(UnionType::All, contacts)
                .to_owned();
            let mut found: Vec<(i32, i64, i64, Option<String>)> = Vec::new();
            for row in db.query_all(&query).await? {
                found.push((
                    row.try_get_by_index(0)?,
                    row.try_get_by_index(1)?,
                    row.try_get_by_index(2)?,
                    row.try_get_by_index(3)?,
                ));
            }
            // Lowest contact id first, as `contact` promises.
            found.sort_unstable_by_key(|f| (f.0, f.1));
            for (kind, id, customer_id, key) in found {
                let Some(key) = key else { continue };
                if kind == 0 {
                    dir.customers.insert(key, Some(id));
                } else {
                    dir.contacts.entry(key).or_default().push((id, customer_id));
                }
            }
        }
        Ok(dir)
    }

    fn customer(&self, external_id: &str) -> Option<i64> {
        self.customers.get(external_id).copied().flatten()
    }

    /// The user's contact: at `customer_id` if given, else the user's first one.
    fn contact(&self, user: &str, customer_id: Option<i64>) -> Option<(i64, i64)> {
        self.contacts
            .get(user)?
            .iter()
            .find(|(_, c)| customer_id.is_none_or(|want| *c == want))
            .copied()
    }
}

fn trait_str(m: &Message, key: &str) -> Option<String> {
    m.attributes
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect())
}

/// Why a message can't be tied to a customer yet, or the customer (and contact) it belongs to.
enum Resolution {
    Customer {
        customer_id: i64,
        contact_id: Option<i64>,
    },
    Unresolved(String),
}

fn resolve_event(dir: &Directory, m: &Message) -> Resolution {
    if let Some(group) = &m.group_id {
        return match dir.customer(group) {
            Some(customer_id) => Resolution::Customer {
                customer_id,
                contact_id: m
                    .user_id
                    .as_deref()
                    .and_then(|u| dir.contact(u, Some(customer_id)))
                    .map(|(k, _)| k),
            },
            None => Resolution::Unresolved(format!("no customer has external id {group:?}")),
        };
    }
    if let Some(user) = &m.user_id {
        if let Some((contact_id, customer_id)) = dir.contact(user, None) {
            return Resolution::Customer {
                customer_id,
                contact_id: Some(contact_id),
            };
        }
        return Resolution::Unresolved(format!(
            "user {user:?} belongs to no customer yet: send group() or set context.groupId"
        ));
    }
    Resolution::Unresolved("anonymous message without context.groupId".into())
}

/// A customer created by a `group` call from a source allowed to: named by its traits.
async fn create_customer_for_group(
    db: &impl ConnectionTrait,
    m: &Message,
    group: &str,
    now: DateTime<Utc>,
) -> Result<customer::Model, DbErr> {
    let draft = CustomerDraft {
        name: trait_str(m, "name").unwrap_or_else(|| group.to_string()),
        external_id: Some(group.to_string()),
        domain: trait_str(m, "website").and_then(|w| vcsm::customers::parse_domain(&w).ok()),
        tier: Tier::SmallBusiness,
        stage: Stage::Onboarding,
        churned_on: None,
        plan: None,
        mrr_minor: 0,
        currency: "USD".into(),
        seats: 0,
        contract_start: None,
        renewal_date: None,
        owner_email: None,
        tags: Vec::new(),
        billing_period: None,
        attributes: Default::default(),
    };
    let mut am = active_model(&draft, None, now);
    am.created_at = Set(now);
    am.insert(db).await
}

/// Applies `group`: ties the user to the customer with that external id, creating the
/// customer when the source may.
async fn apply_group(
    db: &impl ConnectionTrait,
    dir: &mut Directory,
    src: &source::Model,
    m: &Message,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let group = m.group_id.clone().unwrap_or_default();
    let customer_id = match dir.customer(&group) {
        Some(c) => c,
        None if src.can_create_customers => {
            let id = create_customer_for_group(db, m, &group, now).await?.id;
            dir.customers.insert(group.clone(), Some(id));
            id
        }
        None => {
            let reason = format!(
                "no customer has external id {group:?} and source {:?} may not create customers",
                src.name
            );
            return Ok(Some(reason));
        }
    };
    if let Some(user) = &m.user_id {
        if dir.contact(user, Some(customer_id)).is_none() {
            let k = contact::ActiveModel {
                customer_id: Set(customer_id),
                name: Set(user.chars().take(200).collect()),
                role: Set(vcsm::customers::ContactRole::User.as_str().into()),
                external_user_id: Set(Some(user.clone())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
            dir.contacts
                .entry(user.clone())
                .or_default()
                .push((k.id, customer_id));
        }
    }
    Ok(None)
}

/// Applies `identify`: updates the user's contact from its traits.
async fn apply_identify(
    db: &impl ConnectionTrait,
    m: &Message,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let Some(user) = &m.user_id else {
        return Ok(Some(
            "identify without userId can't be tied to a contact".into(),
        ));
    };
    let contacts = contact::Entity::find()
        .filter(contact::Column::ExternalUserId.eq(user.as_str()))
        .all(db)
        .await?;
    if contacts.is_empty() {
        return Ok(Some(format!(
            "user {user:?} belongs to no customer yet: send group() first"
        )));
    }
    let email = trait_str(m, "email")
        .and_then(|e| vcsm::auth::Email::parse(&e).ok())
        .map(|e| e.to_string());
    for k in contacts {
        let mut am: contact::ActiveModel = k.into();
        if let Some(name) = trait_str(m, "name") {
            am.name = Set(name);
        }
        if let Some(e) = &email {
            am.email = Set(Some(e.clone()));
        }
        if let Some(t) = trait_str(m, "title") {
            am.title = Set(Some(t));
        }
        am.updated_at = Set(now);
        am.update(db).await?;
    }
    Ok(None)
}

/// A held message, kept with its reason until it can be replayed.
fn quarantine_row(
    src: &source::Model,
    id: &str,
    m: &Message,
    raw: &Value,
    reason: &str,
    now: DateTime<Utc>,
) -> quarantined_event::ActiveModel {
    quarantined_event::ActiveModel {
        source_id: Set(src.id),
        message_id: Set(id.to_string()),
        kind: Set(m.kind.as_str().into()),
        payload: Set(raw.clone()),
        reason: Set(reason.chars().take(500).collect()),
        received_at: Set(now),
        replayed_at: Set(None),
        ..Default::default()
    }
}

/// Holds messages in the quarantine; one already held (sent again, or twice at once) is
/// kept once. Returns how many rows were new.
async fn insert_held(
    db: &impl ConnectionTrait,
    rows: Vec<quarantined_event::ActiveModel>,
) -> Result<u64, DbErr> {
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        inserted += quarantined_event::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(quarantined_event::Column::MessageId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}

/// A usage event from a resolved `track` or `page` message.
fn usage_row(
    m: &Message,
    id: String,
    customer_id: i64,
    contact_id: Option<i64>,
    received_at: DateTime<Utc>,
) -> usage_event::ActiveModel {
    let (name, properties) = match m.kind {
        Kind::Page => {
            let mut p = m.attributes.clone();
            if let Some(n) = &m.event {
                p.insert("name".into(), Value::String(n.clone()));
            }
            ("Page Viewed".to_string(), p)
        }
        _ => (m.event.clone().unwrap_or_default(), m.attributes.clone()),
    };
    usage_event::ActiveModel {
        customer_id: Set(customer_id),
        contact_id: Set(contact_id),
        name: Set(name),
        properties: Set(Value::Object(properties)),
        occurred_at: Set(m.occurred_at),
        received_at: Set(received_at),
        message_id: Set(id),
        ..Default::default()
    }
}

/// An event ready to insert, and whose it is.
struct EventRow {
    customer_id: i64,
    model: usage_event::ActiveModel,
}

/// What a message did.
enum Applied {
    /// A `group` or `identify` tied a user to an account or updated a contact.
    Linked,
    /// A `track` or `page` resolved to a customer, to be inserted.
    Event(EventRow),
    /// It can't be tied to a customer yet; why.
    Unresolved(String),
}

async fn apply_message(
    db: &impl ConnectionTrait,
    dir: &mut Directory,
    src: &source::Model,
    m: &Message,
    id: &str,
    received_at: DateTime<Utc>,
) -> Result<Applied, DbErr> {
    let problem = match m.kind {
        Kind::Group => apply_group(db, dir, src, m, received_at).await?,
        Kind::Identify => apply_identify(db, m, received_at).await?,
        Kind::Track | Kind::Page => {
            return Ok(match resolve_event(dir, m) {
                Resolution::Unresolved(reason) => Applied::Unresolved(reason),
                Resolution::Customer {
                    customer_id,
                    contact_id,
                } => Applied::Event(EventRow {
                    customer_id,
                    model: usage_row(m, id.to_string(), customer_id, contact_id, received_at),
                }),
            })
        }
    };
    Ok(problem.map_or(Applied::Linked, Applied::Unresolved))
}

/// Inserts events, skipping any message id another request stored meanwhile (the unique
/// index decides). Returns how many rows were new.
pub(crate) async fn insert_events(
    db: &impl ConnectionTrait,
    rows: Vec<usage_event::ActiveModel>,
) -> Result<u64, DbErr> {
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        inserted += usage_event::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(usage_event::Column::MessageId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}

/// What a request will write, worked out from its messages.
#[derive(Default)]
struct Plan {
    out: Outcome,
    events: Vec<usage_event::ActiveModel>,
    held: Vec<quarantined_event::ActiveModel>,
    newest: HashMap<i64, DateTime<Utc>>,
}

impl Plan {
    fn add_event(&mut self, row: EventRow, occurred_at: DateTime<Utc>) {
        let newest = self.newest.entry(row.customer_id).or_insert(occurred_at);
        *newest = (*newest).max(occurred_at);
        self.events.push(row.model);
    }

    /// One statement does it all (so it is atomic without a transaction).
    fn is_single_statement(&self) -> bool {
        self.held.is_empty() && self.events.len() <= CHUNK
    }

    /// Writes the events and held messages; returns what the request did.
    async fn write(mut self, db: &impl ConnectionTrait) -> Result<Outcome, DbErr> {
        // Rows stored before (same message id: sent again, or by a request running at the
        // same time) are refused by the unique index and counted as duplicates.
        let to_hold = self.held.len() as u64;
        self.out.quarantined = insert_held(db, self.held).await?;
        let queued = self.events.len() as u64;
        self.out.stored = insert_events(db, self.events).await?;
        self.out.duplicates += (queued - self.out.stored) + (to_hold - self.out.quarantined);
        self.out.newest = self.newest.into_iter().collect();
        Ok(self.out)
    }
}

/// Resolves each message, in order, applying `group` and `identify` as it goes (their
/// writes go through `db`), and gathers the events and held messages to write.
async fn plan(
    db: &impl ConnectionTrait,
    src: &source::Model,
    messages: &[(Message, Value)],
    ids: Vec<String>,
    look_up_stored: bool,
    received_at: DateTime<Utc>,
) -> Result<Plan, DbErr> {
    // Without the lookup, only repeats within the request are caught here; the unique
    // index refuses the rest when they are written.
    let mut seen = if look_up_stored {
        known_ids(db, &ids).await?
    } else {
        HashSet::new()
    };
    let mut dir = Directory::load(db, messages.iter().map(|(m, _)| m)).await?;
    let mut plan = Plan::default();
    for ((m, raw), id) in messages.iter().zip(ids) {
        // Also catches a message repeated within the request.
        if !seen.insert(id.clone()) {
            plan.out.duplicates += 1;
            continue;
        }
        match apply_message(db, &mut dir, src, m, &id, received_at).await? {
            Applied::Linked => plan.out.linked += 1,
            Applied::Event(row) => plan.add_event(row, m.occurred_at),
            Applied::Unresolved(reason) => {
                plan.held
                    .push(quarantine_row(src, &id, m, raw, &reason, received_at));
            }
        }
    }
    Ok(plan)
}

/// Stores valid messages (with their raw JSON): everything or nothing.
///
/// Work per request is a handful of statements whatever its size: one lookup of the
/// accounts and users named, and multi-row inserts whose unique index refuses messages
/// stored before (counted as duplicates). A request with `group` or `identify` messages
/// first looks up the message ids already stored, as those write as they go. A request of
/// only `track` and `page` messages (nearly all traffic) reads without a transaction and,
/// when its events fit one insert, writes them in that single statement; otherwise the
/// writes share a transaction. `group` and `identify` write one by one, in order, in the
/// transaction, so a `track` after a `group` in the same batch resolves.
///
/// # Errors
/// Database errors: nothing of the request is stored then.
pub async fn ingest<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    src: &source::Model,
    messages: &[(Message, Value)],
    received_at: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let ids: Vec<String> = messages
        .iter()
        .map(|(m, raw)| storage_id(src.id, m, raw))
        .collect();
    let links = messages
        .iter()
        .any(|(m, _)| matches!(m.kind, Kind::Group | Kind::Identify));
    if !links {
        // No lookup of stored ids: the inserts' `ON CONFLICT DO NOTHING` tells duplicates
        // apart, so the rate doesn't hang on the planner's statistics of a growing table
        // (a stale generic plan scanned `usage_events` in full for each lookup).
        let plan = plan(db, src, messages, ids, false, received_at).await?;
        if plan.is_single_statement() {
            return Ok(plan.write(db).await?);
        }
        let txn = super::db::begin_write(db).await?;
        let out = plan.write(&txn).await?;
        txn.commit().await?;
        return Ok(out);
    }
    let txn = super::db::begin_write(db).await?;
    // `group` and `identify` write as they go: a message stored before must not apply
    // again, so stored ids are looked up first.
    let out = plan(&txn, src, messages, ids, true, received_at)
        .await?
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(out)
}

/// What a replay of the quarantine did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// Messages that now resolved and were applied.
    pub applied: u64,
    /// Messages still unresolved (their reason is brought up to date).
    pub still_held: u64,
    /// Event times per customer, as in `Outcome::newest`.
    #[serde(skip)]
    pub newest: Vec<(i64, DateTime<Utc>)>,
}

/// Runs held messages (all of them, or those with `ids`) through ingestion again, in the
/// order received, as they were received: those whose customer now exists are applied
/// and marked replayed, the others stay with a fresh reason. The accounts and users they
/// name are looked up once for all of them. One transaction.
///
/// # Errors
/// Database errors: nothing changes then.
pub async fn replay_quarantine<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<Replay, AppError> {
    let txn = super::db::begin_write(db).await?;
    let mut q = quarantined_event::Entity::find()
        .filter(quarantined_event::Column::ReplayedAt.is_null())
        .order_by_asc(quarantined_event::Column::Id);
    if let Some(ids) = ids {
        q = q.filter(quarantined_event::Column::Id.is_in(ids.to_vec()));
    }
    let held = q.all(&txn).await?;
    let sources: HashMap<i64, source::Model> = source::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    // The payload passed validation once; it fails now only if the rules changed since.
    let parsed: Vec<Result<Message, String>> = held
        .iter()
        .map(|row| {
            vcsm::sources::segment::parse_message(
                &row.payload,
                Kind::parse(&row.kind),
                "",
                row.received_at,
            )
            .map_err(|problems| {
                let first = problems.first().map(|p| format!("{} {}", p.path, p.reason));
                format!("no longer valid: {}", first.unwrap_or_default())
            })
        })
        .collect();
    let mut dir = Directory::load(&txn, parsed.iter().filter_map(|m| m.as_ref().ok())).await?;
    let mut out = Replay::default();
    let mut events = Vec::new();
    let mut replayed = Vec::new();
    for (row, m) in held.into_iter().zip(parsed) {
        let applied = match (sources.get(&row.source_id), m) {
            (None, _) => Applied::Unresolved("its source no longer exists".into()),
            (_, Err(reason)) => Applied::Unresolved(reason),
            (Some(src), Ok(m)) => {
                let applied =
                    apply_message(&txn, &mut dir, src, &m, &row.message_id, row.received_at)
                        .await?;
                if let Applied::Event(ev) = applied {
                    out.newest.push((ev.customer_id, m.occurred_at));
                    events.push(ev.model);
                    Applied::Linked
                } else {
                    applied
                }
            }
        };
        match applied {
            Applied::Unresolved(reason) => {
                let mut am: quarantined_event::ActiveModel = row.into();
                am.reason = Set(reason.chars().take(500).collect());
                am.update(&txn).await?;
                out.still_held += 1;
            }
            _ => {
                replayed.push(row.id);
                out.applied += 1;
            }
        }
    }
    insert_events(&txn, events).await?;
    for chunk in replayed.chunks(CHUNK) {
        quarantined_event::Entity::update_many()
            .col_expr(quarantined_event::Column::ReplayedAt, Expr::value(now))
            .filter(quarantined_event::Column::Id.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(out)
}
