use super::*;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

fn now() -> DateTime<Utc> {
    t("2026-06-01T12:00:00Z")
}

fn paths(problems: Vec<Problem>) -> Vec<String> {
    problems.into_iter().map(|p| p.path).collect()
}

#[test]
fn implausible_ticket_times_are_found() {
    let mut u = parse_generic(
        &json!({"id": "T1", "customer_external_id": "a", "subject": "S"}),
        now(),
    )
    .unwrap();
    assert!(u.implausible_time(now()).is_none());
    u.updated_at = t("9999-12-31T00:00:00Z");
    assert_eq!(u.implausible_time(now()).unwrap().path, "updated_at");
    u.updated_at = now();
    u.created_at = t("0000-01-01T00:00:00Z");
    assert_eq!(u.implausible_time(now()).unwrap().path, "created_at");
}

fn bytes(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

// --- signatures -------------------------------------------------------------------

const ZD_SECRET: &str = "dGhpc19zZWNyZXQ";
const ZD_TS: &str = "2021-11-02T19:36:38Z";
const ZD_BODY: &[u8] = br#"{"type":"zen:event-type:ticket.created"}"#;

fn zd_now() -> DateTime<Utc> {
    t(ZD_TS) + Duration::seconds(30)
}

#[test]
fn zendesk_signature_matches_an_independent_hmac() {
    // Computed with Python's hmac/hashlib/base64 over timestamp + body.
    let expected = "0aIvY4vdG8MrxpfMdYY7HdV9REfDGRfXLdaMXj8jHgo=";
    assert_eq!(sign_zendesk(ZD_BODY, ZD_SECRET, ZD_TS), expected);
    assert_eq!(
        verify_zendesk(expected, ZD_TS, ZD_BODY, ZD_SECRET, zd_now(), 300),
        Ok(())
    );
}

#[test]
fn zendesk_refusals() {
    let sig = sign_zendesk(ZD_BODY, ZD_SECRET, ZD_TS);
    let check = |sig: &str, ts: &str, body: &[u8], secret: &str, now| {
        verify_zendesk(sig, ts, body, secret, now, ZENDESK_TOLERANCE_SECS)
    };
    let tampered = br#"{"type":"zen:event-type:ticket.deleted"}"#;
    assert_eq!(
        check(&sig, ZD_TS, tampered, ZD_SECRET, zd_now()),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check(&sig, ZD_TS, ZD_BODY, "another-secret", zd_now()),
        Err(SignatureError::Mismatch)
    );
    // The timestamp is signed too: moving it breaks the signature.
    assert_eq!(
        check(&sig, "2021-11-02T19:36:39Z", ZD_BODY, ZD_SECRET, zd_now()),
        Err(SignatureError::Mismatch)
    );
    let late = t(ZD_TS) + Duration::minutes(6);
    assert_eq!(
        check(&sig, ZD_TS, ZD_BODY, ZD_SECRET, late),
        Err(SignatureError::Stale { skew_secs: 360 })
    );
    let early = t(ZD_TS) - Duration::minutes(10);
    assert_eq!(
        check(&sig, ZD_TS, ZD_BODY, ZD_SECRET, early),
        Err(SignatureError::Stale { skew_secs: -600 })
    );
    for bad in ["", "not base64!", "c2hvcnQ=", "sha256=abc"] {
        assert_eq!(
            check(bad, ZD_TS, ZD_BODY, ZD_SECRET, zd_now()),
            Err(SignatureError::MalformedSignature),
            "{bad:?}"
        );
    }
    assert_eq!(
        check(&sig, "1635881798", ZD_BODY, ZD_SECRET, zd_now()),
        Err(SignatureError::MalformedTimestamp)
    );
    assert_eq!(
        check(&sig, ZD_TS, ZD_BODY, "", zd_now()),
        Err(SignatureError::NoSecret)
    );
    assert!(SignatureError::Stale { skew_secs: 360 }
        .to_string()
        .contains("360s"));
}

#[test]
fn intercom_signature() {
    let body = br#"{"type":"notification_event","topic":"ping"}"#;
    // Computed with Python's hmac/hashlib over the raw body.
    let expected = "sha1=892b7769941a3e2be74c75f056cfee7b10f5834d";
    assert_eq!(sign_intercom(body, "client_secret_123"), expected);
    assert_eq!(verify_intercom(expected, body, "client_secret_123"), Ok(()));
    assert_eq!(
        verify_intercom(
            &expected.to_uppercase().replace("SHA1=", "sha1="),
            body,
            "client_secret_123"
        ),
        Ok(()),
        "hex in either case"
    );
    assert_eq!(
        verify_intercom(
            expected,
            br#"{"type":"notification_event","topic":"pong"}"#,
            "client_secret_123"
        ),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_intercom(expected, body, "other"),
        Err(SignatureError::Mismatch)
    );
    for bad in [
        "",
        "892b7769941a3e2be74c75f056cfee7b10f5834d",
        "sha256=892b7769941a3e2be74c75f056cfee7b10f5834d",
        "sha1=xyz",
        "sha1=892b77",
        "sha1=é",
    ] {
        assert_eq!(
            verify_intercom(bad, body, "client_secret_123"),
            Err(SignatureError::MalformedSignature),
            "{bad:?}"
        );
    }
    assert_eq!(
        verify_intercom(expected, body, ""),
        Err(SignatureError::NoSecret)
    );
}

// --- enums ------------------------------------------------------------------------

#[test]
fn stored_forms_round_trip() {
    for s in TicketStatus::ALL {
        assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
    }
    for p in Priority::ALL {
        assert_eq!(Priority::parse(p.as_str()), Some(p));
    }
    for s in TicketSource::ALL {
        assert_eq!(TicketSource::parse(s.as_str()), Some(s));
    }
    for l in SentimentLabel::ALL {
        assert_eq!(SentimentLabel::parse(l.as_str()), Some(l));
    }
    assert_eq!(TicketStatus::OnHold.as_str(), "on_hold");
    assert_eq!(TicketStatus::parse("On-hold"), None, "stored form is exact");
    assert_eq!(
        TicketStatus::parse_loose("On-hold"),
        Some(TicketStatus::OnHold)
    );
    assert_eq!(
        TicketStatus::parse_loose("HOLD"),
        Some(TicketStatus::OnHold)
    );
    let mut all = vec![Satisfaction::Good, Satisfaction::Bad];
    all.extend((1..=5).map(Satisfaction::Rating));
    for s in all {
        assert_eq!(Satisfaction::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        assert_eq!(
            serde_json::from_value::<Satisfaction>(json!(s.as_str())).unwrap(),
            s
        );
    }
    assert_eq!(Satisfaction::Rating(4).as_str(), "rating:4");
    for bad in ["rating:0", "rating:6", "rating:44", "Good", "rating:"] {
        assert_eq!(Satisfaction::parse(bad), None, "{bad}");
    }
    assert!(serde_json::from_value::<Satisfaction>(json!("great")).is_err());
    assert!(Satisfaction::Rating(2).is_negative() && !Satisfaction::Rating(3).is_negative());
    assert!(Satisfaction::Good.is_positive() && Satisfaction::Rating(4).is_positive());
    assert_eq!(
        serde_json::to_value(TicketStatus::OnHold).unwrap(),
        json!("on_hold")
    );
}

#[test]
fn instants_as_helpdesks_write_them() {
    assert_eq!(
        parse_instant("2013-12-12T05:35Z"),
        Some(t("2013-12-12T05:35:00Z")),
        "Zendesk's created_at_with_timestamp has no seconds"
    );
    assert_eq!(
        parse_instant("2024-04-17T19:18:10+02:00"),
        Some(t("2024-04-17T17:18:10Z"))
    );
    assert_eq!(
        parse_instant("2025-02-11T14:32:05.254571515Z").map(|d| d.timestamp()),
        Some(t("2025-02-11T14:32:05Z").timestamp())
    );
    for bad in ["", "yesterday", "2024-13-01T00:00:00Z", "1635881798"] {
        assert_eq!(parse_instant(bad), None, "{bad}");
    }
}

#[test]
fn html_becomes_plain_text() {
    assert_eq!(
        html_to_text("<p>Hi&nbsp;team,</p><p>We&#39;re seeing <b>errors</b> &amp; timeouts&hellip;<br>Since Monday.</p>"),
        "Hi team,\nWe're seeing errors & timeouts\u{2026}\nSince Monday."
    );
    assert_eq!(
        html_to_text("<style>p{color:red}</style><script>alert(1)</script>ok"),
        "ok"
    );
    assert_eq!(
        html_to_text("a < b && c &bogus; &#x1F600; &#0;"),
        "a < b && c &bogus; \u{1F600} &#0;"
    );
    assert_eq!(html_to_text("broken <a href=\"x\""), "broken <a href=\"x\"");
    assert_eq!(
        html_to_text("<ul><li>one</li><li>two</li></ul>"),
        "one\ntwo"
    );
    assert_eq!(html_to_text(""), "");
}

// --- Zendesk ----------------------------------------------------------------------

fn zendesk_event(kind: &str, detail: Value, event: Value) -> Vec<u8> {
    bytes(json!({
        "type": format!("zen:event-type:{kind}"),
        "account_id": 22129848,
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "time": "2026-05-20T10:12:07.672717030Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:5158",
        "detail": detail,
        "event": event
    }))
}

fn zendesk_detail() -> Value {
    json!({
        "actor_id": "8447388090494",
        "assignee_id": "8447388090494",
        "brand_id": "8447346621310",
        "created_at": "2026-05-20T10:12:07Z",
        "custom_status": "8447320465790",
        "description": "Our nightly export has failed three nights in a row.",
        "external_id": null,
        "form_id": "8646151517822",
        "group_id": "8447320466430",
        "id": "5158",
        "is_public": true,
        "organization_id": "8447346622462",
        "priority": "HIGH",
        "requester_id": "8447388090494",
        "status": "OPEN",
        "subject": "Nightly export failing",
        "submitter_id": "8447388090494",
        "tags": ["export", "enterprise", "export"],
        "type": "INCIDENT",
        "updated_at": "2026-05-20T10:12:07Z",
        "via": {"channel": "web_service"}
    })
}

#[test]
fn zendesk_ticket_created_event() {
    let body = zendesk_event(
        "ticket.created",
        zendesk_detail(),
        json!({"meta": {"sequence": {"id": "x", "position": 1}}}),
    );
    let u = parse_zendesk(&body).unwrap().unwrap();
    assert_eq!(u.source, TicketSource::Zendesk);
    assert_eq!(u.external_id, "5158");
    assert_eq!(u.organization.as_deref(), Some("8447346622462"));
    assert_eq!(
        u.requester_email, None,
        "event webhooks carry only requester_id"
    );
    assert_eq!(u.subject, "Nightly export failing");
    assert_eq!(
        u.text,
        "Our nightly export has failed three nights in a row."
    );
    assert_eq!(u.status, TicketStatus::Open);
    assert_eq!(u.priority, Priority::High);
    assert_eq!(u.created_at, t("2026-05-20T10:12:07Z"));
    assert_eq!(u.solved_at, None);
    assert_eq!(u.tags, vec!["export", "enterprise"]);
    assert!(u.has_customer_key());
}

#[test]
fn zendesk_comment_added_uses_public_customer_comments_only() {
    let comment = |public: bool, staff: bool| {
        json!({"comment": {
            "author": {"id": "1", "is_staff": staff, "name": "Ana"},
            "body": "Still broken, we are evaluating alternatives.",
            "id": "99", "is_public": public
        }})
    };
    let parse = |event| {
        parse_zendesk(&zendesk_event(
            "ticket.comment_added",
            zendesk_detail(),
            event,
        ))
        .unwrap()
        .unwrap()
    };
    assert_eq!(
        parse(comment(true, false)).text,
        "Still broken, we are evaluating alternatives."
    );
    let description = "Our nightly export has failed three nights in a row.";
    assert_eq!(
        parse(comment(false, false)).text,
        description,
        "internal note"
    );
    assert_eq!(parse(comment(true, true)).text, description, "agent reply");
}

#[test]
fn zendesk_minimal_status_change_and_other_events() {
    // The shape Zendesk's own examples use for a sparse event.
    let body = zendesk_event(
        "ticket.status_changed",
        json!({"id": "35436", "status": "Solved", "via": {"channel": "web"},
               "created_at": "2024-04-17T17:18:10Z", "updated_at": "2024-04-18T09:00:00Z",
               "organization_id": "0"}),
        json!({"current": "SOLVED", "previous": "OPEN"}),
    );
    let u = parse_zendesk(&body).unwrap().unwrap();
    assert_eq!(u.status, TicketStatus::Solved);
    assert_eq!(u.solved_at, Some(t("2024-04-18T09:00:00Z")));
    assert_eq!(u.subject, "", "not in this event: keep the stored one");
    assert_eq!(u.organization, None, "\"0\" is Zendesk for no organization");
    assert_eq!(u.priority, Priority::Normal);
    assert!(!u.has_customer_key());

    let user_event = bytes(json!({
        "type": "zen:event-type:user.active_changed", "account_id": 12514403,
        "id": "2b24ef10", "time": "2099-07-04T05:33:18Z", "subject": "zen:user:6596848315901",
        "detail": {"id": "6596848315901", "email": "ana@acme.com"}, "event": {"current": false}
    }));
    assert_eq!(parse_zendesk(&user_event), Ok(None));
    let messaging = bytes(json!({
        "type": "zen:event-type:messaging_ticket.message_added", "detail": {"id": "141"}
    }));
    assert_eq!(parse_zendesk(&messaging), Ok(None));

    // Id from the subject when detail has none; the event time stands in for dates.
    let sparse = zendesk_event("ticket.tags_changed", json!({"tags": ["vip"]}), json!({}));
    let u = parse_zendesk(&sparse).unwrap().unwrap();
    assert_eq!(u.external_id, "5158");
    assert_eq!(u.created_at, t("2026-05-20T10:12:07.672717030Z"));
}

#[test]
fn zendesk_event_problems() {
    let mut detail = zendesk_detail();
    detail["status"] = json!("ARCHIVED");
    detail["priority"] = json!("BLOCKER");
    detail["created_at"] = json!("last tuesday");
    detail["id"] = json!({"n": 1});
    let body = bytes(json!({"type": "zen:event-type:ticket.created", "detail": detail}));
    assert_eq!(
        paths(parse_zendesk(&body).unwrap_err()),
        vec![
            "detail.id",
            "detail.status",
            "detail.priority",
            "detail.created_at"
        ]
    );
    let no_detail = bytes(json!({"type": "zen:event-type:ticket.created"}));
    assert_eq!(
        paths(parse_zendesk(&no_detail).unwrap_err()),
        vec!["detail"]
    );
    assert_eq!(
        paths(parse_zendesk(b"{\"hello\": 1}").unwrap_err()),
        vec!["body"]
    );
    assert_eq!(paths(parse_zendesk(b"[]").unwrap_err()), vec!["body"]);
    assert_eq!(paths(parse_zendesk(b"not json").unwrap_err()), vec!["body"]);
    assert_eq!(
        paths(parse_zendesk(b"{\"ticket\": 3}").unwrap_err()),
        vec!["ticket"]
    );
}

#[test]
fn zendesk_trigger_body_as_rendered() {
    let body = bytes(json!({"ticket": {
        "id": "35436",
        "subject": "Renewal question",
        "description": "What happens at renewal?",
        "latest_comment": "We won\u{2019}t be renewing, the price went up again.",
        "status": "On-hold",
        "priority": "-",
        "requester_email": "Ana@Acme.com ",
        "requester_external_id": "user_7",
        "organization_external_id": "acct_42",
        "satisfaction": "Bad, I'm unsatisfied",
        "tags": "renewal  vip renewal",
        "created_at": "2013-12-12T05:35Z",
        "updated_at": "2013-12-13T08:00Z"
    }}));
    let u = parse_zendesk(&body).unwrap().unwrap();
    assert_eq!(u.external_id, "35436");
    assert_eq!(
        u.text,
        "We won\u{2019}t be renewing, the price went up again."
    );
    assert_eq!(u.status, TicketStatus::OnHold);
    assert_eq!(
        u.priority,
        Priority::Normal,
        "\"-\" is Zendesk's no priority"
    );
    assert_eq!(u.requester_email.as_deref(), Some("ana@acme.com"));
    assert_eq!(u.requester_external_id.as_deref(), Some("user_7"));
    assert_eq!(u.organization.as_deref(), Some("acct_42"));
    assert_eq!(u.satisfaction, Some(Satisfaction::Bad));
    assert_eq!(u.tags, vec!["renewal", "vip"]);
    assert_eq!(u.created_at, t("2013-12-12T05:35:00Z"));
    assert_eq!(u.updated_at, t("2013-12-13T08:00:00Z"));
    assert!(u.signals().cancellation_intent);

    // Placeholders that render empty are absent, not errors.
    let sparse = bytes(json!({"ticket": {
        "id": 7, "title": "Hello", "status": "Solved", "priority": "Urgent",
        "requester_email": "", "organization_external_id": "", "satisfaction": "Offered",
        "tags": ["a"], "created_at": "2026-01-01T00:00:00Z"
    }}));
    let u = parse_zendesk(&sparse).unwrap().unwrap();
    assert_eq!((u.external_id.as_str(), u.subject.as_str()), ("7", "Hello"));
    assert_eq!(
        (u.requester_email, u.organization, u.satisfaction),
        (None, None, None)
    );
    assert_eq!(u.priority, Priority::Urgent);
    assert_eq!(u.solved_at, Some(t("2026-01-01T00:00:00Z")));
}

#[test]
fn zendesk_trigger_problems() {
    let body = bytes(
        json!({"ticket": {"id": "", "status": "Waiting", "priority": "P1",
                                       "created_at": "12/12/2013"}}),
    );
    assert_eq!(
        paths(parse_zendesk(&body).unwrap_err()),
        vec![
            "ticket.id",
            "ticket.status",
            "ticket.priority",
            "ticket.created_at"
        ]
    );
    let body = bytes(json!({"ticket": {"subject": "x"}}));
    assert_eq!(
        paths(parse_zendesk(&body).unwrap_err()),
        vec!["ticket.id", "ticket.created_at"]
    );
}

// --- Intercom ---------------------------------------------------------------------

fn intercom(topic: &str, item: Value) -> Vec<u8> {
    bytes(json!({
        "type": "notification_event",
        "app_id": "ecahpwf5",
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "id": "notif_ccd8a4d2-c3b4-4b5e-9b8d-b3f5d1c8f0a1",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1780000000,
        "created_at": 1780000000,
        "self": null
    }))
}

fn conversation() -> Value {
    json!({
        "type": "conversation",
        "id": "147",
        "created_at": 1779990000,
        "updated_at": 1779999000,
        "waiting_since": 1779990000,
        "snoozed_until": null,
        "title": null,
        "state": "open",
        "open": true,
        "read": false,
        "priority": "priority",
        "source": {
            "type": "conversation",
            "id": "403918330",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>Hi,</p><p>We&#39;re thinking about cancelling our subscription &ndash; the sync keeps failing.</p>",
            "author": {"type": "user", "id": "5f1e", "name": "Ana", "email": "ana@acme.com"},
            "attachments": [],
            "url": null
        },
        "contacts": {"type": "contact.list", "contacts": [
            {"type": "contact", "id": "5f1e", "external_id": "user_7"}
        ]},
        "teammates": {"type": "admin.list", "admins": []},
        "admin_assignee_id": null,
        "conversation_rating": null,
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": "sync"}]},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}
    })
}

#[test]
fn intercom_user_created_with_html_body() {
    let u = parse_intercom(&intercom("conversation.user.created", conversation()))
        .unwrap()
        .unwrap();
    assert_eq!(u.source, TicketSource::Intercom);
    assert_eq!(u.external_id, "147");
    assert_eq!(
        u.text,
        "Hi,\nWe're thinking about cancelling our subscription \u{2013} the sync keeps failing."
    );
    assert_eq!(u.subject, "Hi,", "no title: the first line");
    assert_eq!(u.requester_email.as_deref(), Some("ana@acme.com"));
    assert_eq!(u.requester_external_id.as_deref(), Some("user_7"));
    assert_eq!(u.organization, None);
    assert_eq!(u.status, TicketStatus::Open);
    assert_eq!(u.priority, Priority::High);
    assert_eq!(u.created_at.timestamp(), 1779990000);
    assert_eq!(u.updated_at.timestamp(), 1779999000);
    assert_eq!(u.tags, vec!["sync"]);
    assert_eq!(u.satisfaction, None);
    let s = u.signals();
    assert_eq!(s.intent_phrases, vec!["cancelling our subscription"]);
}

#[test]
fn intercom_replies_keep_customer_words_only() {
    let mut item = conversation();
    item["title"] = json!("Sync <b>failing</b>");
    item["state"] = json!("snoozed");
    item["priority"] = json!("not_priority");
    item["conversation_parts"]["conversation_parts"] = json!([
        {"type": "conversation_part", "id": "1", "part_type": "comment",
         "body": "<p>Sorry! Have you tried a refund of the sync?</p>", "author": {"type": "admin", "id": "9"}},
        {"type": "conversation_part", "id": "2", "part_type": "note",
         "body": "<p>internal: they might churn</p>", "author": {"type": "admin", "id": "9"}},
        {"type": "conversation_part", "id": "3", "part_type": "comment",
         "body": "<p>Yes, still failing.</p>", "author": {"type": "user", "id": "5f1e"}},
        {"type": "conversation_part", "id": "4", "part_type": "comment",
         "body": "<p>Fin here</p>", "author": {"type": "bot", "id": "0"}},
        "junk"
    ]);
    let u = parse_intercom(&intercom("conversation.admin.replied", item))
        .unwrap()
        .unwrap();
    assert_eq!(u.subject, "Sync failing");
    assert_eq!(u.status, TicketStatus::Pending);
    assert_eq!(u.priority, Priority::Normal);
    assert!(
        u.text
            .ends_with("the sync keeps failing.\n\nYes, still failing."),
        "{}",
        u.text
    );
    assert!(!u.text.contains("Sorry") && !u.text.contains("internal") && !u.text.contains("Fin"));
}

#[test]
fn intercom_rating_added_and_closed() {
    let mut item = conversation();
    item["state"] = json!("closed");
    item["open"] = json!(false);
    item["conversation_rating"] = json!({"rating": 4, "remark": "Quick fix, thanks",
                                          "created_at": 1779999500, "contact": {"type": "contact", "id": "5f1e"}});
    item["statistics"] = json!({"last_close_at": 1779998000});
    let u = parse_intercom(&intercom("conversation.rating.added", item.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(u.satisfaction, Some(Satisfaction::Rating(4)));
    assert_eq!(u.status, TicketStatus::Closed);
    assert_eq!(u.solved_at.map(|d| d.timestamp()), Some(1779998000));

    item["conversation_rating"]["rating"] = json!(9);
    assert_eq!(
        paths(parse_intercom(&intercom("conversation.rating.added", item)).unwrap_err()),
        vec!["data.item.conversation_rating.rating"]
    );
}

#[test]
fn intercom_ping_and_other_topics_are_not_tickets() {
    let ping = bytes(json!({
        "type": "notification_event", "app_id": "ecahpwf5",
        "data": {"type": "notification_event_data",
                 "item": {"type": "ping", "message": "something something interzen"}},
        "links": {}, "id": null, "topic": "ping", "delivery_status": null,
        "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": 1780000000,
        "created_at": 1780000000, "self": null
    }));
    assert_eq!(parse_intercom(&ping), Ok(None));
    let contact = intercom(
        "contact.user.created",
        json!({"type": "contact", "id": "5f1e"}),
    );
    assert_eq!(parse_intercom(&contact), Ok(None));
    let deleted = intercom(
        "conversation.deleted",
        json!({"type": "conversation", "id": "147"}),
    );
    assert_eq!(parse_intercom(&deleted), Ok(None));
}

#[test]
fn intercom_problems() {
    assert_eq!(
        paths(parse_intercom(br#"{"type": "event"}"#).unwrap_err()),
        vec!["type", "topic"]
    );
    let no_item =
        bytes(json!({"type": "notification_event", "topic": "conversation.user.created"}));
    assert_eq!(
        paths(parse_intercom(&no_item).unwrap_err()),
        vec!["data.item"]
    );
    let mut item = conversation();
    item["id"] = json!(null);
    item["state"] = json!("archived");
    assert_eq!(
        paths(parse_intercom(&intercom("conversation.user.created", item)).unwrap_err()),
        vec!["data.item.id", "data.item.state"]
    );
}

// --- our API ----------------------------------------------------------------------

#[test]
fn generic_with_everything() {
    let u = parse_generic(
        &json!({
            "id": "T-1042", "customer_external_id": "acct_42", "requester_email": "Bo@Acme.com",
            "subject": "  Export fails ", "body": "Since Monday the export times out.",
            "status": "SOLVED", "priority": "urgent",
            "created_at": "2026-05-01T09:00:00Z", "updated_at": "2026-05-02T09:00:00Z",
            "satisfaction": 2, "tags": ["export", " export ", "p1"], "extra": "ignored"
        }),
        now(),
    )
    .unwrap();
    assert_eq!(u.source, TicketSource::Api);
    assert_eq!(u.external_id, "T-1042");
    assert_eq!(u.organization.as_deref(), Some("acct_42"));
    assert_eq!(u.requester_email.as_deref(), Some("bo@acme.com"));
    assert_eq!(u.subject, "Export fails");
    assert_eq!(u.status, TicketStatus::Solved);
    assert_eq!(u.priority, Priority::Urgent);
    assert_eq!(
        u.solved_at,
        Some(t("2026-05-02T09:00:00Z")),
        "defaults to updated_at"
    );
    assert_eq!(u.satisfaction, Some(Satisfaction::Rating(2)));
    assert_eq!(u.tags, vec!["export", "p1"]);
}

#[test]
fn generic_defaults() {
    let u = parse_generic(
        &json!({"id": 77, "requester_email": "ana@acme.com", "subject": "Hi", "satisfaction": "Good"}),
        now(),
    )
    .unwrap();
    assert_eq!(u.external_id, "77");
    assert_eq!(
        (u.status, u.priority),
        (TicketStatus::Open, Priority::Normal)
    );
    assert_eq!(
        (u.created_at, u.updated_at, u.solved_at),
        (now(), now(), None)
    );
    assert_eq!(u.text, "");
    assert_eq!(u.satisfaction, Some(Satisfaction::Good));
    let on_hold = parse_generic(
        &json!({"id": "1", "requester_external_id": "user_7", "subject": "x",
                "status": "on-hold", "priority": "Medium", "satisfaction": "rating:5"}),
        now(),
    )
    .unwrap();
    assert_eq!(
        (on_hold.status, on_hold.priority),
        (TicketStatus::OnHold, Priority::Normal)
    );
    assert_eq!(on_hold.satisfaction, Some(Satisfaction::Rating(5)));
}

#[test]
fn generic_reports_every_problem() {
    let problems = parse_generic(
        &json!({
            "id": "", "requester_email": "not-an-email", "subject": "x".repeat(501),
            "body": "y".repeat(MAX_TEXT_BYTES + 1), "status": "waiting", "priority": "p1",
            "created_at": "2026-06-03T12:00:00Z", "updated_at": "soon", "solved_at": 5,
            "satisfaction": 7, "tags": ["ok", "", 3, "z".repeat(101)]
        }),
        now(),
    )
    .unwrap_err();
    assert_eq!(
        paths(problems.clone()),
        vec![
            "id",
            "requester_email",
            "subject",
            "body",
            "status",
            "priority",
            "created_at",
            "updated_at",
            "solved_at",
            "satisfaction",
            "tags[1]",
            "tags[2]",
            "tags[3]"
        ]
    );
    assert_eq!(problems[6].reason, "is more than 24 hours in the future");
    assert_eq!(
        paths(parse_generic(&json!({}), now()).unwrap_err()),
        vec!["id", "customer_external_id", "subject"]
    );
    assert_eq!(
        paths(
            parse_generic(
                &json!({"id": "1", "customer_external_id": "a", "subject": "s",
                        "created_at": "2026-05-02T00:00:00Z", "updated_at": "2026-05-01T00:00:00Z",
                        "tags": "a b"}),
                now()
            )
            .unwrap_err()
        ),
        vec!["updated_at", "tags"]
    );
    assert_eq!(
        paths(parse_generic(&json!("ticket"), now()).unwrap_err()),
        vec!["body"]
    );
    assert_eq!(
        paths(
            parse_generic(
                &json!({"id": 1.5, "customer_external_id": true, "subject": 3}),
                now()
            )
            .unwrap_err()
        ),
        vec!["id", "customer_external_id", "subject"]
    );
}

// --- text signals -----------------------------------------------------------------

fn check(subject: &str, text: &str, label: SentimentLabel, phrases: &[&str]) {
    let s = analyze(subject, text);
    assert_eq!(s.label, label, "{subject:?} {text:?}: {}", s.sentiment);
    assert_eq!(s.intent_phrases, phrases, "{subject:?} {text:?}");
    assert_eq!(s.cancellation_intent, !phrases.is_empty());
}

use SentimentLabel::{Negative, Neutral, Positive};

#[test]
fn realistic_tickets() {
    check(
        "Dashboard down AGAIN",
        "The dashboard has been down for three hours and nobody on your side answers. \
         This is unacceptable, our whole team is blocked!",
        Negative,
        &[],
    );
    check(
        "Thank you!",
        "Thank you so much, the new health report is fantastic and the team loves it.",
        Positive,
        &[],
    );
    check(
        "Export question",
        "How do I export a CSV of all users with their last login date?",
        Neutral,
        &[],
    );
    check(
        "Pricing",
        "Your pricing is too expensive for a team our size. The renewal quote was a nasty surprise.",
        Negative,
        &["too expensive"],
    );
    check(
        "Heads up",
        "We are switching to Gainsight next quarter.",
        Neutral,
        &["switching to Gainsight"],
    );
    // VADER reads "please" as positive; the intent is what flags it.
    check(
        "Refund",
        "Please process a refund for the last invoice.",
        Positive,
        &["Refund"],
    );
    check(
        "Scheduled export",
        "Can you cancel the scheduled export? It runs every night at 2am and we don't need it anymore.",
        Negative,
        &[],
    );
    check(
        "Pause instead",
        "We don't want to cancel, just pause for a month while we restructure.",
        Positive,
        &[],
    );
    // VADER weighs the clause after "but" more: the complaint wins.
    check(
        "",
        "Love the product but the invoice is wrong.",
        Negative,
        &[],
    );
    check(
        "Cancel subscription",
        "Please cancel our subscription at the end of the month.",
        Negative,
        &["Cancel subscription", "cancel our subscription"],
    );
    check(
        "Renewal",
        "We won\u{2019}t be renewing when the contract ends in June.",
        Neutral,
        &["won't be renewing"],
    );
    check(
        "Report",
        "How do I cancel a scheduled report?",
        Negative,
        &[],
    );
    check(
        "",
        "Can we cancel the meeting on Tuesday? Something came up. Also please cancel the invite for Bo.",
        Neutral,
        &[],
    );
    check(
        "",
        "We do NOT want to cancel our account, the charge was a mistake.",
        Negative,
        &[],
    );
    check(
        "",
        "I can't cancel my subscription, the button does nothing!",
        Positive,
        &["cancel my subscription"],
    );
    check(
        "Budget",
        "We have been looking at alternatives since the price increase, and honestly we can't afford it.",
        Positive,
        &["looking at alternatives", "can't afford"],
    );
    check(
        "Close account",
        "Close our account and delete our data. We're moving away from your platform.",
        Neutral,
        &["Close account", "Close our account", "moving away from"],
    );
}

#[test]
fn intent_false_positives_avoided() {
    for text in [
        "We are moving to the new dashboard next week",
        "At the end of our contract term we will review usage",
        "I clicked cancel by accident and lost my changes",
        "The call was cancelled, can we reschedule?",
        "Meeting cancellation: the QBR moves to Friday",
        "Can I switch to SSO login?",
        "We're switching to annual billing",
        "Is there an alternative way to export?",
        "Please terminate the stuck instance",
        "How do I downgrade the browser extension version?",
        "Our card was declined so we can't renew yet, please resend the link",
        "No refund needed, it was our mistake",
        "Migrating to v2 of your API this sprint",
    ] {
        let s = analyze("", text);
        assert!(!s.cancellation_intent, "{text:?}: {:?}", s.intent_phrases);
    }
    let title_case = analyze("Switching To Annual Billing", "");
    assert!(!title_case.cancellation_intent);
}

#[test]
fn intent_phrasings_caught() {
    for (text, phrase) in [
        ("Cancellation request", "Cancellation"),
        ("We'd like to cancel.", "cancel"),
        ("We have no choice but to cancel", "cancel"),
        (
            "Not sure we will renew this year.",
            "Not sure we will renew",
        ),
        ("Please send a non-renewal notice", "non renewal"),
        ("We decided against renewing", "against renewing"),
        ("We are going with a competitor", "going with a competitor"),
        (
            "Moving to another tool next month",
            "Moving to another tool",
        ),
        (
            "We need to downgrade to the starter plan",
            "downgrade to the starter plan",
        ),
        ("Please terminate our contract", "terminate our contract"),
        (
            "We'll let the subscription lapse",
            "let the subscription lapse",
        ),
        ("Honestly it's not worth the money", "not worth the money"),
        ("We will stop using your product", "stop using your product"),
        ("I want my money back", "money back"),
        ("We're evaluating other vendors", "evaluating other vendors"),
        ("I don't know how to cancel my plan", "cancel my plan"),
        ("WE WANT TO CANCEL OUR ACCOUNT", "CANCEL OUR ACCOUNT"),
    ] {
        let s = analyze("", text);
        assert_eq!(s.intent_phrases, vec![phrase], "{text:?}");
    }
}

#[test]
fn analyze_edges() {
    let empty = analyze("", "");
    assert_eq!(
        (empty.sentiment, empty.label, empty.cancellation_intent),
        (0.0, Neutral, false)
    );
    let long = "terrible ".repeat(20_000);
    let s = analyze(&long, &long);
    assert!(s.sentiment < -0.99 && s.sentiment >= -1.0);
    assert_eq!(SentimentLabel::from_compound(0.05), Positive);
    assert_eq!(SentimentLabel::from_compound(-0.05), Negative);
    assert_eq!(SentimentLabel::from_compound(0.0499), Neutral);
}

// --- properties -------------------------------------------------------------------

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
            "[a-zA-Z0-9 :TZ+.<>&;#-]{0,40}".prop_map(Value::String),
            prop_oneof![
                Just("zen:event-type:ticket.created"),
                Just("zen:event-type:ticket.comment_added"),
                Just("zen:ticket:12"),
                Just("notification_event"),
                Just("conversation"),
                Just("conversation.user.created"),
                Just("ping"),
                Just("2026-01-01T00:00:00Z"),
                Just("OPEN"),
                Just("closed"),
                Just("user"),
                Just("<p>cancel&nbsp;our plan</p>"),
            ]
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("type".to_string()),
                            Just("topic".to_string()),
                            Just("data".to_string()),
                            Just("item".to_string()),
                            Just("detail".to_string()),
                            Just("event".to_string()),
                            Just("comment".to_string()),
                            Just("ticket".to_string()),
                            Just("id".to_string()),
                            Just("subject".to_string()),
                            Just("body".to_string()),
                            Just("source".to_string()),
                            Just("author".to_string()),
                            Just("status".to_string()),
                            Just("state".to_string()),
                            Just("priority".to_string()),
                            Just("created_at".to_string()),
                            Just("updated_at".to_string()),
                            Just("tags".to_string()),
                            Just("conversation_parts".to_string()),
                            Just("conversation_rating".to_string()),
                            Just("rating".to_string()),
                            Just("contacts".to_string()),
                            Just("satisfaction".to_string()),
                            Just("customer_external_id".to_string()),
                            Just("requester_email".to_string()),
                            "[a-z_]{1,10}"
                        ],
                        inner
                    ),
                    0..8
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn parse_all(payload: &[u8]) -> Result<(), TestCaseError> {
        for r in [parse_zendesk(payload), parse_intercom(payload)] {
            if let Err(problems) = r {
                prop_assert!(!problems.is_empty());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn any_bytes_give_an_answer(payload in prop::collection::vec(any::<u8>(), 0..300)) {
            parse_all(&payload)?;
        }

        #[test]
        fn any_json_gives_an_answer(v in any_json()) {
            parse_all(&bytes(v.clone()))?;
            for wrapped in [
                json!({"type": "zen:event-type:ticket.created", "detail": v.clone()}),
                json!({"ticket": v.clone()}),
                json!({"type": "notification_event", "topic": "conversation.user.created",
                       "data": {"item": v.clone()}}),
            ] {
                parse_all(&bytes(wrapped))?;
            }
            if let Err(problems) = parse_generic(&v, now()) {
                prop_assert!(!problems.is_empty());
            }
        }

        #[test]
        fn any_text_scores_in_range(subject in any::<String>(), text in any::<String>()) {
            let s = analyze(&subject, &text);
            prop_assert!((-1.0..=1.0).contains(&s.sentiment));
            prop_assert_eq!(s.label, SentimentLabel::from_compound(s.sentiment));
            prop_assert_eq!(s.cancellation_intent, !s.intent_phrases.is_empty());
            let _ = html_to_text(&text);
        }

        #[test]
        fn any_words_score(words in prop::collection::vec(prop_oneof![
            Just("cancel"), Just("not"), Just("our"), Just("subscription"), Just("the"),
            Just("meeting"), Just("renew"), Just("won't"), Just("to"), Just("Gainsight"),
            Just("switching"), Just("but"), Just(","), Just("too"), Just("expensive"),
            Just("can't"), Just("afford"), Just("let"), Just("lapse"), Just("of"),
        ], 0..30)) {
            let s = analyze("", &words.join(" "));
            prop_assert_eq!(s.cancellation_intent, !s.intent_phrases.is_empty());
        }

        #[test]
        fn signatures_round_trip_and_catch_any_byte_change(
            body in prop::collection::vec(any::<u8>(), 1..400),
            secret in "[ -~]{1,40}",
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            skew in -300i64..=300,
        ) {
            let sent = t("2026-05-01T10:00:00Z");
            let ts = sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let received = sent + Duration::seconds(skew);
            let zd = sign_zendesk(&body, &secret, &ts);
            let ic = sign_intercom(&body, &secret);
            prop_assert_eq!(verify_zendesk(&zd, &ts, &body, &secret, received, 300), Ok(()));
            prop_assert_eq!(verify_intercom(&ic, &body, &secret), Ok(()));

            let mut changed = body.clone();
            let i = at.index(changed.len());
            changed[i] ^= flip;
            prop_assert_eq!(
                verify_zendesk(&zd, &ts, &changed, &secret, received, 300),
                Err(SignatureError::Mismatch)
            );
            prop_assert_eq!(verify_intercom(&ic, &changed, &secret), Err(SignatureError::Mismatch));
        }
    }
}
