//! The job runner: what each kind of job does, the recurring jobs and when they fall
//! due, and the loops every server runs to take jobs up (see `jobs` for the claiming) —
//! the one place that starts a server's background work, its standing loops included.
//! The top of the backend: it reaches the modules that do the work; none reaches it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sea_orm::DbErr;
use serde_json::{json, Value};

use super::entities::job;
use super::jobs::{self, NewJob};
use super::{
    churn, customers, events, health, hubspot, imports, notify, pipeline, playbooks, score_queue,
    users, AppState,
};
use crate::dto::{CurrentUser, JobDto, JobsDto, RescoreStatus};
use crate::error::AppError;

/// The full health recompute, once per UTC day.
pub const HEALTH_NIGHTLY: &str = "health.nightly";
/// Retraining the churn model on the day's history, once per UTC day.
pub const CHURN_NIGHTLY: &str = "churn.nightly";
/// Companies and contacts from HubSpot, every six hours when a token is configured.
pub const HUBSPOT_SYNC: &str = "hubspot.sync";
/// Re-scoring the whole portfolio after a settings change (scorecard, alert rules,
/// plans), step by step: a server that takes it up after a crash goes on from the last step.
pub const HEALTH_RESCORE: &str = "health.rescore";
/// Retraining the churn model now ("Retrain now" on the model page).
pub const CHURN_RETRAIN: &str = "churn.retrain";
/// Ending expired sessions and forgetting old login attempts and finished jobs, hourly.
pub const SESSIONS_PURGE: &str = "sessions.purge";
/// The day's "renewal coming up" events, once per UTC day.
pub const RENEWAL_NOTICES: &str = "events.renewals";

/// Jobs one server runs at once: a long HubSpot sync doesn't hold up the nightly work.
const SLOTS: usize = 2;

/// How often an idle slot looks for a due job.
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// How often each server queues the periods' recurring jobs (each once, whoever is first).
const QUEUE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How often the playbook engine looks for new events and due steps when idle.
const PLAYBOOK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Steps one pass of the playbook engine runs before looking at new events again.
const PLAYBOOK_STEPS_PER_PASS: usize = 2_000;

/// How long finished jobs are kept for the jobs page.
const KEEP_FINISHED: Duration = Duration::days(30);

/// A recurring job for one period: its kind, the period's name, when it falls due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub kind: &'static str,
    pub period: String,
    pub run_at: DateTime<Utc>,
}

/// The recurring jobs of the periods `now` is in: the nightly recompute at the start of
/// the UTC day (a new installation gets scores at once), the retraining an hour later
/// (on the recomputed history), the purge at the start of each hour, the renewal
/// notices at the start of the day, and — when
/// `hubspot` is configured — the HubSpot sync an hour into each six-hour slot.
#[must_use]
pub fn periods(now: DateTime<Utc>, hubspot: bool) -> Vec<Period> {
    let day = now.date_naive();
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let slot = now.duration_trunc(Duration::hours(6)).unwrap_or(now);
    let mut due = vec![
        Period {
            kind: HEALTH_NIGHTLY,
            period: day.to_string(),
            run_at: midnight,
        },
        Period {
            kind: CHURN_NIGHTLY,
            period: day.to_string(),
            run_at: midnight + Duration::hours(1),
        },
        Period {
            kind: SESSIONS_PURGE,
            period: hour.format("%Y-%m-%dT%H").to_string(),
            run_at: hour,
        },
        Period {
            kind: RENEWAL_NOTICES,
            period: day.to_string(),
            run_at: midnight,
        },
    ];
    if hubspot {
        due.push(Period {
            kind: HUBSPOT_SYNC,
            period: slot.format("%Y-%m-%dT%H").to_string(),
            run_at: slot + Duration::hours(1),
        });
    }
    due
}

/// Queues the recurring jobs of the periods `now` is in (each once across every server).
///
/// # Errors
/// Database errors.
pub async fn queue_periods(state: &AppState, now: DateTime<Utc>) -> Result<(), DbErr> {
    let hubspot = hubspot::token(&state.db, now).await?.is_some();
    for p in periods(now, hubspot) {
        let new = NewJob {
            kind: p.kind.into(),
            payload: json!({}),
            run_at: p.run_at,
            max_attempts: 3,
            created_by: None,
        };
        jobs::enqueue_period(&state.db, new, &p.period, now).await?;
    }
    Ok(())
}

