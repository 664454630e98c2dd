//! CSV imports of customers, contacts and product events.
//!
//! Every file is all or nothing: every row is checked (by the domain's parsers, then
//! against the database) before anything is written, every problem is reported by line,
//! and the rows are written in one transaction. A file is stored and imported by a job
//! (whichever server claims it); its progress is written to the job's row, so the import
//! page can follow it from any server, and the file is deleted in the transaction that
//! writes its rows.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use vcsm::imports::{RowError, MAX_REPORTED_ERRORS};
use vcsm::sources::csv::{
    event_row_key, parse_contacts_csv, parse_customers_csv, parse_events_csv, ContactRow, EventRow,
    Parsed,
};

use super::audit;
use super::customers::{active_model, ids_by_external_id, owner_ids, resolve_owner};
use super::entities::{contact, customer, import_file, job, usage_event};
use super::ingest::insert_events;
use super::jobs::{self, NewJob};
use super::meter::Meter;
use crate::dto::{CurrentUser, ImportKind, ImportPhase, ImportReport, ImportStatus};
use crate::error::{unique_as, AppError};

/// Rows per multi-row statement, and so per step of the progress bar.
const CHUNK: usize = 500;

/// How far an import job has got, written to its job row (`{"phase": "checking"}`, then
/// `{"phase": "writing", "done", "total"}`) so that the page following it can ask any
/// server.
pub struct Progress<'a> {
    db: &'a DatabaseConnection,
    job_id: i64,
    worker: &'a str,
    file_id: i64,
    /// Whether the row can be written while the import's transaction is open: on
    /// Postgres, yes; SQLite has one writer, and that transaction is it, so there the
    /// row says "writing N rows" until the import is over.
    live: bool,
    done: u64,
    total: u64,
    saved: Instant,
}

/// How often, at most, progress is written while rows are written.
const SAVE_EVERY: Duration = Duration::from_millis(250);

impl<'a> Progress<'a> {
    fn new(db: &'a DatabaseConnection, job_id: i64, worker: &'a str, file_id: i64) -> Self {
        Self {
            db,
            job_id,
            worker,
            file_id,
            live: db.get_database_backend() == DatabaseBackend::Postgres,
            done: 0,
            total: 0,
            saved: Instant::now(),
        }
    }

    async fn save(&mut self) -> Result<(), AppError> {
        let checkpoint =
            serde_json::json!({ "phase": "writing", "done": self.done, "total": self.total });
        let words = format!(
            "Writing rows: {} of {}",
            vcsm::money::group_thousands(self.done),
            vcsm::money::group_thousands(self.total)
        );
        self.saved = Instant::now();
        if jobs::checkpoint(self.db, self.job_id, self.worker, checkpoint, &words).await? {
            Ok(())
        } else {
            Err(taken_over())
        }
    }

    /// Checking is over: `total` rows are about to be written (recorded before the
    /// import's transaction begins).
    async fn start_writing(&mut self, total: u64) -> Result<(), AppError> {
        self.total = total;
        self.save().await
    }

    async fn wrote(&mut self, rows: u64) -> Result<(), AppError> {
        self.done += rows;
        if self.live && self.saved.elapsed() >= SAVE_EVERY {
            self.save().await?;
        }
        Ok(())
    }

    /// Called in the import's transaction just before it commits: the file is deleted
    /// with the rows written, so a file is imported once (when it is already gone,
    /// another server imported it and this one rolls back), and the lease is renewed with
    /// them. On SQLite the heartbeat can't renew it while this transaction holds the only
    /// write lock; renewed here, the job is still held the moment the rows are in, and
    /// until the job is recorded as done.
    async fn committing(&self, txn: &impl ConnectionTrait) -> Result<(), AppError> {
        let gone = import_file::Entity::delete_by_id(self.file_id)
            .exec(txn)
            .await?;
        if gone.rows_affected == 1
            && jobs::heartbeat(txn, self.job_id, self.worker, Utc::now()).await?
        {
            Ok(())
        } else {
            Err(taken_over())
        }
    }
}

fn taken_over() -> AppError {
    AppError::Conflict("Another server took this import over: it finishes it.".into())
}

