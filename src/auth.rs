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

    /// May write, import, publish and turn playbooks on or off.
    pub fn can_manage_playbooks(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
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

/// Sign-in throttling, keyed so that nobody can lock someone else out: failures count
/// against the pair (account, client), where they buy that client growing delays, and
/// against the client across accounts (a client guessing many accounts). A client that has
/// not failed signs in with the right password whatever others did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures of one client against one account before delays start.
    pub free_failures: u64,
    /// The first delay; each further failure doubles it, up to `max_delay_secs`.
    pub first_delay_secs: i64,
    pub max_delay_secs: i64,
    /// Failures of one client, whatever the accounts, within `window_minutes`.
    pub max_failures_per_client: u64,
    /// Failures older than this don't count.
    pub window_minutes: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            free_failures: 3,
            first_delay_secs: 2,
            max_delay_secs: 15 * 60,
            max_failures_per_client: 30,
            window_minutes: 60,
        }
    }
}

/// What a client has done lately, as the throttle needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecentFailures {
    /// Failed sign-ins of this client to this account within the window.
    pub pair: u64,
    /// When the latest of those was.
    pub pair_last: Option<DateTime<Utc>>,
    /// Failed sign-ins of this client to any account within the last 15 minutes.
    pub client: u64,
    /// When the oldest of those was.
    pub client_first: Option<DateTime<Utc>>,
}

impl LoginThrottle {
    /// Failures older than this don't count.
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(self.window_minutes)
    }

    /// The window of the per-client limit.
    pub fn client_window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(15)
    }

    /// The delay the pair has earned after `failures` failures (zero while free).
    pub fn delay_after(&self, failures: u64) -> Duration {
        let Some(n) = failures.checked_sub(self.free_failures).filter(|n| *n > 0) else {
            return Duration::zero();
        };
        let doublings = u32::try_from(n - 1).unwrap_or(u32::MAX).min(30);
        let secs = self
            .first_delay_secs
            .saturating_mul(1i64 << doublings)
            .min(self.max_delay_secs);
        Duration::seconds(secs)
    }

    /// How long this client must wait before its attempt is checked, `None` when it may
    /// try now. The check comes before the password's, so a client over its limit learns
    /// nothing from the right password either.
    pub fn wait(&self, recent: RecentFailures, now: DateTime<Utc>) -> Option<Duration> {
        let mut wait = Duration::zero();
        if recent.client >= self.max_failures_per_client {
            let until = recent
                .client_first
                .map_or(now + Duration::minutes(15), |f| f + Duration::minutes(15));
            wait = wait.max(until - now);
        }
        if let Some(last) = recent.pair_last {
            wait = wait.max(last + self.delay_after(recent.pair) - now);
        }
        (wait > Duration::zero()).then_some(wait)
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
        assert!(Role::Manager.can_manage_playbooks() && !Role::Csm.can_manage_playbooks());
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
    fn throttle_delays_grow_per_client_and_account() {
        let t = LoginThrottle::default();
        let now = Utc::now();
        let after = |pair: u64, secs_ago: i64| {
            t.wait(
                RecentFailures {
                    pair,
                    pair_last: Some(now - Duration::seconds(secs_ago)),
                    ..RecentFailures::default()
                },
                now,
            )
        };
        // Three free failures, then 2 s, 4 s, 8 s... up to 15 minutes.
        assert_eq!(after(3, 0), None);
        assert_eq!(after(4, 0), Some(Duration::seconds(2)));
        assert_eq!(after(4, 2), None);
        assert_eq!(after(6, 1), Some(Duration::seconds(7)));
        assert_eq!(after(40, 0), Some(Duration::minutes(15)));
        assert_eq!(after(u64::MAX, 0), Some(Duration::minutes(15)));
        assert_eq!(after(40, 15 * 60), None);
        // A client that never failed is never held back.
        assert_eq!(t.wait(RecentFailures::default(), now), None);
        // A client guessing across accounts is held back until its window passes.
        let spraying = RecentFailures {
            client: 30,
            client_first: Some(now - Duration::minutes(10)),
            ..RecentFailures::default()
        };
        assert_eq!(t.wait(spraying, now), Some(Duration::minutes(5)));
    }
}
