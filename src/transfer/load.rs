//! The writing pass of an import: the file is streamed by a reading thread in chunks of one
//! partition's records; records the target already holds are compared, the others appended at
//! their partition, and every position the log returns must be the record's offset in the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use nagare_infra::{EventLog, Offset, OutgoingRecord, TopicPartition};
use tokio::sync::mpsc;

use super::format::{FilePartition, FileRecord};
use super::plan::{self, Action, PartitionPlan};
use super::progress::Progress;

/// Records per append at most: large enough for the backends to batch well, small enough to
/// bound memory and the work redone when an import is interrupted.
const CHUNK_RECORDS: usize = 2000;
/// Bytes of keys, values and headers per append at most.
const CHUNK_BYTES: usize = 4 << 20;
/// Chunks read ahead of the appends.
const PIPELINE_DEPTH: usize = 4;

/// What the pass did.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) appended: u64,
    /// Records the target already held (and that matched the file).
    pub(crate) present: u64,
    /// Records of skipped partitions.
    pub(crate) skipped: u64,
}

pub(crate) async fn run(
    log: Arc<dyn EventLog>,
    path: PathBuf,
    plans: Vec<PartitionPlan>,
    total: u64,
) -> anyhow::Result<Loaded> {
    let plans: HashMap<FilePartition, PartitionPlan> =
        plans.into_iter().map(|plan| (plan.at, plan)).collect();
    let (chunks, mut received) = mpsc::channel(PIPELINE_DEPTH);
    let reading = tokio::task::spawn_blocking(move || read_chunks(&path, &chunks));
    let mut progress = Progress::new("importing", total, "records");
    let mut loaded = Loaded { appended: 0, present: 0, skipped: 0 };
    while let Some(chunk) = received.recv().await {
        let mut records: Vec<FileRecord> = chunk?;
        let Some(first) = records.first() else { continue };
        let Some(plan) = plans.get(&first.at) else {
            bail!("the file changed while it was imported: a partition that was not planned");
        };
        let count = records.len() as u64;
        match plan.action {
            Action::Skip => loaded.skipped += count,
            Action::Load { existing } => {
                let new = records.split_off(records.partition_point(|r| r.offset < existing));
                compare_held(&*log, &plan.tp, &records).await?;
                loaded.present += records.len() as u64;
                loaded.appended += new.len() as u64;
                append(&*log, &plan.tp, new).await?;
            }
        }
        progress.advance(count);
    }
    reading.await.context("reading the file stopped unexpectedly")??;
    progress.finish();
    Ok(loaded)
}

/// The message for a target record that is not the file's.
pub(crate) fn mismatch(tp: &TopicPartition, offset: Offset) -> String {
    format!(
        "topic `{}` partition {} already holds a record at offset {offset} that differs from the \
         file's: the target log is not an earlier import of this file, refusing to import",
        tp.topic, tp.partition
    )
}

/// Checks that the target holds exactly these records at their offsets.
async fn compare_held(
    log: &dyn EventLog,
    tp: &TopicPartition,
    records: &[FileRecord],
) -> anyhow::Result<()> {
    let mut rest = records;
    while let Some(first) = rest.first() {
        let held = log
            .read(tp, first.offset, rest.len())
            .await
            .with_context(|| format!("cannot read {tp} at offset {}", first.offset))?;
        if held.is_empty() {
            bail!("{}", mismatch(tp, first.offset));
        }
        for stored in &held {
            let Some((file, after)) = rest.split_first() else { break };
            if stored.offset != file.offset || stored.record != file.record {
                bail!("{}", mismatch(tp, file.offset));
            }
            rest = after;
        }
    }
    Ok(())
}

/// Appends records at their partition and checks each lands at its file offset.
async fn append(
    log: &dyn EventLog,
    tp: &TopicPartition,
    records: Vec<FileRecord>,
) -> anyhow::Result<()> {
    let Some(first) = records.first().map(|record| record.offset) else { return Ok(()) };
    let offsets: Vec<Offset> = records.iter().map(|record| record.offset).collect();
    let outgoing = records
        .into_iter()
        .map(|file| OutgoingRecord {
            topic: tp.topic.clone(),
            partition: Some(tp.partition),
            record: file.record,
        })
        .collect();
    let positions = log
        .append(outgoing, None)
        .await
        .with_context(|| format!("cannot append to {tp} at offset {first}"))?;
    if positions.len() != offsets.len() {
        bail!(
            "the log acknowledged {} of {} records appended to {tp} at offset {first}",
            positions.len(),
            offsets.len()
        );
    }
    for (position, offset) in positions.iter().zip(&offsets) {
        if position.topic != tp.topic || position.partition != tp.partition {
            bail!(
                "the log wrote a record meant for {tp} to {}[{}]",
                position.topic,
                position.partition
            );
        }
        if position.offset != *offset {
            bail!(
                "the record of {tp} at offset {offset} in the file was written at offset {}: \
                 something else writes to this partition; stopping the import (run it again \
                 once the log is idle)",
                position.offset
            );
        }
    }
    Ok(())
}

/// Runs on a blocking thread: streams the file's records in chunks of one partition. Stops
/// early, without error, when the receiving side has gone (it reports its own error).
fn read_chunks(
    path: &std::path::Path,
    chunks: &mpsc::Sender<anyhow::Result<Vec<FileRecord>>>,
) -> anyhow::Result<()> {
    let mut reader = plan::open(path)?;
    let mut chunk: Vec<FileRecord> = Vec::new();
    let mut chunk_bytes = 0;
    loop {
        let next = reader
            .next_record()
            .with_context(|| format!("{} changed while it was imported", path.display()));
        let next = match next {
            Ok(next) => next,
            Err(error) => {
                let _ = chunks.blocking_send(Err(error));
                return Ok(());
            }
        };
        let full = chunk.len() >= CHUNK_RECORDS || chunk_bytes >= CHUNK_BYTES;
        let other_partition = match (&next, chunk.first()) {
            (Some(record), Some(first)) => record.at != first.at,
            (None, _) => true,
            _ => false,
        };
        if (full || other_partition) && !chunk.is_empty() {
            if chunks.blocking_send(Ok(std::mem::take(&mut chunk))).is_err() {
                return Ok(());
            }
            chunk_bytes = 0;
        }
        let Some(record) = next else { return Ok(()) };
        chunk_bytes += record_size(&record);
        chunk.push(record);
    }
}

fn record_size(file: &FileRecord) -> usize {
    let record = &file.record;
    record.key.as_ref().map_or(0, |key| key.len())
        + record.value.as_ref().map_or(0, |value| value.len())
        + record.headers.iter().map(|(name, value)| name.len() + value.len()).sum::<usize>()
}
