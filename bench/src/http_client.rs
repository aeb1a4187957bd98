//! The load's HTTP client: one keep-alive HTTP/1.1 connection per simulated client, driven by
//! that client's own task, posting a GraphQL body and checking the answer (status 200, `data`,
//! no `errors`). The load generator shares the two cores with the server, so what it spends per
//! request the server does not get: a general-purpose client (reqwest: a pool shared by every
//! task, a connection task per connection, a timer and a header map per request, JSON values
//! both ways) cost the `commands` scenario about 35 µs of CPU per command, a third of what the
//! server spends on it.

use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::net::TcpStream;

type Body = Full<Bytes>;

/// One client's connection to a GraphQL endpoint, opened on first use and again after it
/// fails or the server closes it.
pub(crate) struct GraphqlConnection {
    /// `host:port`, to connect to and to name in the `Host` header.
    authority: String,
    host: HeaderValue,
    path: Uri,
    timeout: Duration,
    open: Option<Open>,
}

struct Open {
    sender: SendRequest<Body>,
    /// Polled by the request's own task alongside the exchange, so no other task (and no
    /// cross-task wake-up) is involved in a request.
    connection: Pin<Box<Connection<TokioIo<TcpStream>, Body>>>,
}

impl GraphqlConnection {
    /// For `url`, an `http://host:port/path` URL. Nothing is connected yet.
    pub(crate) fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("`{url}` is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            anyhow::bail!("`{url}`: only http:// URLs are supported");
        }
        let authority =
            uri.authority().with_context(|| format!("`{url}` has no host"))?.as_str().to_owned();
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
        let host = HeaderValue::from_str(&authority)?;
        Ok(Self { authority, host, path, timeout, open: None })
    }

    /// Posts `body` (a GraphQL request as JSON). Fails on a transport error, a timeout, a
    /// status other than 200, an answer that is not GraphQL JSON, or GraphQL errors.
    pub(crate) async fn post(&mut self, body: Bytes) -> anyhow::Result<()> {
        let answer = tokio::time::timeout(self.timeout, self.exchange(body)).await;
        let (status, answer) = match answer {
            Ok(Ok(exchanged)) => exchanged,
            Ok(Err(error)) => {
                self.open = None;
                return Err(error);
            }
            Err(_) => {
                self.open = None;
                anyhow::bail!("no answer within {:?}", self.timeout);
            }
        };
        let parsed: Answer = serde_json::from_slice(&answer).map_err(|error| {
            anyhow::anyhow!("answered {status} with {error}: {}", String::from_utf8_lossy(&answer))
        })?;
        if status != hyper::StatusCode::OK || parsed.errors.is_some() || parsed.data.is_none() {
            anyhow::bail!(
                "GraphQL request answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(())
    }

    async fn exchange(&mut self, body: Bytes) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        if self.open.as_ref().is_none_or(|open| open.sender.is_closed()) {
            self.open = Some(self.connect().await?);
        }
        let Some(open) = self.open.as_mut() else { anyhow::bail!("not connected") };
        let request = Request::post(self.path.clone())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(body))?;
        let Open { sender, connection } = open;
        driving(connection, sender.ready()).await?;
        let response = driving(connection, sender.send_request(request)).await?;
        let status = response.status();
        let answer = driving(connection, response.into_body().collect()).await?.to_bytes();
        Ok((status, answer))
    }

    async fn connect(&self) -> anyhow::Result<Open> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        Ok(Open { sender, connection: Box::pin(connection) })
    }
}

/// Runs `work` while driving the connection it needs; fails if the connection ends first.
async fn driving<T, E>(
    connection: &mut Pin<Box<Connection<TokioIo<TcpStream>, Body>>>,
    work: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::select! {
        biased;
        done = work => Ok(done?),
        ended = connection.as_mut() => match ended {
            Ok(()) => anyhow::bail!("the server closed the connection"),
            Err(error) => Err(error.into()),
        },
    }
}

/// What the checks need of a GraphQL answer.
#[derive(Deserialize)]
struct Answer {
    data: Option<IgnoredAny>,
    errors: Option<IgnoredAny>,
}

/// A GraphQL request body: the query and its variables as JSON.
pub(crate) fn graphql_body(query: &str, variables: &serde_json::Value) -> Bytes {
    Bytes::from(serde_json::json!({ "query": query, "variables": variables }).to_string())
}

#[cfg(test)]
#[path = "http_client_tests.rs"]
mod tests;
