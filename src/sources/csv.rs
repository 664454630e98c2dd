//! Parsing CSV files into validated rows, with an error report per row: customers,
//! their contacts, and product events (usage history).
//!
//! Parsing is pure: the caller (a service) then checks what needs the database (unique
//! external ids, owners and customers that exist) and stores all rows or none. The three
//! parsers share one reader (`read_rows`): the byte-order mark, the header (names in any
//! case; unknown, repeated and missing columns), line numbers that count multi-line
//! fields, the row limit and the cap on how many errors are listed.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::auth::Email;
use crate::customers::{
    format_attributes, validate_attributes, ContactDraft, ContactInput, CustomerDraft,
    CustomerInput,
};
use crate::imports::{
    RowError, CONTACT_COLUMNS, CUSTOMER_COLUMNS, EVENT_COLUMNS, MAX_REPORTED_ERRORS, MAX_ROWS,
};
use crate::sources::segment::{MAX_FUTURE_SKEW_HOURS, MAX_ID_LEN, MAX_MESSAGE_BYTES, MAX_NAME_LEN};
use crate::validation::{non_empty, ValidationErrors};

/// Longest customer external id: the customer form's rule (bytes, no spaces).
const MAX_EXTERNAL_ID_LEN: usize = 100;

/// A row that passed validation, with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    pub line: u64,
    pub draft: CustomerDraft,
}

/// Result of parsing a whole file: the valid rows and every error found. The file may be
/// imported only when `errors` is empty; the rows are there so that the caller can check
/// them against the database too and report every problem at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub errors: Vec<RowError>,
    /// Data rows read (blank lines aside), valid or not.
    pub rows_read: u64,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            errors: Vec::new(),
            rows_read: 0,
        }
    }
}

impl<T> Parsed<T> {
    /// `Ok(rows)` only when the file has no error at all.
    ///
    /// # Errors
    /// Every problem found, when there is one.
    pub fn into_result(self) -> Result<Vec<T>, Vec<RowError>> {
        if self.errors.is_empty() {
            Ok(self.rows)
        } else {
            Err(self.errors)
        }
    }
}

/// A parsed customers file.
pub type ParsedFile = Parsed<ParsedRow>;

/// A valid row of a contacts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRow {
    pub line: u64,
    /// The account's external id (the customer's `external_id`).
    pub customer_external_id: String,
    pub contact: ContactDraft,
    /// The person's id in the customer's product (Segment's `userId`).
    pub user_id: Option<String>,
    /// Whether the row names a role (else `contact.role` is the default, User, which must
    /// not overwrite a stored contact's role).
    pub role_given: bool,
}

/// A valid row of a product-events file.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub line: u64,
    /// The account's external id (the customer's `external_id`).
    pub customer_external_id: String,
    pub user_id: Option<String>,
    pub event: String,
    pub occurred_at: DateTime<Utc>,
    pub properties: Map<String, Value>,
    /// The sender's id for idempotency; when `None` the caller derives one from
    /// [`event_row_key`].
    pub message_id: Option<String>,
}

/// Errors found so far: the first [`MAX_REPORTED_ERRORS`] kept, the rest counted.
#[derive(Default)]
struct Report {
    errors: Vec<RowError>,
    hidden: usize,
    first_hidden_line: u64,
}

impl Report {
    fn push(&mut self, line: u64, field: impl Into<String>, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError {
                line,
                field: field.into(),
                message: message.into(),
            });
        } else {
            if self.hidden == 0 {
                self.first_hidden_line = line;
            }
            self.hidden += 1;
        }
    }

    fn extend(&mut self, line: u64, errors: ValidationErrors) {
        for e in errors.0 {
            self.push(line, e.field, e.message);
        }
    }

    /// Every error found, listed or not: a row is valid when parsing it adds none.
    fn count(&self) -> usize {
        self.errors.len() + self.hidden
    }

    fn finish(mut self) -> Vec<RowError> {
        if self.hidden > 0 {
            self.errors.push(RowError {
                line: self.first_hidden_line,
                field: "file".into(),
                message: format!(
                    "{} more error(s) from line {} on are not listed: fix the ones above and try again",
                    self.hidden, self.first_hidden_line
                ),
            });
        }
        self.errors
    }
}

/// Where each known column is in the file's rows.
struct Header<'c> {
    columns: &'c [&'c str],
    index: Vec<Option<usize>>,
    /// Columns named with the file's attribute prefix: (the name after it, position).
    attributes: Vec<(String, usize)>,
}

/// Columns of a customers file named `attr.<name>` are custom attributes.
pub const ATTRIBUTE_PREFIX: &str = "attr.";

/// One data row, its fields looked up by column name.
struct Row<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    header: &'a Header<'a>,
}

impl Row<'_> {
    /// The (trimmed) field of a known column; empty when the file has no such column.
    fn get(&self, column: &str) -> &str {
        debug_assert!(
            self.header.columns.contains(&column),
            "{column} is not a known column"
        );
        self.header
            .columns
            .iter()
            .position(|c| *c == column)
            .and_then(|k| self.header.index.get(k).copied().flatten())
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
    }

    /// The row's attribute columns: (name, trimmed value).
    fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header
            .attributes
            .iter()
            .map(|(name, i)| (name.as_str(), self.record.get(*i).unwrap_or("")))
    }
}

fn file_error<T>(message: impl Into<String>) -> Parsed<T> {
    Parsed {
        errors: vec![RowError {
            line: 1,
            field: "file".into(),
            message: message.into(),
        }],
        ..Parsed::default()
    }
}

