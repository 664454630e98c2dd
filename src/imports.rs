//! CSV imports as users see them: the columns each kind of file understands, the limits,
//! and the per-row errors of a report. Reading the files is server-only
//! (`sources::csv`); these are what the import page shows.

use serde::{Deserialize, Serialize};

/// Columns understood in a customers CSV (header names, case-insensitive).
/// Besides these, `attr.<name>` columns carry custom attributes.
pub const CUSTOMER_COLUMNS: [&str; 15] = [
    "name",
    "external_id",
    "domain",
    "tier",
    "stage",
    "churned_on",
    "plan",
    "mrr",
    "currency",
    "seats",
    "contract_start",
    "renewal_date",
    "owner_email",
    "tags",
    "billing_period",
];

/// Columns understood in a contacts CSV (header names, case-insensitive).
pub const CONTACT_COLUMNS: [&str; 6] = [
    "customer_external_id",
    "name",
    "email",
    "title",
    "role",
    "user_id",
];

/// Columns understood in a product-events CSV (header names, case-insensitive).
pub const EVENT_COLUMNS: [&str; 6] = [
    "customer_external_id",
    "event",
    "occurred_at",
    "user_id",
    "message_id",
    "properties",
];

/// Most rows accepted in one file.
pub const MAX_ROWS: usize = 100_000;

/// Most errors listed for one file. Past it the rest are only counted, in one closing
/// `file` error, so a file that is wrong on every line gives a readable report.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// One problem in one row. `line` is the 1-based line in the file (the header is line 1)
/// and `field` the column (`file` for the whole file, `row` for a row that cannot be read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub message: String,
}
