//! The token-authenticated REST API (`/api/v1/…`, `Authorization: Bearer vt_…` from
//! `vcsm token create`), and the OpenAPI document of every endpoint that other systems
//! call, served at `/api/openapi.json`.

use app::backend::rest::{
    self, CustomerFilter, RestBillingEvent, RestCalibrationBin, RestChurn, RestChurnModel,
    RestChurnSummary, RestContact, RestCustomer, RestCustomerInput, RestCustomerItem,
    RestCustomerPage, RestEvent, RestFactor, RestForwardDate, RestForwardTest, RestHealth,
    RestHealthGroup, RestHealthSummary, RestMeasure, RestPage, RestRanking, RestSubscription,
    RestTicket, MAX_LIMIT,
};
use app::backend::{tokens, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/v1/customers",
            get(customer_list).post(create_customer),
        )
        .route(
            "/api/v1/customers/{id}",
            get(customer_by_id).patch(update_customer),
        )
        .route(
            "/api/v1/customers/by-external-id/{external_id}",
            get(customer_by_external_id),
        )
        .route("/api/v1/customers/{id}/events", get(customer_events))
        .route("/api/v1/customers/{id}/tickets", get(customer_tickets))
        .route("/api/v1/customers/{id}/billing", get(customer_billing))
        .route("/api/v1/customers/{id}/health", get(customer_health))
        .route("/api/v1/customers/{id}/churn", get(customer_churn))
        .route("/api/v1/churn/model", get(churn_model))
}

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: String,
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut res = (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"vcsm\""),
        );
    }
    res
}

pub(crate) fn db_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "REST API read failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database could not be read; retry",
    )
}

/// Every role may read; the token must be live.
async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    token_role(state, headers).await.map(|_| ())
}

/// The live token's role.
pub(crate) async fn token_role(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<vcsm::auth::Role, Box<Response>> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match tokens::role_for_bearer(&state.db, header, chrono::Utc::now()).await {
        Ok(Some(role)) => Ok(role),
        Ok(None) => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "a valid API token is required: Authorization: Bearer vt_… (vcsm token create)",
        ))),
        Err(e) => Err(Box::new(db_error(e))),
    }
}

/// Paging of a customer's history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Only items with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u64>,
}

impl PageParams {
    fn limit(&self) -> Result<u64, Box<Response>> {
        match self.limit.unwrap_or(100) {
            n @ 1..=MAX_LIMIT => Ok(n),
            _ => Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "limit must be between 1 and 500",
            ))),
        }
    }
}

/// Paging and filters of the bulk customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only customers with an id above this (the previous page's `next_after`).
    pub after: Option<i64>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u64>,
    /// enterprise, mid_market, small_business or trial.
    pub tier: Option<String>,
    /// trial, onboarding, active, at_risk or churned.
    pub stage: Option<String>,
    /// The owner's e-mail address, or `none` for customers without an owner.
    pub owner: Option<String>,
    /// Churn risk: high, medium or low.
    pub risk: Option<String>,
    /// RFC 3339 time: only customers whose record, health or churn prediction changed at
    /// or after it (for incremental syncs).
    pub updated_since: Option<String>,
    /// Include archived customers (default false).
    pub include_archived: Option<bool>,
}

