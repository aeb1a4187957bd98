//! Starts the real `nagare` binary on a free port and a data directory of the test's own, its
//! log on the backend the test names, and talks to it over HTTP. Every wait is bounded, so a
//! broken server fails a test instead of hanging it.

// Each test file compiles this module and uses a different part of it.
#![allow(dead_code)]

mod backend;
pub(crate) mod cluster;
pub(crate) mod ledger;
pub(crate) mod shop;

#[allow(unused_imports)]
pub(crate) use backend::on_each_backend;
pub(crate) use backend::{Backend, DataDir};

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The line the server prints on stdout once it listens.
const LISTENING: &str = "nagare listening on ";
/// How long a start may take on the embedded backend: the topics, the store and the rebuild of
/// the aggregates (raised on Kafka, see [`Backend::patience`]).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one HTTP request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The stderr kept for failure messages (the tail).
const STDERR_KEPT: usize = 64 * 1024;

/// Why a server did not come up.
#[derive(Debug)]
pub(crate) struct StartFailure {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stderr: String,
}

/// A running `nagare serve`.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    api: Api,
    stderr: Arc<Mutex<String>>,
    backend: Backend,
}

/// An HTTP client of one server, cheap to clone into concurrent tasks.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    base_url: String,
}

impl Api {
    fn new(base_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("build an HTTP client");
        Self { http, base_url }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a GraphQL request; `Err` when the server did not answer (e.g. it was killed).
    pub(crate) async fn try_graphql(&self, query: &str, variables: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response.json::<Value>().await.map_err(|e| e.to_string())
    }
}

/// The binary's arguments for a server on `dir`, listening on a free local port.
pub(crate) fn serve_args(dir: &DataDir, extra: &[&str]) -> Vec<String> {
    serve_args_on(dir, "127.0.0.1:0", extra)
}

/// The binary's arguments for a server on `dir`, listening on `listen`.
pub(crate) fn serve_args_on(dir: &DataDir, listen: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["serve".into(), "--listen".into(), listen.into()];
    args.extend(dir.backend_args());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// The `nagare` command with an environment free of the caller's NAGARE_* settings.
pub(crate) fn nagare_command(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nagare"));
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("NAGARE_") {
            command.env_remove(name);
        }
    }
    command.env("RUST_LOG", "info");
    // Any relative default (./nagare-data) lands in the temporary directory, never in the
    // repository.
    command.current_dir(std::env::temp_dir());
    command
}

impl Server {
    /// Starts a server on `dir`; panics with its stderr if it does not come up.
    pub(crate) async fn start(dir: &DataDir, extra: &[&str]) -> Server {
        match Server::try_start(dir, extra).await {
            Ok(server) => server,
            Err(failure) => panic!(
                "the server did not start (exit {:?}); its stderr:\n{}",
                failure.status, failure.stderr
            ),
        }
    }

    /// Starts a server on `dir` and waits until it is ready to serve.
    pub(crate) async fn try_start(dir: &DataDir, extra: &[&str]) -> Result<Server, StartFailure> {
        let mut child = nagare_command(&serve_args(dir, extra))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the nagare binary");
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            keep_tail(pipe, stderr.clone());
        }
        let announced = match child.stdout.take() {
            Some(pipe) => announcements(pipe),
            None => mpsc::channel().1,
        };
        let start_timeout = dir.backend().patience(START_TIMEOUT);
        let base_url = match announced.recv_timeout(start_timeout) {
            Ok(url) => url,
            Err(_) => {
                let status = wait_for_exit(&mut child, Duration::from_secs(5)).await;
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                // Give the stderr reader a moment to collect the last words.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let stderr = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(StartFailure { status, stderr });
            }
        };
        let server = Server { child, api: Api::new(base_url), stderr, backend: dir.backend() };
        // Ready includes this process's command processor having joined its group and rebuilt
        // its partitions, which takes a few seconds on Kafka.
        server.wait_until_ready().await;
        Ok(server)
    }

    pub(crate) fn base_url(&self) -> &str {
        self.api.base_url()
    }

