//! `nagare import`: a file written by `nagare export` loaded into a log at the same partitions
//! and offsets. The file is verified whole before anything is written; a partition the target
//! already holds records of must hold exactly the file's first records, so importing twice is
//! harmless and an interrupted import resumes where it stopped.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, bail};
use nagare_infra::{
    EventLog, GroupCommit, Offset, TopicPartition, TopicSpec, TopicStatus, Watermarks,
};
use nagare_schemas::topics::Topics;

use super::format::{FilePartition, TopicDecl};
use super::load;
use super::plan::{self, Action, PartitionPlan, Verified};
use crate::cli::ImportArgs;

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let input = args.input.clone();
    // The file first: a missing or foreign file must not even create an empty embedded log.
    let path = input.clone();
    let topics = blocking(move || plan::open(&path).map(|reader| reader.topics().to_vec())).await?;
    let log = nagare_infra::open_log(&args.log.log)
        .await
        .with_context(|| format!("cannot open the event log at {}", args.log.log))?;
    let target = inspect_target(&*log, &topics).await?;
    let capture: HashMap<FilePartition, Offset> = target
        .iter()
        .filter(|(_, marks)| marks.high > 0)
        .map(|(at, m)| (*at, m.high - 1))
        .collect();
    let path = input.clone();
    let verified = blocking(move || plan::verify(&path, &capture)).await?;
    let snapshots = Topics::with_prefix(args.log.topic_prefix.clone()).snapshots();
    let plans = plan::decide(&verified, &target, &snapshots)?;
    if plans.iter().any(|plan| plan.action == Action::Skip) {
        tracing::warn!(
            topic = %snapshots,
            "the snapshots topic has gaps in its offsets (compaction) and is left out: snapshots \
             are derived from the events, and the command processor rebuilds without them"
        );
    }
    compare_last_records(&*log, &plans, &verified).await?;
    create_topics(&*log, &verified.topics).await?;
    let loaded =
        load::run(log.clone(), input.clone(), plans.clone(), verified.total_records()).await?;
    let committed = commit_groups(&*log, &verified, &plans).await?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        appended = loaded.appended,
        already_present = loaded.present,
        skipped = loaded.skipped,
        committed,
        seconds,
        "import done"
    );
    println!(
        "imported {} topics, {} partitions, {} records ({} appended, {} already present, {} \
         skipped), {} bytes in {:.1} s from {}",
        verified.topics.len(),
        plans.len(),
        verified.total_records(),
        loaded.appended,
        loaded.present,
        loaded.skipped,
        verified.bytes,
        seconds,
        input.display()
    );
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await.context("reading the file stopped unexpectedly")?
}

/// The watermarks of every partition of the file's topics that the target already has. A
/// topic with another partition count is refused: records could not keep their partitions.
async fn inspect_target(
    log: &dyn EventLog,
    topics: &[TopicDecl],
) -> anyhow::Result<HashMap<FilePartition, Watermarks>> {
    let existing = log.list_topics().await.context("cannot list the topics of the log")?;
    let mut target = HashMap::new();
    for (index, topic) in (0u32..).zip(topics) {
        let Some(actual) = existing.iter().find(|spec| spec.name == topic.name) else {
            continue;
        };
        check_partition_count(topic, actual.partitions)?;
        for partition in 0..topic.partitions {
            let tp = TopicPartition::new(topic.name.clone(), partition);
            let marks = log
                .watermarks(&tp)
                .await
                .with_context(|| format!("cannot read the watermarks of {tp}"))?;
            target.insert(FilePartition { topic: index, partition }, marks);
        }
    }
    Ok(target)
}

fn check_partition_count(topic: &TopicDecl, actual: u32) -> anyhow::Result<()> {
    if actual != topic.partitions {
        bail!(
            "topic `{}` exists in the target log with {actual} partitions, the file's has {}: \
             records would land in other partitions; import into a log without this topic",
            topic.name,
            topic.partitions
        );
    }
    Ok(())
}

/// Compares, for every partition the target already holds records of, its last record with
/// the file's record at that offset, before anything is written. Every earlier record is
/// compared too while loading, before the partition's first append.
async fn compare_last_records(
    log: &dyn EventLog,
    plans: &[PartitionPlan],
    verified: &Verified,
) -> anyhow::Result<()> {
    for plan in plans {
        let Action::Load { existing } = plan.action else { continue };
        let Some(offset) = existing.checked_sub(1) else { continue };
        let tp = &plan.tp;
        let held = log
            .read(tp, offset, 1)
            .await
            .with_context(|| format!("cannot read {tp} at offset {offset}"))?;
        let held = held.into_iter().find(|record| record.offset == offset);
        let file = verified.captured.get(&plan.at);
        if held.map(|stored| stored.record) != file.map(|record| record.record.clone()) {
            bail!("{}", load::mismatch(tp, offset));
        }
    }
    Ok(())
}

async fn create_topics(log: &dyn EventLog, topics: &[TopicDecl]) -> anyhow::Result<()> {
    for topic in topics {
        let spec = TopicSpec {
            name: topic.name.clone(),
            partitions: topic.partitions,
            cleanup: topic.cleanup,
        };
        let status = log
            .ensure_topic(&spec)
            .await
            .with_context(|| format!("cannot create topic `{}`", topic.name))?;
        match status {
            TopicStatus::Created => tracing::info!(topic = %topic.name, "topic created"),
            TopicStatus::Existing { actual } => {
                check_partition_count(topic, actual.partitions)?;
                if actual.cleanup != topic.cleanup {
                    tracing::warn!(
                        topic = %topic.name,
                        file = ?topic.cleanup,
                        target = ?actual.cleanup,
                        "the topic exists with another cleanup policy; keeping it"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Commits the file's group offsets, never moving a group back: a processor that has already
/// gone further in the target keeps its position. Returns how many offsets were committed.
async fn commit_groups(
    log: &dyn EventLog,
    verified: &Verified,
    plans: &[PartitionPlan],
) -> anyhow::Result<usize> {
    let mut committed = 0;
    for group in &verified.groups {
        let mut offsets = Vec::new();
        for (at, offset) in &group.offsets {
            let Some(plan) = plans.iter().find(|plan| plan.at == *at) else { continue };
            if plan.action == Action::Skip {
                continue;
            }
            // Offsets past the last record (a Kafka source's transaction markers) name the
            // end of what was imported.
            let offset = (*offset).min(plan.imported_high());
            let current = log.committed(&group.group, &plan.tp).await.with_context(|| {
                format!("cannot read the offset group `{}` committed on {}", group.group, plan.tp)
            })?;
            if current.is_none_or(|current| current < offset) {
                offsets.push((plan.tp.clone(), offset));
            }
        }
        if offsets.is_empty() {
            continue;
        }
        committed += offsets.len();
        let commit = GroupCommit { group: group.group.clone(), offsets };
        log.commit(commit)
            .await
            .with_context(|| format!("cannot commit the offsets of group `{}`", group.group))?;
    }
    Ok(committed)
}