/// A file refused: nothing imported, every problem listed by line (at most
/// [`MAX_REPORTED_ERRORS`] of them, then a count of the rest).
fn refused(mut errors: Vec<RowError>, rows_read: u64) -> ImportReport {
    errors.sort_by_key(|e| e.line);
    if errors.len() > MAX_REPORTED_ERRORS + 1 {
        let hidden = errors.split_off(MAX_REPORTED_ERRORS);
        errors.push(RowError {
            line: hidden[0].line,
            field: "file".into(),
            message: format!(
                "{} more error(s) from line {} on are not listed: fix the ones above and try again",
                hidden.len(),
                hidden[0].line
            ),
        });
    }
    ImportReport {
        rows_read,
        errors,
        ..ImportReport::default()
    }
}

fn row_error(line: u64, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        line,
        field: field.into(),
        message: message.into(),
    }
}

/// The customer of each row, by its `customer_external_id`; an error for each row whose
/// customer does not exist.
async fn customers_of<'r>(
    db: &impl ConnectionTrait,
    external_ids: impl Iterator<Item = (u64, &'r str)> + Clone,
    errors: &mut Vec<RowError>,
) -> Result<HashMap<String, i64>, DbErr> {
    let wanted: Vec<String> = external_ids
        .clone()
        .map(|(_, x)| x)
        .collect::<HashSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect();
    let found = ids_by_external_id(db, &wanted).await?;
    for (line, x) in external_ids {
        if !found.contains_key(x) {
            errors.push(row_error(
                line,
                "customer_external_id",
                format!("no customer has external id {x}: import or create it first"),
            ));
        }
    }
    Ok(found)
}

/// Imports a customers CSV: every row or none. External ids must be new.
///
/// # Errors
/// Database errors only: bad rows come back in the report.
pub async fn import_customers<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    text: &str,
    now: DateTime<Utc>,
    progress: &mut Progress<'_>,
) -> Result<ImportReport, AppError> {
    let parsed = parse_customers_csv(text, now.date_naive());
    let mut errors = parsed.errors;
    let owners = owner_ids(db).await?;
    let wanted: Vec<String> = parsed
        .rows
        .iter()
        .filter_map(|r| r.draft.external_id.clone())
        .collect();
    let taken = ids_by_external_id(db, &wanted).await?;
    let mut resolved = Vec::with_capacity(parsed.rows.len());
    for r in &parsed.rows {
        if let Some(x) = r
            .draft
            .external_id
            .as_ref()
            .filter(|x| taken.contains_key(*x))
        {
            errors.push(row_error(
                r.line,
                "external_id",
                format!("{x} is already used by another customer"),
            ));
        }
        match resolve_owner(&r.draft, &owners) {
            Ok(o) => resolved.push((r, o)),
            Err(e) => errors.push(row_error(r.line, "owner_email", e)),
        }
    }
    if !errors.is_empty() {
        return Ok(refused(errors, parsed.rows_read));
    }
    progress.start_writing(resolved.len() as u64).await?;
    let txn = super::db::begin_write(db).await?;
    let first_new = super::customers::max_id(&txn).await?;
    for chunk in resolved.chunks(CHUNK) {
        let models = chunk.iter().map(|(r, owner)| {
            let mut am = active_model(&r.draft, *owner, now);
            am.created_at = Set(now);
            am
        });
        customer::Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await
            .map_err(unique_as(
                "external_id",
                "is already used by another customer",
            ))?;
        progress.wrote(chunk.len() as u64).await?;
    }
    // Scored at once (with the file's commit), not when data arrives or at night.
    let imported =
        super::customers::ids_after(&txn, first_new, vcsm::imports::MAX_ROWS as u64).await?;
    super::score_queue::request(&txn, &imported, now).await?;
    audit::record(
        &txn,
        Some(actor),
        "customer.import",
        "customer",
        None,
        serde_json::json!({ "rows": resolved.len() }),
        now,
    )
    .await?;
    progress.committing(&txn).await?;
    txn.commit().await?;
    Ok(ImportReport {
        imported: resolved.len() as u64,
        rows_read: parsed.rows_read,
        ..ImportReport::default()
    })
}

