//! The one place a backend is chosen: by the scheme of its URL.
//!
//! - `embedded://PATH` — the embedded log in `PATH/log`, the embedded store in `PATH/store`, so
//!   both may be given the same URL (the default is `embedded://./nagare-data`). `PATH` may be
//!   relative (to the working directory) or absolute (`embedded:///var/lib/nagare`).
//! - `kafka://HOST:PORT[,HOST:PORT…][?property=value&…]` — the Kafka log (cargo feature
//!   `kafka`); the optional properties are librdkafka client properties, see
//!   [`KafkaLog`](crate::log::kafka::KafkaLog).
//! - `scylla://HOST:PORT[,…]/KEYSPACE` (store) — not implemented yet.
//!
//! A scheme whose cargo feature is compiled out fails with [`Error::FeatureNotEnabled`], which
//! names the feature.

use std::path::PathBuf;
use std::sync::Arc;

use crate::log::EventLog;
use crate::store::ReadStore;
use crate::{Error, Result};

const ACCEPTED_LOG: &str = "embedded://PATH or kafka://HOST:PORT[,HOST:PORT...]";
const ACCEPTED_STORE: &str = "embedded://PATH or scylla://HOST:PORT[,HOST:PORT...]/KEYSPACE";

/// Opens the event log named by `url`.
pub async fn open_log(url: &str) -> Result<Arc<dyn EventLog>> {
    match url.split_once("://") {
        Some(("embedded", path)) => open_embedded_log(embedded_dir(url, path)?.join("log")).await,
        Some(("kafka", _)) => open_kafka_log(url).await,
        _ => Err(bad_url(url, ACCEPTED_LOG)),
    }
}

/// Opens the read-model store named by `url`.
pub async fn open_store(url: &str) -> Result<Arc<dyn ReadStore>> {
    match url.split_once("://") {
        Some(("embedded", path)) => {
            open_embedded_store(embedded_dir(url, path)?.join("store")).await
        }
        Some(("scylla", _)) => Err(not_compiled("scylla")),
        _ => Err(bad_url(url, ACCEPTED_STORE)),
    }
}

fn embedded_dir(url: &str, path: &str) -> Result<PathBuf> {
    if path.is_empty() {
        return Err(Error::BadUrl {
            url: url.to_owned(),
            reason: "embedded:// needs a directory, e.g. embedded://./nagare-data".into(),
        });
    }
    Ok(PathBuf::from(path))
}

fn bad_url(url: &str, accepted: &str) -> Error {
    Error::BadUrl { url: url.to_owned(), reason: format!("expected {accepted}") }
}

fn not_compiled(scheme: &str) -> Error {
    Error::FeatureNotEnabled { scheme: scheme.to_owned(), feature: scheme.to_owned() }
}

#[cfg(feature = "embedded")]
async fn open_embedded_log(dir: PathBuf) -> Result<Arc<dyn EventLog>> {
    use crate::log::embedded::EmbeddedLog;
    // Opening recovers the journal from disk: keep it off the async worker threads.
    let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(dir))
        .await
        .map_err(|error| Error::Storage(format!("opening the embedded log failed: {error}")))??;
    Ok(Arc::new(log))
}

#[cfg(not(feature = "embedded"))]
async fn open_embedded_log(_dir: PathBuf) -> Result<Arc<dyn EventLog>> {
    Err(not_compiled("embedded"))
}

#[cfg(feature = "kafka")]
async fn open_kafka_log(url: &str) -> Result<Arc<dyn EventLog>> {
    Ok(Arc::new(crate::log::kafka::KafkaLog::connect(url).await?))
}

#[cfg(not(feature = "kafka"))]
async fn open_kafka_log(_url: &str) -> Result<Arc<dyn EventLog>> {
    Err(not_compiled("kafka"))
}

#[cfg(feature = "embedded")]
async fn open_embedded_store(dir: PathBuf) -> Result<Arc<dyn ReadStore>> {
    use crate::store::embedded::EmbeddedStore;
    let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(dir))
        .await
        .map_err(|error| Error::Storage(format!("opening the embedded store failed: {error}")))??;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "embedded"))]
async fn open_embedded_store(_dir: PathBuf) -> Result<Arc<dyn ReadStore>> {
    Err(not_compiled("embedded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "kafka"))]
    #[tokio::test]
    async fn kafka_names_its_missing_feature() {
        let log = open_log("kafka://localhost:9092").await;
        assert!(matches!(log, Err(Error::FeatureNotEnabled { feature, .. }) if feature == "kafka"));
    }

    #[cfg(feature = "kafka")]
    #[tokio::test]
    async fn malformed_kafka_urls_are_refused_before_connecting() {
        for url in ["kafka://", "kafka://localhost", "kafka://localhost:9092?acks=0"] {
            let Err(error) = open_log(url).await else { panic!("{url} was accepted") };
            assert!(matches!(error, Error::BadUrl { .. }), "{url}: {error}");
            assert!(error.to_string().contains(url), "{error}");
        }
    }

    #[tokio::test]
    async fn scylla_names_its_missing_feature() {
        let store = open_store("scylla://localhost:9042/nagare").await;
        assert!(
            matches!(store, Err(Error::FeatureNotEnabled { feature, .. }) if feature == "scylla")
        );
    }

    #[tokio::test]
    async fn unknown_schemes_name_the_url_and_the_accepted_ones() {
        for url in ["postgres://db/nagare", "./nagare-data", "", "embedded://", "scylla://x"] {
            let Err(error) = open_log(url).await else { panic!("{url} was accepted as a log") };
            let message = error.to_string();
            assert!(message.contains(url), "{message}");
            assert!(message.contains("embedded://"), "{message}");
        }
        let Err(error) = open_store("kafka://localhost:9092").await else {
            panic!("kafka:// was accepted as a store")
        };
        assert!(matches!(error, Error::BadUrl { .. }), "{error}");
    }

    #[tokio::test]
    async fn log_and_store_share_one_embedded_url() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let url = format!("embedded://{}", dir.path().display());
        let _log = open_log(&url).await?;
        let _store = open_store(&url).await?;
        assert!(dir.path().join("log/LOCK").exists());
        assert!(dir.path().join("store/LOCK").exists());
        assert!(matches!(open_log(&url).await, Err(Error::Locked { .. })));
        Ok(())
    }
}
