//! The job runner: one claim per job however many servers ask, leases that lapse when a
//! server stops, retries with back-off until a job is dead, and the jobs page.

use crate::common::{spawn_admin, spawn_app};
use app::backend::entities::{audit_entry, job};
use app::backend::jobs::{self, NewJob};
use app::backend::worker;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

/// Runs `tasks` side by side on the runtime's threads; their outputs in order.
async fn all<T: Send + 'static>(
    tasks: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_is_claimed_once_however_many_servers_ask() {
    let app = spawn_app().await;
    let now = Utc::now();
    let queued = jobs::enqueue(
        &app.db,
        NewJob::now("probe.once", json!({"n": 1}), now),
        now,
    )
    .await
    .unwrap();
    assert_eq!(queued.state, "queued");
    // A job due later isn't claimed yet.
    let mut later = NewJob::now("probe.later", json!({}), now);
    later.run_at = now + Duration::hours(1);
    jobs::enqueue(&app.db, later, now).await.unwrap();

    let claims = (0..8).map(|i| {
        let db = app.db.clone();
        async move { jobs::claim(&db, &format!("server-{i}"), now).await.unwrap() }
    });
    let claimed: Vec<job::Model> = all(claims).await.into_iter().flatten().collect();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let job = &claimed[0];
    assert_eq!(
        (job.id, job.state.as_str(), job.attempts),
        (queued.id, "running", 1)
    );
    assert_eq!(job.payload, json!({"n": 1}));
    let holder = job.locked_by.clone().unwrap();
    assert!(job.locked_until.unwrap() > now);
    assert!(jobs::claim(&app.db, "another", now)
        .await
        .unwrap()
        .is_none());

    // Only its holder renews, reports and finishes it.
    assert!(!jobs::heartbeat(&app.db, job.id, "another", now)
        .await
        .unwrap());
    assert!(jobs::heartbeat(&app.db, job.id, &holder, now)
        .await
        .unwrap());
    assert!(
        !jobs::checkpoint(&app.db, job.id, "another", json!({"at": 1}), "x")
            .await
            .unwrap()
    );
    assert!(
        jobs::checkpoint(&app.db, job.id, &holder, json!({"at": 1}), "half way")
            .await
            .unwrap()
    );
    assert!(!jobs::complete(&app.db, job.id, "another", json!({}), now)
        .await
        .unwrap());
    assert!(
        jobs::complete(&app.db, job.id, &holder, json!({"ok": true}), now)
            .await
            .unwrap()
    );
    let done = jobs::find(&app.db, job.id).await.unwrap().unwrap();
    assert_eq!(done.state, "done");
    assert_eq!(done.result, Some(json!({"ok": true})));
    assert_eq!(done.progress.as_deref(), Some("half way"));
    assert_eq!(done.checkpoint, Some(json!({"at": 1})));
    assert!(done.locked_by.is_none() && done.finished_at.is_some());
    // Done is done: not claimed again; the later job comes due in its time.
    assert!(jobs::claim(&app.db, "another", now)
        .await
        .unwrap()
        .is_none());
    let due = jobs::claim(&app.db, "another", now + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(due.map(|j| j.kind), Some("probe.later".into()));
}

#[tokio::test]
async fn a_stopped_servers_job_is_taken_up_and_failures_back_off_until_dead() {
    let app = spawn_app().await;
    // Postgres keeps microseconds.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let mut new = NewJob::now("probe.fragile", json!({}), now);
    new.max_attempts = 2;
    let id = jobs::enqueue(&app.db, new, now).await.unwrap().id;

    // Server A claims it and stops (no heartbeat): within the lease nobody else may take
    // it; after it, another server does, and the job says why it ran again.
    let first = jobs::claim(&app.db, "server-a", now)
        .await
        .unwrap()
        .unwrap();
    let within = now + jobs::lease() - Duration::seconds(1);
    assert!(jobs::claim(&app.db, "server-b", within)
        .await
        .unwrap()
        .is_none());
    let after = now + jobs::lease() + Duration::seconds(1);
    let second = jobs::claim(&app.db, "server-b", after)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempts), (id, 2));
    assert_eq!(second.last_error.as_deref(), Some(jobs::ABANDONED));
    assert_eq!(
        second.started_at, first.started_at,
        "started when first claimed"
    );
    // A finishes late: its outcome doesn't count.
    assert!(!jobs::complete(&app.db, id, "server-a", json!({}), after)
        .await
        .unwrap());

    // B fails on the last try: dead, not tried again, until an admin retries it.
    assert!(
        jobs::fail(&app.db, &second, "server-b", "HubSpot said 401", after)
            .await
            .unwrap()
    );
    let dead = jobs::find(&app.db, id).await.unwrap().unwrap();
    assert_eq!(dead.state, "dead");
    assert_eq!(dead.last_error.as_deref(), Some("HubSpot said 401"));
    assert!(jobs::claim(&app.db, "server-c", after + Duration::days(1))
        .await
        .unwrap()
        .is_none());
    assert_eq!(jobs::retry(&app.db, id, after).await.unwrap(), Some(true));
    assert_eq!(jobs::retry(&app.db, id, after).await.unwrap(), Some(false));
    assert_eq!(jobs::retry(&app.db, 999_999, after).await.unwrap(), None);
    let again = jobs::claim(&app.db, "server-c", after)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));

    // A failure before the last try: queued again after the back-off.
    assert!(jobs::fail(&app.db, &again, "server-c", "timed out", after)
        .await
        .unwrap());
    let waiting = jobs::find(&app.db, id).await.unwrap().unwrap();
    assert_eq!(waiting.state, "queued");
    assert_eq!(waiting.run_at, after + jobs::backoff(1));
    assert!(jobs::claim(&app.db, "server-c", after)
        .await
        .unwrap()
        .is_none());
    let retried = jobs::claim(&app.db, "server-c", after + jobs::backoff(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.attempts, 2);

    // Abandoned on its last try: dead, with the reason.
    let gone = after + jobs::backoff(1) + jobs::lease() + Duration::seconds(1);
    assert!(jobs::claim(&app.db, "server-d", gone)
        .await
        .unwrap()
        .is_none());
    let dead = jobs::find(&app.db, id).await.unwrap().unwrap();
    assert_eq!(dead.state, "dead");
    assert!(dead.last_error.unwrap().contains("last try"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recurring_jobs_are_one_per_period_and_a_failed_run_is_retried() {
    let app = spawn_app().await;
    let now = Utc::now();
    // Three servers queue the same periods at once, and one again.
    let queue = |at| {
        let state = app.state.clone();
        async move { worker::queue_periods(&state, at).await.unwrap() }
    };
    all([queue(now), queue(now), queue(now)]).await;
    queue(now).await;
    let kinds: Vec<String> = job::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .collect();
    let mut unique = kinds.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(kinds.len(), worker::periods(now, false).len(), "{kinds:?}");
    assert_eq!(kinds.len(), unique.len(), "{kinds:?}");
    assert!(
        kinds.contains(&worker::HEALTH_NIGHTLY.to_string()),
        "{kinds:?}"
    );
    // No HubSpot token: no sync is queued.
    assert!(
        !kinds.contains(&worker::HUBSPOT_SYNC.to_string()),
        "{kinds:?}"
    );

    // The runner does what is due (a day later everything is), each once.
    let later = now + Duration::hours(2);
    let mut ran = Vec::new();
    while let Some((job, outcome)) = worker::run_next(&app.state, "test", later).await.unwrap() {
        assert!(outcome.is_ok(), "{}: {outcome:?}", job.kind);
        ran.push(job.kind);
    }
    ran.sort();
    assert_eq!(ran, unique);
    assert_eq!(
        jobs::counts(&app.db).await.unwrap()["done"],
        kinds.len() as u64
    );

    // A job of a kind no server knows fails, is retried later, and dies on its last try.
    let mut odd = NewJob::now("probe.unknown", json!({}), later);
    odd.max_attempts = 2;
    let id = jobs::enqueue(&app.db, odd, later).await.unwrap().id;
    let (_, outcome) = worker::run_next(&app.state, "test", later)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.unwrap_err().contains("probe.unknown"));
    assert!(worker::run_next(&app.state, "test", later)
        .await
        .unwrap()
        .is_none());
    let retry_at = later + jobs::backoff(1) + Duration::seconds(5);
    let (_, outcome) = worker::run_next(&app.state, "test", retry_at)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_err());
    assert_eq!(
        jobs::find(&app.db, id).await.unwrap().unwrap().state,
        "dead"
    );
}

#[tokio::test]
async fn admins_see_jobs_and_retry_a_dead_one() {
    let app = spawn_admin().await;
    let now = Utc::now();
    let mut new = NewJob::now("probe.broken", json!({}), now);
    new.max_attempts = 1;
    let id = jobs::enqueue(&app.db, new, now).await.unwrap().id;
    let (_, outcome) = worker::run_next(&app.state, "test", now)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_err());
    jobs::enqueue(&app.db, NewJob::now("probe.waiting", json!({}), now), now)
        .await
        .unwrap();

    let page: Value = app.post_form("list_jobs", &[]).await.json().await.unwrap();
    assert_eq!(
        (page["dead"].as_u64(), page["queued"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(page["jobs"][0]["id"], id, "dead jobs first: {page}");
    assert_eq!(page["jobs"][0]["state"], "dead");
    assert!(page["jobs"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("probe.broken"));

    let res = app.post_form("retry_job", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 200);
    let job: Value = res.json().await.unwrap();
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("job.retry"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(audited, 1);
    // Only a dead job can be retried; an unknown one is 404.
    let res = app.post_form("retry_job", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 409);
    let res = app.post_form("retry_job", &[("id", "999999")]).await;
    assert_eq!(res.status(), 404);
    let res = app.post_form("retry_job", &[("id", "not-a-number")]).await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // The page renders them.
    let (status, html) = app.get_page("/jobs").await;
    assert_eq!(status, 200);
    assert!(html.contains("probe.broken"), "unknown kinds show by name");
    assert!(html.contains("jobs-table"));
}

#[tokio::test]
async fn a_settings_change_queues_one_rescore_and_one_of_a_kind_runs_at_a_time() {
    let app = spawn_app().await;
    let now = Utc::now();
    let kinds = || async {
        job::Entity::find()
            .filter(job::Column::Kind.eq(worker::HEALTH_RESCORE))
            .count(&app.db)
            .await
            .unwrap()
    };
    // Saved twice before it starts: one re-score, which reads the newest settings.
    worker::request_rescore(&app.db, None, "scorecard", now)
        .await
        .unwrap();
    worker::request_rescore(&app.db, None, "plans", now)
        .await
        .unwrap();
    assert_eq!(kinds().await, 1);
    let first = jobs::claim(&app.db, "server-a", now)
        .await
        .unwrap()
        .unwrap();
    // Saved while it runs: it read the settings already, so one more is queued…
    worker::request_rescore(&app.db, None, "alert rules", now)
        .await
        .unwrap();
    assert_eq!(kinds().await, 2);
    // …which no server starts while the first runs.
    assert!(jobs::claim(&app.db, "server-b", now)
        .await
        .unwrap()
        .is_none());
    jobs::complete(&app.db, first.id, "server-a", json!({}), now)
        .await
        .unwrap();
    let second = jobs::claim(&app.db, "server-b", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.kind, worker::HEALTH_RESCORE);
    assert_ne!(second.id, first.id);

    // "Retrain now" twice: one retraining.
    let admin = app::dto::CurrentUser {
        id: 1,
        email: "root@example.com".into(),
        name: "root".into(),
        role: vcsm::auth::Role::Admin,
    };
    assert!(worker::request_retrain(&app.db, &admin, now).await.unwrap());
    assert!(!worker::request_retrain(&app.db, &admin, now).await.unwrap());
    assert!(worker::retraining(&app.db).await.unwrap());
}