fn failed(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Where a portfolio re-score is, kept in its job so another server can go on from it.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct RescoreCheckpoint {
    /// The last customer id done.
    after: i64,
    /// Customers looked at, and scored (archived and churned ones aren't).
    done: u64,
    scored: u64,
    total: u64,
    /// The scorecard version it scores with.
    version: i32,
}

/// Re-scores the whole portfolio step by step from where `job` got to, recording each
/// step in the job.
async fn rescore_portfolio(
    state: &AppState,
    job: &job::Model,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let db = &state.db;
    let mut at: RescoreCheckpoint = job
        .checkpoint
        .clone()
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    let version = health::active_scorecard(db).await?.version;
    if at.version != version {
        // Settings changed since the steps stored: start over with the new scorecard.
        at = RescoreCheckpoint {
            version,
            ..RescoreCheckpoint::default()
        };
    }
    // Taken up after its server stopped: it goes on from the last step stored.
    let resumed_from = at.done;
    at.total = customers::count_all(db).await?.max(at.done);
    let record = |at: RescoreCheckpoint| async move {
        let words = format!("{} of {} customers", at.done, at.total);
        let checkpoint = serde_json::to_value(at).unwrap_or_default();
        jobs::checkpoint(db, job.id, worker, checkpoint, &words).await
    };
    record(at).await?;
    while let Some((last, looked_at, scored)) =
        pipeline::rescore_step(db, &state.portfolio, at.after, pipeline::RESCORE_STEP, now).await?
    {
        at.after = last;
        at.done += looked_at;
        at.scored += scored;
        at.total = at.total.max(at.done);
        if !record(at).await? {
            return Err(AppError::Conflict(
                "another server took this re-score over".into(),
            ));
        }
    }
    let mut result = json!({ "scored": at.scored, "scorecard_version": version });
    if resumed_from > 0 {
        result["resumed_after"] = json!(resumed_from);
    }
    Ok(result)
}

/// A retraining's result.
fn trained(outcome: &churn::TrainingOutcome) -> Value {
    json!({
        "status": outcome.status,
        "observations": outcome.observations,
        "churned": outcome.churned,
    })
}

/// Does `job`: its result, or what went wrong.
async fn perform(
    state: &AppState,
    job: &job::Model,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Value, String> {
    match job.kind.as_str() {
        HEALTH_RESCORE => rescore_portfolio(state, job, worker, now)
            .await
            .map_err(failed),
        CHURN_RETRAIN => {
            let outcome = pipeline::retrain(&state.db, &state.portfolio, "manual", now)
                .await
                .map_err(failed)?;
            Ok(trained(&outcome))
        }
        HEALTH_NIGHTLY => {
            let scored = pipeline::score_customers(&state.db, &state.portfolio, None, now, now)
                .await
                .map_err(failed)?;
            Ok(json!({ "customers": scored.customers, "scorecard_version": scored.version }))
        }
        CHURN_NIGHTLY => {
            if churn::trained_recently(&state.db, now)
                .await
                .map_err(failed)?
            {
                return Ok(json!({ "skipped": "a model was trained in the last hours" }));
            }
            let outcome = pipeline::retrain(&state.db, &state.portfolio, "nightly", now)
                .await
                .map_err(failed)?;
            Ok(trained(&outcome))
        }
        HUBSPOT_SYNC => {
            let Some(token) = hubspot::token(&state.db, now).await.map_err(failed)? else {
                return Ok(json!({ "skipped": "no HubSpot token is configured" }));
            };
            let base = hubspot::api_base(state.config.hubspot_api_base.as_deref());
            let report = hubspot::sync(&state.db, &state.http, &state.meter, &base, &token, now)
                .await
                .map_err(failed)?;
            serde_json::to_value(report).map_err(failed)
        }
        imports::JOB_KIND => imports::perform(&state.db, &state.meter, job, worker, now)
            .await
            .map_err(failed),
        RENEWAL_NOTICES => {
            let written = events::record_renewals(&state.db, now.date_naive(), now)
                .await
                .map_err(failed)?;
            let purged = events::purge_product_events(&state.db, now - events::KEEP_PRODUCT_EVENTS)
                .await
                .map_err(failed)?;
            Ok(json!({ "renewal_events": written, "old_product_events_deleted": purged }))
        }
        SESSIONS_PURGE => {
            users::purge_expired(&state.db, now).await.map_err(failed)?;
            let jobs = jobs::purge_finished(&state.db, now - KEEP_FINISHED)
                .await
                .map_err(failed)?;
            let files = imports::purge_files(&state.db, now - KEEP_FINISHED)
                .await
                .map_err(failed)?;
            Ok(json!({ "old_jobs_deleted": jobs, "unimported_files_deleted": files }))
        }
        other => Err(format!(
            "no server knows how to run a job of kind {other:?}"
        )),
    }
}

/// Claims the job due longest and runs it, renewing its lease while it runs; records
/// the outcome. Returns the job as claimed and its outcome, or `None` when nothing was due.
///
/// # Errors
/// Database errors while claiming or recording (the job then comes back when its lease
/// runs out).
pub async fn run_next(
    state: &AppState,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Option<(job::Model, Result<Value, String>)>, DbErr> {
    let Some(job) = jobs::claim(&state.db, worker, now).await? else {
        return Ok(None);
    };
    tracing::info!(id = job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let beat = {
        let (db, id, worker) = (state.db.clone(), job.id, worker.to_owned());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(jobs::heartbeat_every());
            tick.tick().await;
            loop {
                tick.tick().await;
                match jobs::heartbeat(&db, id, &worker, Utc::now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(id, "a job's lease was lost: another server took it up");
                        break;
                    }
                    Err(e) => tracing::warn!(id, error = %e, "renewing a job's lease failed"),
                }
            }
        })
    };
    let took = std::time::Instant::now();
    let outcome = perform(state, &job, worker, now).await;
    beat.abort();
    // On the caller's clock (tests run the runner at chosen moments).
    let finished = now + Duration::from_std(took.elapsed()).unwrap_or_default();
    let recorded = match &outcome {
        Ok(result) => jobs::complete(&state.db, job.id, worker, result.clone(), finished).await?,
        Err(e) => {
            tracing::warn!(id = job.id, kind = %job.kind, error = %e, "job failed");
            jobs::fail(&state.db, &job, worker, e, finished).await?
        }
    };
    if !recorded {
        tracing::warn!(
            id = job.id,
            "a job finished after its lease was lost; not recorded"
        );
    }
    Ok(Some((job, outcome)))
}

/// This server's name on the jobs it claims: host, process and start time.
fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "server".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        Utc::now().timestamp_millis() % 100_000
    )
}