impl ListParams {
    /// The filter, or every problem with the parameters in one message.
    async fn filter(&self, state: &AppState) -> Result<CustomerFilter, Box<Response>> {
        use vcsm::churn::Risk;
        use vcsm::customers::{Stage, Tier};
        let mut problems = Vec::new();
        let mut filter = CustomerFilter {
            include_archived: self.include_archived.unwrap_or(false),
            ..CustomerFilter::default()
        };
        if let Some(t) = &self.tier {
            match Tier::parse(t) {
                Some(t) => filter.tier = Some(t),
                None => problems.push(format!("tier must be one of {}", Tier::choices())),
            }
        }
        if let Some(s) = &self.stage {
            match Stage::parse(s) {
                Some(s) => filter.stage = Some(s),
                None => problems.push(format!("stage must be one of {}", Stage::choices())),
            }
        }
        if let Some(r) = &self.risk {
            match Risk::parse(r.trim()) {
                Some(r) => filter.risk = Some(r),
                None => problems.push("risk must be one of high, medium, low".into()),
            }
        }
        if let Some(t) = &self.updated_since {
            match chrono::DateTime::parse_from_rfc3339(t.trim()) {
                Ok(t) => filter.updated_since = Some(t.with_timezone(&chrono::Utc)),
                Err(_) => problems.push(
                    "updated_since must be an RFC 3339 time such as 2026-12-01T00:00:00Z".into(),
                ),
            }
        }
        if let Some(o) = &self.owner {
            if o.trim().eq_ignore_ascii_case("none") {
                filter.owner = Some(None);
            } else {
                match rest::user_id_by_email(&state.db, o).await {
                    Ok(Some(id)) => filter.owner = Some(Some(id)),
                    Ok(None) => problems.push(format!("owner {o:?} is no user's e-mail address")),
                    Err(e) => return Err(Box::new(db_error(e))),
                }
            }
        }
        if problems.is_empty() {
            Ok(filter)
        } else {
            Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                problems.join("; "),
            )))
        }
    }
}

/// Every customer with its health and churn risk, in id order, a page at a time: follow
/// `next_after` until it is absent.
#[utoipa::path(get, path = "/api/v1/customers", tag = "REST API",
    params(ListParams),
    responses(
        (status = 200, description = "A page of customers", body = RestCustomerPage),
        (status = 400, description = "A bad filter or paging value (all of them named)", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    let paging = PageParams {
        before: None,
        limit: params.limit,
    };
    let limit = match paging.limit() {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let filter = match params.filter(&state).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match rest::customer_list(&state.db, &filter, params.after, limit).await {
        Ok(page) => Json(page).into_response(),
        Err(e) => db_error(e),
    }
}

/// A refused write: every field's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiValidationError {
    pub error: String,
    pub fields: Vec<ApiFieldError>,
}

/// One field's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFieldError {
    pub field: String,
    pub message: String,
}

fn invalid(errors: vcsm::ValidationErrors) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ApiValidationError {
            error: "the customer was not saved: fix the fields listed".into(),
            fields: errors
                .0
                .into_iter()
                .map(|e| ApiFieldError {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        }),
    )
        .into_response()
}

/// The token must belong to a role that may change customers (not executive).
async fn authorize_write(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let role = token_role(state, headers).await?;
    if role.can_edit_customers() {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "this token's role can read customers but not change them",
        )))
    }
}

/// The body of a write, or why it can't be read.
fn write_body(
    body: Result<Json<RestCustomerInput>, axum::extract::rejection::JsonRejection>,
) -> Result<RestCustomerInput, Box<Response>> {
    body.map(|Json(b)| b).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the body must be a JSON customer: {}", e.body_text()),
        ))
    })
}

/// The stored customer after a write, or the write's error.
async fn written(
    state: &AppState,
    result: Result<i64, app::error::AppError>,
    created: bool,
) -> Response {
    match result {
        Ok(id) => match rest::customer(&state.db, Some(id), None).await {
            Ok(Some(c)) => {
                let status = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                (status, Json(c)).into_response()
            }
            Ok(None) => error(StatusCode::NOT_FOUND, format!("no customer with id {id}")),
            Err(e) => db_error(e),
        },
        Err(app::error::AppError::Validation(v)) => invalid(v),
        Err(e) => app_error(&e),
    }
}

/// Creates a customer (a token of an admin, manager or CSM role). It is scored at once.
#[utoipa::path(post, path = "/api/v1/customers", tag = "REST API",
    request_body = RestCustomerInput,
    responses(
        (status = 201, description = "The customer as stored", body = RestCustomer),
        (status = 400, description = "The body is not a JSON customer", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token's role can't change customers", body = ApiError),
        (status = 422, description = "Every invalid field; nothing was saved", body = ApiValidationError)),
    security(("bearer" = [])))]
