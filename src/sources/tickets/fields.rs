//! Reading loosely typed helpdesk fields: ids, instants, tags, e-mails, clipped text.

use super::*;

/// Lowercase, trimmed, with spaces and hyphens as underscores: `On-hold` → `on_hold`.
pub(super) fn loose_key(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

pub(super) fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// The value at a path of object keys, if every step is an object holding the key.
pub(super) fn dig<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(obj.get(*first)?, |v, key| v.as_object()?.get(*key))
}

/// A non-blank string at `key`, trimmed.
pub(super) fn text_at<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An id given as a non-blank string or an integer (Zendesk sends both, as numbers in some
/// places and strings in others).
pub(super) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A required id: problems for missing, wrong type or too long.
pub(super) fn required_id(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            problems.push(Problem::new(at(prefix, key), "is required"));
            None
        }
        Some(v) => optional_id(obj, key, prefix, problems).or_else(|| {
            if !problems.iter().any(|p| p.path == at(prefix, key)) {
                let reason = match v {
                    Value::String(_) => "must not be empty",
                    _ => "must be a string or an integer",
                };
                problems.push(Problem::new(at(prefix, key), reason));
            }
            None
        }),
    }
}

/// An optional id; empty strings count as absent (helpdesk placeholders render empty).
pub(super) fn optional_id(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let v = obj.get(key)?;
    match id_of(v) {
        Some(id) if id.chars().count() > MAX_ID_LEN => {
            problems.push(Problem::new(
                at(prefix, key),
                format!("must be at most {MAX_ID_LEN} characters"),
            ));
            None
        }
        Some(id) => Some(id),
        None => {
            if !matches!(v, Value::Null | Value::String(_)) {
                problems.push(Problem::new(
                    at(prefix, key),
                    "must be a string or an integer",
                ));
            }
            None
        }
    }
}

/// ISO-8601 as helpdesks write it: RFC 3339 (`2021-11-02T19:36:38Z`, offsets, fractions),
/// and Zendesk's `{{ticket.created_at_with_timestamp}}` form without seconds
/// (`2013-12-12T05:35Z`).
pub(super) fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = raw.strip_suffix('Z').or_else(|| raw.strip_suffix('z'))?;
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .map(|t| Utc.from_utc_datetime(&t))
}

pub(super) fn unix_instant(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(v.as_i64()?, 0)
}

/// An optional ISO-8601 time at `key`; a problem if present but unreadable.
pub(super) fn instant_at(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<DateTime<Utc>> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => parse_instant(s).or_else(|| {
            problems.push(Problem::new(
                at(prefix, key),
                "must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z",
            ));
            None
        }),
        Some(_) => {
            problems.push(Problem::new(at(prefix, key), "must be a string"));
            None
        }
    }
}

impl TicketUpdate {
    /// A problem with the update's times, judged at `now`: helpdesks date tickets after
    /// 1990 and not more than a day ahead of us. A ticket dated year 9999 would make every
    /// later update of it look stale, one dated year 0 would sort before everything.
    pub fn implausible_time(&self, now: DateTime<Utc>) -> Option<Problem> {
        let earliest = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).single()?;
        let latest = now + chrono::Duration::days(1);
        [
            ("created_at", Some(self.created_at)),
            ("updated_at", Some(self.updated_at)),
            ("solved_at", self.solved_at),
        ]
        .into_iter()
        .find_map(|(field, t)| {
            let t = t?;
            if t < earliest {
                Some(Problem::new(field, "is before 1990"))
            } else if t > latest {
                Some(Problem::new(field, "is more than a day in the future"))
            } else {
                None
            }
        })
    }
}

/// Cuts `s` to at most `max` characters.
pub(super) fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
pub(super) fn clip_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Tags from an array of strings or a space-separated string (`{{ticket.tags}}`), trimmed,
/// deduplicated and capped. Webhook tags are best-effort: odd entries are skipped.
pub(super) fn loose_tags(v: Option<&Value>) -> Vec<String> {
    let raw: Vec<&str> = match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let mut tags: Vec<String> = Vec::new();
    for t in raw {
        let t = clip_chars(t.trim(), MAX_TAG_LEN);
        if !t.is_empty() && !tags.contains(&t) && tags.len() < MAX_TAGS {
            tags.push(t);
        }
    }
    tags
}

/// A plausible email address: one `@`, something either side, a dot in the domain, no
/// spaces. Deliverability is the helpdesk's business; this only keeps junk out.
pub(super) fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && s.len() <= 254
                && !s.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

/// A webhook's requester email: kept if plausible, otherwise dropped (a helpdesk user
/// without an email is normal, and a 4xx would make the helpdesk retry forever).
pub(super) fn loose_email(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| looks_like_email(s))
        .map(str::to_lowercase)
}

/// Reads a webhook body as a JSON object.
pub(super) fn json_object(payload: &[u8]) -> Result<Map<String, Value>, Vec<Problem>> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(vec![Problem::new(
            "body",
            format!("is larger than {} KB", MAX_PAYLOAD_BYTES / 1024),
        )]);
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(vec![Problem::new("body", "must be a JSON object")]),
        Err(e) => Err(vec![Problem::new(
            "body",
            format!("is not valid JSON: {e}"),
        )]),
    }
}
