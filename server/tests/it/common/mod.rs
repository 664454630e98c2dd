//! Test harness: every test gets a fresh database (SQLite file, or a new Postgres
//! database when `VCSM_TEST_POSTGRES` is set) and the real router on a real port.

#![allow(dead_code)]

pub mod binary;

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::{db, AppState, Config};
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    /// The server's state (its meter holds counts and last activity until flushed).
    pub state: AppState,
    pub client: reqwest::Client,
    pub backend: &'static str,
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "vcsm_t_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// The URL of a new, empty database: a Postgres database on `VCSM_TEST_POSTGRES` when
/// set, else a SQLite file.
pub async fn fresh_db_url() -> (String, &'static str) {
    let name = unique_name();
    match std::env::var("VCSM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(base) => {
            let base = base.trim_end_matches('/');
            let admin = db::connect(&format!("{base}/postgres"))
                .await
                .expect("connect to the test Postgres server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            (format!("{base}/{name}"), "postgres")
        }
        None => {
            let dir = std::env::temp_dir().join("vcsm-tests");
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.join(format!("{name}.db")).display()
                ),
                "sqlite",
            )
        }
    }
}

/// A fresh, migrated database.
pub async fn fresh_db() -> (DatabaseConnection, &'static str) {
    let (url, backend) = fresh_db_url().await;
    let conn = db::connect(&url).await.expect("open the test database");
    db::migrate(&conn).await.expect("migrate");
    (conn, backend)
}

