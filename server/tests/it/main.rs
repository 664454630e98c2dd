//! The integration suite, one test binary (each file was its own, and each linked the whole
//! app): every test gets a fresh database — SQLite, or Postgres when `VCSM_TEST_POSTGRES`
//! is set — and the real router on a real port (see `common`). Run one area with
//! `cargo test -p server --test it health::`.

mod common;

mod alerts;
mod auth;
mod authorization;
mod billing;
mod bulk;
mod churn;
mod cluster;
mod customers;
mod demo;
mod durability;
mod email_rules;
mod escaping;
mod events;
mod expansion;
mod health;
mod hubspot;
mod imports;
mod ingest;
mod jobs;
mod mail_faults;
mod playbooks;
mod rest;
mod support;
mod tasks;
mod trust;