/// Reads a CSV file whose header names some of `columns` and all of `required`, handing
/// each non-blank row to `parse_row`, which reports the row's problems and returns the
/// row when it is valid. Unknown, repeated and missing required columns are file-level
/// errors; a row that cannot be read (wrong number of fields) is a `row` error. With
/// `attributes`, columns named [`ATTRIBUTE_PREFIX`]`<name>` are custom attributes.
fn read_rows<T>(
    text: &str,
    columns: &[&str],
    required: &[&str],
    attributes: bool,
    mut parse_row: impl FnMut(&Row<'_>, &mut Report) -> Option<T>,
) -> Parsed<T> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let names: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(e) => return file_error(format!("cannot read the header row: {e}")),
    };
    if names.iter().all(|h| h.is_empty()) {
        return file_error("the file is empty: the first line must name the columns");
    }
    let is_attribute = |h: &str| {
        attributes
            && h.strip_prefix(ATTRIBUTE_PREFIX)
                .is_some_and(|n| !n.trim().is_empty())
    };
    let unknown: Vec<&str> = names
        .iter()
        .filter(|h| !columns.contains(&h.as_str()) && !is_attribute(h))
        .map(|h| if h.is_empty() { "(blank)" } else { h.as_str() })
        .collect();
    if !unknown.is_empty() {
        let hint = if attributes {
            format!(
                ". Other facts about a customer can come as attributes: name the column {ATTRIBUTE_PREFIX}{}",
                unknown[0]
            )
        } else {
            String::new()
        };
        return file_error(format!(
            "unknown column(s): {}. Known columns: {}{hint}",
            unknown.join(", "),
            columns.join(", ")
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|h| !seen.insert(h.as_str())) {
        return file_error(format!("column {dup} appears twice"));
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|h| h == r))
        .collect();
    match missing.as_slice() {
        [] => {}
        [one] => return file_error(format!("the {one} column is required")),
        many => return file_error(format!("the columns {} are required", many.join(", "))),
    }
    let header = Header {
        columns,
        index: columns
            .iter()
            .map(|c| names.iter().position(|h| h == c))
            .collect(),
        attributes: names
            .iter()
            .enumerate()
            .filter(|(_, h)| is_attribute(h))
            .filter_map(|(i, h)| Some((h.strip_prefix(ATTRIBUTE_PREFIX)?.to_string(), i)))
            .collect(),
    };

    let mut rows = Vec::new();
    let mut rows_read = 0;
    let mut report = Report::default();
    let mut too_many = None;
    for (i, record) in reader.records().enumerate() {
        let position = match &record {
            Ok(r) => r.position().cloned(),
            Err(e) => e.position().cloned(),
        };
        let line = position.map_or(i as u64 + 2, |p| p.line());
        if i >= MAX_ROWS {
            too_many = Some(RowError {
                line,
                field: "file".into(),
                message: format!("more than {MAX_ROWS} rows: split the file"),
            });
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows_read += 1;
                report.push(line, "row", format!("cannot read this row: {e}"));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows_read += 1;
        let row = Row {
            line,
            record: &record,
            header: &header,
        };
        if let Some(parsed) = parse_row(&row, &mut report) {
            rows.push(parsed);
        }
    }
    let mut errors = report.finish();
    errors.extend(too_many);
    if rows.is_empty() && errors.is_empty() {
        return file_error("the file has a header but no rows");
    }
    Parsed {
        rows,
        errors,
        rows_read,
    }
}

/// The line `key` was first seen on, recording `line` when it is new.
fn seen_before<K: Hash + Eq>(seen: &mut HashMap<K, u64>, key: K, line: u64) -> Option<u64> {
    match seen.entry(key) {
        std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(line);
            None
        }
    }
}

/// A required customer external id, under the customer form's rule.
fn customer_id_field(row: &Row<'_>, report: &mut Report, column: &str) -> Option<String> {
    match non_empty(row.get(column)) {
        None => {
            report.push(row.line, column, "is required");
            None
        }
        Some(x)
            if x.len() > MAX_EXTERNAL_ID_LEN
                || x.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            report.push(
                row.line,
                column,
                format!("must be at most {MAX_EXTERNAL_ID_LEN} characters, without spaces"),
            );
            None
        }
        Some(x) => Some(x.to_string()),
    }
}

/// An optional id (`user_id`, `message_id`), under Segment's length limit.
fn id_field(row: &Row<'_>, report: &mut Report, column: &str) -> Option<String> {
    let x = non_empty(row.get(column))?;
    if x.chars().count() > MAX_ID_LEN {
        report.push(
            row.line,
            column,
            format!("must be at most {MAX_ID_LEN} characters"),
        );
        None
    } else if x.chars().any(char::is_control) {
        report.push(row.line, column, "must not contain control characters");
        None
    } else {
        Some(x.to_string())
    }
}

/// A cell as a spreadsheet can open it safely: text that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
/// `'`, as OWASP advises against CSV injection. Numbers written by us are left alone.
fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let numeric = cell.parse::<f64>().is_ok();
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !numeric => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes a CSV file (a header line, then `rows`), quoting where needed and defusing
/// cells a spreadsheet would run as formulas ([`safe_cell`]).
pub fn write_table<I, R, C>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory can't fail but for a row of another width, which we never write.
    let _ = w.write_record(header);
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|c| safe_cell(c.as_ref()).into_owned())
            .collect();
        let _ = w.write_record(&cells);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Parses and validates a customers CSV. Unknown columns and a missing `name` column are