/// Serves the real router over a fresh database on a free port.
/// Settings for tests: outgoing requests may reach the local stand-ins (Slack, HubSpot).
pub fn test_config() -> Config {
    Config {
        allow_private_urls: true,
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    let (conn, backend) = fresh_db().await;
    let mut leptos_options = leptos::config::get_configuration(None)
        .expect("leptos settings")
        .leptos_options;
    leptos_options.output_name = Arc::from("vcsm");
    let state = AppState::new(leptos_options, conn.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server::http::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base: format!("http://{addr}"),
        db: conn,
        state,
        client,
        backend,
    }
}

/// An app with an admin signed in.
pub async fn spawn_admin() -> TestApp {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    app
}

impl TestApp {
    /// A new event source that may create customers, and its write key.
    pub async fn write_key(&self) -> String {
        app::backend::ingest::create_source(&self.db, None, "web app", true, chrono::Utc::now())
            .await
            .unwrap()
            .write_key
    }

    /// Posts a JSON `body` to `path` with a write key: the status and the JSON answer.
    pub async fn send_with_key(
        &self,
        key: &str,
        path: &str,
        body: String,
    ) -> (u16, serde_json::Value) {
        let res = self
            .client
            .post(self.url(path))
            .basic_auth(key, Some(""))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }
    /// Scores one customer now, as the re-scoring worker would after new data about it.
    /// Scores one customer now, as the server does seconds after new data — after any
    /// portfolio re-score a settings change queued has run, so that its scores can't land
    /// after these.
    pub async fn rescore(&self, customer_id: i64) {
        self.run_due_jobs().await;
        let now = chrono::Utc::now();
        app::backend::pipeline::score_customers(
            &self.db,
            &self.state.portfolio,
            Some(&[customer_id]),
            now,
            now,
        )
        .await
        .expect("score the customer");
    }

    /// Runs the jobs due now, as a server's job runner would (tests run none in the
    /// background, so that nothing scores behind their backs): the portfolio re-score a
    /// settings change queued, a retraining.
    pub async fn run_due_jobs(&self) {
        while let Some((job, outcome)) =
            app::backend::worker::run_next(&self.state, "test", chrono::Utc::now())
                .await
                .expect("run a due job")
        {
            outcome.unwrap_or_else(|e| panic!("job {} ({}) failed: {e}", job.id, job.kind));
        }
    }

    /// Writes what the server keeps in memory for a moment (counts, last activity), as
    /// its once-a-second flush would.
    pub async fn flush(&self) {
        self.state
            .meter
            .flush(&self.db)
            .await
            .expect("flush the meter");
    }

    /// Imports a CSV file of `kind` ("Customers", "Contacts", "Events") as the import page
    /// does: starts the import job, then polls its progress until it is over while the
    /// job runs. Returns
    /// the final status (its `report`, or `error`) and every distinct progress seen.
    pub async fn import(&self, kind: &str, csv: &str) -> (serde_json::Value, Vec<(u64, u64)>) {
        let res = self
            .post_json(
                "start_import",
                serde_json::json!({ "kind": kind, "csv": csv }),
            )
            .await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "start_import: {body}");
        let id: u64 = body.parse().unwrap();
        // The job runs as a server's runner would run it, while the page polls.
        let state = self.state.clone();
        let runner = tokio::spawn(async move {
            while app::backend::worker::run_next(&state, "test", chrono::Utc::now())
                .await
                .expect("run the due jobs, the import among them")
                .is_some()
            {}
        });
        let mut seen = Vec::new();
        for _ in 0..12_000 {
            let status: serde_json::Value = self
                .post_form("import_progress", &[("id", &id.to_string())])
                .await
                .json()
                .await
                .unwrap();
            let step = (
                status["done"].as_u64().unwrap(),
                status["total"].as_u64().unwrap(),
            );
            if seen.last() != Some(&step) {
                seen.push(step);
            }
            if matches!(status["phase"].as_str(), Some("Finished" | "Failed")) {
                runner.await.expect("the import job's task");
                return (status, seen);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("import {id} did not finish in 2 minutes");
    }

    /// Imports a CSV file and returns the report of a finished import.
    pub async fn import_report(&self, kind: &str, csv: &str) -> serde_json::Value {
        let (status, _) = self.import(kind, csv).await;
        assert_eq!(status["phase"], "Finished", "{status}");
        status["report"].clone()
    }

    /// Creates a customer through the form's server function (signed in as someone who
    /// may) and returns its id.
    pub async fn create_customer(&self, name: &str, external_id: &str) -> i64 {
        let res = self
            .client
            .post(self.url("/api/create_customer"))
            .form(&customer_form(name, external_id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "create {name}");
        res.json().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Posts a form to a server function, as a browser's form would (without JS, the
    /// `Accept` header asks for HTML).
    pub async fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts JSON to a server function declared with `input = Json`.
    pub async fn post_json(&self, endpoint: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Status of calling a server function without arguments.
    pub async fn call_status(&self, endpoint: &str) -> u16 {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// GETs a page: its status and HTML.
    pub async fn get_page(&self, path: &str) -> (u16, String) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Who the server thinks this client is (`null` when signed out).
    pub async fn whoami(&self) -> serde_json::Value {
        self.client
            .post(self.url("/api/whoami"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn create_user(&self, email: &str, role: &str) {
        let input = app::backend::users::NewUser {
            email: email.into(),
            name: email.split('@').next().unwrap().into(),
            role: role.into(),
            password: PASSWORD.into(),
        };
        app::backend::users::create_user(&self.db, None, &input, chrono::Utc::now())
            .await
            .expect("create user");
    }

    /// Creates a user with `role` and signs this client in as them.
    pub async fn sign_in_as(&self, email: &str, role: &str) {
        self.create_user(email, role).await;
        self.sign_in_again(email).await;
    }

    /// Signs this client in as a user made earlier by [`Self::sign_in_as`].
    pub async fn sign_in_again(&self, email: &str) {
        let res = self
            .post_form("login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "login failed: {}",
            res.status()
        );
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// A full customer form, as the browser sends it.
pub fn customer_form(name: &str, external_id: &str) -> Vec<(String, String)> {
    [
        ("name", name),
        ("external_id", external_id),
        ("domain", "acme.example.com"),
        ("tier", "mid_market"),
        ("stage", "active"),
        ("churned_on", ""),
        ("plan", "Business"),
        ("mrr", "2500.00"),
        ("currency", "USD"),
        ("seats", "25"),
        ("contract_start", "2025-01-01"),
        ("renewal_date", "2026-01-01"),
        ("owner_email", ""),
        ("tags", "beta"),
    ]
    .iter()
    .map(|(k, v)| (format!("input[{k}]"), v.to_string()))
    .collect()
}

/// The fields named by a 422 validation answer of a server function, in order.
pub async fn validation_fields(res: reqwest::Response) -> Vec<String> {
    assert_eq!(res.status(), 422, "expected a validation error");
    let body: serde_json::Value = res.json().await.unwrap();
    body["Validation"]
        .as_array()
        .expect("a Validation error")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

/// The paths named by a `{"errors": [...]}` answer of the tracking API, in order.
pub fn error_paths(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("an errors list")
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

/// A stand-in for Slack's incoming-webhook endpoint: answers `ok`, or Slack's documented
/// error text, and keeps what it received.
pub async fn slack_stand_in(
    answer: (u16, &'static str),
) -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use axum::routing::post;
    let received: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/services/T000/B000/XXXX",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                (
                    axum::http::StatusCode::from_u16(answer.0).unwrap(),
                    answer.1,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/services/T000/B000/XXXX"), received)
}

/// One message an SMTP stand-in accepted: the envelope and the raw DATA.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A local SMTP server speaking the protocol's plain-text core (RFC 5321: EHLO, MAIL,
/// RCPT, DATA, RSET, NOOP, QUIT), as a relay would. With `refuse_recipients` it answers
/// every RCPT with 550, as a relay refusing a mailbox does. Returns its `smtp://` URL and
/// the messages accepted.
pub async fn smtp_stand_in(refuse_recipients: bool) -> (String, Arc<std::sync::Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    smtp_stand_in_on(listener, refuse_recipients)
}

/// [`smtp_stand_in`] on a listener of the caller's (an address a relay that was down
/// comes back on).
pub fn smtp_stand_in_on(
    listener: tokio::net::TcpListener,
    refuse_recipients: bool,
) -> (String, Arc<std::sync::Mutex<Vec<Mail>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let accepted: Arc<std::sync::Mutex<Vec<Mail>>> = Arc::default();
    let kept = accepted.clone();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 stand-in ESMTP ready\r\n").await;
                let (mut from, mut to) = (String::new(), Vec::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-stand-in\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].trim().to_string();
                        to.clear();
                        b"250 2.1.0 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        if refuse_recipients {
                            b"550 5.1.1 mailbox unavailable\r\n"
                        } else {
                            to.push(line[8..].trim().to_string());
                            b"250 2.1.5 OK\r\n"
                        }
                    } else if upper == "DATA" {
                        let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        kept.lock().unwrap().push(Mail {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                        });
                        b"250 2.0.0 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 2.0.0 OK\r\n"
                    } else {
                        b"502 5.5.2 not implemented\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("smtp://{addr}"), accepted)
}
