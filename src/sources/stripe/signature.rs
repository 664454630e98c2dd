//! `Stripe-Signature`: signing and verification with a tolerance and several secrets.

use super::*;

/// Stripe's default tolerance between the signed timestamp and our clock, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a `Stripe-Signature` header was refused. The messages never echo the header or
/// the payload back: they end up in logs and responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureError {
    /// The header is absent or blank.
    MissingHeader,
    /// The header is not `t=<unix seconds>,v1=<hex>,...`; the reason says what is wrong.
    MalformedHeader(String),
    /// The header has a timestamp but no `v1` (HMAC-SHA256) signature.
    NoV1Signature,
    /// The signature is valid but its timestamp is too far from our clock.
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: i64,
    },
    /// No `v1` signature matches the payload under any of the secrets.
    NoMatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::MissingHeader => f.write_str("the Stripe-Signature header is missing"),
            SignatureError::MalformedHeader(why) => {
                write!(f, "the Stripe-Signature header is malformed: {why}")
            }
            SignatureError::NoV1Signature => {
                f.write_str("the Stripe-Signature header has no v1 signature")
            }
            SignatureError::TimestampOutsideTolerance {
                timestamp,
                now,
                tolerance_secs,
            } => write!(
                f,
                "the signature timestamp {timestamp} is more than {tolerance_secs} s away from now ({now})"
            ),
            SignatureError::NoMatch => {
                f.write_str("no signature matches the payload for this endpoint's secret")
            }
        }
    }
}

impl std::error::Error for SignatureError {}

/// The MAC Stripe computes: HMAC-SHA256 keyed with the whole endpoint secret (`whsec_...`
/// as-is, not base64-decoded) over `"{t}.{raw body}"`. `None` only if the HMAC
/// implementation refused the key, which it never does (HMAC takes keys of any length).
fn signer(secret: &str, timestamp: i64, payload: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

/// A `Stripe-Signature` header value for `payload`, as Stripe would send it:
/// `t={timestamp},v1={hex HMAC}`. For tests and test suites that post signed events.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let v1 = signer(secret, timestamp, payload)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={v1}")
}

/// The parts of a header that matter: the timestamp and the decoded `v1` signatures.
struct ParsedHeader {
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<ParsedHeader, SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    let malformed = |why: &str| SignatureError::MalformedHeader(why.to_string());
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut saw_v1 = false;
    for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((scheme, value)) = part.split_once('=') else {
            return Err(malformed("an entry is not scheme=value"));
        };
        match scheme.trim() {
            "t" => {
                // Two timestamps would make it ambiguous which one was signed.
                if timestamp.is_some() {
                    return Err(malformed("more than one timestamp (t=)"));
                }
                let t = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| malformed("the timestamp (t=) is not a whole number"))?;
                timestamp = Some(t);
            }
            "v1" => {
                saw_v1 = true;
                // A value that is not hex cannot match; another v1 entry still may.
                if let Ok(bytes) = hex::decode(value.trim()) {
                    v1.push(bytes);
                }
            }
            // v0 is Stripe's test-mode-only legacy scheme; unknown schemes are future
            // additions. Neither is trusted.
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(malformed("no timestamp (t=)"));
    };
    if !saw_v1 {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedHeader { timestamp, v1 })
}

/// Verifies a `Stripe-Signature` header the way Stripe documents it: any one `v1` entry
/// that equals HMAC-SHA256(secret, `"{t}.{payload}"`) for any of `secrets` is enough
/// (several `v1` entries appear while Stripe rolls a secret; several `secrets` let us roll
/// ours with an overlap). Comparison is constant-time. Blank secrets are skipped: an empty
/// HMAC key would let anyone forge events.
///
/// The timestamp must be within `tolerance_secs` of `now` in *both* directions. Stripe's
/// libraries only refuse old timestamps; we also refuse future ones because a
/// far-future `t` would keep a captured request replayable until that time, and honest
/// clock skew is far smaller than the default 300 s.
///
/// # Errors
/// Why the header was refused; see [`SignatureError`].
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header)?;
    let matched = secrets
        .iter()
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| signer(s, parsed.timestamp, payload))
        .any(|mac| {
            parsed
                .v1
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
        });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let tolerance = u64::try_from(tolerance_secs).unwrap_or(0);
    if now.timestamp().abs_diff(parsed.timestamp) > tolerance {
        return Err(SignatureError::TimestampOutsideTolerance {
            timestamp: parsed.timestamp,
            now: now.timestamp(),
            tolerance_secs: tolerance_secs.max(0),
        });
    }
    Ok(())
}
