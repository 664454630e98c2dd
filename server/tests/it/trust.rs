//! Trust: what an attacker or a careless integrator sends, over real HTTP on the real
//! router, on SQLite and on Postgres. Hostile text is escaped on every page; requests
//! from other sites are refused; text Postgres can't store is refused at the edge with
//! the field named and never costs the good data beside it; no input gives a 5xx;
//! sign-in throttling can't be turned against a user; refused requests are counted but
//! only a bounded sample is kept.

use crate::common;

use app::backend::entities::{
    audit_entry, customer, integration_error, note, session, support_ticket, usage_event,
};
use common::{customer_form, spawn_app, spawn_app_with, PASSWORD};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_a_nonce() {
    let app = common::spawn_admin().await;
    for path in [
        "/login",
        "/",
        "/customers",
        "/healthz",
        "/api/openapi.json",
        "/no-such-page",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let h = res.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(
            !csp.contains("'unsafe-inline' 'wasm") && !csp.contains("script-src 'unsafe-inline'")
        );
        let html = res.text().await.unwrap();
        if html.contains("<script") {
            // Every inline script carries the nonce the policy names.
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .and_then(|r| r.split('\'').next())
                .unwrap_or_else(|| panic!("{path}: a page with scripts needs a nonce: {csp}"));
            let doc = scraper::Html::parse_document(&html);
            let scripts = scraper::Selector::parse("script").unwrap();
            for s in doc.select(&scripts) {
                assert_eq!(s.value().attr("nonce"), Some(nonce), "{path}: {}", s.html());
            }
        }
    }
}