async fn create_customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<RestCustomerInput>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authorize_write(&state, &headers).await {
        return *r;
    }
    let body = match write_body(body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let base = vcsm::customers::CustomerInput {
        tier: "small_business".into(),
        stage: "active".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    let input = match body.apply(base) {
        Ok(i) => i,
        Err(v) => return invalid(v),
    };
    let result = app::backend::customers::create(&state.db, None, &input, chrono::Utc::now()).await;
    written(&state, result, true).await
}

/// Changes the fields a body names, and only those (a token of an admin, manager or CSM
/// role). The customer is re-scored at once.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id")),
    request_body = RestCustomerInput,
    responses(
        (status = 200, description = "The customer as stored", body = RestCustomer),
        (status = 400, description = "The body is not a JSON customer", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token's role can't change customers", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError),
        (status = 422, description = "Every invalid field; nothing was saved", body = ApiValidationError)),
    security(("bearer" = [])))]
async fn update_customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Result<Json<RestCustomerInput>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authorize_write(&state, &headers).await {
        return *r;
    }
    let body = match write_body(body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let base = match app::backend::customers::form_input(&state.db, id).await {
        Ok(b) => b,
        Err(e) => return app_error(&e),
    };
    let input = match body.apply(base) {
        Ok(i) => i,
        Err(v) => return invalid(v),
    };
    let now = chrono::Utc::now();
    let result = app::backend::customers::update(&state.db, None, id, &input, now)
        .await
        .map(|()| id);
    written(&state, result, false).await
}

fn found(customer: Result<Option<RestCustomer>, sea_orm::DbErr>, what: &str) -> Response {
    match customer {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no customer with {what}")),
        Err(e) => db_error(e),
    }
}

/// A customer by Virtual CSM's id.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id")),
    responses(
        (status = 200, description = "The customer, with contacts and subscriptions", body = RestCustomer),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_by_id(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    found(
        rest::customer(&state.db, Some(id), None).await,
        &format!("id {id}"),
    )
}

/// A customer by its external id (the id in your own systems, Segment's `groupId`).
#[utoipa::path(get, path = "/api/v1/customers/by-external-id/{external_id}", tag = "REST API",
    params(("external_id" = String, Path, description = "The customer's id in your systems")),
    responses(
        (status = 200, description = "The customer", body = RestCustomer),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_by_external_id(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(external_id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    found(
        rest::customer(&state.db, None, Some(&external_id)).await,
        &format!("external id {external_id:?}"),
    )
}

/// The checks every history endpoint makes: token, paging, the customer exists.
async fn history_guard(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
    params: &PageParams,
) -> Result<u64, Box<Response>> {
    authorize(state, headers).await?;
    let limit = params.limit()?;
    match rest::exists(&state.db, id).await {
        Ok(true) => Ok(limit),
        Ok(false) => Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format!("no customer with id {id}"),
        ))),
        Err(e) => Err(Box::new(db_error(e))),
    }
}

fn page_response<T: Serialize>(page: Result<RestPage<T>, sea_orm::DbErr>) -> Response {
    match page {
        Ok(p) => Json(p).into_response(),
        Err(e) => db_error(e),
    }
}

