//! `ReadStore` scenarios.

use std::sync::Arc;

use bytes::Bytes;

use super::unique_name;
use crate::{Checkpoint, Error, ReadStore, Result, RowKey, TopicPartition, WriteBatch, WriteOp};

/// Creates a fresh table and returns its name.
pub async fn fresh_table(store: &dyn ReadStore) -> Result<String> {
    let table = unique_name("conformance");
    store.ensure_table(&table).await?;
    // Declaring it twice is harmless.
    store.ensure_table(&table).await?;
    Ok(table)
}

pub fn key(partition: &[u8], clustering: &[u8]) -> RowKey {
    RowKey {
        partition: Bytes::copy_from_slice(partition),
        clustering: Bytes::copy_from_slice(clustering),
    }
}

pub fn put(table: &str, key: RowKey, value: &str) -> WriteOp {
    WriteOp::Put { table: table.to_owned(), key, value: Bytes::copy_from_slice(value.as_bytes()) }
}

async fn write_ops(store: &dyn ReadStore, ops: Vec<WriteOp>) -> Result<()> {
    store.write(WriteBatch { ops, checkpoints: Vec::new() }).await
}

pub async fn put_get_delete(store: Arc<dyn ReadStore>) -> Result<()> {
    let table = fresh_table(store.as_ref()).await?;
    let row = key(b"p", b"c");
    assert_eq!(store.get(&table, &row).await?, None);
    write_ops(store.as_ref(), vec![put(&table, row.clone(), "one")]).await?;
    assert_eq!(store.get(&table, &row).await?, Some(Bytes::from_static(b"one")));
    write_ops(store.as_ref(), vec![put(&table, row.clone(), "two")]).await?;
    assert_eq!(store.get(&table, &row).await?, Some(Bytes::from_static(b"two")));
    write_ops(store.as_ref(), vec![WriteOp::Delete { table: table.clone(), key: row.clone() }])
        .await?;
    assert_eq!(store.get(&table, &row).await?, None);
    // Empty partition and clustering keys are legal.
    write_ops(store.as_ref(), vec![put(&table, key(b"", b""), "empty")]).await?;
    assert_eq!(store.get(&table, &key(b"", b"")).await?, Some(Bytes::from_static(b"empty")));
    Ok(())
}

pub async fn get_many_keeps_input_order(store: Arc<dyn ReadStore>) -> Result<()> {
    let table = fresh_table(store.as_ref()).await?;
    let ops = ["a", "b", "c"].iter().map(|id| put(&table, key(id.as_bytes(), b""), id)).collect();
    write_ops(store.as_ref(), ops).await?;
    let wanted = [key(b"c", b""), key(b"missing", b""), key(b"a", b""), key(b"c", b"")];
    let got = store.get_many(&table, &wanted).await?;
    let expected = [Some("c"), None, Some("a"), Some("c")]
        .map(|v| v.map(|v| Bytes::copy_from_slice(v.as_bytes())));
    assert_eq!(got, expected.to_vec());
    assert!(store.get_many(&table, &[]).await?.is_empty());
    Ok(())
}

pub async fn scan_is_ordered_and_pages(store: Arc<dyn ReadStore>) -> Result<()> {
    let table = fresh_table(store.as_ref()).await?;
    let clustering: [&[u8]; 5] = [&[0, 9], &[0, 1], &[1], &[0xff, 0], &[0, 1, 0]];
    let mut ops: Vec<WriteOp> =
        clustering.iter().map(|c| put(&table, key(b"p", c), "row")).collect();
    // Neighbouring partitions, one sharing the leading bytes, must not leak into the scan.
    ops.push(put(&table, key(b"p1", &[0]), "other"));
    ops.push(put(&table, key(b"o", &[0]), "other"));
    write_ops(store.as_ref(), ops).await?;

    let mut sorted: Vec<Vec<u8>> = clustering.iter().map(|c| c.to_vec()).collect();
    sorted.sort();
    let mut seen = Vec::new();
    let mut after: Option<Bytes> = None;
    let mut pages = 0;
    loop {
        let page = store.scan(&table, b"p", after.as_deref(), 2).await?;
        assert!(page.rows.len() <= 2);
        seen.extend(page.rows.iter().map(|(clustering, value)| {
            assert_eq!(value, &Bytes::from_static(b"row"));
            clustering.to_vec()
        }));
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, sorted);
    assert_eq!(pages, 3);
    let whole = store.scan(&table, b"p", None, 100).await?;
    assert_eq!((whole.rows.len(), whole.next), (5, None));
    assert!(store.scan(&table, b"nobody", None, 10).await?.rows.is_empty());
    Ok(())
}

