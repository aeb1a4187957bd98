//! Nagare's records: the shop domain's value objects, its commands and events, the replies
//! of the command processor, record headers and topic names — and the Avro schemas and
//! single-object codec that put them on the wire, readable by any Avro library from the
//! `.avsc` files in `avro/` alone (see `avro/README.md`).
//!
//! - [`values`]: `Money`, `EntityId`, `ProductName`, … — validated when built, with errors that
//!   name the field and the limit.
//! - [`commands`], [`events`], [`replies`]: one plain struct per Avro record, with wire-level
//!   field types (ids as UUID strings, yen as `i64`, counts as `i32`).
//! - [`codec`]: `encode_*` writes the newest schema version; `decode_*` reads every known version
//!   into today's types by Avro schema resolution; `decode_to_json` shows any record as JSON.
//! - [`metadata`], [`topics`]: header names and topic names shared by every role.
//! - [`reply_handoff`]: replies passed in memory to a gateway of the same process instead of
//!   through the replies topic.

pub mod codec;
pub mod commands;
pub mod events;
pub mod metadata;
pub mod replies;
pub mod reply_handoff;
pub mod topics;
pub mod values;

pub use values::ValidationError;
