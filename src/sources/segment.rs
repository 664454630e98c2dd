//! Segment HTTP Tracking API messages (`identify`, `group`, `track`, `page`, `batch`):
//! parsing and validation, with every problem reported by field path. Pure: the HTTP
//! layer passes the parsed JSON and the time the request arrived.
//!
//! Shapes follow Segment's documented HTTP API: `userId` or `anonymousId` is required;
//! `track` needs `event`; `group` needs `groupId`; `timestamp` (ISO-8601) defaults to the
//! time of receipt; `context.groupId` ties a `track`/`page` to an account.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Segment's limit for one message, in bytes of JSON.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Segment's limit for one request body (a batch), in bytes.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Longest id (userId, anonymousId, groupId, messageId) accepted.
pub const MAX_ID_LEN: usize = 200;
/// Longest event or page name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// How far in the future a timestamp may be (clock skew), beyond which it is refused.
pub const MAX_FUTURE_SKEW_HOURS: i64 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    Identify,
    Group,
    Track,
    Page,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identify => "identify",
            Kind::Group => "group",
            Kind::Track => "track",
            Kind::Page => "page",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        [Kind::Identify, Kind::Group, Kind::Track, Kind::Page]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// One problem with a request: where (`batch[3].event`) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// A valid message, ready to resolve to a customer and store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: Kind,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The sender's id for idempotency; `None` when the sender gave none.
    pub message_id: Option<String>,
    /// When it happened: the message's `timestamp`, else the time of receipt.
    pub occurred_at: DateTime<Utc>,
    /// `track`: the event name; `page`: the page name (if any); otherwise `None`.
    pub event: Option<String>,
    /// `group`: the account's id; `track`/`page`: `context.groupId` if given.
    pub group_id: Option<String>,
    /// `properties` (track, page) or `traits` (identify, group); always an object.
    pub attributes: Map<String, Value>,
    pub context: Map<String, Value>,
}

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// An optional id: a non-empty string (or a number, which Segment's libraries also send).
fn id_field(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.push(Problem::new(at(prefix, key), "must not be empty"));
            None
        }
        Some(Value::String(s)) if s.chars().count() > MAX_ID_LEN => {
            problems.push(Problem::new(
                at(prefix, key),
                format!("must be at most {MAX_ID_LEN} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            problems.push(Problem::new(at(prefix, key), "must be a string"));
            None
        }
    }
}

fn object_field(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Map<String, Value> {
    match obj.get(key) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            problems.push(Problem::new(at(prefix, key), "must be an object"));
            Map::new()
        }
    }
}

fn name_field(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) if required => {
            problems.push(Problem::new(at(prefix, key), "is required"));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.push(Problem::new(
                at(prefix, key),
                if required {
                    "is required"
                } else {
                    "must not be empty"
                },
            ));
            None
        }
        Some(Value::String(s)) if s.chars().count() > MAX_NAME_LEN => {
            problems.push(Problem::new(
                at(prefix, key),
                format!("must be at most {MAX_NAME_LEN} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            problems.push(Problem::new(at(prefix, key), "must be a string"));
            None
        }
    }
}

/// Earliest accepted event time: anything older is a mistake, not history.
fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

fn timestamp_field(
    obj: &Map<String, Value>,
    prefix: &str,
    received_at: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) -> DateTime<Utc> {
    let path = at(prefix, "timestamp");
    match obj.get("timestamp") {
        None | Some(Value::Null) => received_at,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                if t > received_at + Duration::hours(MAX_FUTURE_SKEW_HOURS) {
                    problems.push(Problem::new(path, "is more than 24 hours in the future"));
                    received_at
                } else if t < earliest() {
                    problems.push(Problem::new(path, "is before the year 2000"));
                    received_at
                } else {
                    t
                }
            }
            Err(_) => {
                problems.push(Problem::new(
                    path,
                    "must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z",
                ));
                received_at
            }
        },
        Some(_) => {
            problems.push(Problem::new(path, "must be a string"));
            received_at
        }
    }
}

