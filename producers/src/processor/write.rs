//! Writing a decided batch to the log, in the one order that keeps a reply truthful.
//!
//! A reply tells a client its command took effect at certain positions, so it must never be
//! visible before those events are durable. On a log whose `append` is atomic (the embedded
//! log) one append carries everything: events, dead letters, snapshots, replies and the command
//! offset. On a log without atomic appends (Kafka without transactions) a crash could leave any
//! subset of one append written, so the batch is written in two steps:
//!
//! 1. events, dead letters and snapshots — awaited until durable, their positions checked
//!    against the prediction the replies were built from;
//! 2. the replies, and with them the command offset (committed only after they are durable).
//!
//! A crash between the two leaves events without replies and the commands uncommitted: the
//! next owner of the partition rebuilds from the events (their headers carry the command ids),
//! re-reads the commands and answers them as duplicates, and so is a client's retry with the
//! same `commandId`.
//!
//! Replies to gateways of this process are handed over in memory as soon as the events are
//! durable (after the one append, or after the first step), never before; a batch whose events
//! were not written hands nothing over.

use nagare_infra::{EventLog, Position};
use nagare_schemas::replies::CommandReply;
use nagare_schemas::reply_handoff::Recipient;

use super::batch::PlannedBatch;

/// How a batch's write ended.
#[derive(Debug)]
pub(crate) enum WriteOutcome {
    Written,
    /// The events landed elsewhere than predicted: another writer appended to the partition.
    /// In the two-step order no reply was written.
    Misplaced {
        expected: Vec<Position>,
        actual: Vec<Position>,
    },
    Failed(nagare_infra::Error),
}

/// Writes the batch: one atomic append when `atomic` (the log's `atomic_append`), else events
/// first and replies with the commit second.
pub(crate) async fn write_batch(
    log: &dyn EventLog,
    atomic: bool,
    plan: PlannedBatch,
) -> WriteOutcome {
    let PlannedBatch { mut records, replies, handed_over, expected, commit, .. } = plan;
    if atomic {
        records.extend(replies);
        let outcome = append_checked(log, records, commit, &expected).await;
        if matches!(outcome, WriteOutcome::Written) {
            hand_over(handed_over);
        }
        return outcome;
    }
    match append_checked(log, records, None, &expected).await {
        WriteOutcome::Written => {
            hand_over(handed_over);
            append_checked(log, replies, commit, &[]).await
        }
        not_written => not_written,
    }
}

fn hand_over(replies: Vec<(Recipient, CommandReply)>) {
    for (recipient, reply) in replies {
        recipient.deliver(reply);
    }
}

/// Appends the records (or only commits when there are none) and checks that the leading ones
/// landed at `expected`.
async fn append_checked(
    log: &dyn EventLog,
    records: Vec<nagare_infra::OutgoingRecord>,
    commit: Option<nagare_infra::GroupCommit>,
    expected: &[Position],
) -> WriteOutcome {
    let written = if records.is_empty() {
        match commit {
            Some(commit) => log.commit(commit).await.map(|()| Vec::new()),
            None => Ok(Vec::new()),
        }
    } else {
        log.append(records, commit).await
    };
    match written {
        Ok(positions) if positions.get(..expected.len()) == Some(expected) => WriteOutcome::Written,
        Ok(mut positions) => {
            positions.truncate(expected.len());
            WriteOutcome::Misplaced { expected: expected.to_vec(), actual: positions }
        }
        Err(error) => WriteOutcome::Failed(error),
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
