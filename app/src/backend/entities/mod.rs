//! SeaORM entities: one module per table, mechanical; behaviour lives in repositories.

pub mod api_token;
pub mod audit_entry;
pub mod billing_event;
pub mod churn_model;
pub mod churn_prediction;
pub mod contact;
pub mod customer;
pub mod customer_identity;
pub mod health_score;
pub mod integration_error;
pub mod integration_setting;
pub mod integration_stat;
pub mod login_attempt;
pub mod note;
pub mod quarantined_event;
pub mod scheduled_run;
pub mod score_request;
pub mod scorecard;
pub mod session;
pub mod source;
pub mod subscription;
pub mod support_ticket;
pub mod usage_event;
pub mod user;
pub mod webhook_event;
