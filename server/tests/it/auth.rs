//! Sign-in, sessions, throttling and roles, over real HTTP.

use crate::common;

use common::{spawn_app, PASSWORD};
use sea_orm::{EntityTrait, PaginatorTrait};

#[tokio::test]
async fn wrong_password_is_refused_and_right_one_opens_a_session() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", "csm").await;

    let res = app
        .post_form(
            "login",
            &[("email", "ada@example.com"), ("password", "nope-nope")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Wrong e-mail or password"));
    let who: serde_json::Value = app.whoami().await;
    assert!(who.is_null(), "nobody is signed in: {who}");

    let res = app
        .post_form(
            "login",
            &[("email", " ADA@example.com "), ("password", PASSWORD)],
        )
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("vcsm_session="));
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let who: serde_json::Value = app.whoami().await;
    assert_eq!(who["email"], "ada@example.com");
    assert_eq!(who["role"], "Csm");
}

#[tokio::test]
async fn unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    let res = app
        .post_form(
            "login",
            &[("email", "ghost@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Wrong e-mail or password"));
}

#[tokio::test]
async fn cookie_is_secure_behind_tls() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", "csm").await;
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("; Secure"));
}

#[tokio::test]
async fn repeated_failures_hold_this_client_back_even_for_the_right_password() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", "csm").await;
    // Three failures are free, the fourth earns a delay (trust.rs: another client is not
    // held back).
    for _ in 0..4 {
        let res = app
            .post_form(
                "login",
                &[("email", "ada@example.com"), ("password", "wrong-password")],
            )
            .await;
        assert_eq!(res.status(), 422);
    }
    let res = app
        .post_form(
            "login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().starts_with("{\"RateLimited\":"));
    assert!(res_has_no_session(&app).await);
}

async fn res_has_no_session(app: &common::TestApp) -> bool {
    let who: serde_json::Value = app.whoami().await;
    who.is_null()
}

#[tokio::test]
async fn signed_out_pages_redirect_to_login_and_server_functions_answer_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/customers?q=acme"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Fcustomers%3Fq%3Dacme"
    );
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Sign in"));
    let res = app
        .client
        .post(app.url("/api/dashboard"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = format!("{:?}", res.headers());
    let body = res.text().await.unwrap();
    assert_eq!(status, 401, "{headers} {body}");
    assert_eq!(body, "\"Unauthorized\"");
}

#[tokio::test]
async fn expired_sessions_and_logout_end_access() {
    use app::backend::entities::session;
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    app.sign_in_as("ada@example.com", "manager").await;
    assert_eq!(app.call_status("dashboard").await, 200);

    // Expire the session in the database: the next request must be refused.
    let s = session::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut am: session::ActiveModel = s.into();
    am.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    am.update(&app.db).await.unwrap();
    assert_eq!(app.call_status("dashboard").await, 401);
    assert!(app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .status()
        .is_redirection());
    assert_eq!(
        session::Entity::find().count(&app.db).await.unwrap(),
        0,
        "expired session deleted"
    );

    app.post_form(
        "login",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(app.call_status("dashboard").await, 200);
    let res = app
        .client
        .post(app.url("/api/logout"))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(session::Entity::find().count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn executives_read_but_cannot_change_anything() {
    use app::backend::entities::customer;
    let app = spawn_app().await;
    app.sign_in_as("erin@example.com", "executive").await;
    assert_eq!(app.call_status("dashboard").await, 200);
    let list = app
        .post_json(
            "list_customers",
            serde_json::json!({ "query": vcsm::listing::CustomerQuery::default() }),
        )
        .await;
    assert_eq!(list.status(), 200);

    let form = common::customer_form("Acme", "acct_1");
    let res = app
        .client
        .post(app.url("/api/create_customer"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 0);
    let res = app
        .post_json(
            "start_import",
            serde_json::json!({ "kind": "Customers", "csv": "name\nAcme\n" }),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app.post_form("list_users", &[]).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn admins_manage_users_with_validation() {
    let app = spawn_app().await;
    app.sign_in_as("root@example.com", "admin").await;
    let res = app
        .post_form(
            "create_user",
            &[
                ("email", "nope"),
                ("name", ""),
                ("role", "owner"),
                ("password", "short"),
            ],
        )
        .await;
    let fields = common::validation_fields(res).await;
    assert_eq!(fields, vec!["email", "name", "role", "password"]);

    let res = app
        .post_form(
            "create_user",
            &[
                ("email", "new@example.com"),
                ("name", "New Person"),
                ("role", "csm"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let again = app
        .post_form(
            "create_user",
            &[
                ("email", "NEW@example.com"),
                ("name", "Dup"),
                ("role", "csm"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already used"));

    let users: Vec<serde_json::Value> =
        app.post_form("list_users", &[]).await.json().await.unwrap();
    assert_eq!(users.len(), 2);
    let me = users
        .iter()
        .find(|u| u["email"] == "root@example.com")
        .unwrap()["id"]
        .to_string();
    let res = app
        .post_form("set_user_active", &[("id", &me), ("active", "false")])
        .await;
    assert_eq!(res.status(), 400, "an admin cannot lock themselves out");
}

#[tokio::test]
async fn deactivated_users_lose_their_sessions() {
    let app = spawn_app().await;
    app.sign_in_as("root@example.com", "admin").await;
    let other = spawn_client(&app);
    app.create_user("sam@example.com", "csm").await;
    other
        .post(app.url("/api/login"))
        .form(&[("email", "sam@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        other
            .post(app.url("/api/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let users: Vec<serde_json::Value> =
        app.post_form("list_users", &[]).await.json().await.unwrap();
    let sam = users
        .iter()
        .find(|u| u["email"] == "sam@example.com")
        .unwrap()["id"]
        .to_string();
    assert_eq!(
        app.post_form("set_user_active", &[("id", &sam), ("active", "false")])
            .await
            .status(),
        200
    );
    assert_eq!(
        other
            .post(app.url("/api/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = other
        .post(app.url("/api/login"))
        .form(&[("email", "sam@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

fn spawn_client(_app: &common::TestApp) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn concurrent_guesses_all_count_against_the_limit() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", "csm").await;
    let guesses = (0..12).map(|i| {
        let client = app.client.clone();
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .form(&[
                    ("email", "ada@example.com"),
                    ("password", format!("guess-{i}").as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util_join_all(guesses).await;
    let refused = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert!(
        refused >= 7,
        "at most 5 guesses may be checked, got {statuses:?}"
    );
    // No lockout: once the delay the guesses earned has passed (it says how long), the
    // right password gets in.
    let mut res = app
        .post_form(
            "login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    if res.status() == 429 {
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait <= 8, "{wait}");
        tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
        res = app
            .post_form(
                "login",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
            )
            .await;
    }
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
}

async fn futures_util_join_all<
    F: std::future::Future<Output = reqwest::StatusCode> + Send + 'static,
>(
    futs: impl Iterator<Item = F>,
) -> Vec<reqwest::StatusCode> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn login_redirects_only_to_local_paths() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", "csm").await;
    for (next, expected) in [
        ("/customers?q=a", "/customers?q=a"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example", "/"),
    ] {
        let res = app
            .client
            .post(app.url("/api/login"))
            .header("accept", "text/html")
            .form(&[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "{next}");
        assert_eq!(res.headers()["location"], expected, "{next}");
    }
}

#[tokio::test]
async fn head_requests_are_guarded_like_get() {
    let app = spawn_app().await;
    let res = app.client.head(app.url("/customers")).send().await.unwrap();
    assert!(res.status().is_redirection());
}
