//! Stripe webhooks: signature verification, event parsing, MRR normalisation, account
//! mapping hints and payment health. Pure: the HTTP layer passes the raw body, the
//! `Stripe-Signature` header, the endpoint secret(s) and the time the request arrived.
//!
//! Shapes follow Stripe's documented objects and keep working across API versions: the
//! 2025-03-31 ("basil") release moved `current_period_*` from the subscription to its
//! items and `invoice.subscription` to `invoice.parent.subscription_details`; the
//! 2025-09-30 ("clover") release moved `discount.coupon` to `discount.source.coupon`.
//! Both the old and the new places are read, so an endpoint can be upgraded without a
//! deploy here.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

/// One problem with an event: where (`data.object.items.data[0].price`) and why.
pub use crate::sources::segment::Problem;

type HmacSha256 = Hmac<Sha256>;

mod account;
mod mrr;
mod objects;
mod parse;
mod signature;

pub use account::*;
pub use objects::*;
pub use parse::*;
pub use signature::*;

#[cfg(test)]
mod tests;
