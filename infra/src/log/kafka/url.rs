//! Parsing `kafka://HOST:PORT[,HOST:PORT…][?key=value&…]`.
//!
//! The host list becomes librdkafka's `bootstrap.servers`. Each `key=value` after `?` is passed
//! to every client Nagare creates as a librdkafka property (for example
//! `security.protocol=SASL_SSL`, `sasl.mechanisms=PLAIN`, `client.id=shop-1`, `linger.ms=10`),
//! taken literally (no percent-decoding), and overrides Nagare's own default for that property.
//! Properties Nagare's guarantees rest on cannot be overridden: see [`RESERVED`].

use crate::{Error, Result};

/// Properties Nagare sets itself because correctness depends on them: where the cluster is,
/// idempotent and fully acknowledged writes, Kafka's murmur2 placement, offsets stored only
/// after an effect is durable, and group membership.
pub(super) const RESERVED: [&str; 9] = [
    "bootstrap.servers",
    "metadata.broker.list",
    "enable.idempotence",
    "acks",
    "partitioner",
    "transactional.id",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

/// A parsed `kafka://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KafkaUrl {
    /// The URL as given, for error messages and logs.
    pub(super) url: String,
    /// `HOST:PORT,HOST:PORT`, librdkafka's `bootstrap.servers`.
    pub(super) bootstrap_servers: String,
    /// Client properties from the query string, in the order given.
    pub(super) properties: Vec<(String, String)>,
}

impl KafkaUrl {
    pub(super) fn parse(url: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadUrl { url: url.to_owned(), reason };
        let rest = url.strip_prefix("kafka://").ok_or_else(|| {
            bad("expected kafka://HOST:PORT[,HOST:PORT...][?property=value&...]".into())
        })?;
        let (hosts, query) = match rest.split_once('?') {
            Some((hosts, query)) => (hosts, Some(query)),
            None => (rest, None),
        };
        let hosts = hosts.strip_suffix('/').unwrap_or(hosts);
        if hosts.is_empty() {
            return Err(bad(
                "kafka:// needs at least one HOST:PORT, e.g. kafka://localhost:9092".into()
            ));
        }
        let mut servers = Vec::new();
        for server in hosts.split(',') {
            check_server(server).map_err(bad)?;
            servers.push(server);
        }
        let mut properties = Vec::new();
        for pair in query.into_iter().flat_map(|query| query.split('&')).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                bad(format!("the query part `{pair}` is not of the form property=value"))
            })?;
            check_property(key, value).map_err(bad)?;
            properties.push((key.to_owned(), value.to_owned()));
        }
        Ok(Self { url: url.to_owned(), bootstrap_servers: servers.join(","), properties })
    }

    /// A property given in the URL, if any.
    pub(super) fn property(&self, key: &str) -> Option<&str> {
        self.properties.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// `HOST:PORT` or `[IPV6]:PORT`, with a port from 1 to 65535.
fn check_server(server: &str) -> std::result::Result<(), String> {
    let (host, port) = if let Some(bracketed) = server.strip_prefix('[') {
        let (host, port) = bracketed
            .split_once("]:")
            .ok_or_else(|| format!("`{server}` is not of the form [IPV6]:PORT"))?;
        (host, port)
    } else {
        server.rsplit_once(':').ok_or_else(|| format!("`{server}` has no port (HOST:PORT)"))?
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(format!("`{server}` has no valid host name (HOST:PORT)"));
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(format!("the port of `{server}` must be a number from 1 to 65535")),
    }
}

fn check_property(key: &str, value: &str) -> std::result::Result<(), String> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if key.is_empty() || !key.chars().all(legal) {
        return Err(format!("`{key}` is not a librdkafka property name"));
    }
    if RESERVED.contains(&key) {
        return Err(format!(
            "the property `{key}` is set by Nagare and cannot be overridden in the URL"
        ));
    }
    if value.is_empty() {
        return Err(format!("the property `{key}` has an empty value"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_bootstrap_servers() -> Result<()> {
        let parsed = KafkaUrl::parse("kafka://a:9092,b.example:19092,[::1]:9093")?;
        assert_eq!(parsed.bootstrap_servers, "a:9092,b.example:19092,[::1]:9093");
        assert!(parsed.properties.is_empty());
        assert_eq!(KafkaUrl::parse("kafka://a:9092/")?.bootstrap_servers, "a:9092");
        Ok(())
    }

    #[test]
    fn query_pairs_become_properties() -> Result<()> {
        let parsed =
            KafkaUrl::parse("kafka://a:9092?security.protocol=SSL&linger.ms=10&&client.id=x")?;
        assert_eq!(
            parsed.properties,
            vec![
                ("security.protocol".to_owned(), "SSL".to_owned()),
                ("linger.ms".to_owned(), "10".to_owned()),
                ("client.id".to_owned(), "x".to_owned()),
            ]
        );
        assert_eq!(parsed.property("linger.ms"), Some("10"));
        assert_eq!(parsed.property("acks"), None);
        Ok(())
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        let cases = [
            ("kafka://", "at least one HOST:PORT"),
            ("kafka://localhost", "has no port"),
            ("kafka://localhost:0", "from 1 to 65535"),
            ("kafka://localhost:99999", "from 1 to 65535"),
            ("kafka://:9092", "no valid host"),
            ("kafka://a:9092,", "no port"),
            ("kafka://[::1:9092", "[IPV6]:PORT"),
            ("kafka://a:9092?linger.ms", "property=value"),
            ("kafka://a:9092?acks=1", "set by Nagare"),
            ("kafka://a:9092?enable.idempotence=false", "set by Nagare"),
            ("kafka://a:9092?bad key=1", "not a librdkafka property"),
            ("kafka://a:9092?linger.ms=", "empty value"),
            ("embedded://x", "expected kafka://"),
        ];
        for (url, expected) in cases {
            match KafkaUrl::parse(url) {
                Err(error @ Error::BadUrl { .. }) => {
                    let message = error.to_string();
                    assert!(message.contains(expected), "{url}: {message}");
                    assert!(message.contains(url), "{url}: {message}");
                }
                other => panic!("{url} gave {other:?}"),
            }
        }
    }
}
