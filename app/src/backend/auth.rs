//! Passwords (argon2id), session tokens and the session cookie.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "vcsm_session";

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> String {
    let mut salt_bytes = [0_u8; 16];
    getrandom::getrandom(&mut salt_bytes).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Whether `password` matches the stored PHC `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a password nobody has, checked when the e-mail is unknown so that a wrong
/// address takes as long to refuse as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no user has this password"))
}

/// 256 random bits, hex: the secret the browser holds.
pub fn new_session_token() -> String {
    let mut bytes = [0_u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    hex::encode(bytes)
}

/// What the database stores for a token: its SHA-256, so a leaked row is not a cookie.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, secure: bool, max_age_seconds: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")
}

/// `Set-Cookie` value that ends a session.
pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", secure, 0)
}

/// The session token from the request's `Cookie` headers, if it looks like one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether the request reached us over TLS (directly or through a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_when_equal() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_and_cookies() {
        let t = new_session_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_session_token());
        assert_ne!(token_hash(&t), t);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("a=b; {SESSION_COOKIE}={t}; c=d").parse().unwrap(),
        );
        assert_eq!(session_token(&headers), Some(t.clone()));
        headers.insert(
            http::header::COOKIE,
            format!("{SESSION_COOKIE}=../etc").parse().unwrap(),
        );
        assert_eq!(session_token(&headers), None);
        assert!(session_cookie(&t, true, 10).contains("; Secure"));
        assert!(session_cookie(&t, false, 10).contains("HttpOnly; SameSite=Lax"));
        assert!(clear_session_cookie(false).contains("Max-Age=0"));
    }
}
