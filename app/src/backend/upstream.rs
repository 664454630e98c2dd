//! Failures of the other systems we call — Slack, HubSpot, the SMTP relay — as one type,
//! so that every caller records and shows them alike: which system, the status it answered
//! (an HTTP status or an SMTP reply code; none when it couldn't be reached), what went
//! wrong in words, and an excerpt of its answer. A low module: it knows no system.

use std::fmt;

/// Characters of an answer kept: enough to read the other system's reason, not its page.
pub const EXCERPT_CHARS: usize = 200;

/// A call to another system that didn't do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamError {
    /// The system called: "Slack", "HubSpot", "the mail server".
    pub system: &'static str,
    /// What it answered: an HTTP status or SMTP reply code; `None` when it wasn't reached
    /// (or, for a message we couldn't build, wasn't called).
    pub status: Option<u16>,
    /// What went wrong, in words, naming the system.
    pub problem: String,
    /// The start of its answer (at most [`EXCERPT_CHARS`]), empty when there was none.
    pub excerpt: String,
}

impl UpstreamError {
    /// `system` couldn't be reached (connection refused, timed out, TLS failed…).
    pub fn unreachable(system: &'static str, cause: impl fmt::Display) -> Self {
        Self {
            system,
            status: None,
            problem: format!("{system} could not be reached: {cause}"),
            excerpt: String::new(),
        }
    }

    /// `system` answered `status` with `body`, which isn't what was asked.
    pub fn answered(system: &'static str, status: u16, body: &[u8]) -> Self {
        Self {
            system,
            status: Some(status),
            problem: format!("{system} answered {status}"),
            excerpt: excerpt(&String::from_utf8_lossy(body)),
        }
    }

    /// Anything else, in `problem`'s words (`status` if it answered one).
    pub fn other(system: &'static str, status: Option<u16>, problem: impl Into<String>) -> Self {
        Self {
            system,
            status,
            problem: problem.into(),
            excerpt: String::new(),
        }
    }

    /// Keeps `detail` (the system's own explanation) as the excerpt.
    #[must_use]
    pub fn with_excerpt(mut self, detail: &str) -> Self {
        self.excerpt = excerpt(detail);
        self
    }

    /// The status to record, 0 when there was none.
    #[must_use]
    pub fn status_or_zero(&self) -> u16 {
        self.status.unwrap_or(0)
    }
}

fn excerpt(text: &str) -> String {
    text.trim().chars().take(EXCERPT_CHARS).collect()
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.excerpt.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.problem, self.excerpt)
        }
    }
}

impl std::error::Error for UpstreamError {}

impl From<UpstreamError> for crate::error::AppError {
    fn from(e: UpstreamError) -> Self {
        crate::error::AppError::Upstream(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_with_its_status_and_an_excerpt_of_the_body() {
        let long = format!("no_service {}", "x".repeat(500));
        let e = UpstreamError::answered("Slack", 404, long.as_bytes());
        assert_eq!(e.status, Some(404));
        assert_eq!(e.excerpt.chars().count(), EXCERPT_CHARS);
        assert!(e
            .to_string()
            .starts_with("Slack answered 404: no_service x"));
    }

    #[test]
    fn an_unreachable_system_has_no_status() {
        let e = UpstreamError::unreachable("HubSpot", "connection refused");
        assert_eq!(e.status_or_zero(), 0);
        assert_eq!(
            e.to_string(),
            "HubSpot could not be reached: connection refused"
        );
    }

    #[test]
    fn an_empty_answer_adds_nothing_after_the_problem() {
        let e = UpstreamError::answered("Slack", 500, b"  ");
        assert_eq!(e.to_string(), "Slack answered 500");
    }
}
