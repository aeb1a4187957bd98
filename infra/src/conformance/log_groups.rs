//! `EventLog` scenarios of consumer groups: assignment, commits, rebalancing, seeking.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::log::{fresh_topic, record};
use super::{PATIENCE, unique_name};
use crate::{Error, EventLog, GroupConsumer, GroupEvent, Result, StoredRecord, TopicPartition};

/// How long one `next` may take before the member is considered idle.
const IDLE: Duration = Duration::from_millis(150);

/// The member's next event, failing the scenario if none comes in time.
pub async fn next_event(member: &mut Box<dyn GroupConsumer>) -> Result<GroupEvent> {
    tokio::time::timeout(PATIENCE, member.next(100))
        .await
        .map_err(|_| Error::Invalid("a group member got no event in time".into()))?
}

/// Drives every member (each `next` bounded by a short idle timeout) until `done` holds for
/// their assignments; returns the events each member saw.
pub async fn pump_until(
    members: &mut [&mut Box<dyn GroupConsumer>],
    done: impl Fn(&[Vec<TopicPartition>]) -> bool,
) -> Result<Vec<Vec<GroupEvent>>> {
    let mut seen = vec![Vec::new(); members.len()];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let assignments: Vec<_> = members.iter().map(|member| member.assignment()).collect();
        if done(&assignments) {
            return Ok(seen);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Invalid(format!("the group did not settle; events: {seen:?}")));
        }
        for (member, events) in members.iter_mut().zip(&mut seen) {
            if let Ok(event) = tokio::time::timeout(IDLE, member.next(100)).await {
                events.push(event?);
            }
        }
    }
}

fn all_partitions(topic: &str, count: u32) -> BTreeSet<TopicPartition> {
    (0..count).map(|p| TopicPartition::new(topic, p)).collect()
}

/// Collects records until `count` have arrived.
async fn records(member: &mut Box<dyn GroupConsumer>, count: usize) -> Result<Vec<StoredRecord>> {
    let mut out = Vec::new();
    while out.len() < count {
        match next_event(member).await? {
            GroupEvent::Records(batch) => out.extend(batch),
            other => return Err(Error::Invalid(format!("expected records, got {other:?}"))),
        }
    }
    Ok(out)
}

pub async fn single_member_gets_all_partitions(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 3).await?;
    let mut member = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await?;
    let GroupEvent::Assigned(assigned) = next_event(&mut member).await? else {
        panic!("the first event of a lone member must be its assignment")
    };
    assert_eq!(assigned.into_iter().collect::<BTreeSet<_>>(), all_partitions(&topic, 3));
    assert_eq!(member.assignment().into_iter().collect::<BTreeSet<_>>(), all_partitions(&topic, 3));
    log.append(vec![record(&topic, Some(2), None, "hello")], None).await?;
    let got = records(&mut member, 1).await?;
    assert_eq!((got[0].partition, got[0].offset), (2, 0));
    Ok(())
}

pub async fn commit_and_committed(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 1).await?;
    let group = unique_name("group");
    let tp = TopicPartition::new(topic.clone(), 0);
    let batch: Vec<_> = (0..5).map(|i| record(&topic, Some(0), None, &i.to_string())).collect();
    log.append(batch, None).await?;

    let mut first = log.subscribe(&group, std::slice::from_ref(&topic)).await?;
    assert!(matches!(next_event(&mut first).await?, GroupEvent::Assigned(_)));
    assert_eq!(records(&mut first, 5).await?.first().map(|r| r.offset), Some(0));
    first.commit(vec![(tp.clone(), 3)]).await?;
    assert_eq!(log.committed(&group, &tp).await?, Some(3));
    drop(first);

    // A new member starts at the committed offset.
    let mut second = log.subscribe(&group, std::slice::from_ref(&topic)).await?;
    assert!(matches!(next_event(&mut second).await?, GroupEvent::Assigned(_)));
    let offsets: Vec<u64> = records(&mut second, 2).await?.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![3, 4]);
    Ok(())
}

pub async fn members_split_partitions_and_the_survivor_takes_all(
    log: Arc<dyn EventLog>,
) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 4).await?;
    let group = unique_name("group");
    let all = all_partitions(&topic, 4);
    let mut first = log.subscribe(&group, std::slice::from_ref(&topic)).await?;
    pump_until(&mut [&mut first], |a| a[0].len() == 4).await?;

    let mut second = log.subscribe(&group, std::slice::from_ref(&topic)).await?;
    let seen = pump_until(&mut [&mut first, &mut second], |a| {
        let (one, two): (BTreeSet<_>, BTreeSet<_>) =
            (a[0].iter().cloned().collect(), a[1].iter().cloned().collect());
        one.len() == 2 && two.len() == 2 && one.is_disjoint(&two)
    })
    .await?;
    let revoked: BTreeSet<_> = seen[0]
        .iter()
        .flat_map(|e| match e {
            GroupEvent::Revoked(tps) => tps.clone(),
            _ => Vec::new(),
        })
        .collect();
    let gained: BTreeSet<_> = second.assignment().into_iter().collect();
    assert_eq!(revoked, gained, "the first member must be told what it lost");
    let union: BTreeSet<_> = first.assignment().into_iter().chain(second.assignment()).collect();
    assert_eq!(union, all);

    drop(second);
    pump_until(&mut [&mut first], |a| a[0].len() == 4).await?;
    assert_eq!(first.assignment().into_iter().collect::<BTreeSet<_>>(), all);

    // A member already waiting is woken by an append to a partition it took over.
    let taken_over = gained.first().map_or(0, |tp| tp.partition);
    let writer = log.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.append(vec![record(&topic, Some(taken_over), None, "late")], None).await
    });
    let arrived = records(&mut first, 1).await?;
    late.await.map_err(|e| Error::Invalid(e.to_string()))??;
    assert_eq!((arrived[0].partition, arrived[0].offset), (taken_over, 0));
    Ok(())
}

pub async fn member_seek(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 1).await?;
    let tp = TopicPartition::new(topic.clone(), 0);
    let batch: Vec<_> = (0..6).map(|i| record(&topic, Some(0), None, &i.to_string())).collect();
    log.append(batch, None).await?;
    let mut member = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await?;
    assert!(matches!(next_event(&mut member).await?, GroupEvent::Assigned(_)));
    member.seek(&tp, 4).await?;
    let offsets: Vec<u64> = records(&mut member, 2).await?.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![4, 5]);
    Ok(())
}
