//! Wire types: what leaves the server. Built from rows by explicit conversions in the
//! backend, so a new column never leaks to the browser by accident.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vcsm::auth::Role;
use vcsm::customers::{ContactRole, Stage, Tier};
use vcsm::imports::RowError;
use vcsm::listing::CustomerQuery;
use vcsm::portfolio::PortfolioSummary;

pub mod playbooks;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub domain: Option<String>,
    pub tier: Tier,
    pub stage: Stage,
    pub plan: Option<String>,
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub renewal_date: Option<NaiveDate>,
    pub owner_name: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub archived: bool,
    pub health_score: Option<u8>,
    pub health_level: Option<vcsm::health::Level>,
    /// The churn risk now; `None` before the first prediction.
    #[serde(default)]
    pub churn_risk: Option<vcsm::churn::Risk>,
    /// Its probability within the horizon; `None` without a trained model.
    #[serde(default)]
    pub churn_probability: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub rows: Vec<CustomerRow>,
    pub total: u64,
    pub query: CustomerQuery,
    /// The server's clock when the page was read, for relative times.
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactDto {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: ContactRole,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionDto {
    pub plan: Option<String>,
    pub status: String,
    pub interval: String,
    pub quantity: i32,
    pub mrr_minor: i64,
    pub currency: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// good, failing (Stripe is retrying) or delinquent.
    pub payment_status: String,
    pub failed_attempts: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineKind {
    Usage,
    Note,
    Ticket,
    Billing,
    /// An e-mail a playbook sent.
    Email,
    /// A task done, with its outcome.
    Task,
    Alert,
}

/// One line of a customer's timeline: usage, notes, tickets and billing merged by time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    pub title: String,
    pub detail: Option<String>,
    /// Who: a contact, a note's author.
    pub actor: Option<String>,
    /// Marks bad news (failed payment, urgent ticket).
    pub alert: bool,
    /// The rest, shown when the line is opened (a day's every event name and count).
    pub more: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub row: CustomerRow,
    pub churned_on: Option<NaiveDate>,
    pub contract_start: Option<NaiveDate>,
    pub owner_email: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<ContactDto>,
    pub subscription: Option<SubscriptionDto>,
    pub open_tickets: u64,
    pub events_30d: u64,
    pub timeline: Vec<TimelineItem>,
    /// Events and active users per week over the last six months, oldest first.
    pub weekly_usage: Vec<vcsm::activity::WeekUsage>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub id: i64,
    pub name: String,
    pub tier: Tier,
    pub stage: Stage,
    pub mrr_minor: i64,
    pub currency: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardDto {
    pub summary: PortfolioSummary,
    pub recently_active: Vec<ActivityRow>,
    pub recently_silent: Vec<ActivityRow>,
    pub silent_count: u64,
    /// Live, not churned customers per health level (worst first), and those not scored.
    pub health_levels: Vec<(vcsm::health::Level, u64)>,
    pub unscored: u64,
    /// High and medium churn-risk customers, largest ARR at risk first.
    pub at_risk: Vec<AtRiskRow>,
    /// ARR × churn probability over every live customer, per currency.
    pub arr_at_risk: Vec<(String, i64)>,
    /// Alerts needing someone, per severity, most severe first.
    pub open_alerts: Vec<(vcsm::alerts::Severity, u64)>,
    /// The open expansion pipeline per currency.
    pub pipeline: Vec<PipelineTotal>,
    pub as_of: DateTime<Utc>,
}

/// A customer at high or medium churn risk, with what is at stake.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtRiskRow {
    pub id: i64,
    pub name: String,
    pub score: Option<u8>,
    pub level: Option<vcsm::health::Level>,
    pub risk: vcsm::churn::Risk,
    pub probability: f64,
    pub arr_minor: i64,
    /// ARR × probability.
    pub arr_at_risk_minor: i64,
    pub currency: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A user who can own customers, for selects and filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnerOption {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Rows stored as new records; 0 whenever `errors` is not empty (all or nothing).
    pub imported: u64,
    /// Rows that updated a record already there (contacts matched by user id or e-mail).
    pub updated: u64,
    /// Rows already imported before (events with a known message id), left as they were.
    pub already_present: u64,
    pub rows_read: u64,
    pub errors: Vec<RowError>,
}

/// What a CSV file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImportKind {
    #[default]
    Customers,
    Contacts,
    Events,
}

impl ImportKind {
    pub const ALL: [ImportKind; 3] = [
        ImportKind::Customers,
        ImportKind::Contacts,
        ImportKind::Events,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Contacts => "contacts",
            ImportKind::Events => "events",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The file's columns, in the order a template lists them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &vcsm::imports::CUSTOMER_COLUMNS,
            ImportKind::Contacts => &vcsm::imports::CONTACT_COLUMNS,
            ImportKind::Events => &vcsm::imports::EVENT_COLUMNS,
        }
    }
}