/// file-level errors; everything else is reported per row and field. A file with any
/// error must not be imported at all.
pub fn parse_customers_csv(text: &str, today: NaiveDate) -> ParsedFile {
    let mut external_ids: HashMap<String, u64> = HashMap::new();
    read_rows(text, &CUSTOMER_COLUMNS, &["name"], true, |row, report| {
        let get = |column: &str| row.get(column).to_string();
        let mut input = CustomerInput {
            name: get("name"),
            external_id: get("external_id"),
            domain: get("domain"),
            tier: get("tier"),
            stage: get("stage"),
            churned_on: get("churned_on"),
            plan: get("plan"),
            mrr: get("mrr"),
            currency: get("currency"),
            seats: get("seats"),
            contract_start: get("contract_start"),
            renewal_date: get("renewal_date"),
            owner_email: get("owner_email"),
            tags: get("tags"),
            billing_period: get("billing_period"),
            attributes: String::new(),
        };
        // Attribute columns go through the form's rules; a value on several lines (the
        // form's separator) is refused here.
        let attributes_ok = match validate_attributes(row.attributes()) {
            Ok(a) => {
                input.attributes = format_attributes(&a);
                true
            }
            Err(e) => {
                report.push(row.line, "attributes", e);
                false
            }
        };
        // Missing optional columns take the form's defaults.
        if input.tier.is_empty() {
            input.tier = "small_business".into();
        }
        if input.stage.is_empty() {
            input.stage = "active".into();
        }
        match input.validate(today) {
            Ok(_) if !attributes_ok => None,
            Ok(draft) => {
                if let Some(x) = &draft.external_id {
                    if let Some(first) = seen_before(&mut external_ids, x.clone(), row.line) {
                        report.push(
                            row.line,
                            "external_id",
                            format!("{x} is also on line {first}"),
                        );
                        return None;
                    }
                }
                Some(ParsedRow {
                    line: row.line,
                    draft,
                })
            }
            Err(errors) => {
                report.extend(row.line, errors);
                None
            }
        }
    })
}

/// Parses and validates a contacts CSV: one contact per row, tied to its account by
/// `customer_external_id`. `role` defaults to User. The same e-mail address twice for one
/// account is an error on the later line. Whether each account exists is the caller's
/// check.
///
/// Every problem in the file is in `errors` (file-level ones on line 1); then no row may
/// be imported.
pub fn parse_contacts_csv(text: &str) -> Parsed<ContactRow> {
    let mut emails: HashMap<(String, Email), u64> = HashMap::new();
    read_rows(
        text,
        &CONTACT_COLUMNS,
        &["customer_external_id", "name"],
        false,
        |row, report| {
            let before = report.count();
            let customer = customer_id_field(row, report, "customer_external_id");
            let input = ContactInput {
                name: row.get("name").to_string(),
                email: row.get("email").to_string(),
                title: row.get("title").to_string(),
                role: row.get("role").to_string(),
            };
            let contact = input
                .validate()
                .map_err(|errors| report.extend(row.line, errors))
                .ok();
            // As for customer names: a line break in a name is a spreadsheet accident.
            if input.name.chars().any(char::is_control) {
                report.push(row.line, "name", "must not contain control characters");
            }
            let user_id = id_field(row, report, "user_id");
            if let (Some(customer), Ok(email)) = (&customer, Email::parse(&input.email)) {
                let key = (customer.clone(), email);
                if let Some(first) = seen_before(&mut emails, key, row.line) {
                    report.push(
                        row.line,
                        "email",
                        format!(
                            "{} is also listed for {customer} on line {first}",
                            input.email.trim().to_ascii_lowercase()
                        ),
                    );
                }
            }
            if report.count() > before {
                return None;
            }
            Some(ContactRow {
                line: row.line,
                customer_external_id: customer?,
                contact: contact?,
                user_id,
                role_given: !input.role.trim().is_empty(),
            })
        },
    )
}

