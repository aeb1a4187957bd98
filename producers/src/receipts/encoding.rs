//! How receipts are written into snapshots: compactly, because a hot aggregate carries a
//! thousand of them in every snapshot, and each one's events topic is the same name.
//!
//! Written (snapshot format 2):
//! `{"topics": [name, …], "commands": [[command id, version, [[topic index, partition, offset], …]], …]}`
//! Also read (format 1): `[[command id, {"version": v, "positions": [{"topic", "partition", "offset"}, …]}], …]`.
//! Serializing borrows the receipts; nothing is cloned or built on the way.

use serde::de::Error as _;
use serde::ser::{SerializeSeq, SerializeStruct, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Receipt, Receipts};
use nagare_schemas::replies::LogPosition;

impl Serialize for Receipts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Usually one name; a linear search beats a map at that size.
        let mut topics: Vec<&str> = Vec::new();
        for (_, receipt) in self.iter() {
            for position in &receipt.positions {
                if !topics.contains(&position.topic.as_str()) {
                    topics.push(&position.topic);
                }
            }
        }
        let mut out = serializer.serialize_struct("Receipts", 2)?;
        out.serialize_field("topics", &topics)?;
        out.serialize_field("commands", &Commands { receipts: self, topics: &topics })?;
        out.end()
    }
}

struct Commands<'a> {
    receipts: &'a Receipts,
    topics: &'a [&'a str],
}

impl Serialize for Commands<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.receipts.len()))?;
        for (command_id, receipt) in self.receipts.iter() {
            seq.serialize_element(&Command { command_id, receipt, topics: self.topics })?;
        }
        seq.end()
    }
}

struct Command<'a> {
    command_id: &'a str,
    receipt: &'a Receipt,
    topics: &'a [&'a str],
}

impl Serialize for Command<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(3)?;
        tuple.serialize_element(self.command_id)?;
        tuple.serialize_element(&self.receipt.version)?;
        tuple.serialize_element(&Positions {
            positions: &self.receipt.positions,
            topics: self.topics,
        })?;
        tuple.end()
    }
}

struct Positions<'a> {
    positions: &'a [LogPosition],
    topics: &'a [&'a str],
}

impl Serialize for Positions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.positions.len()))?;
        for position in self.positions {
            // Every name was collected above, so the search always finds it.
            let topic = self.topics.iter().position(|t| *t == position.topic).unwrap_or(0);
            seq.serialize_element(&(topic, position.partition, position.offset))?;
        }
        seq.end()
    }
}

/// `[topic index, partition, offset]`.
type StoredPosition = (usize, i32, i64);
/// `[command id, version, positions]`.
type StoredCommand = (String, u64, Vec<StoredPosition>);

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Compact { topics: Vec<String>, commands: Vec<StoredCommand> },
    Listed(Vec<(String, Receipt)>),
}

impl<'de> Deserialize<'de> for Receipts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut receipts = Receipts::default();
        match Stored::deserialize(deserializer)? {
            Stored::Compact { topics, commands } => {
                for (command_id, version, positions) in commands {
                    for (topic, partition, offset) in positions {
                        let topic = topics.get(topic).ok_or_else(|| {
                            D::Error::custom(format!(
                                "receipt of command {command_id} names topic #{topic} of {}",
                                topics.len()
                            ))
                        })?;
                        let position = LogPosition { topic: topic.clone(), partition, offset };
                        receipts.record(&command_id, version, position);
                    }
                }
            }
            Stored::Listed(entries) => {
                for (command_id, receipt) in entries {
                    for position in receipt.positions {
                        receipts.record(&command_id, receipt.version, position);
                    }
                }
            }
        }
        Ok(receipts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(topic: &str, offset: i64) -> LogPosition {
        LogPosition { topic: topic.into(), partition: 2, offset }
    }

    #[test]
    fn names_each_topic_once_and_round_trips() {
        let mut receipts = Receipts::default();
        receipts.record("c1", 1, at("products", 7));
        receipts.record("c1", 2, at("categories", 8));
        receipts.record("c2", 3, at("products", 9));
        let json = serde_json::to_string(&receipts).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"topics":["products","categories"],"commands":[["c1",2,[[0,2,7],[1,2,8]]],["c2",3,[[0,2,9]]]]}"#
        );
        let back: Result<Receipts, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(receipts));
    }

    #[test]
    fn reads_the_listed_form_of_format_1() {
        let json = r#"[["c1",{"version":2,"positions":[{"topic":"p","partition":2,"offset":7}]}]]"#;
        let back: Result<Receipts, _> = serde_json::from_str(json);
        let mut expected = Receipts::default();
        expected.record("c1", 2, at("p", 7));
        assert_eq!(back.ok(), Some(expected));
    }

    #[test]
    fn a_topic_index_out_of_range_is_an_error_not_a_panic() {
        let json = r#"{"topics":["p"],"commands":[["c1",2,[[5,2,7]]]]}"#;
        let back: Result<Receipts, _> = serde_json::from_str(json);
        let error = back.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("names topic #5 of 1"), "{error}");
    }
}
