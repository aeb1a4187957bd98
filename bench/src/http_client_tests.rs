use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// Serves each connection's requests with the next canned answers in turn; an answer of
/// `None` closes the connection instead of answering.
async fn server(answers: Vec<Option<(u16, &'static str)>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut answers = answers.into_iter();
        'connections: while let Ok((mut stream, _)) = listener.accept().await {
            loop {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                // The client's requests are small: the head and the body arrive together.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => continue 'connections,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let Some(answer) = answers.next() else { return };
                let Some((status, body)) = answer else { continue 'connections };
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).await.is_err() {
                    continue 'connections;
                }
            }
        }
    });
    format!("http://{address}/graphql")
}

fn connection(url: &str) -> GraphqlConnection {
    GraphqlConnection::new(url, Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn an_answer_counts_only_with_status_200_data_and_no_errors() {
    let url = server(vec![
        Some((200, r#"{"data":{"addStock":{"version":2}}}"#)),
        Some((200, r#"{"data":null,"errors":[{"message":"VALIDATION_FAILED"}]}"#)),
        Some((500, r#"{"data":{"addStock":{"version":3}}}"#)),
        Some((200, "not json")),
        Some((200, r#"{"data":null}"#)),
        Some((200, r#"{"data":{"addStock":{"version":4}}}"#)),
    ])
    .await;
    let mut client = connection(&url);
    let body = graphql_body("mutation { addStock }", &serde_json::json!({}));
    assert!(client.post(body.clone()).await.is_ok());
    for _ in 0..4 {
        assert!(client.post(body.clone()).await.is_err());
    }
    assert!(client.post(body).await.is_ok(), "the connection stays usable after refusals");
}

#[tokio::test]
async fn a_closed_connection_fails_that_request_and_the_next_one_reconnects() {
    let url =
        server(vec![Some((200, r#"{"data":{}}"#)), None, Some((200, r#"{"data":{}}"#))]).await;
    let mut client = connection(&url);
    let body = graphql_body("{ a }", &serde_json::json!({}));
    assert!(client.post(body.clone()).await.is_ok());
    assert!(client.post(body.clone()).await.is_err());
    assert!(client.post(body).await.is_ok());
}

#[test]
fn only_http_urls_with_a_host_are_taken() {
    assert!(GraphqlConnection::new("https://example.com/graphql", Duration::ZERO).is_err());
    assert!(GraphqlConnection::new("/graphql", Duration::ZERO).is_err());
    assert!(GraphqlConnection::new("http://127.0.0.1:4000/graphql", Duration::ZERO).is_ok());
}