/// Validates one message. `kind` comes from the endpoint (`/v1/track`) or, in a batch,
/// from the message's `type`; `prefix` is its path for problems (`batch[3]`).
///
/// # Errors
/// Every problem found, by field path.
pub fn parse_message(
    value: &Value,
    kind: Option<Kind>,
    prefix: &str,
    received_at: DateTime<Utc>,
) -> Result<Message, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(obj) = value.as_object() else {
        return Err(vec![Problem::new(
            if prefix.is_empty() { "body" } else { prefix },
            "must be a JSON object",
        )]);
    };
    // Text Postgres can't store: the message is refused by the path of the bad field (the
    // others of a batch are still stored).
    if let Some(path) = crate::validation::first_nul_in_json(value, prefix) {
        return Err(vec![Problem::new(path, crate::validation::NUL_MESSAGE)]);
    }
    if json_size(value) > MAX_MESSAGE_BYTES {
        return Err(vec![Problem::new(
            if prefix.is_empty() { "body" } else { prefix },
            format!("is larger than {} KB", MAX_MESSAGE_BYTES / 1024),
        )]);
    }
    let kind = match kind {
        Some(k) => {
            if let Some(t) = obj.get("type").and_then(Value::as_str) {
                if Kind::parse(t) != Some(k) {
                    problems.push(Problem::new(
                        at(prefix, "type"),
                        format!("is {t:?} but this endpoint takes {:?}", k.as_str()),
                    ));
                }
            }
            Some(k)
        }
        None => match obj.get("type") {
            Some(Value::String(t)) => Kind::parse(t).or_else(|| {
                problems.push(Problem::new(
                    at(prefix, "type"),
                    "must be identify, group, track or page",
                ));
                None
            }),
            _ => {
                problems.push(Problem::new(
                    at(prefix, "type"),
                    "is required in a batch (identify, group, track or page)",
                ));
                None
            }
        },
    };
    let user_id = id_field(obj, "userId", prefix, &mut problems);
    let anonymous_id = id_field(obj, "anonymousId", prefix, &mut problems);
    if user_id.is_none()
        && anonymous_id.is_none()
        && !problems
            .iter()
            .any(|p| p.path.ends_with("userId") || p.path.ends_with("anonymousId"))
    {
        problems.push(Problem::new(
            at(prefix, "userId"),
            "userId or anonymousId is required",
        ));
    }
    let message_id = id_field(obj, "messageId", prefix, &mut problems);
    let occurred_at = timestamp_field(obj, prefix, received_at, &mut problems);
    let context = object_field(obj, "context", prefix, &mut problems);
    let (event, group_id, attributes) = match kind {
        Some(Kind::Track) => (
            name_field(obj, "event", prefix, true, &mut problems),
            id_field(&context, "groupId", &at(prefix, "context"), &mut problems),
            object_field(obj, "properties", prefix, &mut problems),
        ),
        Some(Kind::Page) => (
            name_field(obj, "name", prefix, false, &mut problems),
            id_field(&context, "groupId", &at(prefix, "context"), &mut problems),
            object_field(obj, "properties", prefix, &mut problems),
        ),
        Some(Kind::Group) => {
            let group = id_field(obj, "groupId", prefix, &mut problems);
            if group.is_none() && !problems.iter().any(|p| p.path == at(prefix, "groupId")) {
                problems.push(Problem::new(at(prefix, "groupId"), "is required"));
            }
            (
                None,
                group,
                object_field(obj, "traits", prefix, &mut problems),
            )
        }
        Some(Kind::Identify) => (
            None,
            None,
            object_field(obj, "traits", prefix, &mut problems),
        ),
        None => (None, None, Map::new()),
    };
    match (kind, problems.is_empty()) {
        (Some(kind), true) => Ok(Message {
            kind,
            user_id,
            anonymous_id,
            message_id,
            occurred_at,
            event,
            group_id,
            attributes,
            context,
        }),
        _ => Err(problems),
    }
}

/// What a batch request yields: the valid messages with their index, and the problems of
/// the invalid ones (valid messages are stored even when others fail).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub messages: Vec<(usize, Message)>,
    pub problems: Vec<Problem>,
}

