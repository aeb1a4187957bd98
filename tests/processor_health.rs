//! A process without the gateway role serves `/health/live` and `/health/ready` on
//! `--health-listen`, so an orchestrator can probe a command processor scaled out on its own.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{
    Backend, DataDir, nagare_command, on_each_backend, serve_args, spawn_reading_first_line,
    wait_for_exit,
};
use serde_json::Value;

const HEALTH_LINE: &str = "nagare running commands, health on ";

on_each_backend!(a_command_processor_reports_its_readiness_on_the_health_address);

async fn a_command_processor_reports_its_readiness_on_the_health_address(backend: Backend) {
    let dir = DataDir::on(backend);
    let args = serve_args(&dir, &["--roles", "commands", "--health-listen", "127.0.0.1:0"]);
    let (mut child, first_line) = spawn_reading_first_line(&args);
    let line = first_line.recv_timeout(backend.patience(Duration::from_secs(60)));
    let base = line.as_deref().ok().and_then(|l| l.trim().strip_prefix(HEALTH_LINE));
    let readiness = match base {
        Some(base) => wait_until_ready(base, backend.patience(Duration::from_secs(30))).await,
        None => None,
    };
    let live = match base {
        Some(base) => reqwest::get(format!("{base}/health/live")).await.ok().map(|r| r.status()),
        None => None,
    };
    let kill = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = wait_for_exit(&mut child, backend.patience(Duration::from_secs(15))).await;
    if status.is_none() {
        let _ = child.kill();
    }

    assert!(base.is_some(), "start-up line: {line:?}");
    let readiness = readiness.expect("/health/ready never answered 200");
    assert_eq!(readiness["status"], "ready", "{readiness:#}");
    assert_eq!(readiness["localRoles"][0]["name"], "commands", "{readiness:#}");
    assert_eq!(readiness["localRoles"][0]["ready"], true, "{readiness:#}");
    assert_eq!(readiness["roles"], serde_json::json!(["commands"]), "{readiness:#}");
    assert!(readiness["store"]["detail"].as_str().is_some_and(|d| d.contains("not used")));
    assert!(readiness["storeCapabilities"].is_null(), "{readiness:#}");
    assert!(readiness["logCapabilities"]["description"].is_string(), "{readiness:#}");
    assert_eq!(live, Some(reqwest::StatusCode::OK));
    assert!(kill.is_ok_and(|k| k.success()));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

/// Polls `/health/ready` until it answers 200; its report, or `None` after `limit`.
async fn wait_until_ready(base: &str, limit: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = reqwest::get(format!("{base}/health/ready")).await
            && response.status().is_success()
        {
            return response.json().await.ok();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn a_gateway_is_told_its_health_is_on_listen() {
    let dir = DataDir::on(Backend::Embedded);
    let args = serve_args(&dir, &["--roles", "gateway", "--health-listen", "127.0.0.1:0"]);
    let output = nagare_command(&args).stdin(Stdio::null()).output().expect("run nagare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("--health-listen") && stderr.contains("--listen"), "{stderr}");
}