/// Earliest accepted event time, as for Segment messages: anything older is a mistake
/// (a mistyped year), not history.
fn earliest_event() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An event time: RFC 3339 / ISO-8601 with an offset, or without one (taken as UTC), with
/// `T` or a space, seconds and fractions optional; or a bare date (midnight UTC).
fn parse_occurred_at(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Parses and validates a product-events CSV (usage history): one event per row, tied to
/// its account by `customer_external_id`. Times may lie years back but not more than
/// [`MAX_FUTURE_SKEW_HOURS`] after `now`. A `message_id` repeated in the file is an error
/// on the later line.
///
/// Every problem in the file is in `errors` (file-level ones on line 1); then no row may
/// be imported.
pub fn parse_events_csv(text: &str, now: DateTime<Utc>) -> Parsed<EventRow> {
    let latest = now
        .checked_add_signed(Duration::hours(MAX_FUTURE_SKEW_HOURS))
        .unwrap_or(now);
    let earliest = earliest_event();
    let mut message_ids: HashMap<String, u64> = HashMap::new();
    read_rows(
        text,
        &EVENT_COLUMNS,
        &["customer_external_id", "event", "occurred_at"],
        false,
        |row, report| {
            let before = report.count();
            let line = row.line;
            let customer = customer_id_field(row, report, "customer_external_id");
            let event = match non_empty(row.get("event")) {
                None => {
                    report.push(line, "event", "is required");
                    None
                }
                Some(e) if e.chars().count() > MAX_NAME_LEN => {
                    report.push(
                        line,
                        "event",
                        format!("must be at most {MAX_NAME_LEN} characters"),
                    );
                    None
                }
                Some(e) if e.chars().any(char::is_control) => {
                    report.push(line, "event", "must not contain control characters");
                    None
                }
                Some(e) => Some(e.to_string()),
            };
            let occurred_at = match non_empty(row.get("occurred_at")).map(parse_occurred_at) {
                None => {
                    report.push(line, "occurred_at", "is required");
                    None
                }
                Some(None) => {
                    report.push(
                        line,
                        "occurred_at",
                        "must be a date-time such as 2026-01-31T12:00:00Z, 2026-01-31 12:00:00 (UTC) or 2026-01-31",
                    );
                    None
                }
                Some(Some(t)) if t > latest => {
                    report.push(
                        line,
                        "occurred_at",
                        format!("is more than {MAX_FUTURE_SKEW_HOURS} hours in the future"),
                    );
                    None
                }
                Some(Some(t)) if t < earliest => {
                    report.push(line, "occurred_at", "is before the year 2000");
                    None
                }
                Some(Some(t)) => Some(t),
            };
            let user_id = id_field(row, report, "user_id");
            let message_id = id_field(row, report, "message_id");
            if let Some(m) = &message_id {
                if let Some(first) = seen_before(&mut message_ids, m.clone(), line) {
                    report.push(line, "message_id", format!("{m} is also on line {first}"));
                }
            }
            let properties = match non_empty(row.get("properties")) {
                None => Map::new(),
                Some(p) if p.len() > MAX_MESSAGE_BYTES => {
                    report.push(
                        line,
                        "properties",
                        format!("must be at most {} KB", MAX_MESSAGE_BYTES / 1024),
                    );
                    Map::new()
                }
                Some(p) => match serde_json::from_str::<Value>(p) {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => {
                        report.push(
                            line,
                            "properties",
                            r#"must be a JSON object such as {"plan": "pro"}"#,
                        );
                        Map::new()
                    }
                    Err(e) => {
                        report.push(
                            line,
                            "properties",
                            format!(r#"must be a JSON object such as {{"plan": "pro"}} (in the JSON: {e})"#),
                        );
                        Map::new()
                    }
                },
            };
            if report.count() > before {
                return None;
            }
            Some(EventRow {
                line,
                customer_external_id: customer?,
                user_id,
                event: event?,
                occurred_at: occurred_at?,
                properties,
                message_id,
            })
        },
    )
}

/// Writes `value` as JSON with every object's keys sorted, so equal content gives equal
/// text whatever order the keys came in.
fn write_canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => write_canonical_object(map, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_json(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn write_canonical_object(map: &Map<String, Value>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        write_canonical_json(v, out);
    }
    out.push('}');
}

/// A stable key for an event's content, for the caller to hash into a message id when the
/// row has none: a JSON array of the customer, event, time (RFC 3339, UTC, `Z`), user id
/// (or null) and properties (keys sorted at every level). The line and `message_id` are
/// not part of it, so the same event imported twice gets the same key. Changing this
/// format changes every derived id.
pub fn event_row_key(row: &EventRow) -> String {
    let mut key = String::from("[");
    for part in [
        Value::String(row.customer_external_id.clone()),
        Value::String(row.event.clone()),
        Value::String(row.occurred_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        row.user_id.clone().map_or(Value::Null, Value::String),
    ] {
        key.push_str(&part.to_string());
        key.push(',');
    }
    write_canonical_object(&row.properties, &mut key);
    key.push(']');
    key
}

#[cfg(test)]
mod tests {
    fn contacts(text: &str) -> Result<Vec<ContactRow>, Vec<RowError>> {
        parse_contacts_csv(text).into_result()
    }

    fn events(text: &str, now: DateTime<Utc>) -> Result<Vec<EventRow>, Vec<RowError>> {
        parse_events_csv(text, now).into_result()
    }

    use super::*;
    use crate::customers::ContactRole;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn parses_every_column_including_history() {
        let csv = "\u{feff}Name,external_id,domain,tier,stage,churned_on,plan,mrr,currency,seats,contract_start,renewal_date,owner_email,tags\n\
                   Acme,acct_1,acme.com,Enterprise,churned,2026-03-01,Business,\"12,000.00\",USD,120,2024-03-01,2025-03-01,csm@x.com,\"a, b\"\n\
                   Globex,,globex.io,,,,,,,,,,,\n";
        let parsed = parse_customers_csv(csv, today());
        assert_eq!(parsed.errors, vec![]);
        assert_eq!(parsed.rows.len(), 2);
        let acme = &parsed.rows[0].draft;
        assert_eq!(acme.churned_on, NaiveDate::from_ymd_opt(2026, 3, 1));
        assert_eq!(acme.contract_start, NaiveDate::from_ymd_opt(2024, 3, 1));
        assert_eq!(acme.mrr_minor, 1_200_000);
        assert_eq!(acme.tags, vec!["a", "b"]);
        assert_eq!(parsed.rows[1].line, 3);
        assert_eq!(parsed.rows[1].draft.stage, crate::customers::Stage::Active);
    }

    #[test]
    fn written_tables_quote_and_defuse_formulas() {
        let text = write_table(
            &["name", "mrr"],
            [
                vec!["Acme, Inc.", "12.50"],
                vec!["=HYPERLINK(\"x\")", "-3"],
                vec!["@SUM(A1)", "ok"],
            ],
        );
        assert_eq!(
            text,
            "name,mrr\n\"Acme, Inc.\",12.50\n\"'=HYPERLINK(\"\"x\"\")\",-3\n'@SUM(A1),ok\n"
        );
    }

    #[test]
    fn billing_period_and_attribute_columns() {
        let csv = "name,billing_period,attr.Country,ATTR.sales channel\n\
                   Acme,month,DE,partner\n\
                   Globex,annual,,\n\
                   Bad,weekly,FR,\"two\nlines\"\n";
        let parsed = parse_customers_csv(csv, today());
        assert_eq!(parsed.rows.len(), 2, "{:?}", parsed.errors);
        let acme = &parsed.rows[0].draft;
        assert_eq!(
            acme.billing_period,
            Some(crate::customers::BillingPeriod::Monthly)
        );
        assert_eq!(acme.attributes["country"], "DE");
        assert_eq!(acme.attributes["sales_channel"], "partner");
        assert!(
            parsed.rows[1].draft.attributes.is_empty(),
            "blank cells are no attribute"
        );
        let got: Vec<(u64, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(got, vec![(4, "attributes"), (4, "billing_period")]);
        let unknown = parse_customers_csv("name,country\nA,DE\n", today());
        assert!(
            unknown.errors[0].message.contains("attr.country"),
            "{:?}",
            unknown.errors
        );
        assert!(parse_customers_csv("name,attr.\nA,DE\n", today()).errors[0]
            .message
            .contains("unknown column"));
    }

    #[test]
    fn reports_errors_by_line_and_field() {
        let csv = "name,external_id,mrr,stage\nOk,a1,10,active\n,a2,ten,active\nDup,a1,5,active\nX,a3,1,churned\n";
        let parsed = parse_customers_csv(csv, today());
        let got: Vec<(u64, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "name"),
                (3, "mrr"),
                (4, "external_id"),
                (5, "churned_on")
            ]
        );
        assert_eq!(parsed.rows.len(), 1);
    }

    #[test]
    fn file_level_problems() {
        assert_eq!(parse_customers_csv("", today()).errors[0].field, "file");
        assert!(
            parse_customers_csv("name,colour\nA,red\n", today()).errors[0]
                .message
                .contains("colour")
        );
        assert!(parse_customers_csv("domain\nacme.com\n", today()).errors[0]
            .message
            .contains("name column"));
        assert!(parse_customers_csv("name,name\nA,B\n", today()).errors[0]
            .message
            .contains("twice"));
        assert!(parse_customers_csv("name\n", today()).errors[0]
            .message
            .contains("no rows"));
    }

    #[test]
    fn line_numbers_count_multiline_fields() {
        // A quoted plan spans lines 2-3; the bad MRR is on line 4 and the short row on line 5.
        let parsed = parse_customers_csv(
            "name,plan,mrr\nA,\"Multi\nLine\",1\nBad,,x\nShort\n",
            today(),
        );
        let lines: Vec<u64> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5]);
    }

    #[test]
    fn ragged_rows_are_errors_not_panics() {
        let parsed = parse_customers_csv("name,mrr\nA,1,extra\nB\n", today());
        assert_eq!(parsed.errors.len(), 2);
        assert!(parsed.rows.is_empty());
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            /// Any text, however broken, gives rows or errors: never a panic, never both
            /// nothing imported and nothing said.
            #[test]
            fn any_text_is_reported(body in "(name|mrr|stage|churned_on|[a-z,\"\n ]|[0-9.,-]|\u{feff}|é){0,120}") {
                let parsed = parse_customers_csv(&format!("name,mrr,stage,churned_on\n{body}"), today());
                prop_assert!(!parsed.rows.is_empty() || !parsed.errors.is_empty());
                let _ = parse_customers_csv(&body, today());
            }
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn where_(errors: &[RowError]) -> Vec<(u64, &str)> {
        errors.iter().map(|e| (e.line, e.field.as_str())).collect()
    }

    #[test]
    fn reported_errors_are_capped_with_a_count_of_the_rest() {
        let mut csv = String::from("customer_external_id,event,occurred_at\n");
        for _ in 0..MAX_REPORTED_ERRORS + 50 {
            csv.push_str("acct_1,Logged In,not a date\n");
        }
        let errors = events(&csv, now()).unwrap_err();
        assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
        let last = errors.last().unwrap();
        assert_eq!((last.line, last.field.as_str()), (102, "file"));
        assert!(
            last.message.starts_with("50 more error(s) from line 102"),
            "{}",
            last.message
        );
        // The customer parser shares the cap.
        let mut csv = String::from("name,mrr\n");
        for i in 0..MAX_REPORTED_ERRORS + 5 {
            csv.push_str(&format!("C{i},x\n"));
        }
        assert_eq!(
            parse_customers_csv(&csv, today()).errors.len(),
            MAX_REPORTED_ERRORS + 1
        );
    }

    #[test]
    fn contacts_parse_with_bom_any_case_headers_defaults_and_quotes() {
        let csv = "\u{feff}Customer_External_ID, Name ,EMAIL,title,Role,user_id\n\
                   acct_1,Ada Lovelace,ADA@Acme.com,\"VP, Engineering\",Executive sponsor,u_1\n\
                   acct_1,Grace Hopper,grace@acme.com,\"Head of\nOps\",,\n\
                   acct_2,Ada Lovelace,ada@acme.com,,champion,\n\
                   acct_2,No Email,,,admin,\n\
                   acct_2,No Email Either,,,,\n\
                   ,,,,,\n";
        let rows = contacts(csv).unwrap();
        assert_eq!(rows.len(), 5);
        let ada = &rows[0];
        assert_eq!(
            (
                ada.line,
                ada.customer_external_id.as_str(),
                ada.contact.name.as_str(),
                ada.contact.email.as_ref().unwrap().as_str(),
                ada.contact.title.as_deref(),
                ada.contact.role,
                ada.user_id.as_deref()
            ),
            (
                2,
                "acct_1",
                "Ada Lovelace",
                "ada@acme.com",
                Some("VP, Engineering"),
                ContactRole::ExecutiveSponsor,
                Some("u_1")
            )
        );
        assert_eq!(rows[1].contact.title.as_deref(), Some("Head of\nOps"));
        assert_eq!(rows[1].contact.role, ContactRole::User);
        assert_eq!(rows[1].user_id, None);
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 3, 5, 6, 7],
            "the quoted title spans lines 3-4"
        );
        assert_eq!(rows[3].contact.email, None);
        // Only the required columns.
        let rows = contacts("name,customer_external_id\nBo,a1\n").unwrap();
        assert_eq!(rows[0].contact.role, ContactRole::User);
    }

    #[test]
    fn contact_row_errors_by_line_and_column() {
        let long_id = "u".repeat(MAX_ID_LEN + 1);
        let csv = format!(
            "customer_external_id,name,email,title,role,user_id\n\
             ,Ada,ada@x.com,,,\n\
             acct 1,Bo,bo@x.com,,,\n\
             acct_1,,nope,{},boss,\n\
             acct_1,Cy,cy@x.com,,,{long_id}\n\
             acct_1,Dee,dee@x.com,,,\n\
             acct_1,Dee Again,DEE@x.com,,,\n\
             acct_2,Dee,dee@x.com,,,\n\
             acct_1,Dee Thrice,dee@x.com,,,\n\
             acct_1,\"Line\nBreak\",,,,\n\
             acct_1,Ed\n",
            "t".repeat(300)
        );
        let errors = contacts(&csv).unwrap_err();
        assert_eq!(
            where_(&errors),
            vec![
                (2, "customer_external_id"),
                (3, "customer_external_id"),
                (4, "name"),
                (4, "email"),
                (4, "title"),
                (4, "role"),
                (5, "user_id"),
                (7, "email"),
                (9, "email"),
                (10, "name"),
                (12, "row"),
            ]
        );
        assert_eq!(errors[0].message, "is required");
        assert_eq!(
            errors[7].message,
            "dee@x.com is also listed for acct_1 on line 6"
        );
        assert_eq!(
            errors[8].message,
            "dee@x.com is also listed for acct_1 on line 6"
        );
    }

    #[test]
    fn contact_file_level_problems() {
        let file = |csv: &str| {
            let e = contacts(csv).unwrap_err();
            assert_eq!(where_(&e), vec![(1, "file")], "{e:?}");
            e[0].message.clone()
        };
        assert!(file("name,email\nAda,a@x.com\n")
            .contains("the customer_external_id column is required"));
        assert!(file("email\na@x.com\n")
            .contains("the columns customer_external_id, name are required"));
        assert!(
            file("customer_external_id,name,phone\na,B,1\n").contains("unknown column(s): phone")
        );
        assert!(file("customer_external_id,name,\na,B,\n").contains("unknown column(s): (blank)"));
        assert!(file("customer_external_id,NAME,name\na,B,C\n").contains("name appears twice"));
        assert!(file("\u{feff}").contains("empty"));
        assert!(file("customer_external_id,name\n\n").contains("no rows"));
    }

    #[test]
    fn events_parse_every_time_format_json_and_quotes() {
        let csv = "\u{feff}Event,Occurred_At,CUSTOMER_EXTERNAL_ID,user_id,message_id,properties\n\
                   Logged In,2026-05-01T12:00:00+02:00,acct_1,u_1,m-1,\"{\"\"plan\"\": \"\"pro\"\", \"\"seats\"\": 3}\"\n\
                   \"Report, Exported\",2026-05-01 10:00:00,acct_1,,,\n\
                   Logged In,2019-02-03,acct_2,u_2,,\"{\"\"note\"\":\n\"\"two lines\"\"}\"\n\
                   Logged In,2026-06-02T12:00:00Z,acct_2,,,{}\n";
        let rows = events(csv, now()).unwrap();
        assert_eq!(rows.len(), 4);
        let first = &rows[0];
        assert_eq!(
            (
                first.line,
                first.customer_external_id.as_str(),
                first.event.as_str(),
                first.occurred_at,
                first.user_id.as_deref(),
                first.message_id.as_deref()
            ),
            (
                2,
                "acct_1",
                "Logged In",
                at(2026, 5, 1, 10, 0, 0),
                Some("u_1"),
                Some("m-1")
            )
        );
        assert_eq!(first.properties["plan"], "pro");
        assert_eq!(first.properties["seats"], 3);
        assert_eq!(rows[1].event, "Report, Exported");
        assert_eq!(
            rows[1].occurred_at,
            at(2026, 5, 1, 10, 0, 0),
            "no offset: UTC"
        );
        assert_eq!(
            (rows[1].user_id.as_ref(), rows[1].message_id.as_ref()),
            (None, None)
        );
        assert!(rows[1].properties.is_empty());
        assert_eq!(
            rows[2].occurred_at,
            at(2019, 2, 3, 0, 0, 0),
            "years of history, midnight UTC"
        );
        assert_eq!(rows[2].properties["note"], "two lines");
        assert_eq!(rows[3].line, 6, "the quoted JSON spans lines 4-5");
        assert_eq!(
            rows[3].occurred_at,
            at(2026, 6, 2, 12, 0, 0),
            "24 hours ahead is skew"
        );
    }

    #[test]
    fn event_time_formats() {
        let t = at(2026, 5, 1, 10, 0, 0);
        for (raw, want) in [
            ("2026-05-01T10:00:00Z", t),
            ("2026-05-01t10:00:00z", t),
            ("2026-05-01T12:00:00+02:00", t),
            ("2026-05-01T12:00:00+0200", t),
            ("2026-05-01 12:00:00+02:00", t),
            ("2026-05-01T10:00:00", t),
            ("2026-05-01 10:00:00", t),
            ("2026-05-01 10:00", t),
            ("2026-05-01T10:00", t),
            ("2026-05-01", at(2026, 5, 1, 0, 0, 0)),
            ("2026-05-01 10:00:00.250", t + Duration::milliseconds(250)),
            ("2026-05-01T10:00:00.5Z", t + Duration::milliseconds(500)),
        ] {
            assert_eq!(parse_occurred_at(raw), Some(want), "{raw}");
        }
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "01/05/2026",
            "2026-05-01T25:00:00Z",
            "1714557600",
            "yesterday",
            "2026-05-01 10",
        ] {
            assert_eq!(parse_occurred_at(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_row_errors_by_line_and_column() {
        let long = |c: &str| c.repeat(MAX_ID_LEN + 1);
        let csv = format!(
            "customer_external_id,event,occurred_at,user_id,message_id,properties\n\
             ,Logged In,2026-05-01,,,\n\
             acct_1,,2026-05-01,,,\n\
             acct_1,{},2026-05-01,,,\n\
             acct_1,E,,,,\n\
             acct_1,E,yesterday,,,\n\
             acct_1,E,2026-06-02T12:00:01Z,,,\n\
             acct_1,E,1999-12-31,,,\n\
             acct_1,E,2026-05-01,{},,\n\
             acct_1,E,2026-05-01,,{},\n\
             acct_1,E,2026-05-01,,m1,\n\
             acct_1,E,2026-05-02,,m1,\n\
             acct_1,E,2026-05-01,,,[1]\n\
             acct_1,E,2026-05-01,,,{{bad\n\
             acct_1,E,2026-05-01,,,\"{{\"\"a\"\":1}}\",extra\n\
             acct_1,E,2026-05-03,,m1,\n\
             a b,,2026-05-01,,,\"\"\"x\"\"\"\n",
            "x".repeat(MAX_NAME_LEN + 1),
            long("u"),
            long("m"),
        );
        let errors = events(&csv, now()).unwrap_err();
        assert_eq!(
            where_(&errors),
            vec![
                (2, "customer_external_id"),
                (3, "event"),
                (4, "event"),
                (5, "occurred_at"),
                (6, "occurred_at"),
                (7, "occurred_at"),
                (8, "occurred_at"),
                (9, "user_id"),
                (10, "message_id"),
                (12, "message_id"),
                (13, "properties"),
                (14, "properties"),
                (15, "row"),
                (16, "message_id"),
                (17, "customer_external_id"),
                (17, "event"),
                (17, "properties"),
            ]
        );
        let msg = |i: usize| errors[i].message.as_str();
        assert_eq!(msg(3), "is required");
        assert!(msg(4).starts_with("must be a date-time"));
        assert_eq!(msg(5), "is more than 24 hours in the future");
        assert_eq!(msg(6), "is before the year 2000");
        assert_eq!(msg(9), "m1 is also on line 11");
        assert_eq!(msg(13), "m1 is also on line 11");
        assert!(msg(10).starts_with("must be a JSON object"));
        assert!(msg(11).starts_with("must be a JSON object"));
        assert!(msg(12).starts_with("cannot read this row"));
    }

    #[test]
    fn event_file_level_problems() {
        let file = |csv: &str| {
            let e = events(csv, now()).unwrap_err();
            assert_eq!(where_(&e), vec![(1, "file")], "{e:?}");
            e[0].message.clone()
        };
        assert!(file("customer_external_id,event\na,E\n")
            .contains("the occurred_at column is required"));
        assert!(file("user_id\nu\n").contains("customer_external_id, event, occurred_at"));
        assert!(
            file("customer_external_id,event,occurred_at,timestamp\na,E,2026-01-01,x\n")
                .contains("unknown column(s): timestamp")
        );
        assert!(file("").contains("empty"));
        assert!(file("customer_external_id,event,occurred_at\n").contains("no rows"));
        let huge = format!(
            "customer_external_id,event,occurred_at,properties\na,E,2026-01-01,\"{{\"\"k\"\":\"\"{}\"\"}}\"\n",
            "v".repeat(MAX_MESSAGE_BYTES)
        );
        let e = events(&huge, now()).unwrap_err();
        assert_eq!(where_(&e), vec![(2, "properties")]);
        assert_eq!(e[0].message, "must be at most 32 KB");
    }

    #[test]
    fn event_key_is_content_only_and_order_free() {
        let csv = "customer_external_id,event,occurred_at,user_id,message_id,properties\n\
                   acct_1,Logged In,2026-05-01T12:00:00+02:00,u1,m1,\"{\"\"b\"\":{\"\"d\"\":3,\"\"c\"\":2},\"\"a\"\":1}\"\n\
                   acct_1,Logged In,2026-05-01 10:00:00,u1,,\"{\"\"a\"\":1,\"\"b\"\":{\"\"c\"\":2,\"\"d\"\":3}}\"\n\
                   acct_1,Logged In,2026-05-01 10:00:00,,,\"{\"\"a\"\":1,\"\"b\"\":{\"\"c\"\":2,\"\"d\"\":3}}\"\n\
                   acct_1,Logged In,2026-05-01 10:00:00.5,,,\n";
        let rows = events(csv, now()).unwrap();
        let keys: Vec<String> = rows.iter().map(event_row_key).collect();
        assert_eq!(
            keys[0],
            r#"["acct_1","Logged In","2026-05-01T10:00:00Z","u1",{"a":1,"b":{"c":2,"d":3}}]"#
        );
        assert_eq!(
            keys[0], keys[1],
            "line, message id and key order do not count"
        );
        assert_eq!(
            keys[2],
            r#"["acct_1","Logged In","2026-05-01T10:00:00Z",null,{"a":1,"b":{"c":2,"d":3}}]"#
        );
        assert_eq!(
            keys[3],
            r#"["acct_1","Logged In","2026-05-01T10:00:00.500Z",null,{}]"#
        );
        // Separators inside values cannot make two rows collide.
        let mut a = rows[3].clone();
        a.customer_external_id = "x\",\"y".into();
        let mut b = rows[3].clone();
        b.event = "y\",\"Logged In".into();
        assert_ne!(event_row_key(&a), event_row_key(&b));
    }

    #[test]
    fn a_hundred_thousand_event_rows() {
        let mut csv = String::with_capacity(MAX_ROWS * 110);
        csv.push_str("customer_external_id,event,occurred_at,user_id,message_id,properties\n");
        for i in 0..MAX_ROWS {
            csv.push_str(&format!(
                "acct_{},Feature Used,2025-{:02}-{:02} {:02}:{:02}:00,u_{},m_{i},\"{{\"\"n\"\":{i}}}\"\n",
                i % 997,
                i % 12 + 1,
                i % 28 + 1,
                i % 24,
                i % 60,
                i % 5003
            ));
        }
        let rows = events(&csv, now()).unwrap();
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(rows[MAX_ROWS - 1].line, MAX_ROWS as u64 + 1);
        csv.push_str("acct_1,Feature Used,2025-01-01,,,\n");
        let errors = events(&csv, now()).unwrap_err();
        assert_eq!(where_(&errors), vec![(MAX_ROWS as u64 + 2, "file")]);
        assert!(errors[0].message.contains("more than 100000 rows"));
    }

    #[test]
    fn a_hundred_thousand_contact_rows() {
        let mut csv = String::with_capacity(MAX_ROWS * 80);
        csv.push_str("customer_external_id,name,email,role,user_id\n");
        for i in 0..MAX_ROWS {
            csv.push_str(&format!(
                "acct_{},Person {i},p{i}@example.com,champion,u_{i}\n",
                i % 997
            ));
        }
        assert_eq!(contacts(&csv).unwrap().len(), MAX_ROWS);
    }

    mod new_parsers_never_panic {
        use super::*;
        use proptest::prelude::*;

        fn check<T>(result: Result<Vec<T>, Vec<RowError>>) -> Result<(), TestCaseError> {
            match result {
                Ok(rows) => prop_assert!(!rows.is_empty()),
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.len() <= MAX_REPORTED_ERRORS + 2);
                    prop_assert!(errors.iter().all(|e| e.line >= 1));
                }
            }
            Ok(())
        }

        const PIECES: &str = "(customer_external_id|event|occurred_at|user_id|message_id|properties|name|email|title|role|acct_1|champion|a@b.co|2026-05-01|2026-05-01T10:00:00Z|2026-06-09 10:00:00|\\{\"a\":1\\}|\"\"|[a-z@.,\"\n\r\t {}:\\[\\]]|[0-9+-]|\u{feff}|é|\u{0}){0,150}";

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            /// CSV-shaped text under each parser's header, and the bare text as a header.
            #[test]
            fn csv_like_text_gives_rows_or_errors(body in PIECES) {
                check(events(&format!("customer_external_id,event,occurred_at,user_id,message_id,properties\n{body}"), now()))?;
                check(contacts(&format!("customer_external_id,name,email,title,role,user_id\n{body}")))?;
                check(events(&body, now()))?;
                check(contacts(&body))?;
            }

            /// Any text at all.
            #[test]
            fn arbitrary_text_gives_rows_or_errors(text in "(?s:.){0,300}") {
                check(events(&text, now()))?;
                check(contacts(&text))?;
            }

            /// Every valid event's key is valid JSON and the same for a re-parse.
            #[test]
            fn event_keys_are_json(body in PIECES) {
                let csv = format!("customer_external_id,event,occurred_at,user_id,message_id,properties\n{body}");
                if let Ok(rows) = events(&csv, now()) {
                    for row in &rows {
                        let key = event_row_key(row);
                        prop_assert!(serde_json::from_str::<Value>(&key).is_ok(), "{key}");
                    }
                }
            }
        }
    }
}
