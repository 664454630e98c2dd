//! The job runner: what each kind of job does, the recurring jobs and when they fall
//! due, and the loops every server runs to take jobs up (see `jobs` for the claiming).
//! The top of the backend: it reaches the modules that do the work; none reaches it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sea_orm::DbErr;
use serde_json::{json, Value};

use super::entities::job;
use super::jobs::{self, NewJob};
use super::{churn, hubspot, pipeline, users, AppState};
use crate::dto::{JobDto, JobsDto};
use crate::error::AppError;

/// The full health recompute, once per UTC day.
pub const HEALTH_NIGHTLY: &str = "health.nightly";
/// Retraining the churn model on the day's history, once per UTC day.
pub const CHURN_NIGHTLY: &str = "churn.nightly";
/// Companies and contacts from HubSpot, every six hours when a token is configured.
pub const HUBSPOT_SYNC: &str = "hubspot.sync";
/// Ending expired sessions and forgetting old login attempts and finished jobs, hourly.
pub const SESSIONS_PURGE: &str = "sessions.purge";

/// Jobs one server runs at once: a long HubSpot sync doesn't hold up the nightly work.
const SLOTS: usize = 2;

/// How often an idle slot looks for a due job.
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// How often each server queues the periods' recurring jobs (each once, whoever is first).
const QUEUE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

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
/// (on the recomputed history), the purge at the start of each hour, and — when
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

/// Does `job`: its result, or what went wrong.
async fn perform(state: &AppState, job: &job::Model, now: DateTime<Utc>) -> Result<Value, String> {
    match job.kind.as_str() {
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
            Ok(json!({
                "status": outcome.status,
                "observations": outcome.observations,
                "churned": outcome.churned,
            }))
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
        SESSIONS_PURGE => {
            users::purge_expired(&state.db, now).await.map_err(failed)?;
            let jobs = jobs::purge_finished(&state.db, now - KEEP_FINISHED)
                .await
                .map_err(failed)?;
            Ok(json!({ "old_jobs_deleted": jobs }))
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
    let outcome = perform(state, &job, now).await;
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

/// Starts this server's runner: it queues the recurring jobs each minute and runs due
/// jobs in [`SLOTS`] slots.
pub fn start(state: AppState) {
    let worker = worker_name();
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

/// What a kind of job is called on the jobs page.
#[must_use]
pub fn label(kind: &str) -> &str {
    match kind {
        HEALTH_NIGHTLY => "Nightly health recompute",
        CHURN_NIGHTLY => "Nightly churn retraining",
        HUBSPOT_SYNC => "HubSpot sync",
        SESSIONS_PURGE => "Purge expired sessions",
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
    Ok(JobsDto {
        queued: jobs::count_in(db, jobs::state::QUEUED).await?,
        running: jobs::count_in(db, jobs::state::RUNNING).await?,
        dead: jobs::count_in(db, jobs::state::DEAD).await?,
        done: jobs::count_in(db, jobs::state::DONE).await?,
        jobs: jobs::recent(db, SHOWN)
            .await?
            .into_iter()
            .map(dto)
            .collect(),
    })
}

/// Queues dead job `id` again now (audited).
///
/// # Errors
/// `NotFound` for an unknown job, `Conflict` when it isn't dead; database errors.
pub async fn retry(
    state: &AppState,
    user: &crate::dto::CurrentUser,
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
                    kind: HUBSPOT_SYNC,
                    period: "2026-12-05T12".into(),
                    run_at: at(13, 0)
                },
            ]
        );
        // Without HubSpot, no sync is queued; a minute later, the same periods.
        let later = periods(now + Duration::minutes(1), false);
        assert_eq!(later, got[..3].to_vec());
        // The next day and hour are new periods.
        let tomorrow = periods(now + Duration::hours(10), false);
        assert_eq!(tomorrow[0].period, "2026-12-06");
        assert_eq!(tomorrow[2].period, "2026-12-06T00");
    }
}
