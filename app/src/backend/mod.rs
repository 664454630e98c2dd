//! Server-only code: database entities, repositories, services, sessions and state.
//! Compiled only with the `ssr` feature, so none of it reaches the wasm bundle.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod churn;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod entities;
pub mod events;
pub mod expansion;
pub mod facts;
pub mod health;
pub mod hubspot;
pub mod imports;
pub mod ingest;
pub mod integrations;
pub mod jobs;
pub mod mail;
pub mod meter;
pub mod notify;
pub mod outbound;
pub mod pipeline;
pub mod playbooks;
pub mod refusals;
pub mod rest;
pub mod score_queue;
pub mod settings;
pub mod slack;
pub mod state;
pub mod support;
pub mod tasks;
pub mod timeline;
pub mod tokens;
pub mod upstream;
pub mod users;
pub mod webhooks;
pub mod worker;

pub use state::{AppState, Config};

#[cfg(test)]
mod layering_tests;