/// The loops every server runs besides jobs, each over work claimed in the database (or,
/// for the counters, this server's own): the integration counters written every second,
/// customers with new data re-scored once their debounce passes (paced, so that a flood
/// of data can't crowd out pages and ingestion), alert notifications delivered from
/// the outbox with back-off, and the playbook engine (new domain events, then due steps,
/// claimed with a lease).
fn start_loops(state: &AppState, worker: &str) {
    let (playing, engine_worker) = (state.clone(), worker.to_owned());
    tokio::spawn(async move {
        let public_url = playing.public_url();
        loop {
            let busy = match playbooks::engine::tick(
                &playing.db,
                &engine_worker,
                Utc::now(),
                PLAYBOOK_STEPS_PER_PASS,
            )
            .await
            {
                Ok(pass) => pass.steps >= PLAYBOOK_STEPS_PER_PASS,
                Err(e) => {
                    tracing::warn!(error = %e, "running playbooks failed");
                    false
                }
            };
            let channels = notify::Channels {
                http: &playing.http,
                meter: &playing.meter,
                mailer: playing.mailer.as_deref(),
                public_url: &public_url,
            };
            if let Err(e) =
                playbooks::delivery::deliver_due(&playing.db, &channels, &engine_worker, Utc::now())
                    .await
            {
                tracing::warn!(error = %e, "delivering playbook messages failed");
            }
            if !busy {
                tokio::time::sleep(PLAYBOOK_POLL).await;
            }
        }
    });
    let (meter, db) = (state.meter.clone(), state.db.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = meter.flush(&db).await {
                tracing::warn!(error = %e, "flushing integration counters failed");
            }
        }
    });
    let scoring = state.clone();
    tokio::spawn(async move {
        loop {
            let started = std::time::Instant::now();
            if let Err(e) = pipeline::score_due(&scoring.db, &scoring.portfolio, Utc::now()).await {
                tracing::warn!(error = %e, "re-scoring customers failed");
            }
            tokio::time::sleep(pipeline::rest_after_run(started.elapsed())).await;
        }
    });
    let notifying = state.clone();
    tokio::spawn(async move {
        let public_url = notifying.public_url();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let channels = notify::Channels {
                http: &notifying.http,
                meter: &notifying.meter,
                mailer: notifying.mailer.as_deref(),
                public_url: &public_url,
            };
            if let Err(e) = notify::deliver_due(&notifying.db, &channels, Utc::now()).await {
                tracing::warn!(error = %e, "delivering alert notifications failed");
            }
        }
    });
}

