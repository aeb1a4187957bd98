//! A category's product count is the sum of its count rows: one per events partition, and the
//! single row releases before that layout wrote.

use std::sync::Arc;

use bytes::Bytes;
use nagare_infra::{ReadStore, RowKey, WriteBatch, WriteOp};

use super::ReadModels;
use super::rows::{self, CategoryRow};
use super::tables::{self, CATEGORIES, CATEGORY_PRODUCT_COUNTS};

const TEA: &str = "01890a5d-ac96-774b-bcce-000000000001";

fn put(table: &str, key: RowKey, value: Bytes) -> WriteOp {
    WriteOp::Put { table: table.to_owned(), key, value }
}

async fn tea_with_count_rows(rows: &[(Option<u32>, i64)]) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("embedded://{}", dir.path().display());
    let store: Arc<dyn ReadStore> = nagare_infra::open_store(&url).await.unwrap();
    for table in [CATEGORIES, CATEGORY_PRODUCT_COUNTS] {
        store.ensure_table(table).await.unwrap();
    }
    let id = tables::entity_bytes(TEA).unwrap();
    let category = CategoryRow {
        id: TEA.into(),
        name: "Tea".into(),
        description: None,
        deleted: false,
        version: 1,
        created_at_ms: 1,
        updated_at_ms: 1,
    };
    let mut ops =
        vec![put(CATEGORIES, tables::by_id(&id), rows::encode(CATEGORIES, &category).unwrap())];
    for (partition, count) in rows {
        let key = match partition {
            Some(partition) => tables::count_key(&id, *partition),
            None => tables::by_id(&id),
        };
        let value = rows::encode(CATEGORY_PRODUCT_COUNTS, count).unwrap();
        ops.push(put(CATEGORY_PRODUCT_COUNTS, key, value));
    }
    store.write(WriteBatch { ops, checkpoints: Vec::new() }).await.unwrap();
    let view = ReadModels::new(store).category(TEA).await.unwrap().expect("the category");
    view.product_count
}

#[tokio::test]
async fn sums_the_rows_of_every_partition() {
    assert_eq!(tea_with_count_rows(&[]).await, 0);
    assert_eq!(tea_with_count_rows(&[(Some(0), 2), (Some(3), 5), (Some(7), 1)]).await, 8);
}

#[tokio::test]
async fn an_upgraded_stores_single_row_counts_with_the_changes_after_it() {
    // 5 products before the upgrade; since, 2 of them deleted in partition 1, 1 added in 6.
    let rows = [(None, 5), (Some(1), -2), (Some(6), 1)];
    assert_eq!(tea_with_count_rows(&rows).await, 4);
}

#[tokio::test]
async fn a_count_never_shows_below_zero() {
    assert_eq!(tea_with_count_rows(&[(Some(1), -2)]).await, 0);
}
