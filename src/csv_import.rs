//! Parsing a customers CSV file into validated drafts, with an error report per row.
//!
//! Parsing is pure: the caller (a service) then checks what needs the database (unique
//! external ids, owners that exist) and stores all rows or none.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::customer::{CustomerDraft, CustomerInput};

/// Columns understood in a customers CSV (header names, case-insensitive).
pub const CUSTOMER_COLUMNS: [&str; 14] = [
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
];

/// Most rows accepted in one file.
pub const MAX_ROWS: usize = 100_000;

/// One problem in one row. `line` is the 1-based line in the file (the header is line 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// A row that passed validation, with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    pub line: u64,
    pub draft: CustomerDraft,
}

/// Result of parsing a whole file: the valid rows and every error found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedFile {
    pub rows: Vec<ParsedRow>,
    pub errors: Vec<RowError>,
}

fn file_error(message: impl Into<String>) -> ParsedFile {
    ParsedFile {
        rows: Vec::new(),
        errors: vec![RowError {
            line: 1,
            field: "file".into(),
            message: message.into(),
        }],
    }
}

/// Parses and validates a customers CSV. Unknown columns and a missing `name` column are
/// file-level errors; everything else is reported per row and field. A file with any
/// error must not be imported at all.
pub fn parse_customers_csv(text: &str, today: NaiveDate) -> ParsedFile {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(e) => return file_error(format!("cannot read the header row: {e}")),
    };
    if headers.iter().all(|h| h.is_empty()) {
        return file_error("the file is empty: the first line must name the columns");
    }
    let unknown: Vec<&str> = headers
        .iter()
        .map(String::as_str)
        .filter(|h| !CUSTOMER_COLUMNS.contains(h))
        .collect();
    if !unknown.is_empty() {
        return file_error(format!(
            "unknown column(s): {}. Known columns: {}",
            unknown.join(", "),
            CUSTOMER_COLUMNS.join(", ")
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
        return file_error(format!("column {dup} appears twice"));
    }
    if !headers.iter().any(|h| h == "name") {
        return file_error("a name column is required");
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let idx: Vec<Option<usize>> = CUSTOMER_COLUMNS.iter().map(|c| col(c)).collect();

    let mut out = ParsedFile::default();
    let mut external_ids: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let position = match &record {
            Ok(r) => r.position().cloned(),
            Err(e) => e.position().cloned(),
        };
        let line = position.map_or(i as u64 + 2, |p| p.line());
        if i >= MAX_ROWS {
            out.errors.push(RowError {
                line,
                field: "file".into(),
                message: format!("more than {MAX_ROWS} rows: split the file"),
            });
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(RowError {
                    line,
                    field: "row".into(),
                    message: format!("cannot read this row: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |k: usize| idx[k].and_then(|i| record.get(i)).unwrap_or("").to_string();
        let mut input = CustomerInput {
            name: get(0),
            external_id: get(1),
            domain: get(2),
            tier: get(3),
            stage: get(4),
            churned_on: get(5),
            plan: get(6),
            mrr: get(7),
            currency: get(8),
            seats: get(9),
            contract_start: get(10),
            renewal_date: get(11),
            owner_email: get(12),
            tags: get(13),
        };
        // Missing optional columns take the form's defaults.
        if idx[3].is_none() || input.tier.is_empty() {
            input.tier = "small_business".into();
        }
        if idx[4].is_none() || input.stage.is_empty() {
            input.stage = "active".into();
        }
        match input.validate(today) {
            Ok(draft) => {
                if let Some(x) = &draft.external_id {
                    if let Some(first) = external_ids.insert(x.clone(), line) {
                        out.errors.push(RowError {
                            line,
                            field: "external_id".into(),
                            message: format!("{x} is also on line {first}"),
                        });
                        continue;
                    }
                }
                out.rows.push(ParsedRow { line, draft });
            }
            Err(errors) => out.errors.extend(errors.0.into_iter().map(|e| RowError {
                line,
                field: e.field,
                message: e.message,
            })),
        }
    }
    if out.rows.is_empty() && out.errors.is_empty() {
        return file_error("the file has a header but no rows");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parsed.rows[1].draft.stage, crate::customer::Stage::Active);
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
}
