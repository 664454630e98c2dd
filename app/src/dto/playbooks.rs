//! Wire types of the playbook pages: the list, one playbook's funnel and enrollments, a
//! customer's playbook history, the outbox, and template previews.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vcsm::playbooks::report::{Funnel, SplitReport};

/// A playbook in the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRow {
    pub key: String,
    pub name: String,
    /// on, off or paused.
    pub status: String,
    /// The trigger in words.
    pub trigger: String,
    pub version: Option<i32>,
    /// Enrollments active, waiting or paused now.
    pub live: u64,
    pub entered_30d: u64,
    /// Goal met, of the enrollments measured against one.
    pub goal_met: u64,
    pub goal_tracked: u64,
}

/// An e-mail template, for the preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub key: String,
    pub name: String,
    pub operational: bool,
}

/// The playbooks page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookList {
    pub playbooks: Vec<PlaybookRow>,
    pub templates: Vec<TemplateRow>,
}

/// One published version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// The person who published it; none for the library or the API.
    pub created_by: Option<String>,
    pub current: bool,
}

/// One enrollment in a playbook's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub version: Option<i32>,
    pub status: String,
    /// The step it runs next, or the event it waits for.
    pub step: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub entered_at: DateTime<Utc>,
    /// How it ended, in words.
    pub finish: Option<String>,
    pub goal: String,
}

/// One playbook's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookDetail {
    pub key: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub trigger: String,
    /// The goal in words ("Converted, within 14d").
    pub goal: Option<String>,
    pub current_version: Option<i32>,
    /// The current version's enrollments.
    pub funnel: Funnel,
    /// Every version's.
    pub funnel_all: Funnel,
    /// The current version's split tests.
    pub splits: Vec<SplitReport>,
    /// What came of each step's tasks (every version's), in the steps' order.
    pub task_outcomes: Vec<vcsm::tasks::StepOutcomes>,
    /// The newest enrollments (at most 50).
    pub enrollments: Vec<EnrollmentRow>,
    pub versions: Vec<VersionRow>,
    /// The current version's definition, pretty-printed.
    pub definition: String,
    pub now: DateTime<Utc>,
}

/// What one step run did and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRunRow {
    pub step: String,
    pub step_type: String,
    pub ran_at: DateTime<Utc>,
    /// The side effect, in words.
    pub effect: Option<String>,
    /// The branch or arm taken.
    pub taken: Option<String>,
    /// What the decision read: "health.score < 40 (is 35): yes".
    pub readings: Vec<String>,
    /// Where the enrollment went next.
    pub next: String,
    pub goal_reached: bool,
}

/// One of a customer's enrollments with its step runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentHistory {
    pub id: i64,
    pub playbook_key: String,
    pub playbook_name: String,
    pub version: Option<i32>,
    pub status: String,
    pub live: bool,
    pub entered_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub finish: Option<String>,
    pub goal: String,
    /// Live ones: the step next and when, or the event waited for and until when.
    pub next_step: Option<String>,
    pub waiting_for: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub runs: Vec<StepRunRow>,
}

/// What a person does to one enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentChange {
    /// Holds it where it is.
    Pause,
    /// Goes on from where it was held.
    Resume,
    /// Stops it for good.
    Cancel,
}

/// A customer of a list that may not enter, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefusedCustomer {
    pub customer_id: i64,
    pub customer_name: String,
    pub reason: String,
}

/// What enrolling the customers a list filter matches came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListEnrollResult {
    pub playbook_name: String,
    pub matched: u64,
    pub enrolled: u64,
    /// Every customer that may not enter now (the first 100 named).
    pub refused_count: u64,
    pub refused: Vec<RefusedCustomer>,
}

/// A customer's playbook history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerPlaybooksDto {
    pub enrollments: Vec<EnrollmentHistory>,
    pub now: DateTime<Utc>,
}

/// One row of the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: i64,
    /// email, slack or webhook.
    pub kind: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub playbook_key: Option<String>,
    pub playbook_name: Option<String>,
    pub step: Option<String>,
    /// pending, unsent, sent or dead.
    pub status: String,
    pub last_error: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// An e-mail's recipient: the address it went to, else who it is for.
    pub recipient: Option<String>,
    /// An e-mail's subject once sent, else its template; a Slack message's text; a
    /// webhook's address.
    pub summary: Option<String>,
}

/// A page of the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxPage {
    pub rows: Vec<OutboxRow>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    /// Rows by status, over every kind.
    pub counts: Vec<(String, u64)>,
    pub now: DateTime<Utc>,
}

/// A template rendered for a real customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplatePreview {
    pub template: String,
    pub customer_id: i64,
    pub customer_name: String,
    /// The primary contact's address, or why there is none.
    pub recipient: Result<String, String>,
    /// The rendered message, or the template's error with its part and line.
    pub message: Result<vcsm::playbooks::templates::Rendered, String>,
}
