//! Server-only code: database entities, repositories, services, sessions and state.
//! Compiled only with the `ssr` feature, so none of it reaches the wasm bundle.

pub mod audit;
pub mod auth;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod entities;
pub mod ingest;
pub mod state;
pub mod users;

pub use state::{AppState, Config};
