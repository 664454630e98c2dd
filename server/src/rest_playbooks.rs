//! Playbooks through the REST API: list them, export one as JSON, import one (a new
//! playbook, turned off, or the next version of an existing one; every problem answered
//! with its JSON path, nothing saved), enroll a customer by hand, and read a customer's
//! enrollments. Reading needs any live token; importing and enrolling need an admin's or
//! a manager's.

use app::backend::entities::{enrollment, playbook};
use app::backend::playbooks::{self, Enrolled};
use app::backend::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::rest::{db_error, error, token_role, ApiError, ApiFieldError, ApiValidationError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/playbooks", get(list))
        .route("/api/v1/playbooks/{key}", get(export).put(import))
        .route(
            "/api/v1/playbooks/{key}/enrollments",
            get(playbook_enrollments).post(enroll),
        )
        .route(
            "/api/v1/playbooks/{key}/enrollments/list",
            post(enroll_list),
        )
        .route("/api/v1/customers/{id}/enrollments", get(enrollments))
}

/// A playbook in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestPlaybook {
    pub key: String,
    pub name: String,
    /// on, off or paused.
    pub status: String,
    /// The trigger's type (`health_level_changed`, `schedule`…).
    pub trigger: String,
    /// The version new enrollments start on.
    pub version: Option<i32>,
    pub updated_at: String,
}

/// A playbook with its current definition: what `PUT` takes back.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestPlaybookExport {
    pub key: String,
    pub status: String,
    pub version: i32,
    /// The definition (see the README's playbook section for every field).
    #[schema(value_type = Object)]
    pub definition: Value,
}

/// One customer's run through a playbook.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestEnrollment {
    pub id: i64,
    pub playbook: String,
    pub playbook_name: String,
    /// active, waiting, paused, completed, exited, holdout, cancelled or failed.
    pub status: String,
    /// The step it runs next, and when.
    pub step: Option<String>,
    pub due_at: Option<String>,
    /// The event it waits for, if it does.
    pub waiting_for: Option<String>,
    pub entered_at: String,
    pub finished_at: Option<String>,
    /// How it ended: `{"reason": "exited", "reading": {"test": …, "value": …}}`.
    #[schema(value_type = Object)]
    pub finish: Option<Value>,
    /// open, met, missed or none.
    pub goal: String,
    pub last_error: Option<String>,
}

/// Who to enroll.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollRequest {
    pub customer_id: i64,
}

/// Whom to enroll together.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollListRequest {
    /// Virtual CSM's customer ids (at most 5,000; repeats count once).
    pub customer_ids: Vec<i64>,
}

/// A customer that may not enter now, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestRefusal {
    pub customer_id: i64,
    pub reason: String,
}

/// What enrolling a list came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestListEnrolled {
    pub enrolled: Vec<RestEnrollment>,
    pub refused: Vec<RestRefusal>,
}

fn rest_playbook(pb: &playbook::Model, version: Option<i32>) -> RestPlaybook {
    RestPlaybook {
        key: pb.key.clone(),
        name: pb.name.clone(),
        status: pb.status.clone(),
        trigger: pb.trigger_type.clone(),
        version,
        updated_at: pb.updated_at.to_rfc3339(),
    }
}

fn rest_enrollment(e: enrollment::Model, pb: &playbook::Model) -> RestEnrollment {
    RestEnrollment {
        id: e.id,
        playbook: pb.key.clone(),
        playbook_name: pb.name.clone(),
        status: e.status,
        step: e.step,
        due_at: e.due_at.map(|t| t.to_rfc3339()),
        waiting_for: e.wait_event,
        entered_at: e.entered_at.to_rfc3339(),
        finished_at: e.finished_at.map(|t| t.to_rfc3339()),
        finish: e.finish,
        goal: e.goal,
        last_error: e.last_error,
    }
}

/// The playbook named by the path, or a 404 that says so.
async fn playbook_by_key(state: &AppState, key: &str) -> Result<playbook::Model, Box<Response>> {
    match playbooks::by_key(&state.db, key).await {
        Ok(Some(pb)) => Ok(pb),
        Ok(None) => Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format!("no playbook “{key}”"),
        ))),
        Err(e) => Err(Box::new(db_error(e))),
    }
}

async fn may_manage(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let role = token_role(state, headers).await?;
    if role.can_manage_playbooks() {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "this token's role can read playbooks but not change them (admins and managers can)",
        )))
    }
}

