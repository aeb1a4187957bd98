//! When the embedded log's and store's writers fsync the engine's journal. A commit that need
//! not be durable before its caller is answered is handed to the operating system (it survives
//! the process being killed) and left for a later fsync; every fsync covers the whole journal,
//! earlier commits included, so none is left unsynced for longer than [`FSYNC_INTERVAL`]
//! while commits come, and the writer fsyncs what is left when it stops ([`Fsyncs::finish`]).

use std::time::{Duration, Instant};

use super::storage_error;

/// The longest a commit waits for an fsync while commits come.
pub(crate) const FSYNC_INTERVAL: Duration = Duration::from_secs(1);

/// When the journal was last fsynced, and whether a commit was left unsynced since.
#[derive(Debug)]
pub(crate) struct Fsyncs {
    last: Instant,
    pending: bool,
}

impl Fsyncs {
    pub(crate) fn new() -> Self {
        Self { last: Instant::now(), pending: false }
    }

    /// How the next commit is persisted: fsynced if its caller needs it durable (`now`) or the
    /// last fsync is [`FSYNC_INTERVAL`] old, else handed to the operating system.
    pub(crate) fn mode_for_commit(&self, now: bool) -> fjall::PersistMode {
        if now || self.last.elapsed() >= FSYNC_INTERVAL {
            fjall::PersistMode::SyncAll
        } else {
            fjall::PersistMode::Buffer
        }
    }

    /// Records a commit that succeeded with `mode`. A failed one changes nothing: what was
    /// left unsynced before it still is.
    pub(crate) fn committed(&mut self, mode: fjall::PersistMode) {
        match mode {
            fjall::PersistMode::Buffer => self.pending = true,
            fjall::PersistMode::SyncAll | fjall::PersistMode::SyncData => self.fsynced(),
        }
    }

    /// Records an fsync made another way (a commit that is always durable).
    pub(crate) fn fsynced(&mut self) {
        self.last = Instant::now();
        self.pending = false;
    }

    /// Fsyncs what is left unsynced, when the writer stops.
    pub(crate) fn finish(self, db: &fjall::Database, what: &str) {
        if self.pending
            && let Err(error) = db.persist(fjall::PersistMode::SyncAll)
        {
            tracing::error!(error = %storage_error(error), "{what}: the final fsync failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fsynced_long_ago() -> Fsyncs {
        let last = Instant::now().checked_sub(FSYNC_INTERVAL * 2).expect("a clock past boot");
        Fsyncs { last, pending: true }
    }

    #[test]
    fn a_commit_is_buffered_until_the_interval_has_passed() {
        let mut fsyncs = fsynced_long_ago();
        let mode = fsyncs.mode_for_commit(false);
        assert!(matches!(mode, fjall::PersistMode::SyncAll));
        fsyncs.committed(mode);
        assert!(!fsyncs.pending, "nothing is left unsynced after an fsynced commit");
        let mode = fsyncs.mode_for_commit(false);
        assert!(matches!(mode, fjall::PersistMode::Buffer));
        fsyncs.committed(mode);
        assert!(fsyncs.pending, "a buffered commit leaves the close an fsync to do");
    }

    #[test]
    fn a_commit_that_must_be_durable_is_always_fsynced() {
        let fsyncs = Fsyncs::new();
        assert!(matches!(fsyncs.mode_for_commit(false), fjall::PersistMode::Buffer));
        assert!(matches!(fsyncs.mode_for_commit(true), fjall::PersistMode::SyncAll));
    }

    #[test]
    fn a_failed_fsync_leaves_earlier_commits_unsynced() {
        let fsyncs = fsynced_long_ago();
        // The fsynced commit that would have covered them fails: `committed` is not called.
        assert!(matches!(fsyncs.mode_for_commit(false), fjall::PersistMode::SyncAll));
        assert!(fsyncs.pending, "the close still fsyncs");
    }
}
