//! `nagare export`: every topic of the deployment, read up to the watermarks taken at the start,
//! streamed into a temporary file beside the output, which is renamed into place only once it is
//! complete. An interrupted export leaves at most a `.partial` file, never one that looks whole.

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use nagare_infra::{EventLog, StoredRecord, TopicPartition};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use super::format::{FilePartition, FileRecord, GroupOffsets, PartitionSummary, TopicDecl};
use super::progress::Progress;
use super::read_ahead::{PartitionRead, ReadAhead};
use super::writer::FileWriter;
use crate::cli::ExportArgs;

/// Batches in flight between the log reader and the file writer: enough to keep both busy,
/// few enough that memory stays small whatever the size of the log.
const PIPELINE_DEPTH: usize = 4;
/// The file is written through a buffer of this size.
const WRITE_BUFFER: usize = 1 << 20;

/// What is exported: the topics, the committed offsets and the watermarks, read at the start.
#[derive(Debug)]
struct Cut {
    topics: Vec<TopicDecl>,
    groups: Vec<GroupOffsets>,
    /// Every partition with its watermarks; `records` is filled in while writing.
    partitions: Vec<PartitionSummary>,
    /// The topic name of each entry of `partitions`.
    names: Vec<String>,
}

impl Cut {
    fn total_records(&self) -> u64 {
        self.partitions.iter().map(|p| p.high - p.low).sum()
    }
}

/// What the log reader hands the file writer.
#[derive(Debug)]
enum Chunk {
    Records(FilePartition, Vec<StoredRecord>),
    /// Every partition has been read: the file may be completed. Without it the writer
    /// discards the temporary file, so a failed read never yields a file that looks whole.
    End,
}

/// What the file writer reports.
#[derive(Debug)]
struct Written {
    records: u64,
    bytes: u64,
}

pub(crate) async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let output = args.output;
    if output.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; nagare export never overwrites a file (choose another --output)",
            output.display()
        );
    }
    // Created before anything is read, so an unwritable destination fails at once.
    let temporary = temporary_file(&output)?;
    let log = nagare_infra::open_log(&args.log.log)
        .await
        .with_context(|| format!("cannot open the event log at {}", args.log.log))?;
    let group = format!("{}command-processor", args.log.topic_prefix);
    let cut = take_cut(&*log, &args.log.topic_prefix, &group).await?;
    tracing::info!(
        topics = cut.topics.len(),
        partitions = cut.partitions.len(),
        records = cut.total_records(),
        output = %output.display(),
        "exporting"
    );
    let mut progress = Progress::new("exporting", cut.total_records(), "records");
    let (topic_count, partition_count) = (cut.topics.len(), cut.partitions.len());
    let reads: Vec<PartitionRead> = cut
        .partitions
        .iter()
        .zip(&cut.names)
        .map(|(p, name)| PartitionRead {
            at: p.at,
            tp: TopicPartition::new(name.clone(), p.at.partition),
            low: p.low,
            high: p.high,
        })
        .collect();
    let (batches, received) = mpsc::channel(PIPELINE_DEPTH);
    let target = output.clone();
    let writer = tokio::task::spawn_blocking(move || write_file(&target, temporary, cut, received));
    let read_outcome = read_partitions(log, reads, &batches, &mut progress).await;
    if matches!(read_outcome, Ok(true)) {
        // A failure here means the writer stopped; its own error is reported below.
        let _ = batches.send(Chunk::End).await;
    }
    drop(batches);
    let written = writer.await.context("the file writer stopped unexpectedly")?;
    // A read error explains why the writer stopped, so it is reported first.
    read_outcome?;
    let written = written?;
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(records = written.records, bytes = written.bytes, seconds, "export done");
    println!(
        "exported {topic_count} topics, {partition_count} partitions, {} records, {} bytes in \
         {seconds:.1} s to {}",
        written.records,
        written.bytes,
        output.display()
    );
    Ok(())
}

