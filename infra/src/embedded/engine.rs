//! Opening fjall the way both embedded backends use it, and translating its errors.

use std::path::Path;

use crate::{Error, Result};

/// Opens (or creates) the fjall database in `dir`.
pub(crate) fn open_database(dir: &Path) -> Result<fjall::Database> {
    fjall::Database::builder(dir).open().map_err(storage_error)
}

pub(crate) fn open_keyspace(db: &fjall::Database, name: &str) -> Result<fjall::Keyspace> {
    db.keyspace(name, fjall::KeyspaceCreateOptions::default).map_err(storage_error)
}

/// fjall's errors are diagnostic detail; callers can only report them.
pub(crate) fn storage_error(error: fjall::Error) -> Error {
    match error {
        fjall::Error::Io(io) => Error::Io(io),
        other => Error::Storage(other.to_string()),
    }
}