/// Every playbook.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "Playbooks",
    responses(
        (status = 200, description = "The playbooks, by key", body = [RestPlaybook]),
        (status = 401, description = "No valid token", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = token_role(&state, &headers).await {
        return *r;
    }
    let all = match playbook::Entity::find().all(&state.db).await {
        Ok(all) => all,
        Err(e) => return db_error(e),
    };
    let mut out = Vec::with_capacity(all.len());
    for pb in all {
        let version = match playbooks::current(&state.db, &pb).await {
            Ok(v) => v.map(|(v, _)| v.version),
            Err(e) => return db_error(e),
        };
        out.push(rest_playbook(&pb, version));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Json(out).into_response()
}

/// A playbook's current definition, as JSON to edit and `PUT` back.
#[utoipa::path(get, path = "/api/v1/playbooks/{key}", tag = "Playbooks",
    params(("key" = String, Path, description = "The playbook's key")),
    responses(
        (status = 200, description = "The playbook and its definition", body = RestPlaybookExport),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such playbook", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = token_role(&state, &headers).await {
        return *r;
    }
    let pb = match playbook_by_key(&state, &key).await {
        Ok(pb) => pb,
        Err(r) => return *r,
    };
    match playbooks::current(&state.db, &pb).await {
        Ok(Some((v, _))) => Json(RestPlaybookExport {
            key: pb.key,
            status: pb.status,
            version: v.version,
            definition: v.definition,
        })
        .into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("playbook “{key}” has no version"),
        ),
        Err(e) => db_error(e),
    }
}

/// Imports a definition under a key: a new playbook (turned off until someone turns it
/// on) or the next version of an existing one (running enrollments stay on theirs).
#[utoipa::path(put, path = "/api/v1/playbooks/{key}", tag = "Playbooks",
    params(("key" = String, Path, description = "The playbook's key: lowercase letters, digits, - and _")),
    request_body(content = Object, description = "A playbook definition", content_type = "application/json"),
    responses(
        (status = 201, description = "A new playbook, turned off", body = RestPlaybook),
        (status = 200, description = "The next version of an existing playbook", body = RestPlaybook),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token's role can't change playbooks", body = ApiError),
        (status = 422, description = "Every problem, by JSON path; nothing was saved", body = ApiValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: String,
) -> Response {
    if let Err(r) = may_manage(&state, &headers).await {
        return *r;
    }
    let refuse = |fields: Vec<ApiFieldError>| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ApiValidationError {
                error: "the playbook was not saved: fix the problems listed".into(),
                fields,
            }),
        )
            .into_response()
    };
    if !playbooks::valid_key(&key) {
        return refuse(vec![ApiFieldError {
            field: "key".into(),
            message: format!(
                "use 1 to {} lowercase letters, digits, - or _",
                playbooks::MAX_KEY
            ),
        }]);
    }
    let catalog = match playbooks::catalog(&state.db).await {
        Ok(c) => c,
        Err(e) => return db_error(e),
    };
    let def = match vcsm::playbooks::validate::parse(&body, &catalog) {
        Ok(def) => def,
        Err(problems) => {
            return refuse(
                problems
                    .0
                    .into_iter()
                    .map(|p| ApiFieldError {
                        field: p.field,
                        message: p.message,
                    })
                    .collect(),
            )
        }
    };
    let now = chrono::Utc::now();
    let txn = match app::backend::db::begin_write(&state.db).await {
        Ok(t) => t,
        Err(e) => return db_error(e),
    };
    let stored = playbooks::import(&txn, &key, &def, None, now).await;
    let (pb, v, created) = match stored {
        Ok(s) => s,
        Err(e) => return db_error(e),
    };
    if let Err(e) = app::backend::audit::record(
        &txn,
        None,
        if created {
            "playbook.created"
        } else {
            "playbook.published"
        },
        "playbook",
        Some(pb.id),
        serde_json::json!({ "key": key, "version": v.version, "via": "REST API" }),
        now,
    )
    .await
    {
        return db_error(e);
    }
    if let Err(e) = sea_orm::TransactionSession::commit(txn).await {
        return db_error(e);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(rest_playbook(&pb, Some(v.version)))).into_response()
}

