//! What a server's log says about its command processor: whether it owns its partitions and
//! has rebuilt every one of them, so it answers commands without a start-up delay.
//!
//! Readiness (`/health/ready`) covers the gateway, the log and the store, not the processor. On
//! the embedded log the processor owns its partitions at once; on Kafka it first joins its
//! consumer group (seconds on the test broker) and then rebuilds each partition, and a command
//! sent meanwhile can outwait the gateway's reply timeout. Tests on Kafka wait for this instead.

use std::collections::BTreeSet;

const ASSIGNED: &str = "command partitions assigned";
const REBUILT: &str = "rebuilt command partition";

/// Whether the last assignment in `logs` gave the processor partitions and each of them has
/// been rebuilt since. Reads text and JSON log lines alike.
pub(crate) fn owns_and_rebuilt_its_partitions(logs: &str) -> bool {
    let Some(assigned_at) = logs.rfind(ASSIGNED) else { return false };
    let after = &logs[assigned_at..];
    let Some(owned) = after.lines().next().and_then(|line| numbers_after(line, "owned")) else {
        return false;
    };
    let rebuilt: BTreeSet<u32> = after
        .lines()
        .filter(|line| line.contains(REBUILT))
        .filter_map(|line| numbers_after(&line[line.find(REBUILT)? + REBUILT.len()..], "partition"))
        .flatten()
        .collect();
    !owned.is_empty() && owned.is_subset(&rebuilt)
}

/// The numbers of the field `name` in `line`: `name=[0, 1]`, `name=3`, `"name":"[0, 1]"` or
/// `"name":3`.
fn numbers_after(line: &str, name: &str) -> Option<BTreeSet<u32>> {
    let start = line.find(&format!("{name}=")).or_else(|| line.find(&format!("\"{name}\":")))?;
    let value = &line[start + name.len()..];
    let value = value.trim_start_matches(['=', '"', ':']);
    let end = if value.starts_with('[') {
        value.find(']')? + 1
    } else {
        value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len())
    };
    value[..end]
        .trim_matches(['[', ']'])
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().ok())
        .collect()
}