/// Starts this server's background work — the only place it is started: the standing
/// loops (see `start_loops`), the recurring jobs queued each minute, and due jobs run
/// in [`SLOTS`] slots.
pub fn start(state: AppState) {
    let worker = worker_name();
    start_loops(&state, &worker);
    tracing::info!(%worker, "job runner started");
    let queuing = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(QUEUE_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = queue_periods(&queuing, Utc::now()).await {
                tracing::warn!(error = %e, "queuing the recurring jobs failed");
            }
        }
    });
    for _ in 0..SLOTS {
        let (state, worker) = (state.clone(), worker.clone());
        tokio::spawn(async move {
            loop {
                match run_next(&state, &worker, Utc::now()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => tokio::time::sleep(POLL).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "running jobs failed");
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        });
    }
}

/// Asks for the portfolio to be re-scored with the settings now saved (after a change to
/// the scorecard, the alert rules or the plans): queued unless one is waiting to start.
///
/// # Errors
/// Database errors.
pub async fn request_rescore(
    db: &impl sea_orm::ConnectionTrait,
    by: Option<&CurrentUser>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut new = NewJob::now(HEALTH_RESCORE, json!({ "reason": reason }), now);
    new.created_by = by.map(|u| u.id);
    jobs::enqueue_unless_waiting(db, new, now).await?;
    Ok(())
}

/// Asks for the churn model to be retrained now; `false` when a retraining is already
/// queued or running.
///
/// # Errors
/// Database errors.
pub async fn request_retrain(
    db: &impl sea_orm::ConnectionTrait,
    by: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut new = NewJob::now(CHURN_RETRAIN, json!({}), now);
    new.created_by = Some(by.id);
    Ok(jobs::enqueue_once(db, new, now).await?.1)
}

/// Whether a retraining asked for on the model page is queued or running.
///
/// # Errors
/// Database errors.
pub async fn retraining(db: &impl sea_orm::ConnectionTrait) -> Result<bool, DbErr> {
    jobs::pending(db, CHURN_RETRAIN).await
}

/// Where the latest portfolio re-score is, for the scorecard editor (`None`: there never
/// was one).
///
/// # Errors
/// Database errors.
pub async fn rescore_status(
    db: &impl sea_orm::ConnectionTrait,
) -> Result<Option<RescoreStatus>, AppError> {
    let Some(job) = jobs::latest(db, HEALTH_RESCORE).await? else {
        return Ok(None);
    };
    let at: RescoreCheckpoint = job
        .checkpoint
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    let version = if at.version > 0 {
        at.version
    } else {
        health::active_scorecard(db).await?.version
    };
    Ok(Some(RescoreStatus {
        version,
        done: at.done,
        total: at.total,
        finished: job.state == jobs::state::DONE || job.state == jobs::state::DEAD,
        failed: job.state == jobs::state::DEAD,
    }))
}

/// What a kind of job is called on the jobs page.
#[must_use]
pub fn label(kind: &str) -> &str {
    match kind {
        HEALTH_NIGHTLY => "Nightly health recompute",
        HEALTH_RESCORE => "Re-score after a settings change",
        CHURN_RETRAIN => "Retrain the churn model",
        CHURN_NIGHTLY => "Nightly churn retraining",
        HUBSPOT_SYNC => "HubSpot sync",
        SESSIONS_PURGE => "Purge expired sessions",
        RENEWAL_NOTICES => "Renewal notices and old product events",
        imports::JOB_KIND => "CSV import",
        other => other,
    }
}

fn dto(job: job::Model) -> JobDto {
    JobDto {
        id: job.id,
        label: label(&job.kind).to_owned(),
        kind: job.kind,
        period: job
            .period_key
            .and_then(|k| k.split_once('/').map(|(_, p)| p.to_owned())),
        state: job.state,
        run_at: job.run_at,
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        locked_by: job.locked_by,
        progress: job.progress,
        result: job.result.as_ref().map(summary),
        last_error: job.last_error,
        started_at: job.started_at,
        finished_at: job.finished_at,
    }
}

