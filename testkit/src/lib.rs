//! Test support shared by Nagare's crates (not part of the product): a Kafka-protocol broker
//! for the tests that run Nagare on `kafka://`.

mod broker;

pub use broker::{Broker, NISSHI_VERSION};
