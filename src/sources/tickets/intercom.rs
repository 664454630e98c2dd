//! Intercom webhook notifications about conversations.

use super::*;

/// Contact roles whose words are the customer's (not an admin's, bot's or team's).
fn is_customer_author(author: Option<&Value>) -> bool {
    matches!(
        author.and_then(|a| a.get("type")).and_then(Value::as_str),
        Some("user" | "lead" | "contact")
    )
}

/// Parses an Intercom webhook notification: `{"type": "notification_event", "topic":
/// "conversation.user.created", "id": "notif_…", "created_at": <unix>, "data": {"item":
/// {"type": "conversation", …}}}`.
///
/// `Ok(None)` for the `ping` sent when the webhook is saved, for `conversation.deleted`,
/// and for any topic whose item is not a conversation (contacts, companies, Intercom
/// Tickets). For a conversation: `state` open/snoozed/closed → Open/Pending/Closed (else
/// the `open` flag); `priority` → High, anything else Normal; the text is the opening
/// message (`source.body`, or v1's `conversation_message.body`) and every customer
/// comment in `conversation_parts`, HTML stripped, admin and bot parts left out; the
/// subject is the `title`, else `source.subject`, else the text's first line (cut to 120
/// characters); `conversation_rating.rating` (1–5) is the satisfaction; tags from
/// `tags.tags[].name`. The requester email is the customer author's, else the first
/// contact's; `requester_external_id` is the first contact's `external_id`. Intercom
/// conversations name no company, so `organization` is only set when the item has a
/// `company` object (`company_id`, else `id`).
///
/// # Errors
/// Every problem found, by field path (`data.item.id`, `topic`).
pub fn parse_intercom(payload: &[u8]) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let obj = json_object(payload)?;
    let mut problems = Vec::new();
    if obj.get("type").and_then(Value::as_str) != Some("notification_event") {
        problems.push(Problem::new("type", "must be \"notification_event\""));
    }
    let topic = text_at(&obj, "topic");
    if topic.is_none() {
        problems.push(Problem::new("topic", "is required"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if matches!(topic, Some("ping" | "conversation.deleted")) {
        return Ok(None);
    }
    let Some(item) = dig(&obj, &["data", "item"]).and_then(Value::as_object) else {
        return Err(vec![Problem::new(
            "data.item",
            "is required and must be an object",
        )]);
    };
    if item.get("type").and_then(Value::as_str) != Some("conversation") {
        return Ok(None);
    }
    let p = "data.item";
    let external_id = required_id(item, "id", p, &mut problems);

    let notified_at = obj.get("created_at").and_then(unix_instant);
    let created_at = item
        .get("created_at")
        .and_then(unix_instant)
        .or(notified_at);
    if created_at.is_none() {
        problems.push(Problem::new(
            at(p, "created_at"),
            "is required (a Unix time in seconds)",
        ));
    }
    let updated_at = item
        .get("updated_at")
        .and_then(unix_instant)
        .or(notified_at)
        .or(created_at);

    let status = match text_at(item, "state") {
        Some("open") => TicketStatus::Open,
        Some("snoozed") => TicketStatus::Pending,
        Some("closed") => TicketStatus::Closed,
        Some(other) => {
            problems.push(Problem::new(
                at(p, "state"),
                format!("is {other:?}, not open, snoozed or closed"),
            ));
            TicketStatus::Open
        }
        None => match item.get("open").and_then(Value::as_bool) {
            Some(false) => TicketStatus::Closed,
            _ => TicketStatus::Open,
        },
    };
    let priority = match text_at(item, "priority") {
        Some("priority") => Priority::High,
        _ => Priority::Normal,
    };

    let source = item
        .get("source")
        .or_else(|| item.get("conversation_message"))
        .and_then(Value::as_object);
    let source_author = source.and_then(|s| s.get("author"));
    let mut pieces: Vec<String> = Vec::new();
    if let Some(body) = source
        .filter(|_| is_customer_author(source_author))
        .and_then(|s| text_at(s, "body"))
    {
        pieces.push(html_to_text(body));
    }
    let parts = dig(item, &["conversation_parts", "conversation_parts"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for part in parts {
        let Some(part) = part.as_object() else {
            continue;
        };
        let is_note = part.get("part_type").and_then(Value::as_str) == Some("note");
        if !is_note && is_customer_author(part.get("author")) {
            if let Some(body) = text_at(part, "body") {
                pieces.push(html_to_text(body));
            }
        }
    }
    pieces.retain(|s| !s.is_empty());
    let text = clip_bytes(&pieces.join("\n\n"), MAX_TEXT_BYTES).to_string();

    let subject = text_at(item, "title")
        .map(html_to_text)
        .or_else(|| source.and_then(|s| text_at(s, "subject")).map(html_to_text))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| clip_chars(text.lines().next().unwrap_or(""), 120));
    let subject = clip_chars(&subject, MAX_SUBJECT_CHARS);

    let contacts = dig(item, &["contacts", "contacts"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let requester_email = loose_email(
        source_author
            .filter(|a| is_customer_author(Some(a)))
            .and_then(|a| a.get("email"))
            .and_then(Value::as_str),
    )
    .or_else(|| {
        contacts
            .iter()
            .find_map(|c| loose_email(c.get("email").and_then(Value::as_str)))
    })
    .or_else(|| loose_email(dig(item, &["user", "email"]).and_then(Value::as_str)));
    let requester_external_id = contacts
        .iter()
        .find_map(|c| c.get("external_id").and_then(id_of))
        .filter(|id| id.chars().count() <= MAX_ID_LEN);
    let organization = item
        .get("company")
        .and_then(Value::as_object)
        .and_then(|c| {
            c.get("company_id")
                .and_then(id_of)
                .or_else(|| c.get("id").and_then(id_of))
        })
        .filter(|id| id.chars().count() <= MAX_ID_LEN);

    let satisfaction = match dig(item, &["conversation_rating", "rating"]) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().and_then(Satisfaction::rating) {
            Some(s) => Some(s),
            None => {
                problems.push(Problem::new(
                    "data.item.conversation_rating.rating",
                    "must be an integer from 1 to 5",
                ));
                None
            }
        },
    };
    let tag_names: Vec<Value> = dig(item, &["tags", "tags"])
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(|t| t.get("name").cloned()).collect())
        .unwrap_or_default();
    let tags = loose_tags(Some(&Value::Array(tag_names)));

    let solved_at = status.is_resolved().then(|| {
        dig(item, &["statistics", "last_close_at"])
            .and_then(unix_instant)
            .or(updated_at)
    });

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(Some(TicketUpdate {
            source: TicketSource::Intercom,
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
            solved_at: solved_at.flatten(),
            satisfaction,
            tags,
        })),
        _ => Err(problems),
    }
}
