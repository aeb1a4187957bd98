use super::*;

/// The built-in declaration with one topic's table replaced (removed when `table` is empty).
fn with_topic(suffix: &str, table: &str) -> String {
    let header = format!("[topics.\"{suffix}\"]");
    let bare_header = format!("[topics.{suffix}]");
    let mut out = String::new();
    let mut skipping = false;
    for line in DECLARATION.lines() {
        if line.starts_with('[') {
            skipping = line == header || line == bare_header;
            if skipping && !table.is_empty() {
                out.push_str(&format!("{header}\n{table}\n"));
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn error_of(text: &str) -> String {
    format!("{:#}", Declaration::parse(text).unwrap_err())
}

#[test]
fn the_built_in_declaration_parses() {
    let declaration = Declaration::builtin().unwrap();
    assert_eq!(declaration.co_partitioned_count(), 8, "the default users have always had");
}

#[test]
fn every_topic_nagare_uses_is_declared_exactly_once() {
    let topics = Topics::default();
    let specs = Declaration::builtin().unwrap().specs(&topics, None);
    let mut names: Vec<String> = specs.iter().map(|spec| spec.name.clone()).collect();
    let mut expected = vec![topics.commands(), topics.replies(), topics.snapshots()];
    expected.extend(topics.all_events());
    expected.push(topics.deadletter());
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn snapshots_are_compacted_and_nothing_else_is() {
    let topics = Topics::default();
    for spec in Declaration::builtin().unwrap().specs(&topics, None) {
        let compacted = spec.cleanup == Cleanup::Compact;
        assert_eq!(compacted, spec.name == topics.snapshots(), "{}", spec.name);
    }
}

#[test]
fn commands_and_events_are_kept_forever_and_replies_and_dead_letters_expire() {
    let topics = Topics::default();
    let specs = Declaration::builtin().unwrap().specs(&topics, None);
    let cleanup_of = |name: String| specs.iter().find(|s| s.name == name).map(|s| s.cleanup);
    let forever = Some(Cleanup::Delete { retention_ms: None });
    assert_eq!(cleanup_of(topics.commands()), forever);
    for events in topics.all_events() {
        assert_eq!(cleanup_of(events), forever);
    }
    for bounded in [topics.replies(), topics.deadletter()] {
        let Some(Cleanup::Delete { retention_ms: Some(ms) }) = cleanup_of(bounded.clone()) else {
            panic!("{bounded} has no bounded retention");
        };
        assert!(ms > 0, "{bounded}");
    }
}

#[test]
fn co_partitioned_topics_share_one_count_which_the_flag_overrides() {
    let topics = Topics::with_prefix("shop.");
    let declaration = Declaration::builtin().unwrap();
    for (flag, expected) in [(None, 8), (Some(3), 3)] {
        let specs = declaration.specs(&topics, flag);
        let shared: Vec<u32> = co_partitioned(&topics)
            .iter()
            .filter_map(|name| specs.iter().find(|s| &s.name == name).map(|s| s.partitions))
            .collect();
        assert_eq!(shared, vec![expected; co_partitioned(&topics).len()]);
    }
    // Replies and dead letters keep their own count whatever the flag says.
    let specs = declaration.specs(&topics, Some(3));
    let replies = specs.iter().find(|s| s.name == "shop.replies").map(|s| s.partitions);
    assert_eq!(replies, Some(8));
}

#[test]
fn an_unknown_or_missing_topic_is_refused_by_name() {
    let unknown = format!("{DECLARATION}\n[topics.audit]\npartitions = 1\ncleanup = \"compact\"\n");
    let message = error_of(&unknown);
    assert!(message.contains("\"audit\" is not a topic Nagare uses"), "{message}");
    assert!(message.contains("events.product"), "{message}");

    let message = error_of(&with_topic("deadletter", ""));
    assert!(message.contains("topics.\"deadletter\" is missing"), "{message}");
}

#[test]
fn a_topic_declared_twice_is_refused() {
    let twice = format!(
        "{DECLARATION}\n[topics.replies]\npartitions = 2\ncleanup = \"delete\"\nretention = \"1d\"\n"
    );
    let message = error_of(&twice);
    assert!(message.contains("replies"), "{message}");
}

#[test]
fn a_co_partitioned_topic_cannot_take_a_count_of_its_own() {
    let text =
        with_topic("events.order", "partitions = 4\ncleanup = \"delete\"\nretention = \"forever\"");
    let message = error_of(&text);
    assert!(message.contains("\"events.order\" must have `co_partitioned = true`"), "{message}");
}

#[test]
fn partition_counts_out_of_range_name_the_field_and_the_limit() {
    for bad in ["0", "-3", "1025", "99999999999"] {
        let text = with_topic(
            "replies",
            &format!("partitions = {bad}\ncleanup = \"delete\"\nretention = \"1d\""),
        );
        let message = error_of(&text);
        assert!(message.contains("topics.\"replies\".partitions"), "{message}");
        assert!(message.contains("1 to 1024"), "{message}");
    }
    let shared =
        DECLARATION.replace("[co_partitioned]\npartitions = 8", "[co_partitioned]\npartitions = 0");
    assert!(error_of(&shared).contains("co_partitioned.partitions is 0"));
}

#[test]
fn both_or_neither_partition_fields_are_refused() {
    let both = with_topic(
        "replies",
        "co_partitioned = true\npartitions = 2\ncleanup = \"delete\"\nretention = \"1d\"",
    );
    assert!(error_of(&both).contains("give one"));
    let neither = with_topic("replies", "cleanup = \"delete\"\nretention = \"1d\"");
    assert!(error_of(&neither).contains("needs `partitions = N`"));
}

#[test]
fn retention_must_fit_the_cleanup_policy() {
    let compact_with_retention =
        with_topic("snapshots", "co_partitioned = true\ncleanup = \"compact\"\nretention = \"1d\"");
    assert!(error_of(&compact_with_retention).contains("applies to `cleanup = \"delete\"` only"));
    let delete_without = with_topic("replies", "partitions = 8\ncleanup = \"delete\"");
    assert!(error_of(&delete_without).contains("retention is missing"));
    let bad = with_topic("replies", "partitions = 8\ncleanup = \"delete\"\nretention = \"soon\"");
    let message = error_of(&bad);
    assert!(message.contains("topics.\"replies\".retention"), "{message}");
}

#[test]
fn unknown_fields_and_policies_are_refused() {
    let field = with_topic(
        "replies",
        "partitions = 8\ncleanup = \"delete\"\nretention = \"1d\"\nreplicas = 3",
    );
    assert!(error_of(&field).contains("replicas"));
    let policy = with_topic("replies", "partitions = 8\ncleanup = \"shred\"\nretention = \"1d\"");
    assert!(error_of(&policy).contains("shred"));
}

#[test]
fn garbage_never_panics() {
    for text in ["", "\u{0}", "[[[", "topics = 3", "co_partitioned = { partitions = \"x\" }"] {
        assert!(Declaration::parse(text).is_err(), "{text:?} was accepted");
    }
}

#[test]
fn the_declared_order_follows_the_topics() {
    let declaration = Declaration::builtin().unwrap();
    let specs = declaration.specs(&Topics::with_prefix(""), None);
    let suffixes: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
    assert_eq!(
        suffixes,
        [
            "commands",
            "events.category",
            "events.product",
            "events.order",
            "replies",
            "snapshots",
            "deadletter"
        ]
    );
}
