//! A real `nagare serve` started as a child process on a fresh embedded data directory, so a
//! scenario measures the server as deployed, and its CPU and memory apart from the clients'.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// What the server prints on stdout once it listens.
const LISTENING: &str = "nagare listening on ";
/// How long the server may take to start and become ready before the benchmark gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server; killed when dropped.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    pid: u32,
    base_url: String,
    /// The log's scheme, `embedded` or `kafka`, for the report.
    backend: String,
}

impl ServerProcess {
    /// Starts `exe serve` on a free loopback port with its store (and, unless `log_url` names
    /// another, its log) in `data_dir`, and waits until `/health/ready` answers 200. On a
    /// shared log the server gets a topic prefix no earlier run used.
    pub(crate) async fn start(
        exe: &Path,
        data_dir: &Path,
        log_url: Option<&str>,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let data = format!("embedded://{}", data_dir.display());
        let log = log_url.unwrap_or(&data);
        let backend = log.split("://").next().unwrap_or("unknown").to_owned();
        let prefix = format!("{}.", crate::scratch::unique_name("nagare.bench-"));
        let mut command = Command::new(exe);
        command.args(["serve", "--listen", "127.0.0.1:0", "--log", log, "--store", &data]);
        if log_url.is_some() {
            command.args(["--topic-prefix", &prefix]);
        }
        let mut child = command
            // The server's own log lines would interleave with the progress lines.
            .env("RUST_LOG", std::env::var("NAGARE_BENCH_SERVER_LOG").unwrap_or("warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start the server {}: {e}", exe.display()))?;
        let pid = child.id().ok_or_else(|| anyhow::anyhow!("the server exited at once"))?;
        let stdout =
            child.stdout.take().ok_or_else(|| anyhow::anyhow!("the server's stdout is missing"))?;
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix(LISTENING) {
                    return Ok(url.trim().to_owned());
                }
            }
            anyhow::bail!("the server closed its stdout without printing `{LISTENING}ADDR`")
        })
        .await
        .map_err(|_| anyhow::anyhow!("the server printed no address within {START_TIMEOUT:?}"))??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let server = Self { child, pid, base_url: address, backend };
        server.wait_until_ready(http).await?;
        tracing::info!(pid, url = %server.base_url, "benchmark server ready");
        Ok(server)
    }

    async fn wait_until_ready(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("{}/health/ready", self.base_url);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("{url} did not answer 200 within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn backend(&self) -> &str {
        &self.backend
    }

    pub(crate) fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base_url)
    }

    pub(crate) async fn stop(mut self) {
        if let Err(error) = self.child.kill().await {
            tracing::warn!(%error, pid = self.pid, "the benchmark server could not be stopped");
        }
    }
}
