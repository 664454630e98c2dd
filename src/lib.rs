//! Virtual CSM domain core.
//!
//! Plain Rust types and rules with no I/O: validation of what users type, roles and
//! permissions, money, customer-list queries, scoring (health, churn, alerts, expansion)
//! the domain events and the playbook engine's rules. Everything here compiles for native and `wasm32`, takes the
//! time it needs as an argument (`today`, `now`) and is unit-tested beside its code.
//!
//! Behind the `server` feature, and never in the browser's bundle: what only a server
//! needs — the vendors' payload parsers and signatures (`sources`: Segment, Stripe,
//! Zendesk/Intercom tickets and their text analysis, HubSpot, CSV files) and the demo
//! generator. The UI reads what they produce through the types above.

// Amounts in cents are written dollars_cents (`100_000_00` is $100,000.00).
#![allow(clippy::inconsistent_digit_grouping)]

pub mod activity;
pub mod alerts;
pub mod auth;
pub mod churn;
pub mod customers;
#[cfg(feature = "server")]
pub mod demo;
pub mod events;
pub mod expansion;
pub mod health;
pub mod imports;
pub mod listing;
pub mod money;
pub mod playbooks;
pub mod portfolio;
#[cfg(feature = "server")]
pub mod sources;
pub mod tasks;
pub mod timefmt;
pub mod validation;

pub use validation::{FieldError, ValidationErrors};
