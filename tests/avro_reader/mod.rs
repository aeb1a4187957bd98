//! A plain Kafka client's view of Nagare's topics: rdkafka without any Nagare code, the `.avsc`
//! files of `schemas/avro/`, and the Avro and Kafka specifications. Nothing here comes from
//! `nagare_schemas` or `nagare_infra`, so whatever this reads, any client can read.

pub(crate) mod canonical_form;
pub(crate) mod fingerprint;
pub(crate) mod murmur2;
pub(crate) mod schema_files;
pub(crate) mod topic_records;
