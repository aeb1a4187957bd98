//! Several `nagare serve` processes on one Kafka log, each with a role subset and an embedded
//! store of its own: the deployment of the README's "one process per role", started by a test.
//!
//! A node is started from the real binary and known by the line it prints once running
//! (`nagare listening on http://ADDR` for a gateway, `nagare running ROLES` otherwise); its
//! stderr is kept so a test can read the roles' logs and show them when something fails.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{nagare_command, wait_for_exit};

/// How long a node may take to print its start-up line: opening the log, declaring the
/// topics, the catalog load of a processor. Consumer-group joins come after it.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a gateway may take to report ready after it printed its address.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// The stderr kept per node (the tail), for assertions on logs and failure messages.
const STDERR_KEPT: usize = 512 * 1024;
/// How long one HTTP request may take: above the gateway's 10 s command timeout, so a
/// request answers with the gateway's own error rather than the client's.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The log every node shares, and how its topics are created.
#[derive(Clone, Debug)]
pub(crate) struct SharedLog {
    /// `kafka://HOST:PORT`.
    pub(crate) url: String,
    /// A prefix of this test's own, so tests sharing a broker never meet.
    pub(crate) topic_prefix: String,
    pub(crate) partitions: u32,
}

/// One `nagare serve` process.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    /// `http://ADDR` for a node that runs the gateway.
    base_url: Option<String>,
    http: reqwest::Client,
    /// Keeps the node's store directory for as long as the node value lives.
    _store: tempfile::TempDir,
}

impl Node {
    /// Starts `nagare serve --roles ROLES` on the shared log with a fresh embedded store, and
    /// waits for its start-up line (and, for a gateway, readiness).
    pub(crate) async fn start(name: &str, roles: &str, log: &SharedLog) -> Node {
        Node::start_with(name, roles, log, &[]).await
    }

    /// [`Node::start`] with more flags for `nagare serve`.
    pub(crate) async fn start_with(
        name: &str,
        roles: &str,
        log: &SharedLog,
        extra: &[&str],
    ) -> Node {
        let store = tempfile::tempdir().expect("create a store directory");
        let mut args: Vec<String> = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--roles",
            roles,
            "--log",
            &log.url,
            "--topic-prefix",
            &log.topic_prefix,
            "--partitions",
            &log.partitions.to_string(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut command = nagare_command(&args);
        if roles.contains("gateway") || roles.contains("projections") {
            command.args(["--store".to_owned(), format!("embedded://{}", store.path().display())]);
        } else {
            // As the README runs them: processors without a --store, side by side in one
            // working directory. They must not open (and lock) the default store there.
            command.current_dir(std::env::temp_dir());
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the nagare binary");
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            keep_tail(pipe, stderr.clone());
        }
        let lines = match child.stdout.take() {
            Some(pipe) => stdout_lines(pipe),
            None => mpsc::channel().1,
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("build an HTTP client");
        let mut node =
            Node { name: name.to_owned(), child, stderr, base_url: None, http, _store: store };
        let line = match lines.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let status = wait_for_exit(&mut node.child, Duration::from_secs(1)).await;
                panic!(
                    "{name} printed no start-up line (exit {status:?}); stderr:\n{}",
                    node.stderr()
                );
            }
        };
        if let Some(url) = line.strip_prefix("nagare listening on ") {
            node.base_url = Some(url.trim().to_owned());
            node.wait_until_ready().await;
        } else {
            let expected = format!("nagare running {roles}");
            assert_eq!(line.trim(), expected, "{name}'s start-up line");
        }
        node
    }

    /// The tail of the node's stderr.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A client of this node's GraphQL endpoint; panics for a node without the gateway.
    pub(crate) fn client(&self) -> Gateway {
        let Some(base_url) = self.base_url.clone() else { panic!("{} runs no gateway", self.name) };
        Gateway { name: self.name.clone(), base_url, http: self.http.clone() }
    }

    /// `GET /health/ready` as JSON.
    pub(crate) async fn readiness(&self) -> Value {
        let url = format!("{}/health/ready", self.client().base_url);
        match self.http.get(&url).send().await {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(error) => panic!("{}: readiness request failed: {error}", self.name),
        }
    }

    /// `kill -9`: no drain, no leaving the groups.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = wait_for_exit(&mut self.child, Duration::from_secs(10)).await;
    }

    /// The command partitions this node's processor last logged as its own, once its last
    /// assignment change was an assignment (not a revocation still in progress).
    pub(crate) fn owned_command_partitions(&self) -> Option<Vec<u32>> {
        let logs = self.stderr();
        let last = logs.lines().rev().find(|line| {
            line.contains("command partitions assigned")
                || line.contains("command partitions revoked")
        })?;
        if !last.contains("command partitions assigned") {
            return None;
        }
        let owned = last.split("owned=[").nth(1)?.split(']').next()?;
        Some(owned.split(',').filter_map(|p| p.trim().parse().ok()).collect())
    }

    async fn wait_until_ready(&self) {
        let url = format!("{}/health/ready", self.client().base_url);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.http.get(&url).send().await {
                Ok(response) if response.status().is_success() => return,
                _ if Instant::now() > deadline => {
                    panic!("{} never became ready; stderr:\n{}", self.name, self.stderr())
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A GraphQL client of one gateway node, cheap to clone into client tasks.
#[derive(Clone, Debug)]
pub(crate) struct Gateway {
    pub(crate) name: String,
    base_url: String,
    http: reqwest::Client,
}

impl Gateway {
    /// The same gateway, with a client that gives up on a request after `timeout`, as an
    /// impatient client does.
    pub(crate) fn with_timeout(&self, timeout: Duration) -> Gateway {
        let http =
            reqwest::Client::builder().timeout(timeout).build().expect("build an HTTP client");
        Gateway { name: self.name.clone(), base_url: self.base_url.clone(), http }
    }

    /// Sends a GraphQL request; `Err` when no JSON answer came (the process is gone, or the
    /// request timed out).
    pub(crate) async fn graphql(&self, query: &str, variables: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        response.json::<Value>().await.map_err(|e| format!("{}: {e}", self.name))
    }
}

/// Reads stdout on a thread: sends every line, for the start-up line.
fn stdout_lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
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
