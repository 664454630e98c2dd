//! Zendesk webhook bodies: event subscriptions and trigger bodies.

use super::*;

/// Parses a Zendesk webhook body, either of the two kinds Zendesk sends:
///
/// **Event subscription** (a webhook subscribed to `zen:event-type:ticket.*` events):
/// `{"type": "zen:event-type:ticket.created", "id": "<event id>", "time": "…",
/// "subject": "zen:ticket:35436", "detail": {"id": "35436", "subject", "description",
/// "status": "OPEN", "priority": "HIGH", "created_at", "updated_at", "requester_id",
/// "organization_id", "tags": [...]}, "event": {...}}`. Every ticket event type is read
/// from `detail` (which Zendesk documents as the same for all of them); for
/// `ticket.comment_added` the text is `event.comment.body` when the comment is public and
/// not by staff, otherwise the description, so an agent's reply or internal note is never
/// scored as the customer's words. These events carry the requester's Zendesk id but not
/// the email, so `organization` (the Zendesk organization id; `"0"` means none) is the
/// account key. Non-ticket events (`user.*`, `organization.*`, `messaging_ticket.*`, …)
/// give `Ok(None)`.
///
/// **Trigger body** (a trigger or automation notifying the webhook). Recommended body,
/// with Zendesk's placeholders:
///
/// ```json
/// {"ticket": {
///   "id": "{{ticket.id}}",
///   "subject": "{{ticket.title}}",
///   "description": "{{ticket.description}}",
///   "latest_comment": "{{ticket.latest_public_comment}}",
///   "status": "{{ticket.status}}",
///   "priority": "{{ticket.priority}}",
///   "requester_email": "{{ticket.requester.email}}",
///   "requester_external_id": "{{ticket.requester.external_id}}",
///   "organization_external_id": "{{ticket.organization.external_id}}",
///   "satisfaction": "{{satisfaction.current_rating}}",
///   "tags": "{{ticket.tags}}",
///   "created_at": "{{ticket.created_at_with_timestamp}}",
///   "updated_at": "{{ticket.updated_at_with_timestamp}}"
/// }}
/// ```
///
/// `id` and `created_at` are required. Status and priority are read in any case
/// (`On-hold`; a priority of `-` or empty means normal). `latest_comment` (or
/// `latest_public_comment`, `comment`) wins over `description` for the text. Satisfaction
/// is read from the start of the rendered text (`Good…`/`Bad…`); `Offered`, `Unoffered`
/// and anything else mean none. `tags` may be the rendered space-separated string or an
/// array. Also accepted: `title` for `subject`, `organization_id`/`organization` for the
/// organization, `solved_at`. The latest public comment may be an agent's: give the
/// trigger the condition "Current user is (end user)" so only customers' words are scored.
///
/// Webhook text is cut to [`MAX_TEXT_BYTES`] and subjects to [`MAX_SUBJECT_CHARS`]
/// rather than refused, because a refused webhook is retried and eventually disabled.
///
/// # Errors
/// Every problem found, by field path (`detail.status`, `ticket.created_at`).
pub fn parse_zendesk(payload: &[u8]) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let obj = json_object(payload)?;
    if let Some(kind) = obj.get("type").and_then(Value::as_str) {
        if kind.starts_with("zen:event-type:") {
            return parse_zendesk_event(&obj, kind);
        }
    }
    match obj.get("ticket") {
        Some(Value::Object(ticket)) => parse_zendesk_trigger(ticket).map(Some),
        Some(_) => Err(vec![Problem::new("ticket", "must be an object")]),
        None => Err(vec![Problem::new(
            "body",
            "is neither a Zendesk event (\"type\": \"zen:event-type:…\") nor a trigger body \
             ({\"ticket\": {…}})",
        )]),
    }
}