#[tokio::test]
async fn requests_from_other_sites_are_refused_and_change_nothing() {
    let app = common::spawn_admin().await;
    let id = app.create_customer("Acme", "acct_1").await;
    let host = app.base.trim_start_matches("http://").to_string();
    let note = |headers: Vec<(&'static str, String)>| {
        let mut req = app.client.post(app.url("/api/add_note")).form(&[
            ("customer_id", id.to_string()),
            ("body", "hello".to_string()),
        ]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    for headers in [
        vec![("origin", "https://evil.example".to_string())],
        vec![("origin", "null".to_string())],
        vec![("sec-fetch-site", "cross-site".to_string())],
        vec![
            ("sec-fetch-site", "same-site".to_string()),
            ("origin", format!("http://{host}")),
        ],
    ] {
        let res = note(headers.clone()).await.unwrap();
        assert_eq!(res.status(), 403, "{headers:?}");
        assert!(res.text().await.unwrap().contains("another site"));
    }
    assert_eq!(note::Entity::find().count(&app.db).await.unwrap(), 0);
    // From our own pages it works.
    let res = note(vec![
        ("origin", format!("http://{host}")),
        ("sec-fetch-site", "same-origin".to_string()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(note::Entity::find().count(&app.db).await.unwrap(), 1);

    // A forged sign-in gets no session.
    let fresh = spawn_app().await;
    fresh.create_user("ada@example.com", "csm").await;
    let res = fresh
        .client
        .post(fresh.url("/api/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(session::Entity::find().count(&fresh.db).await.unwrap(), 0);

    // JSON server functions take only JSON; form ones only forms: `text/plain` (what a
    // cross-site form may send without asking) is refused.
    let res = app
        .client
        .post(app.url("/api/list_customers"))
        .header("content-type", "text/plain")
        .body(r#"{"query":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = app
        .client
        .post(app.url("/api/add_note"))
        .header("content-type", "text/plain")
        .body(format!("customer_id={id}&body=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(note::Entity::find().count(&app.db).await.unwrap(), 1);
}

/// One hostile request and what it must get: a 4xx with a message (`None`: any answer
/// below 500, for inputs that may be accepted as plain text).
struct Probe {
    what: &'static str,
    status: u16,
    body: String,
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_with_a_message_and_loses_nothing() {
    let app = common::spawn_admin().await;
    let key = app.write_key().await;
    let acme = app.create_customer("Acme", "acct_1").await;
    let mut probes: Vec<Probe> = Vec::new();
    let mut keep = |what: &'static str, status: u16, body: String| {
        probes.push(Probe { what, status, body });
    };

    // --- the tracking API -------------------------------------------------------------
    let (status, body) = app.send_with_key(
        &key,
        "/v1/batch",
        json!({"batch": [
            {"type": "track", "userId": "u1", "event": "Good One", "context": {"groupId": "acct_1"}},
            {"type": "track", "userId": "u2", "event": "Bad\u{0}One", "context": {"groupId": "acct_1"}},
            {"type": "track", "userId": "u3", "event": "Good Two", "properties": {"k": 1}, "context": {"groupId": "acct_1"}}
        ]})
        .to_string(),
    )
    .await;
    assert!(body.to_string().contains("batch[1].event"), "{body}");
    keep("batch with a NUL message", status, body.to_string());
    let stored: Vec<String> = usage_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        stored.len(),
        2,
        "the good messages beside a bad one are stored: {stored:?}"
    );
    for (what, body) in [
        (
            "track, NUL in a property",
            json!({"userId": "u", "event": "E", "properties": {"p": "a\u{0}"}}).to_string(),
        ),
        (
            "track, NUL in a key",
            json!({"userId": "u", "event": "E", "properties": {"p\u{0}": 1}}).to_string(),
        ),
        (
            "track, year 0",
            json!({"userId": "u", "event": "E", "timestamp": "0000-01-01T00:00:00Z"}).to_string(),
        ),
        (
            "track, year 9999",
            json!({"userId": "u", "event": "E", "timestamp": "9999-12-31T23:59:59Z"}).to_string(),
        ),
        (
            "track, huge number time",
            json!({"userId": "u", "event": "E", "timestamp": 1e300}).to_string(),
        ),
        (
            "track, negative id",
            json!({"userId": -9_223_372_036_854_775_807i64, "event": "E", "timestamp": "-1"})
                .to_string(),
        ),
        (
            "track, huge float",
            r#"{"userId":"u","event":"E","properties":{"n":1e400}}"#.to_string(),
        ),
        (
            "track, invalid UTF-8",
            String::from_utf8_lossy(b"{\"userId\":\"u\",\"event\":\"\xff\xfe\"}")
                .replace('\u{FFFD}', "\\udc00"),
        ),
        (
            "track, lone surrogate",
            r#"{"userId":"u","event":"\ud800"}"#.to_string(),
        ),
        (
            "track, deep nesting",
            format!(
                "{{\"userId\":\"u\",\"event\":\"E\",\"properties\":{{\"a\":{}{}}}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        ("track, not JSON", "userId=u&event=E".to_string()),
    ] {
        let (status, body) = app.send_with_key(&key, "/v1/track", body).await;
        keep(what, status, body.to_string());
    }
    let raw = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/json")
        .body(b"{\"userId\":\"u\",\"event\":\"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    keep(
        "track, raw invalid UTF-8 bytes",
        raw.status().as_u16(),
        raw.text().await.unwrap(),
    );
    let big = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/json")
        .body(vec![b' '; 600 * 1024])
        .send()
        .await
        .unwrap();
    keep(
        "batch over 500 KB",
        big.status().as_u16(),
        big.text().await.unwrap(),
    );
    let (status, body) = app.send_with_key(
        &key,
        "/v1/tickets",
        json!({"id": "t\u{0}1", "customer_external_id": "acct_1", "subject": "S", "status": "open"})
        .to_string(),
    )
    .await;
    keep("ticket, NUL in the id", status, body.to_string());
    for (what, when) in [
        ("ticket, year 0", "0000-01-01T00:00:00Z"),
        ("ticket, year 9999", "9999-12-31T00:00:00Z"),
    ] {
        let (status, body) = app.send_with_key(
            &key,
            "/v1/tickets",
            json!({"id": what, "customer_external_id": "acct_1", "subject": "S", "status": "open",
                   "created_at": when, "updated_at": when})
            .to_string(),
        )
        .await;
        keep(what, status, body.to_string());
    }
    assert_eq!(
        support_ticket::Entity::find().count(&app.db).await.unwrap(),
        0
    );

    // --- server functions -------------------------------------------------------------
    let form = |endpoint: &'static str, pairs: Vec<(&'static str, String)>| {
        app.client
            .post(app.url(&format!("/api/{endpoint}")))
            .form(&pairs)
            .send()
    };
    for (what, endpoint, pairs) in [
        (
            "login, NUL e-mail",
            "login",
            vec![
                ("email", "a\u{0}@b.c".to_string()),
                ("password", "x".into()),
            ],
        ),
        (
            "note, NUL",
            "add_note",
            vec![
                ("customer_id", acme.to_string()),
                ("body", "hi\u{0}".into()),
            ],
        ),
        (
            "note, huge id",
            "add_note",
            vec![
                ("customer_id", "99999999999999999999999".into()),
                ("body", "hi".into()),
            ],
        ),
        (
            "contact, NUL",
            "add_contact",
            vec![
                ("customer_id", acme.to_string()),
                ("contact[name]", "A\u{0}".into()),
                ("contact[email]", "".into()),
                ("contact[title]", "".into()),
                ("contact[role]", "".into()),
            ],
        ),
        (
            "user, NUL name",
            "create_user",
            vec![
                ("email", "n@example.com".into()),
                ("name", "N\u{0}".into()),
                ("role", "csm".into()),
                ("password", PASSWORD.into()),
            ],
        ),
        (
            "alerts, page 2^64-1",
            "list_alerts",
            vec![
                ("filter", "active".into()),
                ("mine", "false".into()),
                ("page", u64::MAX.to_string()),
            ],
        ),
        (
            "alerts, page too big",
            "list_alerts",
            vec![
                ("filter", "active".into()),
                ("mine", "false".into()),
                ("page", "18446744073709551616".into()),
            ],
        ),
        (
            "alerts, negative page",
            "list_alerts",
            vec![
                ("filter", "active".into()),
                ("mine", "false".into()),
                ("page", "-1".into()),
            ],
        ),
        (
            "pipeline, page 2^64-1",
            "expansion_pipeline",
            vec![("page", u64::MAX.to_string())],
        ),
        (
            "source, NUL name",
            "create_source",
            vec![("name", "web\u{0}".into())],
        ),
    ] {
        let res = form(endpoint, pairs).await.unwrap();
        keep(what, res.status().as_u16(), res.text().await.unwrap());
    }
    let mut nul_form = customer_form("Bad\u{0}Co", "acct_nul");
    nul_form.push(("input[extra]".into(), "x".into()));
    let res = app
        .client
        .post(app.url("/api/create_customer"))
        .form(&nul_form)
        .send()
        .await
        .unwrap();
    keep(
        "customer, NUL name",
        res.status().as_u16(),
        res.text().await.unwrap(),
    );
    for (what, endpoint, body) in [
        (
            "list, NUL search",
            "list_customers",
            json!({"query": {"search": "a\u{0}"}}),
        ),
        (
            "list, page 2^64-1",
            "list_customers",
            json!({"query": {"page": u64::MAX, "per_page": 25}}),
        ),
        (
            "import, NUL cell",
            "start_import",
            json!({"kind": "Customers", "csv": "external_id,name\nacct_9,Ac\u{0}me\n"}),
        ),
        (
            "import, formula cells",
            "start_import",
            json!({"kind": "Customers", "csv": "external_id,name\n=cmd|' /C calc'!A0,@SUM(1+1)\n"}),
        ),
        (
            "scorecard, NUL label",
            "save_scorecard",
            json!({"definition": {"name": "x\u{0}"}}),
        ),
    ] {
        let res = app.post_json(endpoint, body).await;
        keep(what, res.status().as_u16(), res.text().await.unwrap());
    }
    for path in [
        "/customers?q=a%00b",
        "/customers?q=%FF%FE",
        "/alerts?page=18446744073709551615",
        "/customers/%00",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        keep(
            "a page address",
            res.status().as_u16(),
            res.text().await.unwrap(),
        );
    }
    assert_eq!(
        note::Entity::find().count(&app.db).await.unwrap(),
        0,
        "nothing half-written"
    );
    let refused_customers = customer::Entity::find()
        .filter(customer::Column::ExternalId.is_in(["acct_nul", "acct_9"]))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(refused_customers, 0, "nothing half-written");

    // --- counts ---------------------------------------------------------------------------
    let five = probes.iter().filter(|p| p.status >= 500).count();
    let four = probes
        .iter()
        .filter(|p| (400..500).contains(&p.status))
        .count();
    for p in &probes {
        assert!(p.status < 500, "{}: {} {}", p.what, p.status, p.body);
        if p.status >= 400 {
            assert!(!p.body.trim().is_empty(), "{}: a refusal says why", p.what);
        }
    }
    println!(
        "hostile inputs ({}): {}, 4xx: {four}, 5xx: {five}",
        app.backend,
        probes.len()
    );
    for p in &probes {
        println!("  {:>3}  {}", p.status, p.what);
    }
}

#[tokio::test]
async fn nul_text_names_the_field_and_the_line() {
    let app = common::spawn_admin().await;
    let acme = app.create_customer("Acme", "acct_1").await;
    let res = app
        .post_form(
            "add_note",
            &[("customer_id", &acme.to_string()), ("body", "hi\u{0}")],
        )
        .await;
    assert_eq!(common::validation_fields(res).await, vec!["body"]);
    let res = app
        .post_json(
            "start_import",
            json!({"kind": "Customers", "csv": "external_id,name\nacct_9,Ac\u{0}me\n"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(text.contains("line 2, column 10"), "{text}");
    let res = app
        .client
        .get(app.url("/customers?q=a%00b"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("\"q\""));
}

#[tokio::test]
async fn absurd_stripe_quantities_keep_mrr_positive_and_the_dashboard_up() {
    const SECRET: &str = "whsec_test_overflow";
    let app = common::spawn_admin().await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "stripe"), ("secret", SECRET)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let id = app.create_customer("Acme", "acct_1").await;
    let sub = json!({
        "id": "sub_huge", "object": "subscription", "created": 1_679_609_767,
        "currency": "usd", "customer": "cus_huge", "status": "active",
        "start_date": 1_679_609_767, "metadata": {"vcsm_external_id": "acct_1"},
        "items": {"object": "list", "has_more": false, "data": [
            {"id": "si_1", "object": "subscription_item", "quantity": u64::MAX,
             "price": {"id": "price_1", "object": "price", "currency": "usd", "unit_amount": i64::MAX,
                       "recurring": {"interval": "day", "interval_count": 1, "usage_type": "licensed"}}},
            {"id": "si_2", "object": "subscription_item", "quantity": u64::MAX,
             "price": {"id": "price_2", "object": "price", "currency": "usd", "unit_amount": i64::MAX,
                       "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}}
        ]}
    });
    let mut customer_ev = json!({"id": "cus_huge", "object": "customer", "email": "b@acme.example.com",
        "metadata": {"vcsm_external_id": "acct_1"}, "created": 1_680_000_000});
    for (i, (kind, object)) in [
        ("customer.created", customer_ev.take()),
        ("customer.subscription.created", sub),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"id": format!("evt_{i}"), "object": "event", "created": 1_700_000_000 + i as i64,
            "type": kind, "data": {"object": object}})
        .to_string();
        let header =
            vcsm::sources::stripe::sign(body.as_bytes(), SECRET, chrono::Utc::now().timestamp());
        let res = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("Stripe-Signature", header)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{kind}: {}", res.text().await.unwrap());
    }
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        c.mrr_minor > 0 && c.mrr_minor <= vcsm::money::MAX_MINOR,
        "{}",
        c.mrr_minor
    );
    app.create_customer("Beta", "acct_2").await;
    app.rescore(id).await;
    assert_eq!(app.call_status("dashboard").await, 200);
    assert_eq!(app.get_page("/").await.0, 200);
}

#[tokio::test]
async fn failures_from_one_client_never_lock_out_another() {
    let app = spawn_app_with(app::backend::Config {
        trust_proxy: true,
        ..app::backend::Config::default()
    })
    .await;
    app.create_user("ada@example.com", "csm").await;
    let login = |client: &'static str, password: &'static str| {
        app.client
            .post(app.url("/api/login"))
            .header("x-forwarded-for", client)
            .form(&[("email", "ada@example.com"), ("password", password)])
            .send()
    };
    // The attacker fails until held back, with a growing wait and Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = login("203.0.113.9", "wrong-password").await.unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            assert!(res.text().await.unwrap().contains("RateLimited"));
        }
    }
    assert_eq!(&statuses[..4], &[422, 422, 422, 422], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");
    // Even the right password from the attacker's client waits...
    assert_eq!(login("203.0.113.9", PASSWORD).await.unwrap().status(), 429);
    // ...but the user, from a client that hasn't failed, gets in at once.
    let res = login("198.51.100.7", PASSWORD).await.unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    assert_eq!(session::Entity::find().count(&app.db).await.unwrap(), 1);
}

#[tokio::test]
async fn users_change_their_own_password_and_other_sessions_end() {
    let app = spawn_app().await;
    app.sign_in_as("ada@example.com", "csm").await;
    // A second session of the same user (another browser).
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = other
        .post(app.url("/api/login"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(session::Entity::find().count(&app.db).await.unwrap(), 2);
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        app.client
            .post(app.url("/api/change_password"))
            .form(&[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ])
            .send()
    };
    // Wrong current password, weak new ones, a mismatch: refused by field.
    let res = change(
        "not-it",
        "violet tractor lemonade",
        "violet tractor lemonade",
    )
    .await
    .unwrap();
    assert_eq!(
        common::validation_fields(res).await,
        vec!["current_password"]
    );
    for weak in ["password1", "aaaaaaaaaaaa", "ada@example.com", "qwertyuiop"] {
        let res = change(PASSWORD, weak, weak).await.unwrap();
        assert_eq!(res.status(), 422, "{weak} was accepted");
        assert_eq!(
            common::validation_fields(res).await,
            vec!["new_password"],
            "{weak}"
        );
    }
    let res = change(PASSWORD, "violet tractor lemonade", "violet tractor lemon")
        .await
        .unwrap();
    assert_eq!(
        common::validation_fields(res).await,
        vec!["confirm_password"]
    );
    // Every problem at once.
    let res = change("not-it", "password1", "password2").await.unwrap();
    assert_eq!(
        common::validation_fields(res).await,
        vec!["current_password", "new_password", "confirm_password"]
    );
    assert_eq!(session::Entity::find().count(&app.db).await.unwrap(), 2);
    // The right one: this session stays, the other ends, the change is audited.
    let res = change(
        PASSWORD,
        "violet tractor lemonade",
        "violet tractor lemonade",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(session::Entity::find().count(&app.db).await.unwrap(), 1);
    assert_eq!(app.call_status("dashboard").await, 200);
    let res = other.post(app.url("/api/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.eq("user.change_password"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    // The new password signs in; the old one doesn't.
    let fresh = reqwest::Client::new();
    let res = fresh
        .post(app.url("/api/login"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = fresh
        .post(app.url("/api/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "violet tractor lemonade"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
}

#[tokio::test]
async fn refused_requests_are_counted_but_only_the_newest_kept() {
    let app = spawn_app().await;
    let kept = app::backend::refusals::ERRORS_KEPT;
    for i in 0..kept + 30 {
        let res = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("Stripe-Signature", "t=1,v1=00")
            .body(format!("{{\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error() || res.status() == 503);
    }
    app.flush().await;
    let rows = integration_error::Entity::find()
        .filter(integration_error::Column::Channel.eq("stripe"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, kept);
    let stats = app::backend::entities::integration_stat::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let rejected: i64 = stats
        .iter()
        .filter(|s| s.channel == "stripe")
        .map(|s| s.rejected)
        .sum();
    assert_eq!(
        rejected,
        i64::try_from(kept + 30).unwrap(),
        "every refusal is counted"
    );
}

#[tokio::test]
async fn outgoing_urls_must_be_https_to_a_public_address() {
    let app = spawn_app_with(app::backend::Config::default()).await;
    app.sign_in_as("admin@example.com", "admin").await;
    for bad in [
        "http://hooks.slack.com/services/T/B/X",
        "https://127.0.0.1:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x",
        "https://localhost/x",
    ] {
        let res = app
            .post_form(
                "set_integration_secret",
                &[("name", "slack"), ("secret", bad)],
            )
            .await;
        assert_eq!(
            common::validation_fields(res).await,
            vec!["secret"],
            "{bad}"
        );
    }
    let res = app
        .post_form(
            "set_integration_secret",
            &[
                ("name", "slack"),
                ("secret", "https://hooks.slack.com/services/T000/B000/XXXX"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
}