/// The contacts of these customers, as stored.
async fn contacts_of(
    db: &impl ConnectionTrait,
    customer_ids: &[i64],
) -> Result<Vec<contact::Model>, DbErr> {
    let mut all = Vec::new();
    for chunk in customer_ids.chunks(CHUNK) {
        all.extend(
            contact::Entity::find()
                .filter(contact::Column::CustomerId.is_in(chunk.to_vec()))
                .order_by_asc(contact::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(all)
}

/// What a contacts row becomes: a new contact, or an update of the one it matched.
fn contact_model(
    row: &ContactRow,
    customer_id: i64,
    existing: Option<&contact::Model>,
    now: DateTime<Utc>,
) -> contact::ActiveModel {
    let draft = &row.contact;
    let email = draft.email.as_ref().map(ToString::to_string);
    match existing {
        // Blank cells leave what is stored as it is: a file of names and e-mails must not
        // wipe the titles and user ids other sources filled in.
        Some(k) => contact::ActiveModel {
            id: Set(k.id),
            customer_id: Set(k.customer_id),
            name: Set(draft.name.clone()),
            email: Set(email.or_else(|| k.email.clone())),
            title: Set(draft.title.clone().or_else(|| k.title.clone())),
            role: Set(if row.role_given {
                draft.role.as_str().into()
            } else {
                k.role.clone()
            }),
            external_user_id: Set(row.user_id.clone().or_else(|| k.external_user_id.clone())),
            created_at: Set(k.created_at),
            updated_at: Set(now),
            // An unsubscribe and a time zone stay as the contact left them.
            ..Default::default()
        },
        None => contact::ActiveModel {
            customer_id: Set(customer_id),
            name: Set(draft.name.clone()),
            email: Set(email),
            title: Set(draft.title.clone()),
            role: Set(draft.role.as_str().into()),
            external_user_id: Set(row.user_id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    }
}

/// Imports a contacts CSV: every row or none. A row updates the customer's contact with
/// the same user id, else the same e-mail address; otherwise it adds a contact. So the
/// same file imported twice changes nothing the second time.
///
/// # Errors
/// Database errors only: bad rows come back in the report.
pub async fn import_contacts<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    text: &str,
    now: DateTime<Utc>,
    progress: &mut Progress<'_>,
) -> Result<ImportReport, AppError> {
    let Parsed {
        rows,
        mut errors,
        rows_read,
    } = parse_contacts_csv(text);
    let customers = customers_of(
        db,
        rows.iter()
            .map(|r| (r.line, r.customer_external_id.as_str())),
        &mut errors,
    )
    .await?;
    let customer_ids: Vec<i64> = customers.values().copied().collect();
    let stored = contacts_of(db, &customer_ids).await?;
    let mut by_user: HashMap<(i64, &str), usize> = HashMap::new();
    let mut by_email: HashMap<(i64, &str), usize> = HashMap::new();
    for (i, k) in stored.iter().enumerate() {
        if let Some(u) = &k.external_user_id {
            by_user.entry((k.customer_id, u.as_str())).or_insert(i);
        }
        if let Some(e) = &k.email {
            by_email.entry((k.customer_id, e.as_str())).or_insert(i);
        }
    }
    // Which line claimed each stored contact, and each new user id, first.
    let mut claimed: HashMap<usize, u64> = HashMap::new();
    let mut new_users: HashMap<(i64, &str), u64> = HashMap::new();
    let mut planned = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(&customer_id) = customers.get(&row.customer_external_id) else {
            continue;
        };
        let email = row.contact.email.as_ref().map(|e| e.as_str());
        let matched = row
            .user_id
            .as_deref()
            .and_then(|u| by_user.get(&(customer_id, u)))
            .or_else(|| email.and_then(|e| by_email.get(&(customer_id, e))))
            .copied();
        if let Some(i) = matched {
            if let Some(first) = claimed.insert(i, row.line) {
                errors.push(row_error(
                    row.line,
                    "row",
                    format!(
                        "matches the same contact as line {first} ({})",
                        stored[i].name
                    ),
                ));
                continue;
            }
            // Matched by user id, its new address must not be another contact's.
            if let Some(&other) = email.and_then(|e| by_email.get(&(customer_id, e))) {
                if other != i {
                    errors.push(row_error(
                        row.line,
                        "email",
                        format!(
                            "is already the address of another contact of this customer ({})",
                            stored[other].name
                        ),
                    ));
                    continue;
                }
            }
        } else if let Some(u) = row.user_id.as_deref() {
            if let Some(first) = new_users.insert((customer_id, u), row.line) {
                errors.push(row_error(
                    row.line,
                    "user_id",
                    format!("{u} is also on line {first} for this customer"),
                ));
                continue;
            }
        }
        planned.push(contact_model(
            row,
            customer_id,
            matched.map(|i| &stored[i]),
            now,
        ));
    }
    if !errors.is_empty() {
        return Ok(refused(errors, rows_read));
    }
    let (updates, inserts): (Vec<_>, Vec<_>) = planned.into_iter().partition(|am| am.id.is_set());
    let report = ImportReport {
        imported: inserts.len() as u64,
        updated: updates.len() as u64,
        rows_read,
        ..ImportReport::default()
    };
    progress.start_writing(rows.len() as u64).await?;
    let txn = super::db::begin_write(db).await?;
    let clash = || {
        unique_as(
            "email",
            "is already the address of another contact of this customer",
        )
    };
    let mut inserts = inserts.into_iter().peekable();
    while inserts.peek().is_some() {
        let chunk: Vec<_> = inserts.by_ref().take(CHUNK).collect();
        let n = chunk.len() as u64;
        contact::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await
            .map_err(clash())?;
        progress.wrote(n).await?;
    }
    // Updates as one upsert per chunk, keyed on the id: every matched row exists.
    let mut updates = updates.into_iter().peekable();
    while updates.peek().is_some() {
        let chunk: Vec<_> = updates.by_ref().take(CHUNK).collect();
        let n = chunk.len() as u64;
        contact::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(contact::Column::Id)
                    .update_columns([
                        contact::Column::Name,
                        contact::Column::Email,
                        contact::Column::Title,
                        contact::Column::Role,
                        contact::Column::ExternalUserId,
                        contact::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(clash())?;
        progress.wrote(n).await?;
    }
    audit::record(
        &txn,
        Some(actor),
        "contact.import",
        "customer",
        None,
        serde_json::json!({ "added": report.imported, "updated": report.updated }),
        now,
    )
    .await?;
    progress.committing(&txn).await?;
    txn.commit().await?;
    Ok(report)
}

/// The id an imported event is stored under. The file's `message_id` when it has one;
/// else a hash of the event's content and how many identical rows came before it in the
/// file, so the same file imported twice stores nothing new, yet two identical rows in
/// one file (two logins in the same second) stay two events.
fn event_storage_id(row: &EventRow, repeats: &mut HashMap<String, u32>) -> String {
    if let Some(id) = &row.message_id {
        let id = format!("csv:{id}");
        if id.len() <= 200 {
            return id;
        }
        return format!("csv:h{}", hex::encode(Sha256::digest(id.as_bytes())));
    }
    let key = event_row_key(row);
    let n = repeats.entry(key.clone()).or_insert(0);
    let keyed = if *n == 0 { key } else { format!("{key}#{n}") };
    *n += 1;
    format!("csv:h{}", hex::encode(Sha256::digest(keyed.as_bytes())))
}

/// Contact ids by (customer, user id) for the user ids named, lowest id first.
async fn contacts_by_user(
    db: &impl ConnectionTrait,
    users: &[String],
) -> Result<HashMap<(i64, String), i64>, DbErr> {
    let mut found = HashMap::new();
    for chunk in users.chunks(CHUNK) {
        let rows: Vec<(i64, i64, Option<String>)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::CustomerId)
            .column(contact::Column::ExternalUserId)
            .filter(contact::Column::ExternalUserId.is_in(chunk.to_vec()))
            .order_by_asc(contact::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (id, customer_id, user) in rows {
            if let Some(user) = user {
                found.entry((customer_id, user)).or_insert(id);
            }
        }
    }
    Ok(found)
}

/// What an events import did, and each customer's newest event for last activity.
pub struct EventsImported {
    pub report: ImportReport,
    pub newest: Vec<(i64, DateTime<Utc>)>,
}

/// Imports a product-events CSV (usage history): every row or none. Events already
/// imported (same message id, or same content) are counted and left as they are. A
/// `user_id` that is a contact of the row's customer ties the event to that contact.
///
/// # Errors
/// Database errors only: bad rows come back in the report.
pub async fn import_events<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    text: &str,
    now: DateTime<Utc>,
    progress: &mut Progress<'_>,
) -> Result<EventsImported, AppError> {
    let Parsed {
        rows,
        mut errors,
        rows_read,
    } = parse_events_csv(text, now);
    let customers = customers_of(
        db,
        rows.iter()
            .map(|r| (r.line, r.customer_external_id.as_str())),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Ok(EventsImported {
            report: refused(errors, rows_read),
            newest: Vec::new(),
        });
    }
    let users: Vec<String> = rows
        .iter()
        .filter_map(|r| r.user_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let contacts = contacts_by_user(db, &users).await?;
    let mut repeats = HashMap::new();
    let mut newest: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let total = rows.len() as u64;
    let mut models = Vec::with_capacity(rows.len());
    for row in rows {
        let customer_id = customers[&row.customer_external_id];
        let id = event_storage_id(&row, &mut repeats);
        let at = newest.entry(customer_id).or_insert(row.occurred_at);
        *at = (*at).max(row.occurred_at);
        models.push(usage_event::ActiveModel {
            customer_id: Set(customer_id),
            contact_id: Set(row
                .user_id
                .and_then(|u| contacts.get(&(customer_id, u)).copied())),
            name: Set(row.event),
            properties: Set(Value::Object(row.properties)),
            occurred_at: Set(row.occurred_at),
            received_at: Set(now),
            message_id: Set(id),
            ..Default::default()
        });
    }
    progress.start_writing(total).await?;
    let txn = super::db::begin_write(db).await?;
    let mut stored = 0;
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let chunk: Vec<_> = models.by_ref().take(CHUNK).collect();
        let n = chunk.len() as u64;
        stored += insert_events(&txn, chunk).await?;
        progress.wrote(n).await?;
    }
    audit::record(
        &txn,
        Some(actor),
        "event.import",
        "customer",
        None,
        serde_json::json!({ "stored": stored, "already_present": total - stored }),
        now,
    )
    .await?;
    progress.committing(&txn).await?;
    txn.commit().await?;
    Ok(EventsImported {
        report: ImportReport {
            imported: stored,
            already_present: total - stored,
            rows_read,
            ..ImportReport::default()
        },
        newest: newest.into_iter().collect(),
    })
}

/// Runs an import of `kind`, moving last activity forward for imported events.
///
/// # Errors
/// Database errors only: bad rows come back in the report.
async fn run(
    db: &DatabaseConnection,
    meter: &Meter,
    actor: &CurrentUser,
    kind: ImportKind,
    text: &str,
    now: DateTime<Utc>,
    progress: &mut Progress<'_>,
) -> Result<ImportReport, AppError> {
    match kind {
        ImportKind::Customers => import_customers(db, actor, text, now, progress).await,
        ImportKind::Contacts => import_contacts(db, actor, text, now, progress).await,
        ImportKind::Events => {
            let done = import_events(db, actor, text, now, progress).await?;
            meter.customers_seen(&done.newest);
            Ok(done.report)
        }
    }
}

/// The kind of job that imports a file.
pub const JOB_KIND: &str = "csv.import";

/// Imports queued or running at once across users, each with its file stored until it
/// is written. They run one at a time across the servers (one job of a kind runs at a
/// time), so the memory a file takes is bounded whatever people send.
pub const MAX_UNFINISHED_IMPORTS: usize = 2;

/// How often a failing import is tried (a database that was briefly away); a refused
/// file is not a failure: its report lists the rows to fix.
const MAX_ATTEMPTS: i32 = 3;

/// What an import job needs: the stored file, what it holds, who sent it (for the audit
/// log).
#[derive(serde::Serialize, serde::Deserialize)]
struct ImportPayload {
    file_id: i64,
    kind: ImportKind,
    actor: CurrentUser,
}

/// Stores `text` and queues its import; returns the job's id at once, for
/// [`status`]. One import waits or runs per user and [`MAX_UNFINISHED_IMPORTS`] in all.
///
/// # Errors
/// `Conflict` when the user's previous import or too many others haven't finished.
pub async fn start(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    kind: ImportKind,
    text: String,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    // Checked in the transaction that queues the import: on SQLite it holds the write
    // lock from the start, so two requests can't both pass the check.
    let txn = super::db::begin_write(db).await?;
    let unfinished = jobs::unfinished(&txn, JOB_KIND).await?;
    if unfinished.iter().any(|j| j.created_by == Some(actor.id)) {
        return Err(AppError::Conflict(
            "Your previous import hasn't finished: wait for it.".into(),
        ));
    }
    if unfinished.len() >= MAX_UNFINISHED_IMPORTS {
        return Err(AppError::Conflict(format!(
            "{MAX_UNFINISHED_IMPORTS} imports are waiting or running already: try again when one has finished."
        )));
    }
    let file = import_file::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        size_bytes: Set(i64::try_from(text.len()).unwrap_or(i64::MAX)),
        content: Set(text),
        created_by: Set(actor.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let payload = ImportPayload {
        file_id: file.id,
        kind,
        actor: actor.clone(),
    };
    let mut new = NewJob::now(
        JOB_KIND,
        serde_json::to_value(&payload).map_err(unreadable)?,
        now,
    );
    new.created_by = Some(actor.id);
    new.max_attempts = MAX_ATTEMPTS;
    let job = jobs::enqueue(&txn, new, now).await?;
    txn.commit().await?;
    Ok(job.id)
}

/// Runs the import job `job` for `worker` (which holds it): the report of a file
/// imported or refused. A file whose rows were written before its server stopped (the
/// file is deleted with them) is not imported again.
///
/// # Errors
/// Database errors, a job whose payload isn't an import's, a lease lost to another
/// server.
pub async fn perform(
    db: &DatabaseConnection,
    meter: &Meter,
    job: &job::Model,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let payload: ImportPayload = serde_json::from_value(job.payload.clone()).map_err(unreadable)?;
    let Some(file) = import_file::Entity::find_by_id(payload.file_id)
        .one(db)
        .await?
    else {
        return Ok(serde_json::json!({ WRITTEN_EARLIER: true }));
    };
    // A try after a crash starts over: what the last one wrote is gone with its
    // transaction.
    let checking = serde_json::json!({ "phase": "checking" });
    if !jobs::checkpoint(db, job.id, worker, checking, "Checking every row").await? {
        return Err(taken_over());
    }
    let mut progress = Progress::new(db, job.id, worker, file.id);
    let report = run(
        db,
        meter,
        &payload.actor,
        payload.kind,
        &file.content,
        now,
        &mut progress,
    )
    .await?;
    // A refused file wrote nothing, so its file is still here: it isn't needed any more.
    import_file::Entity::delete_by_id(file.id).exec(db).await?;
    serde_json::to_value(report).map_err(unreadable)
}

/// A stored job that doesn't read as an import's (a bug, or a hand-edited row).
fn unreadable(e: serde_json::Error) -> AppError {
    tracing::error!(error = %e, "an import job's payload or result doesn't read");
    AppError::Internal
}

/// In a job's result: its rows were written by an earlier try, which stopped before it
/// recorded its report.
const WRITTEN_EARLIER: &str = "written_earlier";

/// Where the import `id` is, for the user who started it.
///
/// # Errors
/// `NotFound` for an unknown id, another user's import, or one finished long ago.
pub async fn status(
    db: &DatabaseConnection,
    id: u64,
    user_id: i64,
) -> Result<ImportStatus, AppError> {
    let job = match i64::try_from(id) {
        Ok(id) => jobs::find(db, id).await?,
        Err(_) => None,
    }
    .filter(|j| j.kind == JOB_KIND && j.created_by == Some(user_id))
    .ok_or_else(|| {
        AppError::NotFound(
            "No import of yours has this id: imports are kept for 30 days after they finish."
                .into(),
        )
    })?;
    let payload: ImportPayload = serde_json::from_value(job.payload.clone()).map_err(unreadable)?;
    let count = |key: &str| {
        job.checkpoint
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let (done, total) = (count("done"), count("total"));
    let mut status = ImportStatus {
        id,
        kind: payload.kind,
        phase: ImportPhase::Queued,
        done,
        total,
        report: None,
        error: None,
    };
    match job.state.as_str() {
        jobs::state::QUEUED => status.error = job.last_error,
        jobs::state::RUNNING
            if job
                .checkpoint
                .as_ref()
                .is_some_and(|c| c["phase"] == "writing") =>
        {
            status.phase = ImportPhase::Writing;
        }
        jobs::state::RUNNING => status.phase = ImportPhase::Checking,
        jobs::state::DONE => {
            status.phase = ImportPhase::Finished;
            let result = job.result.unwrap_or_default();
            if result.get(WRITTEN_EARLIER).is_some() {
                status.error = Some(
                    "The rows were written, but the server writing them stopped before it \
                     recorded its report: check the customer list."
                        .into(),
                );
            } else {
                status.report = Some(serde_json::from_value(result).map_err(unreadable)?);
                status.done = status.total;
            }
        }
        _ => {
            status.phase = ImportPhase::Failed;
            status.error = job.last_error;
        }
    }
    Ok(status)
}

/// Deletes files older than `before` whose import never finished (their job died and
/// was never retried).
///
/// # Errors
/// Database errors.
pub async fn purge_files(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let gone = import_file::Entity::delete_many()
        .filter(import_file::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}
