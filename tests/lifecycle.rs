//! Starting, refusing and stopping: one process per data directory, a prompt and clean exit on
//! SIGTERM that lets in-flight mutations finish, and clear errors for bad command lines. What
//! depends on the log runs on each backend.

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::ledger::{self, Writers};
use common::{
    Backend, DataDir, Server, nagare_command, on_each_backend, serve_args, serve_args_on, shop,
    spawn_reading_first_line, wait_for_exit,
};

/// Runs the binary to completion (bounded) and returns its exit code and stderr.
async fn run_to_exit(args: &[String]) -> (Option<i32>, String) {
    let mut child = nagare_command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nagare");
    let status = wait_for_exit(&mut child, Duration::from_secs(60)).await;
    if status.is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("collect the output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(status.is_some(), "nagare {args:?} did not exit; stderr:\n{stderr}");
    (status.and_then(|s| s.code()), stderr)
}

on_each_backend!(a_second_instance_on_the_same_data_directory_refuses_to_start);

async fn a_second_instance_on_the_same_data_directory_refuses_to_start(backend: Backend) {
    let dir = DataDir::on(backend);
    let first = Server::start(&dir, &[]).await;
    let category_id = shop::create_category(&first, "Kept safe").await;

    // Exactly the same flags, port included: the data directory is what it must name.
    let port = first.base_url().rsplit(':').next().unwrap_or_default().to_owned();
    let args = serve_args_on(&dir, &format!("127.0.0.1:{port}"), &[]);
    let (code, stderr) = run_to_exit(&args).await;
    assert_ne!(code, Some(0), "the second instance started; stderr:\n{stderr}");
    assert!(stderr.contains("in use by another Nagare process"), "{stderr}");
    assert!(stderr.contains(&dir.path().display().to_string()), "{stderr}");

    // The first one is unharmed.
    let category = first
        .data(
            "query($id: ID!) { category(id: $id) { name } }",
            serde_json::json!({ "id": category_id }),
        )
        .await;
    assert_eq!(category["category"]["name"], "Kept safe");
}

on_each_backend!(sigterm_exits_zero_promptly);

/// "Promptly" is the bound on the wait for the exit; its duration is not measured.
async fn sigterm_exits_zero_promptly(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    shop::create_category(&server, "Short-lived").await;
    let (status, logs) = server.terminate_with_logs(Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    // The roles stop in order: no new requests, then the processor, then the projections.
    let stopped = |role: &str| {
        let line = format!("role stopped role={role}");
        logs.find(&line).unwrap_or_else(|| panic!("`{line}` missing from:\n{logs}"))
    };
    assert!(stopped("gateway") < stopped("commands"), "{logs}");
    assert!(stopped("commands") < stopped("projections"), "{logs}");
    assert!(logs.contains("stopped cleanly"), "{logs}");
}

on_each_backend!(partition_drift_is_reported_and_the_existing_topics_are_kept);

async fn partition_drift_is_reported_and_the_existing_topics_are_kept(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &["--partitions", "4"]).await;
    let category_id = shop::create_category(&server, "Four partitions").await;
    assert!(server.terminate(Duration::from_secs(15)).await.success());

    let server = Server::start(&dir, &["--partitions", "8"]).await;
    let category = server
        .data(
            "query($id: ID!) { category(id: $id) { name } }",
            serde_json::json!({ "id": category_id }),
        )
        .await;
    assert_eq!(category["category"]["name"], "Four partitions");
    let (status, logs) = server.terminate_with_logs(Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    assert!(logs.contains("4 partitions instead of the configured 8"), "{logs}");
}

on_each_backend!(a_process_without_the_gateway_announces_its_roles_and_stops_cleanly);

async fn a_process_without_the_gateway_announces_its_roles_and_stops_cleanly(backend: Backend) {
    let dir = DataDir::on(backend);
    let args = serve_args(&dir, &["--roles", "commands,projections"]);
    let (mut child, first_line) = spawn_reading_first_line(&args);
    let line = first_line.recv_timeout(backend.patience(Duration::from_secs(60)));
    let kill = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = wait_for_exit(&mut child, backend.patience(Duration::from_secs(15))).await;
    if status.is_none() {
        let _ = child.kill();
    }
    assert_eq!(line.as_deref().map(str::trim), Ok("nagare running commands,projections"));
    assert!(kill.is_ok_and(|k| k.success()));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    sigterm_under_load_drains_and_loses_no_acknowledged_mutation
);

async fn sigterm_under_load_drains_and_loses_no_acknowledged_mutation(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    let category_id = shop::create_category(&server, "Drained").await;
    let mut initial_stock = HashMap::new();
    let writers = Arc::new(Writers::default());
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let name = format!("drained {writer}");
        let product_id = shop::create_product(&server, &category_id, &name, 100, 0).await;
        initial_stock.insert(product_id.clone(), 0);
        let task = ledger::write_until_stopped(
            server.api(),
            writer,
            product_id,
            category_id.clone(),
            writers.clone(),
        );
        tasks.push(tokio::spawn(task));
    }
    ledger::wait_for_acknowledgements(&writers, 40, backend.patience(Duration::from_secs(30)))
        .await;
    let status = server.terminate(Duration::from_secs(45)).await;
    writers.stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "{status}");

    let mut sent = Vec::new();
    for task in tasks {
        let finished = tokio::time::timeout(Duration::from_secs(60), task).await;
        sent.extend(finished.expect("a writer did not stop").expect("a writer panicked"));
    }
    assert!(writers.acknowledged.load(Ordering::Relaxed) >= 10);
    let server = Server::start(&dir, &[]).await;
    let (added, created) = ledger::reconcile(&server, &sent).await;
    ledger::check_exactly_once(&server, &category_id, &initial_stock, &added, &created).await;
}

#[tokio::test]
async fn bad_command_lines_fail_with_a_clear_message() {
    let dir = DataDir::new();
    let with = |extra: &[&str]| serve_args(&dir, extra);
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (with(&["--roles", "gateway,sagas"]), vec!["sagas", "gateway", "commands", "projections"]),
        (with(&["--snapshot-every", "0"]), vec!["--snapshot-every", "never"]),
        (with(&["--partitions", "zero"]), vec!["--partitions"]),
        (with(&["--log-format", "xml"]), vec!["text", "json"]),
        (serve_args_on(&dir, "not an address", &[]), vec!["cannot listen on not an address"]),
        (
            vec![
                "serve".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--log".into(),
                "bogus://somewhere".into(),
                "--store".into(),
                dir.url(),
            ],
            vec!["bogus://somewhere"],
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run_to_exit(&args).await;
        assert!(matches!(code, Some(c) if c != 0), "{args:?} exited with {code:?}:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
        for words in expected {
            assert!(stderr.contains(words), "{args:?}: `{words}` missing from:\n{stderr}");
        }
    }
}

#[tokio::test]
async fn help_explains_the_flags() {
    let args = vec!["serve".to_owned(), "--help".to_owned()];
    let output = nagare_command(&args).output().expect("run nagare serve --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--listen", "--log", "--store", "--roles", "--snapshot-every", "--admin-token"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = DataDir::new();
    let server = Server::start(&dir, &["--log-format", "json"]).await;
    shop::create_category(&server, "Logged").await;
    let stderr = server.stderr();
    let status = server.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in lines {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok_and(|v| v["level"].is_string()), "not a JSON log line: {line}");
    }
}