fn checkpoint(projection: &str, topic: &str, partition: u32, next_offset: u64) -> Checkpoint {
    Checkpoint {
        projection: projection.to_owned(),
        tp: TopicPartition::new(topic, partition),
        next_offset,
    }
}

pub async fn batch_is_atomic_with_checkpoints(store: Arc<dyn ReadStore>) -> Result<()> {
    let table = fresh_table(store.as_ref()).await?;
    let projection = unique_name("projection");
    let first = checkpoint(&projection, "events", 0, 10);
    let batch = WriteBatch {
        ops: vec![put(&table, key(b"p", b"1"), "one"), put(&table, key(b"p", b"2"), "two")],
        checkpoints: vec![first.clone()],
    };
    store.write(batch).await?;
    assert_eq!(store.get(&table, &key(b"p", b"2")).await?, Some(Bytes::from_static(b"two")));
    assert_eq!(store.checkpoints(&projection).await?, vec![first.clone()]);

    // A batch with one bad op applies nothing: neither its rows nor its checkpoint.
    let bad = WriteBatch {
        ops: vec![
            put(&table, key(b"p", b"3"), "three"),
            put(&unique_name("missing"), key(b"p", b"3"), "x"),
        ],
        checkpoints: vec![checkpoint(&projection, "events", 0, 11)],
    };
    assert!(matches!(store.write(bad).await, Err(Error::UnknownTable(_))));
    assert_eq!(store.get(&table, &key(b"p", b"3")).await?, None);
    assert_eq!(store.checkpoints(&projection).await?, vec![first]);
    Ok(())
}

pub async fn checkpoints_are_per_projection(store: Arc<dyn ReadStore>) -> Result<()> {
    let short = unique_name("p");
    // A projection whose name extends another's must not see its checkpoints.
    let long = format!("{short}x");
    let batch = WriteBatch {
        ops: Vec::new(),
        checkpoints: vec![
            checkpoint(&short, "events", 0, 5),
            checkpoint(&short, "events", 1, 7),
            checkpoint(&long, "events", 0, 99),
        ],
    };
    store.write(batch).await?;
    let update =
        WriteBatch { ops: Vec::new(), checkpoints: vec![checkpoint(&short, "events", 1, 8)] };
    store.write(update).await?;
    let mut got = store.checkpoints(&short).await?;
    got.sort_by_key(|c| c.tp.partition);
    assert_eq!(got, vec![checkpoint(&short, "events", 0, 5), checkpoint(&short, "events", 1, 8)]);
    assert_eq!(store.checkpoints(&long).await?, vec![checkpoint(&long, "events", 0, 99)]);
    assert!(store.checkpoints(&unique_name("none")).await?.is_empty());
    Ok(())
}

pub async fn truncate_empties_only_its_table(store: Arc<dyn ReadStore>) -> Result<()> {
    let table = fresh_table(store.as_ref()).await?;
    let other = fresh_table(store.as_ref()).await?;
    let ops = (0..50u8)
        .map(|i| put(&table, key(&[i % 5], &[i]), "row"))
        .chain([put(&other, key(b"p", b"c"), "kept")])
        .collect();
    write_ops(store.as_ref(), ops).await?;
    store.truncate(&table).await?;
    for partition in 0..5u8 {
        assert!(store.scan(&table, &[partition], None, 100).await?.rows.is_empty());
    }
    assert_eq!(store.get(&other, &key(b"p", b"c")).await?, Some(Bytes::from_static(b"kept")));
    // The table remains usable.
    write_ops(store.as_ref(), vec![put(&table, key(b"p", b"c"), "again")]).await?;
    assert_eq!(store.get(&table, &key(b"p", b"c")).await?, Some(Bytes::from_static(b"again")));
    Ok(())
}

pub async fn unknown_table_is_an_error(store: Arc<dyn ReadStore>) -> Result<()> {
    let missing = unique_name("missing");
    let is_unknown =
        |result: &Result<_>| matches!(result, Err(Error::UnknownTable(t)) if *t == missing);
    assert!(is_unknown(&store.get(&missing, &key(b"p", b"c")).await.map(|_| ())));
    assert!(is_unknown(&store.get_many(&missing, &[key(b"p", b"c")]).await.map(|_| ())));
    assert!(is_unknown(&store.scan(&missing, b"p", None, 10).await.map(|_| ())));
    assert!(is_unknown(
        &write_ops(store.as_ref(), vec![put(&missing, key(b"p", b"c"), "x")]).await
    ));
    assert!(is_unknown(&store.truncate(&missing).await));
    Ok(())
}
