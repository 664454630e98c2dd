//! Virtual CSM domain core.
//!
//! Plain Rust types and rules with no I/O: validation of what users type, roles and
//! permissions, money, customer-list queries, CSV parsing and the deterministic demo
//! portfolio. Everything here compiles for native and `wasm32`, takes the time it needs
//! as an argument (`today`, `now`) and is unit-tested beside its code.

// Amounts in cents are written dollars_cents (`100_000_00` is $100,000.00).
#![allow(clippy::inconsistent_digit_grouping)]

pub mod alerts;
pub mod auth;
pub mod churn;
pub mod csv_import;
pub mod customer;
pub mod demo;
pub mod events;
pub mod expansion;
pub mod health;
pub mod hubspot;
pub mod listing;
pub mod money;
pub mod portfolio;
pub mod segment;
pub mod stripe;
pub mod tickets;
pub mod timefmt;
pub mod validation;

pub use validation::{FieldError, ValidationErrors};
