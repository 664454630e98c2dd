//! The real `vcsm` binary, for tests of whole servers: killed, restarted, several at once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_vcsm");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `vcsm` on database `url`, to listen on `port` when it serves.
pub fn vcsm(url: &str, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "vcsm")
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs `vcsm args…` to the end; its standard output. Panics with its errors on failure.
pub fn run(url: &str, args: &[&str]) -> String {
    let out = vcsm(url, 0).args(args).output().expect("run vcsm");
    assert!(
        out.status.success(),
        "vcsm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `vcsm serve` with `env` and waits until it answers; the caller kills and reaps
/// it. Its log goes to `/tmp/vcsm-serve-<port>.log` (to read when a test fails).
#[allow(clippy::zombie_processes)]
pub async fn start(url: &str, port: u16, client: &reqwest::Client, env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(format!("/tmp/vcsm-serve-{port}.log")).ok();
    let mut cmd = vcsm(url, port);
    cmd.arg("serve")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    match log {
        Some(f) => cmd.stderr(f),
        None => cmd.stderr(Stdio::null()),
    };
    let mut child = cmd.spawn().expect("start vcsm serve");
    let deadline = Instant::now() + Duration::from_secs(120);
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
