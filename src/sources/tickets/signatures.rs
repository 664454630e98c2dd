//! Webhook signatures: Zendesk (HMAC-SHA256 over timestamp and body) and Intercom (HMAC-SHA1).

use super::*;

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

/// Why a webhook's signature was refused. The endpoint answers 401 for all of them; the
/// variant is for our logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No signing secret is configured. Refused rather than checked against an empty key,
    /// which anyone could sign with.
    NoSecret,
    /// The signature header is missing, empty or not in the expected encoding.
    MalformedSignature,
    /// The timestamp header is not an ISO-8601 date-time.
    MalformedTimestamp,
    /// The timestamp is further from our clock than the tolerance: a replay, or a clock
    /// that is badly off. `skew_secs` is now − timestamp.
    Stale { skew_secs: i64 },
    /// Well-formed, but not made with this secret over this body.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::NoSecret => write!(f, "no webhook signing secret is configured"),
            SignatureError::MalformedSignature => write!(f, "the signature header is malformed"),
            SignatureError::MalformedTimestamp => {
                write!(f, "the signature timestamp is not an ISO-8601 date-time")
            }
            SignatureError::Stale { skew_secs } => write!(
                f,
                "the signature timestamp is {}s from our clock (outside the tolerance)",
                skew_secs
            ),
            SignatureError::Mismatch => write!(f, "the signature does not match the body"),
        }
    }
}

impl std::error::Error for SignatureError {}

fn zendesk_mac(body: &[u8], secret: &str, timestamp: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

fn intercom_mac(body: &[u8], secret: &str) -> HmacSha1 {
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac
}

/// The `X-Zendesk-Webhook-Signature` value for `body` sent at `timestamp` (the exact
/// `X-Zendesk-Webhook-Signature-Timestamp` value): base64 of HMAC-SHA256 over
/// `timestamp + body`, keyed with the webhook's signing secret.
pub fn sign_zendesk(body: &[u8], secret: &str, timestamp: &str) -> String {
    BASE64.encode(zendesk_mac(body, secret, timestamp).finalize().into_bytes())
}

/// Checks a Zendesk webhook: the signature must be ours over `timestamp + body`, and the
/// timestamp within `tolerance_secs` of `now` either way, so a captured request can't be
/// replayed later. The comparison is constant-time.
///
/// # Errors
/// Why the request is refused.
pub fn verify_zendesk(
    signature_b64: &str,
    timestamp: &str,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let signature = BASE64
        .decode(signature_b64.trim())
        .map_err(|_| SignatureError::MalformedSignature)?;
    if signature.len() != 32 {
        return Err(SignatureError::MalformedSignature);
    }
    let timestamp = timestamp.trim();
    let sent_at = parse_instant(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
    let skew_secs = now.signed_duration_since(sent_at).num_seconds();
    if skew_secs.abs() > tolerance_secs.max(0) {
        return Err(SignatureError::Stale { skew_secs });
    }
    zendesk_mac(body, secret, timestamp)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature` value Intercom sends for `body`: `sha1=` and the hex HMAC-SHA1 of
/// the raw body, keyed with the app's client secret.
pub fn sign_intercom(body: &[u8], secret: &str) -> String {
    format!(
        "sha1={}",
        hex::encode(intercom_mac(body, secret).finalize().into_bytes())
    )
}

/// Checks an Intercom webhook's `X-Hub-Signature` header against the raw body. Intercom
/// sends no timestamp, so there is no replay window to check; ticket updates are
/// idempotent upserts, which makes a replay harmless. The comparison is constant-time.
///
/// # Errors
/// Why the request is refused.
pub fn verify_intercom(header: &str, body: &[u8], secret: &str) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.trim();
    let digest = match header.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha1=") => &header[5..],
        _ => return Err(SignatureError::MalformedSignature),
    };
    let signature = hex::decode(digest).map_err(|_| SignatureError::MalformedSignature)?;
    if signature.len() != 20 {
        return Err(SignatureError::MalformedSignature);
    }
    intercom_mac(body, secret)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}