    /// A client for concurrent tasks.
    pub(crate) fn api(&self) -> Api {
        self.api.clone()
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The tail of what the server wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + self.backend.patience(START_TIMEOUT);
        let url = format!("{}/health/ready", self.base_url());
        loop {
            match self.api.http.get(&url).send().await {
                Ok(response) if response.status().is_success() => return,
                _ if Instant::now() > deadline => {
                    panic!("the server never became ready; its stderr:\n{}", self.stderr())
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Sends a GraphQL request and returns the whole response (data and errors).
    pub(crate) async fn graphql(&self, query: &str, variables: Value) -> Value {
        match self.api.try_graphql(query, variables).await {
            Ok(response) => response,
            Err(error) => panic!("GraphQL request failed: {error}; stderr:\n{}", self.stderr()),
        }
    }

    /// Sends a GraphQL request that must succeed and returns its `data`.
    pub(crate) async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables.clone()).await;
        if response.get("errors").is_some_and(|e| !e.is_null()) {
            panic!(
                "unexpected errors for {query} with {variables}:\n{response:#}\nthe server's \
                 stderr:\n{}",
                self.stderr()
            );
        }
        response["data"].clone()
    }

    /// Sends SIGTERM and waits for the exit; panics if it takes longer than `limit` (a bound for
    /// the embedded backend, raised on Kafka, where consumers leave their groups on the way out).
    pub(crate) async fn terminate(self, limit: Duration) -> ExitStatus {
        self.terminate_with_logs(limit).await.0
    }

    /// Like [`Server::terminate`], also returning everything the server logged.
    pub(crate) async fn terminate_with_logs(mut self, limit: Duration) -> (ExitStatus, String) {
        let limit = self.backend.patience(limit);
        self.signal("TERM");
        let Some(status) = wait_for_exit(&mut self.child, limit).await else {
            panic!("no exit within {limit:?} of SIGTERM; stderr:\n{}", self.stderr())
        };
        // The stderr reader finishes at the pipe's end, just after the exit.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && !self.stderr().contains("stopped cleanly") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let logs = self.stderr();
        (status, logs)
    }

    /// `kill -9`: the process gets no chance to flush anything.
    pub(crate) async fn kill(mut self) {
        let _ = self.child.kill();
        let _ = wait_for_exit(&mut self.child, Duration::from_secs(10)).await;
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls for the child's exit without blocking the test's runtime.
pub(crate) async fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the binary with stdout piped and stderr discarded; the receiver gets the first line
/// it prints (its start-up line), read on a thread so a silent process cannot block the test.
pub(crate) fn spawn_reading_first_line(args: &[String]) -> (Child, mpsc::Receiver<String>) {
    let mut child = nagare_command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nagare");
    let (sender, first_line) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
    }
    (child, first_line)
}

/// Reads stdout on a thread; sends the announced base URL, then keeps draining the pipe.
fn announcements(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix(LISTENING) {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    receiver
}

/// Keeps the last [`STDERR_KEPT`] bytes of a pipe, on a thread.
fn keep_tail(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let Ok(mut kept) = into.lock() else { break };
            kept.push_str(&line);
            kept.push('\n');
            if kept.len() > STDERR_KEPT {
                let mut cut = kept.len() - STDERR_KEPT;
                while !kept.is_char_boundary(cut) {
                    cut += 1;
                }
                kept.drain(..cut);
            }
        }
    });
}

/// The repository root, where README.md lives.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The first error of a GraphQL response: its code, field and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphqlError {
    pub(crate) code: String,
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

pub(crate) fn first_error(response: &Value) -> Option<GraphqlError> {
    let error = response.get("errors")?.get(0)?;
    let extensions = error.get("extensions");
    Some(GraphqlError {
        code: extensions
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        field: extensions.and_then(|e| e.get("field")).and_then(Value::as_str).map(str::to_owned),
        message: error.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
    })
}

/// A fresh idempotency key.
pub(crate) fn command_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
