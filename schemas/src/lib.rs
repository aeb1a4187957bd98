//! Nagare's records: the shop domain's value objects, its commands and events, the replies
//! of the command processor, record headers and topic names — and the Avro schemas and
//! single-object codec that put them on the wire, readable by any Avro library from the
//! `.avsc` files in `avro/` alone.

pub mod codec;
pub mod commands;
pub mod events;
pub mod metadata;
pub mod replies;
pub mod topics;
pub mod values;

pub use values::ValidationError;
