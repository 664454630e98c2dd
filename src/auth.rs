//! Who may do what: roles, e-mail addresses, password policy and login throttling.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A user's role. Executives read everything and change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Manager,
    Csm,
    Executive,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Csm, Role::Executive];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Csm => "csm",
            Role::Executive => "executive",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Manager => "Manager",
            Role::Csm => "CSM",
            Role::Executive => "Executive",
        }
    }

    /// Parses the stored or typed form (`"csm"`, `"Manager"`...).
    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// May read customers, dashboards and reports (everyone signed in).
    pub fn can_read(self) -> bool {
        true
    }

    /// May create, edit, archive and import customers, contacts and notes.
    pub fn can_edit_customers(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Csm)
    }

    /// May manage users and settings.
    pub fn can_admin(self) -> bool {
        matches!(self, Role::Admin)
    }
}

/// A syntactically valid, normalised (trimmed, lower-case) e-mail address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// Returns a user-facing reason when `raw` is not an address.
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("must contain @".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains(char::is_whitespace) || !domain_ok
        {
            return Err("is not a valid e-mail address".into());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, used to match billing and CRM records to accounts.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest accepted password: bounds the work argon2 does for one request.
pub const MAX_PASSWORD_LEN: usize = 256;

/// # Errors
/// Returns a user-facing reason when the password is too short or too long.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Err(format!("must be at least {MIN_PASSWORD_LEN} characters"))
    } else if password.len() > MAX_PASSWORD_LEN {
        Err(format!("must be at most {MAX_PASSWORD_LEN} bytes"))
    } else {
        Ok(())
    }
}

/// How long a session lasts after sign-in.
pub fn session_lifetime() -> Duration {
    Duration::days(14)
}

/// Failed sign-ins allowed per address, and per client address, within [`LoginThrottle::window`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub max_failures_per_email: u64,
    pub max_failures_per_ip: u64,
    pub window_minutes: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures_per_email: 5,
            max_failures_per_ip: 30,
            window_minutes: 15,
        }
    }
}

impl LoginThrottle {
    /// Failures older than this don't count.
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(self.window_minutes)
    }

    /// Whether another attempt may be checked, given the failures counted since
    /// [`Self::window_start`]. Blocking happens before the password is checked, so a
    /// correct password does not get through once the limit is reached.
    pub fn allows(&self, failures_for_email: u64, failures_for_ip: u64) -> bool {
        failures_for_email < self.max_failures_per_email
            && failures_for_ip < self.max_failures_per_ip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_permissions() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse(" CSM "), Some(Role::Csm));
        assert_eq!(Role::parse("owner"), None);
        assert!(!Role::Executive.can_edit_customers());
        assert!(Role::Executive.can_read());
        assert!(Role::Csm.can_edit_customers());
        assert!(!Role::Manager.can_admin());
        assert!(Role::Admin.can_admin());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let e = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada@example.com");
        assert_eq!(e.domain(), "example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@localhost",
            "a b@x.com",
            "ada@x..com",
            "ada@.x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn password_policy() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }

    #[test]
    fn throttle_blocks_at_limit() {
        let t = LoginThrottle::default();
        assert!(t.allows(4, 0));
        assert!(!t.allows(5, 0));
        assert!(!t.allows(0, 30));
        let now = Utc::now();
        assert_eq!(now - t.window_start(now), Duration::minutes(15));
    }
}