/// Where a background import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportPhase {
    /// Waiting for a server to take it up (imports run one at a time), or to try again
    /// after an error of ours (see `error`).
    Queued,
    /// Reading and validating every row, and looking up what they refer to.
    Checking,
    /// Writing rows, all in one transaction (`done` of `total`).
    Writing,
    /// Committed, or refused with the report's errors: see `report` (or `error`, when
    /// the rows were written but the report was lost with the server writing them).
    Finished,
    /// Stopped by an error of ours (see `error`); nothing was written.
    Failed,
}

/// A background import as its page polls it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportStatus {
    pub id: u64,
    pub kind: ImportKind,
    pub phase: ImportPhase,
    /// Rows written so far (in the transaction: nothing is visible before it commits).
    pub done: u64,
    /// Rows to write (known once checking is over).
    pub total: u64,
    pub report: Option<ImportReport>,
    pub error: Option<String>,
}

impl ImportStatus {
    /// Share of the work done, 0–100, for a progress bar: checking counts as the first
    /// tenth, writing as the rest.
    pub fn percent(&self) -> u8 {
        match self.phase {
            ImportPhase::Queued => 0,
            ImportPhase::Checking => 5,
            ImportPhase::Writing if self.total > 0 => {
                (10 + self.done.min(self.total) * 90 / self.total) as u8
            }
            ImportPhase::Writing => 10,
            ImportPhase::Finished | ImportPhase::Failed => 100,
        }
    }

    pub fn is_over(&self) -> bool {
        matches!(self.phase, ImportPhase::Finished | ImportPhase::Failed)
    }
}

/// What an integration channel received on one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCounts {
    pub received: i64,
    pub stored: i64,
    pub duplicates: i64,
    pub quarantined: i64,
    pub rejected: i64,
}

/// A Segment-compatible source as the Integrations page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceDto {
    pub id: i64,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub key_prefix: String,
    pub can_create_customers: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub today: ChannelCounts,
    /// Messages held in the quarantine and not replayed yet.
    pub held: u64,
}

/// A source's write key, shown once: when created or rotated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceKey {
    pub id: i64,
    pub name: String,
    pub write_key: String,
}

/// A message waiting in the quarantine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldMessage {
    pub id: i64,
    pub source_name: String,
    pub kind: String,
    pub reason: String,
    /// The start of the payload as received.
    pub excerpt: String,
    pub received_at: DateTime<Utc>,
}

/// A request an integration refused, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationErrorDto {
    pub id: i64,
    /// Who sent it: a source's name or an integration's.
    pub channel: String,
    pub status: i32,
    pub problem: String,
    pub excerpt: String,
    pub occurred_at: DateTime<Utc>,
}

/// A webhook or API integration (Stripe, Zendesk, Intercom, the tickets API, Slack,
/// HubSpot) as the Integrations page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationDto {
    /// `stripe`, `zendesk`…: the channel name.
    pub name: String,
    pub label: String,
    /// What it does, in a sentence.
    pub purpose: String,
    /// Whether its secret (or URL, or token) is set, on the page or in the environment.
    pub configured: bool,
    /// When the secret was last set on the page.
    pub secret_set_at: Option<DateTime<Utc>>,
    /// Where the sender posts, for webhooks (`/webhooks/stripe`).
    pub endpoint: Option<String>,
    /// The environment variable that can hold the secret instead.
    pub env_var: Option<String>,
    /// Whether a secret is set on this page (rather than none, or only the environment).
    pub can_rotate: bool,
    pub last_event_at: Option<DateTime<Utc>>,
    pub today: ChannelCounts,
    /// Deliveries waiting for their customer.
    pub held: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationsDto {
    pub integrations: Vec<IntegrationDto>,
    pub sources: Vec<SourceDto>,
    pub held: Vec<HeldMessage>,
    pub held_total: u64,
    pub errors: Vec<IntegrationErrorDto>,
    pub as_of: DateTime<Utc>,
}

/// What replaying the quarantine did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    pub applied: u64,
    pub still_held: u64,
}

/// What a HubSpot import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubspotReport {
    pub companies_created: u64,
    pub companies_linked: u64,
    pub contacts_created: u64,
    pub contacts_updated: u64,
    /// Why records were left out (the first 50).
    pub skipped: Vec<String>,
    pub skipped_total: u64,
}

/// One day of a customer's health history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthPoint {
    pub day: NaiveDate,
    pub score: u8,
}

