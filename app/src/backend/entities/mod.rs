//! SeaORM entities: one module per table, mechanical; behaviour lives in repositories.

pub mod audit_entry;
pub mod billing_event;
pub mod contact;
pub mod customer;
pub mod customer_identity;
pub mod login_attempt;
pub mod note;
pub mod quarantined_event;
pub mod session;
pub mod source;
pub mod subscription;
pub mod support_ticket;
pub mod usage_event;
pub mod user;
