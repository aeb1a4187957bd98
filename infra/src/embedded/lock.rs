//! The data-directory lock: a second process opening the same directory fails at once with
//! [`Error::Locked`] naming the directory, instead of the engine's less telling message.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::{Error, Result};

/// Holds an exclusive lock on `DIR/LOCK` for as long as it lives.
#[derive(Debug)]
pub(crate) struct DirLock {
    /// The OS releases the lock when this file is closed, also when the process is killed.
    _file: File,
}

impl DirLock {
    /// Creates `dir` if needed and locks it, or reports that another owner holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let lock_path = dir.join("LOCK");
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&lock_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked {
                path: dir.display().to_string(),
                lock: lock_path.display().to_string(),
            }),
            Err(TryLockError::Error(error)) => Err(Error::Io(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_dir_is_refused_until_the_first_is_dropped() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let first = DirLock::acquire(dir.path())?;
        assert!(matches!(DirLock::acquire(dir.path()), Err(Error::Locked { .. })));
        drop(first);
        DirLock::acquire(dir.path())?;
        Ok(())
    }
}
