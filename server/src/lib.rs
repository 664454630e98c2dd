//! The `vcsm` server: command line and HTTP wiring, as a library so integration tests
//! run the exact router the binary serves.

pub mod cli;
pub mod guard;
pub mod http;
pub mod ingest;
pub mod openapi_docs;
pub mod rest;
pub mod rest_playbooks;
pub mod unsubscribe;
pub mod webhooks;