/// Reads the committed offsets first, then the watermarks: every command the processor has
/// committed then has its events below the watermarks, so the cut never holds a committed
/// command whose effects are missing.
async fn take_cut(log: &dyn EventLog, prefix: &str, group: &str) -> anyhow::Result<Cut> {
    let mut specs: Vec<_> = log
        .list_topics()
        .await
        .context("cannot list the topics of the log")?
        .into_iter()
        .filter(|spec| spec.name.starts_with(prefix) && !spec.name.starts_with("__"))
        .collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut offsets = Vec::new();
    for (index, spec) in (0u32..).zip(&specs) {
        for partition in 0..spec.partitions {
            let tp = TopicPartition::new(spec.name.clone(), partition);
            let committed = log.committed(group, &tp).await.with_context(|| {
                format!("cannot read the offset group `{group}` committed on {tp}")
            })?;
            if let Some(offset) = committed {
                offsets.push((FilePartition { topic: index, partition }, offset));
            }
        }
    }
    let (mut partitions, mut names) = (Vec::new(), Vec::new());
    for (index, spec) in (0u32..).zip(&specs) {
        for partition in 0..spec.partitions {
            let tp = TopicPartition::new(spec.name.clone(), partition);
            let marks = log
                .watermarks(&tp)
                .await
                .with_context(|| format!("cannot read the watermarks of {tp}"))?;
            let at = FilePartition { topic: index, partition };
            partitions.push(PartitionSummary { at, records: 0, low: marks.low, high: marks.high });
            names.push(spec.name.clone());
        }
    }
    // A commit can only name an offset up to the high watermark; one taken while the processor
    // ran on is capped at the cut, where its commands are re-read after an import.
    for (at, offset) in &mut offsets {
        if let Some(summary) = partitions.iter().find(|p| p.at == *at) {
            *offset = (*offset).min(summary.high);
        }
    }
    let groups = if offsets.is_empty() {
        Vec::new()
    } else {
        vec![GroupOffsets { group: group.to_owned(), offsets }]
    };
    let topics = specs
        .into_iter()
        .map(|spec| TopicDecl {
            name: spec.name,
            partitions: spec.partitions,
            cleanup: spec.cleanup,
        })
        .collect();
    Ok(Cut { topics, groups, partitions, names })
}

/// Reads each partition from its low to its high watermark and hands the records to the writer.
/// Returns false when the writer stopped first.
async fn read_partitions(
    log: Arc<dyn EventLog>,
    reads: Vec<PartitionRead>,
    batches: &mpsc::Sender<Chunk>,
    progress: &mut Progress,
) -> anyhow::Result<bool> {
    let mut ahead = ReadAhead::new(log, reads);
    while let Some((at, records)) = ahead.next().await? {
        if records.is_empty() {
            continue;
        }
        let count = records.len() as u64;
        if batches.send(Chunk::Records(at, records)).await.is_err() {
            return Ok(false);
        }
        progress.advance(count);
    }
    Ok(true)
}

/// An empty file beside `output`, named after it, deleted again unless it is persisted.
fn temporary_file(output: &Path) -> anyhow::Result<NamedTempFile> {
    let directory = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(&directory)
        .with_context(|| format!("cannot create a temporary file in {}", directory.display()))
}

/// Writes the whole file into `temporary`, then moves it into place at `output`.
fn write_file(
    output: &Path,
    temporary: NamedTempFile,
    cut: Cut,
    mut batches: mpsc::Receiver<Chunk>,
) -> anyhow::Result<Written> {
    let buffered = BufWriter::with_capacity(WRITE_BUFFER, temporary);
    let write_error = || format!("cannot write the export to {}", output.display());
    let mut writer = FileWriter::new(buffered).with_context(write_error)?;
    for topic in &cut.topics {
        writer.topic(topic).with_context(write_error)?;
    }
    for group in &cut.groups {
        writer.group(group).with_context(write_error)?;
    }
    let mut counts: HashMap<FilePartition, u64> = HashMap::new();
    loop {
        match batches.blocking_recv() {
            Some(Chunk::Records(at, records)) => {
                *counts.entry(at).or_default() += records.len() as u64;
                for stored in records {
                    let record = FileRecord { at, offset: stored.offset, record: stored.record };
                    writer.record(&record).with_context(write_error)?;
                }
            }
            Some(Chunk::End) => break,
            // The reader failed and reports why; dropping the temporary file deletes it.
            None => bail!("the export stopped before every partition was read"),
        }
    }
    let partitions: Vec<PartitionSummary> = cut
        .partitions
        .into_iter()
        .map(|p| PartitionSummary { records: counts.get(&p.at).copied().unwrap_or(0), ..p })
        .collect();
    let records = partitions.iter().map(|p| p.records).sum();
    let (buffered, bytes) = writer.finish(partitions).with_context(write_error)?;
    let temporary = buffered.into_inner().map_err(|e| e.into_error()).with_context(write_error)?;
    temporary.as_file().sync_all().with_context(write_error)?;
    temporary.persist_noclobber(output).map_err(|e| e.error).with_context(|| {
        format!("cannot move the finished export into place at {}", output.display())
    })?;
    Ok(Written { records, bytes })
}
