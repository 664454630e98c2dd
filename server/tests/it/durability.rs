//! `kill -9` of the server never loses an acknowledged event: clients send batches while
//! the real `vcsm` binary is killed with SIGKILL, and every message id that got a 200
//! must be in the database afterwards. Runs on SQLite and, with `VCSM_TEST_POSTGRES`, on
//! Postgres.

use crate::common;
use common::binary::{self, free_port};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::backend::entities::usage_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

fn create_source(url: &str) -> String {
    binary::run(
        url,
        &["source", "create", "durability", "--create-customers"],
    )
    .lines()
    .find_map(|l| l.strip_prefix("write key: "))
    .expect("the key is printed")
    .trim()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_never_loses_an_acknowledged_event() {
    let (url, _) = common::fresh_db_url().await;
    // Migrates the new database and creates the source.
    let key = create_source(&url);
    let client = reqwest::Client::new();
    let port = free_port();
    let mut server = binary::start(&url, port, &client, &[]).await;
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
    let mut server = binary::start(&url, port, &client, &[]).await;
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