/// The size of `value` as compact JSON, counted without building the text.
fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a failure would only make the size 0.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Parses a `/v1/batch` body: `{"batch": [...], "context": {...}}`. The batch-level
/// `context` is merged under each message's own.
///
/// # Errors
/// A problem with the body itself (not an object, no `batch` array).
pub fn parse_batch(value: &Value, received_at: DateTime<Utc>) -> Result<Batch, Vec<Problem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![Problem::new("body", "must be a JSON object")]);
    };
    let Some(items) = obj.get("batch").and_then(Value::as_array) else {
        return Err(vec![Problem::new(
            "batch",
            "is required and must be an array of messages",
        )]);
    };
    let shared = obj
        .get("context")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Batch::default();
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("batch[{i}]");
        let merged;
        let item = match (item.as_object(), shared.is_empty()) {
            (Some(m), false) => {
                let mut m = m.clone();
                let mut ctx = shared.clone();
                if let Some(Value::Object(own)) = m.get("context") {
                    ctx.extend(own.clone());
                }
                m.insert("context".into(), Value::Object(ctx));
                merged = Value::Object(m);
                &merged
            }
            _ => item,
        };
        match parse_message(item, None, &prefix, received_at) {
            Ok(m) => out.messages.push((i, m)),
            Err(p) => out.problems.extend(p),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn paths(r: Result<Message, Vec<Problem>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn track_with_everything() {
        let m = parse_message(
            &json!({
                "userId": "u1", "event": "Report Created", "messageId": "m-1",
                "timestamp": "2024-03-01T10:00:00+02:00",
                "properties": {"report_type": "usage"}, "context": {"groupId": "acct_1", "ip": "1.2.3.4"}
            }),
            Some(Kind::Track),
            "",
            now(),
        )
        .unwrap();
        assert_eq!(m.event.as_deref(), Some("Report Created"));
        assert_eq!(m.group_id.as_deref(), Some("acct_1"));
        assert_eq!(m.message_id.as_deref(), Some("m-1"));
        assert_eq!(
            m.occurred_at,
            Utc.with_ymd_and_hms(2024, 3, 1, 8, 0, 0).unwrap(),
            "historical time kept, in UTC"
        );
        assert_eq!(m.attributes["report_type"], "usage");
    }

    #[test]
    fn defaults_time_to_receipt_and_accepts_numeric_ids() {
        let m = parse_message(
            &json!({"anonymousId": 42, "event": "x"}),
            Some(Kind::Track),
            "",
            now(),
        )
        .unwrap();
        assert_eq!(m.occurred_at, now());
        assert_eq!(m.anonymous_id.as_deref(), Some("42"));
        assert_eq!(m.message_id, None);
    }

    #[test]
    fn reports_every_problem_by_path() {
        let r = parse_message(
            &json!({"event": "", "timestamp": "yesterday", "properties": [1], "context": "web", "messageId": {}}),
            Some(Kind::Track),
            "",
            now(),
        );
        assert_eq!(
            paths(r),
            vec![
                "userId",
                "messageId",
                "timestamp",
                "context",
                "event",
                "properties"
            ]
        );
        assert_eq!(
            paths(parse_message(
                &json!({"userId": "u"}),
                Some(Kind::Group),
                "",
                now()
            )),
            vec!["groupId"]
        );
        assert_eq!(
            paths(parse_message(
                &json!({"userId": "u", "type": "track", "event": "x"}),
                Some(Kind::Page),
                "",
                now()
            )),
            vec!["type"]
        );
        assert_eq!(
            paths(parse_message(&json!([1, 2]), Some(Kind::Track), "", now())),
            vec!["body"]
        );
    }

    #[test]
    fn timestamps_bounded() {
        let future = parse_message(
            &json!({"userId": "u", "timestamp": "2026-06-03T12:00:00Z"}),
            Some(Kind::Identify),
            "",
            now(),
        );
        assert_eq!(
            future.unwrap_err()[0].reason,
            "is more than 24 hours in the future"
        );
        assert!(parse_message(
            &json!({"userId": "u", "timestamp": "1999-12-31T23:59:59Z"}),
            Some(Kind::Identify),
            "",
            now()
        )
        .is_err());
        assert!(
            parse_message(
                &json!({"userId": "u", "timestamp": "2026-06-02T11:00:00Z"}),
                Some(Kind::Identify),
                "",
                now()
            )
            .is_ok(),
            "skew tolerated"
        );
    }

    #[test]
    fn size_and_length_limits() {
        let big = "x".repeat(MAX_MESSAGE_BYTES);
        let r = parse_message(
            &json!({"userId": "u", "event": "e", "properties": {"blob": big}}),
            Some(Kind::Track),
            "",
            now(),
        );
        assert!(r.unwrap_err()[0].reason.contains("larger than 32 KB"));
        let long = "y".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            paths(parse_message(
                &json!({"userId": long, "event": "e"}),
                Some(Kind::Track),
                "",
                now()
            )),
            vec!["userId"]
        );
    }

    #[test]
    fn nul_characters_refuse_the_message_by_path() {
        let r = parse_message(
            &json!({"userId": "u1", "event": "Signed Up", "properties": {"plan": "pro\u{0}"}}),
            Some(Kind::Track),
            "",
            now(),
        );
        let problems = r.unwrap_err();
        assert_eq!(problems[0].path, "properties.plan");
        assert!(problems[0].reason.contains("NUL"));
        let b = parse_batch(
            &json!({"batch": [
                {"type": "track", "userId": "u1", "event": "Ok"},
                {"type": "track", "userId": "u\u{0}", "event": "Bad"}
            ]}),
            now(),
        )
        .unwrap();
        assert_eq!(b.messages.len(), 1);
        assert_eq!(b.problems[0].path, "batch[1].userId");
    }

    #[test]
    fn batch_keeps_the_good_and_reports_the_bad_by_index() {
        let b = parse_batch(
            &json!({
                "context": {"library": {"name": "analytics-node"}, "groupId": "acct_9"},
                "batch": [
                    {"type": "track", "userId": "u", "event": "Logged In"},
                    {"type": "shout", "userId": "u"},
                    {"userId": "u"},
                    {"type": "group", "userId": "u", "groupId": "acct_2", "traits": {"name": "Acme"}},
                    {"type": "page", "anonymousId": "a", "context": {"groupId": "acct_3"}},
                    "not an object"
                ]
            }),
            now(),
        )
        .unwrap();
        let good: Vec<usize> = b.messages.iter().map(|(i, _)| *i).collect();
        assert_eq!(good, vec![0, 3, 4]);
        assert_eq!(
            b.messages[0].1.group_id.as_deref(),
            Some("acct_9"),
            "batch context applies"
        );
        assert_eq!(
            b.messages[2].1.group_id.as_deref(),
            Some("acct_3"),
            "message context wins"
        );
        let bad: Vec<&str> = b.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(bad, vec!["batch[1].type", "batch[2].type", "batch[5]"]);
        assert!(parse_batch(&json!({"messages": []}), now()).is_err());
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| json!(f)),
                "[a-zA-Z0-9 :TZ+.-]{0,40}".prop_map(Value::String),
                prop_oneof![
                    Just("userId"),
                    Just("event"),
                    Just("timestamp"),
                    Just("2026-01-01T00:00:00Z"),
                    Just("track")
                ]
                .prop_map(|s| Value::String(s.into())),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec(
                        (
                            prop_oneof![
                                Just("userId".to_string()),
                                Just("anonymousId".to_string()),
                                Just("event".to_string()),
                                Just("type".to_string()),
                                Just("context".to_string()),
                                Just("groupId".to_string()),
                                Just("timestamp".to_string()),
                                Just("batch".to_string()),
                                "[a-z]{1,8}"
                            ],
                            inner
                        ),
                        0..8
                    )
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn any_json_gives_a_message_or_problems(v in any_json()) {
                for kind in [None, Some(Kind::Track), Some(Kind::Identify), Some(Kind::Group), Some(Kind::Page)] {
                    if let Err(problems) = parse_message(&v, kind, "", now()) {
                        prop_assert!(!problems.is_empty());
                    }
                }
                let _ = parse_batch(&v, now());
                let _ = parse_batch(&json!({"batch": [v.clone(), v]}), now());
            }
        }
    }
}