/// How a customer's health moved over a span of days, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthMove {
    pub days: u32,
    /// The score then: the day nearest `days` ago, within a few days either way, if any.
    pub from: Option<u8>,
    pub from_day: Option<NaiveDate>,
    pub trend: vcsm::health::Trend,
    /// Biggest group move first.
    pub groups: Vec<vcsm::health::GroupChange>,
}

/// A customer's current health with its breakdown, history and explanations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerHealthDto {
    pub health: vcsm::health::Health,
    pub computed_at: DateTime<Utc>,
    pub scorecard_version: i32,
    pub levels: vcsm::health::Levels,
    /// Oldest first, up to 90 days.
    pub history: Vec<HealthPoint>,
    /// Over 7 and over 30 days.
    pub moves: Vec<HealthMove>,
    /// The CSM's own view, 1–5, as set now (the score takes it in seconds later).
    pub csm_sentiment: Option<u8>,
    pub now: DateTime<Utc>,
}

/// The scorecard in force, for the editor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScorecardDto {
    pub version: i32,
    pub card: vcsm::health::Scorecard,
    pub saved_at: Option<DateTime<Utc>>,
    pub saved_by: Option<String>,
    /// Where re-scoring the portfolio is (after a save), if it ran since the server started.
    pub rescore: Option<RescoreStatus>,
    /// Weights the churn model learned for this version, for an admin to review as a draft.
    #[serde(default)]
    pub suggestion: Option<vcsm::churn::suggest::WeightSuggestion>,
}

/// Re-scoring the whole portfolio after a scorecard change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescoreStatus {
    pub version: i32,
    pub done: u64,
    pub total: u64,
    pub finished: bool,
    pub failed: bool,
}

/// A customer's churn risk now: from the model when one is trained, else from health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChurnDto {
    /// Calibrated probability of churning within the horizon; `None` in fallback.
    pub probability: Option<f64>,
    pub risk: vcsm::churn::Risk,
    pub factors: Vec<vcsm::churn::Factor>,
    pub computed_at: DateTime<Utc>,
    /// When the model in use was trained; `None` in fallback.
    pub model_trained_at: Option<DateTime<Utc>>,
    pub horizon_days: i64,
}

/// One training run, for the model page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingRunDto {
    pub id: i64,
    pub trained_at: DateTime<Utc>,
    /// `trained`, `fallback` or `failed`.
    pub status: String,
    pub detail: Option<String>,
    pub trigger: String,
    pub horizon_days: i32,
    pub observations: i64,
    pub customers: i64,
    pub churned: i64,
    pub duration_ms: i64,
    pub cv_auc: Option<f64>,
}

/// The churn model page: the latest run with its metrics, earlier runs, and the
/// portfolio's risk now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChurnModelDto {
    pub latest: Option<TrainingRunDto>,
    pub metrics: Option<vcsm::churn::ModelMetrics>,
    /// The model predictions come from (may be older than a fallback or failed run).
    pub in_use: Option<TrainingRunDto>,
    pub runs: Vec<TrainingRunDto>,
    /// Customers at high, medium and low risk now.
    pub risk_counts: [u64; 3],
    pub training: bool,
    pub min_churned: u64,
}

/// What to do with an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AlertAction {
    Acknowledge,
    /// For this many days (1–90), counted by the server's clock.
    Snooze {
        days: u32,
    },
    Resolve,
}

/// One alert in the inbox or on a customer's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub rule: String,
    pub severity: vcsm::alerts::Severity,
    pub title: String,
    /// `open`, `acknowledged`, `snoozed` or `resolved` (a snooze past its time reads open).
    pub status: String,
    pub owner: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While asleep.
    pub snoozed_until: Option<DateTime<Utc>>,
    pub handled_by: Option<String>,
    pub note: Option<String>,
}

/// One alert rule on the rules page: its settings and what its threshold means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleDto {
    pub config: vcsm::alerts::RuleConfig,
    pub label: String,
    /// What the threshold means, with its bounds; `None` for rules without one.
    pub meaning: Option<String>,
    pub min: f64,
    pub max: f64,
}

/// One delivery of an alert notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub alert_title: String,
    /// `slack` or `email`.
    pub channel: String,
    /// The e-mail address; empty for Slack.
    pub recipient: String,
    /// `pending`, `sent`, `skipped` (the channel isn't configured) or `failed` (gave up).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The alert rules page: the rules, where notifications go, and the latest deliveries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRulesPage {
    pub rules: Vec<AlertRuleDto>,
    pub can_edit: bool,
    pub slack_configured: bool,
    pub email_configured: bool,
    pub recent: Vec<NotificationRow>,
}

