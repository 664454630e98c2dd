//! What other systems send us, read into our types: Segment messages, Stripe events,
//! helpdesk tickets (Zendesk, Intercom, our own JSON) with the text signals in them,
//! HubSpot pages and CSV files, and the webhook signatures that vouch for them.
//!
//! Server-only (the `server` feature): the browser never parses these, so neither these
//! parsers nor their crates (`hmac`, `sha1`, `sha2`, the VADER lexicon, `csv`) are in its
//! bundle. Every parser is pure — the HTTP layer passes the raw body, the headers and the
//! time of receipt — and answers every problem it found by field path.

pub mod csv;
pub mod hubspot;
pub mod segment;
pub mod stripe;
pub mod tickets;