/// A job's result in words: `{"customers": 266, "scorecard_version": 1}` reads
/// "customers 266 · scorecard version 1".
fn summary(result: &Value) -> String {
    match result {
        Value::Object(fields) if !fields.is_empty() => fields
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => format!("{} items", items.len()),
                    other => other.to_string(),
                };
                format!("{} {value}", k.replace('_', " "))
            })
            .collect::<Vec<_>>()
            .join(" · "),
        Value::Object(_) | Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Jobs shown on the jobs page.
const SHOWN: u64 = 200;

/// The jobs page: counts per state and the latest jobs (dead and running first).
///
/// # Errors
/// Database errors.
pub async fn overview(state: &AppState) -> Result<JobsDto, AppError> {
    let db = &state.db;
    let counts = jobs::counts(db).await?;
    let in_state = |s: &str| counts.get(s).copied().unwrap_or(0);
    Ok(JobsDto {
        queued: in_state(jobs::state::QUEUED),
        running: in_state(jobs::state::RUNNING),
        dead: in_state(jobs::state::DEAD),
        done: in_state(jobs::state::DONE),
        jobs: jobs::recent(db, SHOWN)
            .await?
            .into_iter()
            .map(dto)
            .collect(),
        rescores_waiting: score_queue::waiting(db).await?,
        notifications_pending: notify::count_in(db, notify::PENDING).await?,
        notifications_failed: notify::count_in(db, notify::FAILED).await?,
    })
}

/// Gives the alert notifications that failed their last try a new round of tries
/// (audited). Returns how many.
///
/// # Errors
/// Database errors.
pub async fn retry_notifications(
    state: &AppState,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let txn = super::db::begin_write(&state.db).await?;
    let retried = notify::retry_failed(&txn, now).await?;
    super::audit::record(
        &txn,
        Some(user),
        "notifications.retry",
        "notification",
        None,
        json!({ "retried": retried }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(retried)
}

/// Queues dead job `id` again now (audited).
///
/// # Errors
/// `NotFound` for an unknown job, `Conflict` when it isn't dead; database errors.
pub async fn retry(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    now: DateTime<Utc>,
) -> Result<JobDto, AppError> {
    let txn = super::db::begin_write(&state.db).await?;
    match jobs::retry(&txn, id, now).await? {
        None => return Err(AppError::NotFound(format!("No job with id {id}."))),
        Some(false) => {
            return Err(AppError::Conflict(
                "Only a job that failed its last try can be retried; this one hasn't.".into(),
            ))
        }
        Some(true) => {}
    }
    super::audit::record(
        &txn,
        Some(user),
        "job.retry",
        "job",
        Some(id),
        json!({}),
        now,
    )
    .await?;
    let job = jobs::find(&txn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No job with id {id}.")))?;
    txn.commit().await?;
    Ok(dto(job))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_result_reads_as_words() {
        let r = json!({"customers": 266, "scorecard_version": 1, "skipped": ["a", "b"]});
        assert_eq!(
            summary(&r),
            "customers 266 · scorecard version 1 · skipped 2 items"
        );
        assert_eq!(summary(&json!({"skipped": "no token"})), "skipped no token");
        assert_eq!(summary(&json!({})), "—");
    }

    #[test]
    fn each_period_has_one_job_of_each_kind_due_at_its_time() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 14, 25, 0).unwrap();
        let got = periods(now, true);
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 5, h, m, 0).unwrap();
        assert_eq!(
            got,
            vec![
                Period {
                    kind: HEALTH_NIGHTLY,
                    period: "2026-12-05".into(),
                    run_at: at(0, 0)
                },
                Period {
                    kind: CHURN_NIGHTLY,
                    period: "2026-12-05".into(),
                    run_at: at(1, 0)
                },
                Period {
                    kind: SESSIONS_PURGE,
                    period: "2026-12-05T14".into(),
                    run_at: at(14, 0)
                },
                Period {
                    kind: RENEWAL_NOTICES,
                    period: "2026-12-05".into(),
                    run_at: at(0, 0)
                },
                Period {
                    kind: HUBSPOT_SYNC,
                    period: "2026-12-05T12".into(),
                    run_at: at(13, 0)
                },
            ]
        );
        // Without HubSpot, no sync is queued; a minute later, the same periods.
        let later = periods(now + Duration::minutes(1), false);
        assert_eq!(later, got[..4].to_vec());
        // The next day and hour are new periods.
        let tomorrow = periods(now + Duration::hours(10), false);
        assert_eq!(tomorrow[0].period, "2026-12-06");
        assert_eq!(tomorrow[2].period, "2026-12-06T00");
    }
}
