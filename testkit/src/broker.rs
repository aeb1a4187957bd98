//! A Kafka-protocol broker (Nisshi, in memory) started once per test process on a free loopback
//! port, and stopped when that process exits, however it exits.
//!
//! `scripts/test` installs the pinned Nisshi into cargo's bin directory. The binary is taken
//! from `NAGARE_NISSHI` if set, else from `PATH`, else from `$CARGO_HOME/bin` (or
//! `~/.cargo/bin`). A missing broker fails the test with a message saying how to install it: a
//! Kafka test is never skipped silently.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Nisshi release the tests are written against (see KAFKA notes in the README).
pub const NISSHI_VERSION: &str = "0.8.1";
/// How long a starting broker may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running broker. There is one per test process; see [`Broker::shared`].
#[derive(Debug)]
pub struct Broker {
    address: SocketAddr,
    log_file: PathBuf,
}

impl Broker {
    /// This process's broker, started on first use. Panics (failing the test) with an
    /// explanation when the broker cannot be found or does not start.
    pub fn shared() -> &'static Broker {
        static BROKER: OnceLock<Broker> = OnceLock::new();
        BROKER.get_or_init(|| Broker::start().unwrap_or_else(|reason| panic!("{reason}")))
    }

    /// `kafka://127.0.0.1:PORT`, the URL Nagare takes.
    /// `kafka://127.0.0.1:PORT?fetch.wait.max.ms=10`, the URL Nagare takes. The short fetch
    /// wait works around the broker holding fetches for their whole wait (see
    /// `infra/src/log/kafka/broker_quirks.rs`).
    pub fn url(&self) -> String {
        format!("kafka://{}?fetch.wait.max.ms=10", self.address)
    }

    /// `127.0.0.1:PORT`, the bootstrap servers a plain Kafka client takes.
    pub fn bootstrap_servers(&self) -> String {
        self.address.to_string()
    }

    /// Where the broker's own output goes, for reading after a failure. It is removed when the
    /// test process ends, unless the broker stopped before it.
    pub fn log_file(&self) -> &PathBuf {
        &self.log_file
    }

    fn start() -> Result<Broker, String> {
        let binary = nisshi_binary()?;
        let address = free_loopback_address()?;
        let log_file = std::env::temp_dir().join(format!(
            "nagare-test-broker-{}-{}.log",
            std::process::id(),
            address.port()
        ));
        let listener = format!("tcp://{address}");
        // As Kafka test clusters are usually run: the first rebalance of a new group does not
        // wait for more members (Kafka's `group.initial.rebalance.delay.ms=0`; the default
        // 3 s would be spent in every test that joins a group), and a held join sees the
        // group change promptly.
        let broker = format!(
            "{} broker --listener-url {listener} --advertised-listener-url {listener} \
             --storage-engine memory://nagare/ --group-initial-rebalance-delay 0s \
             --group-poll-interval 50ms",
            shell_quote(&binary.display().to_string())
        );
        // The watchdog shell outlives nothing: it stops the broker as soon as this process is
        // gone, also after a panic or a kill -9 of the test binary, and then removes its log;
        // a log of a broker that stopped by itself is kept.
        let watchdog = format!(
            "{broker} >{log} 2>&1 & broker=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $broker 2>/dev/null; do sleep 0.5; done; \
             if kill $broker 2>/dev/null; then wait $broker 2>/dev/null; rm -f {log}; fi",
            log = shell_quote(&log_file.display().to_string()),
            parent = std::process::id(),
        );
        Command::new("sh")
            .arg("-c")
            .arg(watchdog)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start the test broker through sh: {error}"))?;
        wait_until_listening(address, &log_file)?;
        Ok(Broker { address, log_file })
    }
}

fn nisshi_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NAGARE_NISSHI") {
        return Ok(PathBuf::from(path));
    }
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("nisshi")).collect())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let in_cargo_bin = cargo_home.map(|home| home.join("bin").join("nisshi"));
    on_path.into_iter().chain(in_cargo_bin).find(|candidate| candidate.is_file()).ok_or_else(|| {
        format!(
            "the Kafka tests need the Nisshi broker, which is not installed. Run `scripts/test` \
             (it installs it), or `cargo install nisshi --version {NISSHI_VERSION} --locked \
             --ignore-rust-version`, or set NAGARE_NISSHI to its path"
        )
    })
}

fn free_loopback_address() -> Result<SocketAddr, String> {
    let probe = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| format!("cannot find a free loopback port: {error}"))?;
    probe.local_addr().map_err(|error| format!("cannot read the probe port: {error}"))
}

fn wait_until_listening(address: SocketAddr, log_file: &PathBuf) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = std::fs::read_to_string(log_file).unwrap_or_default();
    Err(format!(
        "the test broker did not listen on {address} within {START_TIMEOUT:?}; its output:\n{output}"
    ))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