fn parse_zendesk_event(
    obj: &Map<String, Value>,
    kind: &str,
) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let Some(event_name) = kind.strip_prefix("zen:event-type:ticket.") else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let Some(detail) = obj.get("detail").and_then(Value::as_object) else {
        return Err(vec![Problem::new(
            "detail",
            "is required and must be an object",
        )]);
    };
    let from_subject = obj
        .get("subject")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("zen:ticket:"))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= MAX_ID_LEN)
        .map(str::to_string);
    let external_id = match optional_id(detail, "id", "detail", &mut problems) {
        Some(id) => Some(id),
        None if from_subject.is_some() => from_subject,
        None => {
            if !problems.iter().any(|p| p.path == "detail.id") {
                problems.push(Problem::new("detail.id", "is required"));
            }
            None
        }
    };

    let subject = text_at(detail, "subject")
        .map(|s| clip_chars(s, MAX_SUBJECT_CHARS))
        .unwrap_or_default();
    let description = text_at(detail, "description").unwrap_or("");
    let customer_comment = if event_name == "comment_added" {
        dig(obj, &["event", "comment"])
            .and_then(Value::as_object)
            .filter(|c| c.get("is_public").and_then(Value::as_bool) != Some(false))
            .filter(|c| dig(c, &["author", "is_staff"]).and_then(Value::as_bool) != Some(true))
            .and_then(|c| text_at(c, "body"))
    } else {
        None
    };
    let text = clip_bytes(customer_comment.unwrap_or(description), MAX_TEXT_BYTES).to_string();

    let status_raw = text_at(detail, "status").or_else(|| {
        (event_name == "status_changed")
            .then(|| obj.get("event").and_then(|e| e.get("current")))
            .flatten()
            .and_then(Value::as_str)
    });
    let status = match status_raw {
        None => TicketStatus::Open,
        Some(s) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "detail.status",
                format!(
                    "is {s:?}, not a Zendesk status (NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED)"
                ),
            ));
            TicketStatus::Open
        }),
    };
    let priority = match text_at(detail, "priority") {
        None => Priority::Normal,
        Some(p) => Priority::parse_loose(p).unwrap_or_else(|| {
            problems.push(Problem::new(
                "detail.priority",
                format!("is {p:?}, not a Zendesk priority (LOW, NORMAL, HIGH, URGENT)"),
            ));
            Priority::Normal
        }),
    };

    let event_time = instant_at(obj, "time", "", &mut problems);
    let created_at = instant_at(detail, "created_at", "detail", &mut problems).or(event_time);
    if created_at.is_none() && !problems.iter().any(|p| p.path == "detail.created_at") {
        problems.push(Problem::new(
            "detail.created_at",
            "is required (or the event's time)",
        ));
    }
    let updated_at = instant_at(detail, "updated_at", "detail", &mut problems)
        .or(event_time)
        .or(created_at);

    let organization =
        optional_id(detail, "organization_id", "detail", &mut problems).filter(|id| id != "0");
    let tags = loose_tags(detail.get("tags"));

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(Some(TicketUpdate {
            source: TicketSource::Zendesk,
            external_id,
            requester_email: None,
            requester_external_id: None,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at: status.is_resolved().then_some(updated_at),
            satisfaction: None,
            tags,
        })),
        _ => Err(problems),
    }
}

fn parse_zendesk_trigger(ticket: &Map<String, Value>) -> Result<TicketUpdate, Vec<Problem>> {
    let p = "ticket";
    let mut problems = Vec::new();
    let external_id = required_id(ticket, "id", p, &mut problems);
    let subject = text_at(ticket, "subject")
        .or_else(|| text_at(ticket, "title"))
        .map(|s| clip_chars(s, MAX_SUBJECT_CHARS))
        .unwrap_or_default();
    let text = [
        "latest_comment",
        "latest_public_comment",
        "comment",
        "description",
    ]
    .iter()
    .find_map(|k| text_at(ticket, k))
    .map(|t| clip_bytes(t, MAX_TEXT_BYTES).to_string())
    .unwrap_or_default();

    let status = match text_at(ticket, "status") {
        None => TicketStatus::Open,
        Some(s) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                at(p, "status"),
                format!(
                    "is {s:?}, not a Zendesk status (New, Open, Pending, On-hold, Solved, Closed)"
                ),
            ));
            TicketStatus::Open
        }),
    };
    let priority = match text_at(ticket, "priority") {
        None | Some("-") => Priority::Normal,
        Some(s) => Priority::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                at(p, "priority"),
                format!("is {s:?}, not a Zendesk priority (Low, Normal, High, Urgent)"),
            ));
            Priority::Normal
        }),
    };
    let satisfaction = text_at(ticket, "satisfaction").and_then(|s| {
        let s = s.to_lowercase();
        if s.starts_with("good") {
            Some(Satisfaction::Good)
        } else if s.starts_with("bad") {
            Some(Satisfaction::Bad)
        } else {
            None
        }
    });

    let created_at = instant_at(ticket, "created_at", p, &mut problems);
    if created_at.is_none() && !problems.iter().any(|x| x.path == "ticket.created_at") {
        problems.push(Problem::new(
            "ticket.created_at",
            "is required: use {{ticket.created_at_with_timestamp}}",
        ));
    }
    let updated_at = instant_at(ticket, "updated_at", p, &mut problems).or(created_at);
    let solved_at = instant_at(ticket, "solved_at", p, &mut problems)
        .or_else(|| updated_at.filter(|_| status.is_resolved()));

    let requester_email = loose_email(text_at(ticket, "requester_email"));
    let requester_external_id = optional_id(ticket, "requester_external_id", p, &mut problems);
    let organization = [
        "organization_external_id",
        "organization_id",
        "organization",
    ]
    .iter()
    .find_map(|k| optional_id(ticket, k, p, &mut problems));
    let tags = loose_tags(ticket.get("tags"));

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(TicketUpdate {
            source: TicketSource::Zendesk,
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
