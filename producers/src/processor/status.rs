//! What the command processor of this process is doing, for readiness probes: a process that
//! answers before its processor has joined its group and rebuilt its partitions would take
//! commands that wait (and may time out) until then.

use std::sync::Arc;

use parking_lot::Mutex;

/// Where the processor is in its start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcessorPhase {
    #[default]
    LoadingCatalog,
    JoiningGroup,
    RebuildingPartitions,
    /// It owns its partitions (possibly none, when there are more processors than partitions)
    /// and decides their commands. Later rebalances do not leave this phase.
    Deciding,
}

/// A snapshot of the processor's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessorState {
    pub phase: ProcessorPhase,
    /// The command partitions it owns and has rebuilt, in order.
    pub owned: Vec<u32>,
}

impl ProcessorState {
    /// Ready to decide commands: its first assignment is rebuilt.
    pub fn is_ready(&self) -> bool {
        self.phase == ProcessorPhase::Deciding
    }

    /// A line for people: what it is doing and what it owns.
    pub fn describe(&self) -> String {
        match self.phase {
            ProcessorPhase::LoadingCatalog => "loading the catalog from the events topics".into(),
            ProcessorPhase::JoiningGroup => "joining the command processors' group".into(),
            ProcessorPhase::RebuildingPartitions => "rebuilding its command partitions".into(),
            ProcessorPhase::Deciding if self.owned.is_empty() => {
                "in its group, owning no command partition at the moment".into()
            }
            ProcessorPhase::Deciding => format!("deciding commands of partitions {:?}", self.owned),
        }
    }
}

/// Shared between the processor, which updates it, and whoever reports it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ProcessorStatus {
    state: Arc<Mutex<ProcessorState>>,
}

impl ProcessorStatus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self) -> ProcessorState {
        self.state.lock().clone()
    }

    pub(crate) fn set_phase(&self, phase: ProcessorPhase) {
        let mut state = self.state.lock();
        // Once deciding, a rebalance's rebuild does not make the process look unready.
        if state.phase != ProcessorPhase::Deciding {
            state.phase = phase;
        }
    }

    pub(crate) fn set_owned(&self, mut owned: Vec<u32>) {
        owned.sort_unstable();
        owned.dedup();
        self.state.lock().owned = owned;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_deciding_and_stays_ready_through_rebalances() {
        let status = ProcessorStatus::new();
        assert!(!status.state().is_ready());
        status.set_phase(ProcessorPhase::JoiningGroup);
        status.set_phase(ProcessorPhase::RebuildingPartitions);
        assert!(!status.state().is_ready());
        status.set_owned(vec![3, 1, 3]);
        status.set_phase(ProcessorPhase::Deciding);
        assert!(status.state().is_ready());
        assert_eq!(status.state().owned, vec![1, 3]);
        assert!(status.state().describe().contains("[1, 3]"));
        status.set_phase(ProcessorPhase::RebuildingPartitions);
        assert!(status.state().is_ready());
    }

    #[test]
    fn owning_nothing_is_said_plainly() {
        let state = ProcessorState { phase: ProcessorPhase::Deciding, owned: Vec::new() };
        assert!(state.is_ready());
        assert!(state.describe().contains("no command partition"));
    }
}
