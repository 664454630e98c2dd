//! One-click unsubscribe links (RFC 8058): `<contact id>.<hex HMAC-SHA256>` signed with
//! the installation's secret, so a link works without signing in, can't be made for
//! another contact, and needs nothing stored per message. Server-only (`hmac`, `sha2`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, contact_id: i64) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    m.update(format!("unsubscribe:{contact_id}").as_bytes());
    m
}

/// The token of a contact's link.
pub fn token(secret: &str, contact_id: i64) -> String {
    format!(
        "{contact_id}.{}",
        hex::encode(mac(secret, contact_id).finalize().into_bytes())
    )
}

/// The contact a token was made for, if it was made with `secret` (compared in constant
/// time); none for anything else.
pub fn verify(secret: &str, token: &str) -> Option<i64> {
    let (id, sig) = token.trim().split_once('.')?;
    let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
    let sig = hex::decode(sig).ok()?;
    mac(secret, id).verify_slice(&sig).ok()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_contact_and_nothing_else() {
        let t = token("s3cret", 42);
        assert!(t.starts_with("42."));
        assert_eq!(verify("s3cret", &t), Some(42));
        assert_eq!(verify("other", &t), None, "another installation's secret");
        let forged = t.replacen("42.", "43.", 1);
        assert_eq!(verify("s3cret", &forged), None, "another contact");
        for bad in ["", "42", "42.", "x.ab", "-1.00", "42.zz", &t[..t.len() - 2]] {
            assert_eq!(verify("s3cret", bad), None, "{bad:?}");
        }
    }
}
