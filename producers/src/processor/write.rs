//! Writing a decided batch to the log, in the one order that keeps a reply truthful.
//!
//! A reply tells a client its command took effect at certain positions, so it must never be
//! visible before those events are durable. On a log whose `append` is atomic (the embedded
//! log) one append carries everything: events, dead letters, snapshots, replies and the command
//! offset. On a log without atomic appends (Kafka without transactions) a crash could leave any
//! subset of one append written, so the batch is written in steps:
//!
//! 1. events, dead letters and snapshots — awaited until durable, their positions checked
//!    against the prediction the replies were built from;
//! 2. the acceptances, and with them the command offset (committed only after they are
//!    durable);
//! 3. the rejections, once the offset is committed.
//!
//! A crash between the first two leaves events without replies and the commands uncommitted:
//! the next owner of the partition rebuilds from the events (their headers carry the command
//! ids), re-reads the commands and answers the accepted ones as duplicates, and so is a
//! client's retry with the same `commandId`. A rejected command leaves no event to recognise
//! it by: read again, it is decided again, against a state that now holds the rest of its
//! batch, and may be accepted. So a rejection is answered only once its command can no longer
//! be read again; a crash before that leaves it unanswered (the gateway's wait ends without an
//! outcome, as with any lost answer), never contradicted.
//!
//! Replies to gateways of this process are handed over in memory instead of written, at the
//! same points: acceptances as soon as the events are durable (after the one append, or after
//! the first step), rejections with the commit; a batch whose events were not written hands
//! nothing over.

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
/// first, acceptances with the commit second and rejections third. `expected` are the
/// positions its events must land at (the plan's, taken out so the caller keeps them).
pub(crate) async fn write_batch(
    log: &dyn EventLog,
    atomic: bool,
    plan: PlannedBatch,
    expected: &[Position],
) -> WriteOutcome {
    let PlannedBatch { mut records, replies, rejections, handed_over, commit, .. } = plan;
    if atomic {
        records.extend(replies);
        records.extend(rejections);
        let outcome = append_checked(log, records, commit, expected).await;
        if matches!(outcome, WriteOutcome::Written) {
            hand_over(handed_over);
        }
        return outcome;
    }
    let (rejected_here, accepted_here): (Vec<_>, Vec<_>) =
        handed_over.into_iter().partition(|(_, reply)| matches!(reply, CommandReply::Rejected(_)));
    match append_checked(log, records, None, expected).await {
        WriteOutcome::Written => {
            hand_over(accepted_here);
            let outcome = append_checked(log, replies, commit, &[]).await;
            if matches!(outcome, WriteOutcome::Written) {
                hand_over(rejected_here);
                write_rejections(log, rejections).await;
            }
            outcome
        }
        not_written => not_written,
    }
}

/// Writes the rejections of a committed batch. The batch stands if they are lost: their
/// gateways' waits end without an outcome, and a retry is decided afresh.
async fn write_rejections(log: &dyn EventLog, rejections: Vec<nagare_infra::OutgoingRecord>) {
    let count = rejections.len();
    if let WriteOutcome::Failed(error) = append_checked(log, rejections, None, &[]).await {
        tracing::warn!(%error, count, "writing rejections failed; their gateways get no answer");
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
