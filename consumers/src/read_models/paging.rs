//! Reading one page of a listing table: index rows after a cursor, optionally filtered on
//! their values, with one extra row looked for to tell whether another page follows.

use bytes::Bytes;
use nagare_infra::{ReadStore, ScanPage};

use super::cursor;
use super::views::PageRequest;
use crate::Result;

/// Rows fetched per store scan at most, so a huge `first` cannot ask the store for everything.
const MAX_SCAN_ROWS: usize = 500;
/// Rows fetched per scan when a filter may reject many of them.
const FILTERED_SCAN_ROWS: usize = 100;

/// Decides from an index row's value whether the row belongs to the page.
pub(crate) type RowFilter<'a> = &'a (dyn Fn(&[u8]) -> Result<bool> + Sync);

/// Index rows of one page, each with its clustering key.
#[derive(Debug)]
pub(crate) struct IndexPage {
    pub(crate) rows: Vec<(Bytes, Bytes)>,
    pub(crate) has_next_page: bool,
}

/// At most `page.first` rows of a listing partition after `page.after`, that pass `filter`.
pub(crate) async fn scan_listing(
    store: &dyn ReadStore,
    table: &str,
    partition: &[u8],
    page: &PageRequest,
    filter: Option<RowFilter<'_>>,
) -> Result<IndexPage> {
    let mut after = page.after.as_deref().map(cursor::decode).transpose()?;
    let wanted = page.first.saturating_add(1);
    let mut rows = Vec::new();
    while rows.len() < wanted {
        let needed = wanted - rows.len();
        let limit = match filter {
            Some(_) => needed.clamp(FILTERED_SCAN_ROWS, MAX_SCAN_ROWS),
            None => needed.min(MAX_SCAN_ROWS),
        };
        let scan = store.scan(table, partition, after.as_deref(), limit).await;
        let scan = super::no_rows_if_missing(scan, ScanPage::default)?;
        // The store may return fewer rows than asked; only a missing `next` means the end.
        let exhausted = scan.next.is_none() || scan.rows.is_empty();
        for (key, value) in scan.rows {
            after = Some(key.clone());
            if filter.map_or(Ok(true), |keep| keep(&value))? {
                rows.push((key, value));
                if rows.len() == wanted {
                    break;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let has_next_page = rows.len() > page.first;
    rows.truncate(page.first);
    Ok(IndexPage { rows, has_next_page })
}
