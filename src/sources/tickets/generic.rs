//! Our own ticket JSON, for any helpdesk.

use super::*;

/// Earliest accepted ticket time: anything older is a mistake, not history.
pub(super) fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// A time in our API: optional, ISO-8601, not before 2000, at most a day ahead of `now`.
fn api_instant(
    obj: &Map<String, Value>,
    key: &str,
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) -> Option<DateTime<Utc>> {
    let t = instant_at(obj, key, "", problems)?;
    if t > now + Duration::hours(MAX_FUTURE_SKEW_HOURS) {
        problems.push(Problem::new(key, "is more than 24 hours in the future"));
        None
    } else if t < earliest() {
        problems.push(Problem::new(key, "is before the year 2000"));
        None
    } else {
        Some(t)
    }
}

/// Parses a ticket sent to our API by any helpdesk (or a script). `now` is the time of
/// receipt, the default for `created_at`.
///
/// ```json
/// {"id": "T-1042",                          // required: string or integer
///  "customer_external_id": "acct_42",       // the account's id in the customer's product,
///  "requester_email": "ana@acme.com",       //   and/or the requester's email,
///  "requester_external_id": "user_7",       //   and/or the requester's user id: one needed
///  "subject": "Export fails",               // required, at most 500 characters
///  "body": "Since Monday the export…",      // plain text, at most 64 KB
///  "status": "open",                        // new|open|pending|on_hold|solved|closed (default open)
///  "priority": "normal",                    // low|normal|high|urgent (default normal)
///  "created_at": "2026-05-01T09:00:00Z",    // ISO-8601, default now
///  "updated_at": "…", "solved_at": "…",     // ISO-8601; updated_at defaults to created_at
///  "satisfaction": "good",                  // "good", "bad" or 1–5
///  "tags": ["billing", "export"]}           // at most 100, each at most 100 characters
/// ```
///
/// Status and priority are read in any case, also `hold`/`on-hold`, `resolved` and
/// `medium`; other values are problems. Times may not be before 2000 nor more than a
/// day ahead, `updated_at` and `solved_at` not before `created_at`. An unset `solved_at`
/// on a solved or closed ticket is `updated_at`. Unknown fields are ignored.
///
/// # Errors
/// Every problem found, by field path (`subject`, `tags[2]`).
pub fn parse_generic(value: &Value, now: DateTime<Utc>) -> Result<TicketUpdate, Vec<Problem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![Problem::new("body", "must be a JSON object")]);
    };
    let mut problems = Vec::new();
    let external_id = required_id(obj, "id", "", &mut problems);

    let organization = optional_id(obj, "customer_external_id", "", &mut problems);
    let requester_external_id = optional_id(obj, "requester_external_id", "", &mut problems);
    let requester_email = match obj.get("requester_email") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if looks_like_email(s.trim()) => Some(s.trim().to_lowercase()),
        Some(Value::String(_)) => {
            problems.push(Problem::new("requester_email", "must be an email address"));
            None
        }
        Some(_) => {
            problems.push(Problem::new("requester_email", "must be a string"));
            None
        }
    };
    let key_paths = [
        "customer_external_id",
        "requester_email",
        "requester_external_id",
    ];
    if organization.is_none()
        && requester_email.is_none()
        && requester_external_id.is_none()
        && !problems
            .iter()
            .any(|p| key_paths.contains(&p.path.as_str()))
    {
        problems.push(Problem::new(
            "customer_external_id",
            "customer_external_id, requester_email or requester_external_id is required",
        ));
    }

    let subject = match obj.get("subject") {
        None | Some(Value::Null) => {
            problems.push(Problem::new("subject", "is required"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.push(Problem::new("subject", "is required"));
            None
        }
        Some(Value::String(s)) if s.trim().chars().count() > MAX_SUBJECT_CHARS => {
            problems.push(Problem::new(
                "subject",
                format!("must be at most {MAX_SUBJECT_CHARS} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            problems.push(Problem::new("subject", "must be a string"));
            None
        }
    };
    let text = match obj.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.len() > MAX_TEXT_BYTES => {
            problems.push(Problem::new(
                "body",
                format!("must be at most {} KB", MAX_TEXT_BYTES / 1024),
            ));
            String::new()
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => {
            problems.push(Problem::new("body", "must be a string"));
            String::new()
        }
    };

    let status = match obj.get("status") {
        None | Some(Value::Null) => TicketStatus::Open,
        Some(Value::String(s)) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "status",
                "must be new, open, pending, on_hold, solved or closed",
            ));
            TicketStatus::Open
        }),
        Some(_) => {
            problems.push(Problem::new("status", "must be a string"));
            TicketStatus::Open
        }
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => Priority::Normal,
        Some(Value::String(s)) => Priority::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "priority",
                "must be low, normal, high or urgent",
            ));
            Priority::Normal
        }),
        Some(_) => {
            problems.push(Problem::new("priority", "must be a string"));
            Priority::Normal
        }
    };

    let created_given = obj.get("created_at").is_some_and(|v| !v.is_null());
    let created_at = api_instant(obj, "created_at", now, &mut problems);
    let created_ok = created_at.is_some() || !created_given;
    let created_at = created_at.unwrap_or(now);
    let updated_at = api_instant(obj, "updated_at", now, &mut problems);
    let solved_at = api_instant(obj, "solved_at", now, &mut problems);
    for (key, t) in [("updated_at", updated_at), ("solved_at", solved_at)] {
        if created_ok && t.is_some_and(|t| t < created_at) {
            problems.push(Problem::new(key, "must not be before created_at"));
        }
    }
    let updated_at = updated_at.unwrap_or(created_at);
    let solved_at = solved_at.or_else(|| status.is_resolved().then_some(updated_at));

    let satisfaction = match obj.get("satisfaction") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim().to_ascii_lowercase();
            let parsed = match s.as_str() {
                "good" => Some(Satisfaction::Good),
                "bad" => Some(Satisfaction::Bad),
                other => Satisfaction::parse(other),
            };
            if parsed.is_none() {
                problems.push(Problem::new(
                    "satisfaction",
                    "must be \"good\", \"bad\" or a rating from 1 to 5",
                ));
            }
            parsed
        }
        Some(Value::Number(n)) => n.as_i64().and_then(Satisfaction::rating).or_else(|| {
            problems.push(Problem::new(
                "satisfaction",
                "must be \"good\", \"bad\" or a rating from 1 to 5",
            ));
            None
        }),
        Some(_) => {
            problems.push(Problem::new(
                "satisfaction",
                "must be \"good\", \"bad\" or a rating from 1 to 5",
            ));
            None
        }
    };

    let mut tags: Vec<String> = Vec::new();
    match obj.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_TAGS {
                problems.push(Problem::new(
                    "tags",
                    format!("must have at most {MAX_TAGS} tags"),
                ));
            }
            for (i, item) in items.iter().enumerate().take(MAX_TAGS) {
                match item {
                    Value::String(t) if t.trim().is_empty() => {
                        problems.push(Problem::new(format!("tags[{i}]"), "must not be empty"))
                    }
                    Value::String(t) if t.trim().chars().count() > MAX_TAG_LEN => {
                        problems.push(Problem::new(
                            format!("tags[{i}]"),
                            format!("must be at most {MAX_TAG_LEN} characters"),
                        ))
                    }
                    Value::String(t) => {
                        let t = t.trim().to_string();
                        if !tags.contains(&t) {
                            tags.push(t);
                        }
                    }
                    _ => problems.push(Problem::new(format!("tags[{i}]"), "must be a string")),
                }
            }
        }
        Some(_) => problems.push(Problem::new("tags", "must be an array of strings")),
    }

    match (external_id, subject, problems.is_empty()) {
        (Some(external_id), Some(subject), true) => Ok(TicketUpdate {
            source: TicketSource::Api,
            external_id,
            requester_email,
            requester_external_id,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at,
            satisfaction,
            tags,
        }),
        _ => Err(problems),
    }
}
