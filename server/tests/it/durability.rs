//! `kill -9` of the server never loses an acknowledged event: clients send batches while
//! the real `vcsm` binary is killed with SIGKILL, and every message id that got a 200
//! must be in the database afterwards. Runs on SQLite and, with `VCSM_TEST_POSTGRES`, on
//! Postgres.

use crate::common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::backend::entities::usage_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_vcsm");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn vcsm(url: &str, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "vcsm")
        .env("RUST_LOG", "warn");
    cmd
}

fn create_source(url: &str) -> String {
    let out = vcsm(url, 0)
        .args(["source", "create", "durability", "--create-customers"])
        .output()
        .expect("run vcsm source create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("write key: "))
        .expect("the key is printed")
        .trim()
        .to_string()
}

/// Starts the server and waits until it answers; the caller kills and reaps it.
#[allow(clippy::zombie_processes)]
async fn start(url: &str, port: u16, client: &reqwest::Client) -> Child {
    let mut child = vcsm(url, port)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vcsm serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return child;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_never_loses_an_acknowledged_event() {
    let (url, _) = common::fresh_db_url().await;
    // Migrates the new database and creates the source.
    let key = create_source(&url);
    let client = reqwest::Client::new();
    let port = free_port();
    let mut server = start(&url, port, &client).await;
    let endpoint = format!("http://127.0.0.1:{port}/v1/batch");
    // The accounts exist before the traffic starts.
    let groups: Vec<_> = (0..5)
        .map(
            |a| json!({"type": "group", "userId": format!("u{a}"), "groupId": format!("acct_{a}")}),
        )
        .collect();
    let res = client
        .post(&endpoint)
        .basic_auth(&key, Some(""))
        .json(&json!({ "batch": groups }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut senders = Vec::new();
    for c in 0..4 {
        let (client, endpoint, key, acked) =
            (client.clone(), endpoint.clone(), key.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for b in 0.. {
                let ids: Vec<String> = (0..50).map(|i| format!("c{c}-b{b}-m{i}")).collect();
                let batch: Vec<_> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| json!({"type": "track", "userId": format!("u{}", i % 5), "event": "Report Exported", "messageId": id, "context": {"groupId": format!("acct_{}", i % 5)}}))
                    .collect();
                let sent = client
                    .post(&endpoint)
                    .basic_auth(&key, Some(""))
                    .json(&json!({ "batch": batch }))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(ids),
                    // Killed mid-request: not acknowledged, so the sender would retry.
                    _ => return b,
                }
            }
            unreachable!()
        }));
    }
    // Let traffic flow, then SIGKILL the server in the middle of it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 2_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "some batches were acknowledged before the kill"
    );

    let conn = app::backend::db::connect(&url).await.unwrap();
    let mut stored = HashSet::new();
    for chunk in acked.chunks(500) {
        let wanted: Vec<String> = chunk.iter().map(|id| format!("s1:{id}")).collect();
        stored.extend(
            usage_event::Entity::find()
                .select_only()
                .column(usage_event::Column::MessageId)
                .filter(usage_event::Column::MessageId.is_in(wanted))
                .into_tuple::<String>()
                .all(&conn)
                .await
                .unwrap(),
        );
    }
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !stored.contains(&format!("s1:{id}")))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events were lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );

    // The restarted server takes traffic again, and a sender's retry of an acknowledged
    // batch is recognised rather than stored twice.
    let mut server = start(&url, port, &client).await;
    let retry: Vec<_> = acked[..50]
        .iter()
        .map(|id| json!({"type": "track", "userId": "u0", "event": "Report Exported", "messageId": id, "context": {"groupId": "acct_0"}}))
        .collect();
    let body: serde_json::Value = client
        .post(&endpoint)
        .basic_auth(&key, Some(""))
        .json(&json!({ "batch": retry }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["outcome"]["duplicates"], 50, "{body}");
    server.kill().ok();
    server.wait().ok();
}