/// Marking an expansion signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalAction {
    /// The customer bought: the opportunity is won.
    Won,
    /// Not an opportunity (wrong timing, already handled elsewhere).
    Dismiss,
}

/// One open expansion signal in the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpansionRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner: Option<String>,
    pub health: Option<u8>,
    pub arr_minor: i64,
    pub kind: vcsm::expansion::Kind,
    pub title: String,
    /// Estimated extra ARR (minor units of `currency`).
    pub uplift_minor: i64,
    pub currency: String,
    pub confidence: f64,
    pub opened_at: DateTime<Utc>,
}

/// Pipeline totals for one currency (and one kind, in `by_kind`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineTotal {
    pub kind: Option<vcsm::expansion::Kind>,
    pub currency: String,
    pub signals: u64,
    pub uplift_minor: i64,
    /// Uplift × confidence, summed.
    pub weighted_minor: i64,
}

/// The expansion pipeline page (or one customer's signals).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpansionPage {
    pub signals: Vec<ExpansionRow>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    /// Per currency, over every open signal.
    pub totals: Vec<PipelineTotal>,
    pub by_kind: Vec<PipelineTotal>,
    pub plans: Vec<vcsm::expansion::Plan>,
    pub can_edit_plans: bool,
}

/// A page of alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub alerts: Vec<AlertRow>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub now: DateTime<Utc>,
}

/// One job on the jobs page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDto {
    pub id: i64,
    pub kind: String,
    /// What the kind is called ("Nightly health recompute").
    pub label: String,
    /// The period a recurring job is for ("2026-12-05", "2026-12-05T14").
    pub period: Option<String>,
    /// queued, running, done or dead.
    pub state: String,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The server running it.
    pub locked_by: Option<String>,
    pub progress: Option<String>,
    /// What it did, as JSON.
    pub result: Option<String>,
    pub last_error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The jobs page: how many jobs are in each state, and the latest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobsDto {
    pub queued: u64,
    pub running: u64,
    pub dead: u64,
    pub done: u64,
    /// Dead and running jobs first, then the newest.
    pub jobs: Vec<JobDto>,
    /// Customers queued for a re-score (`score_requests`): due now, or being scored.
    pub rescores_waiting: u64,
    /// Alert notifications waiting to be delivered (first try or a retry to come).
    pub notifications_pending: u64,
    /// Alert notifications given up after their last try.
    pub notifications_failed: u64,
}

/// One domain event about a customer, for the admin's list on the customer page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainEventRow {
    pub id: i64,
    /// e.g. `health.level_changed`.
    pub kind: String,
    /// In words: "Health level changed".
    pub label: String,
    /// What it carries, in a line: "good → poor".
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// One task, in the cockpit or on a customer's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub title: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub priority: vcsm::tasks::Priority,
    pub due_at: DateTime<Utc>,
    /// `open` or `done`.
    pub status: String,
    /// While asleep.
    pub snoozed_until: Option<DateTime<Utc>>,
    pub outcome: Option<vcsm::tasks::Outcome>,
    pub outcome_note: Option<String>,
    /// `manual`, `playbook` or `alert`.
    pub source: String,
    /// The playbook (key, name) and step that created it.
    pub playbook: Option<(String, String)>,
    pub step: Option<String>,
    pub alert_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
}

/// One customer in the cockpit: its open tasks and the alerts nobody has taken, together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CockpitRow {
    pub customer_id: i64,
    pub customer_name: String,
    pub tier: Tier,
    pub arr_minor: i64,
    pub currency: String,
    /// The churn model's probability, else read from the health score.
    pub risk: Option<f64>,
    pub health: Option<i16>,
    pub owner: Option<String>,
    /// The earliest due moment on the row; an alert is due its tier's SLA after it opened.
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub tasks: Vec<TaskRow>,
    pub alerts: Vec<AlertRow>,
}

/// A page of the cockpit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CockpitPage {
    pub rows: Vec<CockpitRow>,
    /// Customers with something to do.
    pub total: u64,
    pub open_tasks: u64,
    pub open_alerts: u64,
    /// Tasks asleep until later.
    pub snoozed: u64,
    pub page: u64,
    pub page_size: u64,
    pub now: DateTime<Utc>,
    /// Who tasks may be given to.
    pub assignees: Vec<(i64, String)>,
}

/// Completed tasks, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoneTasksPage {
    pub tasks: Vec<TaskRow>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub now: DateTime<Utc>,
}

/// A customer's tasks, with the server's clock (relative times read the same on the
/// server's HTML and the hydrated page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    pub tasks: Vec<TaskRow>,
    pub now: DateTime<Utc>,
}
