//! Hostile text stays text: every string a user or an integration can set is put through
//! the real endpoints, then every page's server HTML is parsed and scanned for markup it
//! would have made live. (Its own test binary: it renders many pages, and Leptos' server
//! rendering shares global state with the tests' separate runtimes when they run side by
//! side in one process.)

use crate::common;

use common::{customer_form, PASSWORD};
use serde_json::json;

/// Strings that would become live markup if written unescaped anywhere: as elements, as
/// attributes breaking out of quotes, out of `<title>` or `<script>`, or as script URLs.
const HOSTILE: &[&str] = &[
    "<xss-probe>a</xss-probe>",
    "\"><xss-probe>b</xss-probe>",
    "'><xss-probe>c</xss-probe>",
    "</title><xss-probe>d</xss-probe>",
    "</script><xss-probe>e</xss-probe>",
    "\" xss-probe-attr=\"f",
    "' xss-probe-attr='g",
    "<img src=x onerror=xssProbe(1)>",
    "javascript:xssProbe(2)",
    "<!--<xss-probe>h</xss-probe>-->",
];

/// Live markup a hostile string made in `html`, if any: an element or attribute it
/// introduced, an event handler or a script URL calling the probe.
fn live_markup(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    for node in doc.tree.nodes() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        if el.name().contains("xss-probe") {
            return Some(format!("element <{}>", el.name()));
        }
        for (name, value) in el.attrs() {
            if name.contains("xss-probe") {
                return Some(format!("attribute {name} on <{}>", el.name()));
            }
            let script_url = matches!(name, "href" | "src" | "action" | "formaction")
                && value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:");
            if (name.starts_with("on") && value.contains("xssProbe")) || script_url {
                return Some(format!("{name}={value:?} on <{}>", el.name()));
            }
        }
    }
    None
}

#[tokio::test]
async fn hostile_text_is_escaped_on_every_page() {
    let app = common::spawn_admin().await;
    let key = app.write_key().await;
    let mut ids = Vec::new();
    for (i, bad) in HOSTILE.iter().enumerate() {
        // A customer's every free-text field, through the form.
        let mut form = customer_form(bad, &format!("acct_{i}"));
        for (k, v) in &mut form {
            if k == "input[plan]" {
                *v = (*bad).to_string();
            }
        }
        let res = app
            .client
            .post(app.url("/api/create_customer"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{bad}: {}", res.text().await.unwrap());
        let id: i64 = res.json().await.unwrap();
        ids.push(id);
        let res = app
            .post_form(
                "add_note",
                &[("customer_id", &id.to_string()), ("body", bad)],
            )
            .await;
        assert_eq!(res.status(), 200);
        let res = app
            .post_form(
                "add_contact",
                &[
                    ("customer_id", &id.to_string()),
                    ("contact[name]", bad),
                    ("contact[email]", &format!("c{i}@example.com")),
                    ("contact[title]", bad),
                    ("contact[role]", "champion"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "contact {bad}: {}",
            res.text().await.unwrap()
        );
        // What integrations send: events (name and properties) and tickets.
        let (status, body) = app
            .send_with_key(
                &key,
                "/v1/track",
                json!({
                    "userId": bad, "event": bad,
                    "properties": { "plan": bad, (*bad): 1 },
                    "context": { "groupId": format!("acct_{i}") }
                })
                .to_string(),
            )
            .await;
        assert_eq!(status, 200, "{bad}: {body}");
        let (status, body) = app
            .send_with_key(
                &key,
                "/v1/tickets",
                json!({
                    "id": format!("t{i}"), "customer_external_id": format!("acct_{i}"),
                    "subject": bad, "body": bad, "requester_email": "r@example.com",
                    "status": "open", "priority": "high", "tags": [bad]
                })
                .to_string(),
            )
            .await;
        assert_eq!(status, 200, "{bad}: {body}");
    }
    // A user whose name is hostile shows up as an owner and in the users list.
    let res = app
        .post_form(
            "create_user",
            &[
                ("email", "mallory@example.com"),
                ("name", HOSTILE[3]),
                ("role", "csm"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.flush().await;
    for id in &ids {
        app.rescore(*id).await;
    }
    let mut pages: Vec<String> = [
        "/",
        "/customers",
        "/customers?q=%3Cxss-probe%3E",
        "/customers?q=%22%3E%3Cxss-probe%3E&sort=name",
        "/users",
        "/jobs",
        "/integrations",
        "/alerts",
        "/expansion",
        "/health/scorecard",
        "/health/model",
        "/alerts/rules",
        "/customers/import",
        "/account",
        "/login?next=%22%3E%3Cxss-probe%3E",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for id in &ids {
        pages.push(format!("/customers/{id}"));
        pages.push(format!("/customers/{id}/edit"));
    }
    let mut scanned = 0;
    for path in &pages {
        let (status, html) = app.get_page(path).await;
        assert!(status < 500, "{path}: {status}");
        if let Some(found) = live_markup(&html) {
            panic!("{path}: hostile text became live markup: {found}");
        }
        scanned += 1;
    }
    // The scanner itself finds what it is looking for.
    assert!(live_markup("<title></title><xss-probe>x</xss-probe></title>").is_some());
    assert!(live_markup("<a href=\"javascript:xssProbe(2)\">x</a>").is_some());
    assert!(live_markup("<p>&lt;xss-probe&gt; \" xss-probe-attr=\"f</p>").is_none());
    let detail = app.get_page(&format!("/customers/{}", ids[3])).await.1;
    assert!(
        detail.contains("<title>&lt;/title&gt;&lt;xss-probe&gt;"),
        "the title is escaped"
    );
    println!(
        "hostile strings: {}, pages scanned: {scanned}, live markup: 0",
        HOSTILE.len()
    );
}