/// A customer's usage events, most recently received first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/events", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id"), PageParams),
    responses(
        (status = 200, description = "A page of events", body = RestPage<RestEvent>),
        (status = 400, description = "Bad paging", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Response {
    match history_guard(&state, &headers, id, &params).await {
        Ok(limit) => page_response(rest::events(&state.db, id, params.before, limit).await),
        Err(r) => *r,
    }
}

/// A customer's support tickets, newest first, with sentiment and cancellation intent.
#[utoipa::path(get, path = "/api/v1/customers/{id}/tickets", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id"), PageParams),
    responses(
        (status = 200, description = "A page of tickets", body = RestPage<RestTicket>),
        (status = 400, description = "Bad paging", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_tickets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Response {
    match history_guard(&state, &headers, id, &params).await {
        Ok(limit) => page_response(rest::tickets(&state.db, id, params.before, limit).await),
        Err(r) => *r,
    }
}

/// A customer's billing history (invoices, failed payments, refunds, subscription
/// changes), newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/billing", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id"), PageParams),
    responses(
        (status = 200, description = "A page of billing events", body = RestPage<RestBillingEvent>),
        (status = 400, description = "Bad paging", body = ApiError),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_billing(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Response {
    match history_guard(&state, &headers, id, &params).await {
        Ok(limit) => page_response(rest::billing(&state.db, id, params.before, limit).await),
        Err(r) => *r,
    }
}

fn app_error(e: &app::error::AppError) -> Response {
    match e {
        app::error::AppError::NotFound(m) => error(StatusCode::NOT_FOUND, m.clone()),
        other => db_error(other),
    }
}

/// A customer's current health score, with each measure's value, 0–100 score, share and
/// points (the points add up to the score).
#[utoipa::path(get, path = "/api/v1/customers/{id}/health", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id")),
    responses(
        (status = 200, description = "The current score and its breakdown", body = RestHealth),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer, or not scored yet", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_health(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    match rest::health(&state.db, id, chrono::Utc::now()).await {
        Ok(Some(h)) => Json(h).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("customer {id} has not been scored yet: scores follow new data within seconds"),
        ),
        Err(e) => app_error(&e),
    }
}

/// A customer's churn probability, risk and the factors behind it.
#[utoipa::path(get, path = "/api/v1/customers/{id}/churn", tag = "REST API",
    params(("id" = i64, Path, description = "Virtual CSM's customer id")),
    responses(
        (status = 200, description = "The prediction", body = RestChurn),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 404, description = "No such customer, or no prediction yet", body = ApiError)),
    security(("bearer" = [])))]
async fn customer_churn(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    match rest::churn(&state.db, id).await {
        Ok(Some(Some(c))) => Json(c).into_response(),
        Ok(Some(None)) => error(
            StatusCode::NOT_FOUND,
            format!("customer {id} has no churn prediction yet: it comes with its first score"),
        ),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no customer with id {id}")),
        Err(e) => app_error(&e),
    }
}

/// The churn model: status, training data, cross-validated AUC, top-decile lift, the
/// health score's own AUC, calibration and the backtest.
#[utoipa::path(get, path = "/api/v1/churn/model", tag = "REST API",
    responses(
        (status = 200, description = "The model and its metrics", body = RestChurnModel),
        (status = 401, description = "No valid token", body = ApiError)),
    security(("bearer" = [])))]
async fn churn_model(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers).await {
        return *r;
    }
    match rest::churn_model(&state.db).await {
        Ok(m) => Json(m).into_response(),
        Err(e) => app_error(&e),
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "write_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Virtual CSM", description = "Data in (Segment-compatible tracking, webhooks, tickets) and the REST API (customers read in bulk, created and changed; playbooks listed, exported, imported, and customers enrolled)."),
    paths(
        customer_list, create_customer, update_customer, customer_by_id, customer_by_external_id, customer_events, customer_tickets, customer_billing,
        customer_health, customer_churn, churn_model,
        crate::rest_playbooks::list, crate::rest_playbooks::export, crate::rest_playbooks::import,
        crate::rest_playbooks::enroll, crate::rest_playbooks::enroll_list, crate::rest_playbooks::playbook_enrollments, crate::rest_playbooks::enrollments,
        crate::openapi_docs::track, crate::openapi_docs::identify, crate::openapi_docs::group,
        crate::openapi_docs::page, crate::openapi_docs::batch, crate::openapi_docs::tickets,
        crate::openapi_docs::stripe, crate::openapi_docs::zendesk, crate::openapi_docs::intercom,
    ),
    components(schemas(RestContact, RestSubscription, RestMeasure, RestHealthGroup, RestFactor, RestCalibrationBin, RestCustomerItem, RestHealthSummary, RestChurnSummary, RestForwardTest, RestForwardDate, RestRanking, RestCustomerInput, ApiValidationError, ApiFieldError, crate::rest_playbooks::RestPlaybook, crate::rest_playbooks::RestPlaybookExport, crate::rest_playbooks::RestEnrollment, crate::rest_playbooks::EnrollRequest, crate::rest_playbooks::EnrollListRequest, crate::rest_playbooks::RestRefusal, crate::rest_playbooks::RestListEnrolled)),
    modifiers(&Security),
)]
pub struct ApiDoc;

async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
