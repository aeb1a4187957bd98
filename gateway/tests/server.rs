//! `serve`: the routes answer over HTTP and a shutdown lets it return.

mod support;

use std::time::Duration;

use nagare_consumers::ReadModels;
use nagare_gateway::{GatewayConfig, GatewayDeps, serve};
use support::Backends;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// One HTTP/1.1 exchange; returns the status code and the body.
async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_and_shutdown_returns() {
    let backends = Backends::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let deps = GatewayDeps {
        log: backends.log.clone(),
        store: backends.store.clone(),
        read_models: ReadModels::new(backends.store.clone()),
        progress: backends.progress.clone(),
        topics: backends.topics.clone(),
        role_checks: Vec::new(),
        // Replies through the topic, as for a gateway whose processor runs elsewhere.
        reply_handoff: Default::default(),
    };
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, deps, GatewayConfig::default(), shutdown.clone()));

    let (status, body) = http(address, "GET", "/health/live", "").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"live""#), "{body}");

    // The reply listener needs a moment to open its partition.
    let mut ready = (0, String::new());
    for _ in 0..50 {
        ready = http(address, "GET", "/health/ready", "").await;
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready.0, 200, "{}", ready.1);
    for dependency in ["\"log\"", "\"store\"", "\"replyListener\""] {
        assert!(ready.1.contains(dependency), "{}", ready.1);
    }

    let (status, body) = http(address, "GET", "/graphql", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "GraphiQL page expected");

    let (status, body) = http(
        address,
        "POST",
        "/graphql",
        r#"{"query":"mutation { createCategory(input: { name: \"Tea\" }) { version } }"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""version":1"#), "{body}");

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "serve must return after shutdown: {stopped:?}");
}