/// Enrolls a customer by hand. The playbook's re-entry rule and entry conditions apply:
/// a customer that may not enter is answered 409 with the reason.
#[utoipa::path(post, path = "/api/v1/playbooks/{key}/enrollments", tag = "Playbooks",
    params(("key" = String, Path, description = "The playbook's key")),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = RestEnrollment),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token's role can't enroll", body = ApiError),
        (status = 404, description = "No such playbook or customer", body = ApiError),
        (status = 409, description = "The customer may not enter now, and why", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Result<Json<EnrollRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = may_manage(&state, &headers).await {
        return *r;
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"customer_id\": …}}: {}", e.body_text()),
            )
        }
    };
    let pb = match playbook_by_key(&state, &key).await {
        Ok(pb) => pb,
        Err(r) => return *r,
    };
    let now = chrono::Utc::now();
    match playbooks::enroll_by_hand(&state.db, &pb, req.customer_id, None, now).await {
        Ok(Enrolled::Yes(e)) => {
            (StatusCode::CREATED, Json(rest_enrollment(*e, &pb))).into_response()
        }
        Ok(Enrolled::No(refusal)) => error(
            StatusCode::CONFLICT,
            format!(
                "customer {} may not enter “{key}”: {}",
                req.customer_id,
                refusal.text()
            ),
        ),
        Err(sea_orm::DbErr::RecordNotFound(what)) => {
            error(StatusCode::NOT_FOUND, format!("no {what}"))
        }
        Err(e) => db_error(e),
    }
}

/// Enrolls a list of customers by hand, each by the playbook's re-entry rule and entry
/// conditions: those that may not enter now are listed with the reason, the rest are
/// enrolled. An unknown or archived id refuses the whole list (404, naming them), and
/// nothing is enrolled.
#[utoipa::path(post, path = "/api/v1/playbooks/{key}/enrollments/list", tag = "Playbooks",
    params(("key" = String, Path, description = "The playbook's key")),
    request_body = EnrollListRequest,
    responses(
        (status = 200, description = "Who was enrolled, and who may not enter and why", body = RestListEnrolled),
        (status = 400, description = "Not a list of ids, an empty one, or more than 5,000", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token's role can't enroll", body = ApiError),
        (status = 404, description = "No such playbook, or customers that don't exist (named)", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn enroll_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Result<Json<EnrollListRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = may_manage(&state, &headers).await {
        return *r;
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body must be {{\"customer_ids\": [1, 2, …]}}: {}",
                    e.body_text()
                ),
            )
        }
    };
    if req.customer_ids.is_empty() || req.customer_ids.len() > playbooks::MAX_LIST {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "customer_ids must hold 1 to {} ids; it holds {}",
                playbooks::MAX_LIST,
                req.customer_ids.len()
            ),
        );
    }
    let pb = match playbook_by_key(&state, &key).await {
        Ok(pb) => pb,
        Err(r) => return *r,
    };
    let now = chrono::Utc::now();
    let done = async {
        let txn = app::backend::db::begin_write(&state.db).await?;
        let out = playbooks::enroll_list(&txn, &pb, &req.customer_ids, None, now).await?;
        sea_orm::TransactionSession::commit(txn).await?;
        Ok::<_, sea_orm::DbErr>(out)
    }
    .await;
    match done {
        Ok(out) => Json(RestListEnrolled {
            enrolled: out
                .enrolled
                .into_iter()
                .map(|e| rest_enrollment(e, &pb))
                .collect(),
            refused: out
                .refused
                .into_iter()
                .map(|(customer_id, r)| RestRefusal {
                    customer_id,
                    reason: r.text(),
                })
                .collect(),
        })
        .into_response(),
        Err(sea_orm::DbErr::RecordNotFound(what)) => error(
            StatusCode::NOT_FOUND,
            format!("no {what}; nobody was enrolled"),
        ),
        Err(e) => db_error(e),
    }
}

/// A playbook's newest enrollments (at most 500), newest first.
#[utoipa::path(get, path = "/api/v1/playbooks/{key}/enrollments", tag = "Playbooks",
    params(("key" = String, Path, description = "The playbook's key")),
    responses(
        (status = 200, description = "The newest enrollments", body = [RestEnrollment]),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such playbook", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn playbook_enrollments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = token_role(&state, &headers).await {
        return *r;
    }
    let pb = match playbook_by_key(&state, &key).await {
        Ok(pb) => pb,
        Err(r) => return *r,
    };
    match playbooks::enrollments_in(&state.db, pb.id, 500).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|e| rest_enrollment(e, &pb))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => db_error(e),
    }
}

/// A customer's enrollments, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/enrollments", tag = "Playbooks",
    params(("id" = i64, Path, description = "Virtual CSM's customer id")),
    responses(
        (status = 200, description = "Every enrollment of the customer", body = [RestEnrollment]),
        (status = 401, description = "No valid token", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn enrollments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = token_role(&state, &headers).await {
        return *r;
    }
    match playbooks::enrollments_of(&state.db, id).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|(e, pb)| rest_enrollment(e, &pb))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => db_error(e),
    }
}
