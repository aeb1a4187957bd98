//! Read-model queries: what the gateway asks of the store.
//!
//! Lookups by id read the by-id tables; listings read a page of index rows from the table that
//! serves the query (see [`tables`]) and then the views by id with one `get_many`.

pub mod views;

#[cfg(test)]
mod count_tests;
mod cursor;
mod paging;
pub(crate) mod rows;
pub(crate) mod tables;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use nagare_infra::{ReadStore, RowKey};

use crate::Result;
use paging::{IndexPage, RowFilter, scan_listing};
use rows::{CategoryRow, CustomerOrderEntry, OrderRow, ProductRow};
use tables::Order;
use views::{CategoryView, OrderStatus, OrderView, Page, PageRequest, ProductView};

/// Count rows read per store call when summing a category's product count: one per events
/// partition, so one call covers any common partition count.
const COUNT_ROWS_PER_SCAN: usize = 256;

/// Every read-model table, for operators and rebuilds (which truncate them and replay).
pub const TABLES: &[&str] = &[
    tables::CATEGORIES,
    tables::CATEGORY_LISTING,
    tables::CATEGORY_PRODUCT_COUNTS,
    tables::PRODUCTS,
    tables::PRODUCTS_BY_CATEGORY,
    tables::PRODUCT_LISTING,
    tables::ORDERS,
    tables::ORDERS_BY_CUSTOMER,
    tables::ORDER_LISTING,
    tables::ORDERS_BY_STATUS,
];

/// The queries over the read models. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReadModels {
    store: Arc<dyn ReadStore>,
}

impl ReadModels {
    pub fn new(store: Arc<dyn ReadStore>) -> Self {
        Self { store }
    }

    /// A live category; `None` for unknown, deleted or malformed ids.
    pub async fn category(&self, id: &str) -> Result<Option<CategoryView>> {
        let Some(id) = tables::entity_bytes(id) else { return Ok(None) };
        Ok(self.load_categories(&[id]).await?.pop().flatten())
    }

    /// Categories by id, for DataLoaders; missing ids are absent from the map.
    pub async fn categories_by_id(&self, ids: &[String]) -> Result<HashMap<String, CategoryView>> {
        let (asked, keys) = parse_ids(ids);
        let found = self.load_categories(&keys).await?;
        Ok(keyed_by_asked_id(asked, found))
    }

    /// All categories, oldest first.
    pub async fn categories(&self, page: PageRequest) -> Result<Page<CategoryView>> {
        let index = self.listing(tables::CATEGORY_LISTING, tables::ALL, &page, None).await?;
        let ids = listed_ids(&index, Order::OldestFirst);
        let views = self.load_categories(&ids).await?;
        Ok(into_page(index, views))
    }

    /// A product, deleted ones included (they carry `deleted: true`).
    pub async fn product(&self, id: &str) -> Result<Option<ProductView>> {
        let Some(id) = tables::entity_bytes(id) else { return Ok(None) };
        Ok(self.load_products(&[id]).await?.pop().flatten())
    }

    /// Products by id, for DataLoaders; missing ids are absent from the map.
    pub async fn products_by_id(&self, ids: &[String]) -> Result<HashMap<String, ProductView>> {
        let (asked, keys) = parse_ids(ids);
        let found = self.load_products(&keys).await?;
        Ok(keyed_by_asked_id(asked, found))
    }

    /// Live products, oldest first; only those of one category when `category_id` is given.
    pub async fn products(
        &self,
        category_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ProductView>> {
        let index = match category_id {
            None => self.listing(tables::PRODUCT_LISTING, tables::ALL, &page, None).await?,
            Some(category_id) => {
                let Some(category) = tables::entity_bytes(category_id) else {
                    // Check the cursor all the same: a bad one is an error whatever the filter.
                    return empty_page(&page);
                };
                self.listing(tables::PRODUCTS_BY_CATEGORY, &category, &page, None).await?
            }
        };
        let ids = listed_ids(&index, Order::OldestFirst);
        let views = self.load_products(&ids).await?;
        Ok(into_page(index, views))
    }

    pub async fn order(&self, id: &str) -> Result<Option<OrderView>> {
        let Some(id) = tables::entity_bytes(id) else { return Ok(None) };
        Ok(self.load_orders(&[id]).await?.pop().flatten())
    }

    /// Orders, newest first, filtered by customer and/or status. With both filters the
    /// customer's listing is scanned and its rows filtered by the status they carry.
    pub async fn orders(
        &self,
        customer_id: Option<&str>,
        status: Option<OrderStatus>,
        page: PageRequest,
    ) -> Result<Page<OrderView>> {
        let index = match (customer_id, status) {
            (None, None) => self.listing(tables::ORDER_LISTING, tables::ALL, &page, None).await?,
            (None, Some(status)) => {
                let partition = tables::status_partition(status);
                self.listing(tables::ORDERS_BY_STATUS, &partition, &page, None).await?
            }
            (Some(customer), None) => {
                let partition = tables::customer_partition(customer);
                self.listing(tables::ORDERS_BY_CUSTOMER, &partition, &page, None).await?
            }
            (Some(customer), Some(status)) => {
                let partition = tables::customer_partition(customer);
                let has_status = move |value: &[u8]| -> Result<bool> {
                    let entry: CustomerOrderEntry =
                        rows::decode(tables::ORDERS_BY_CUSTOMER, value)?;
                    Ok(entry.status == status)
                };
                let filter: RowFilter<'_> = &has_status;
                self.listing(tables::ORDERS_BY_CUSTOMER, &partition, &page, Some(filter)).await?
            }
        };
        let ids = listed_ids(&index, Order::NewestFirst);
        let views = self.load_orders(&ids).await?;
        Ok(into_page(index, views))
    }

    async fn listing(
        &self,
        table: &str,
        partition: &[u8],
        page: &PageRequest,
        filter: Option<RowFilter<'_>>,
    ) -> Result<IndexPage> {
        scan_listing(self.store.as_ref(), table, partition, page, filter).await
    }

    async fn get_many(&self, table: &str, keys: &[RowKey]) -> Result<Vec<Option<Bytes>>> {
        let rows = self.store.get_many(table, keys).await;
        no_rows_if_missing(rows, || vec![None; keys.len()])
    }

    /// Live categories with their product counts, in the order of `ids`.
    async fn load_categories(&self, ids: &[[u8; 16]]) -> Result<Vec<Option<CategoryView>>> {
        let keys: Vec<RowKey> = ids.iter().map(tables::by_id).collect();
        let rows = self.get_many(tables::CATEGORIES, &keys).await?;
        let live: Vec<Option<CategoryRow>> = rows
            .into_iter()
            .map(|row| {
                let row = decode_opt::<CategoryRow>(tables::CATEGORIES, row)?;
                Ok(row.filter(|row| !row.deleted))
            })
            .collect::<Result<_>>()?;
        // Counts are read only for the categories shown.
        let views = live.into_iter().zip(ids).map(|(row, id)| async move {
            let Some(row) = row else { return Ok(None) };
            Ok(Some(row.into_view(self.product_count(id).await?)))
        });
        futures::future::try_join_all(views).await
    }

    /// A category's live products: the sum of its count rows, one per events partition
    /// (`tables::count_key`).
    async fn product_count(&self, category: &[u8; 16]) -> Result<i64> {
        let mut total = 0_i64;
        let mut after: Option<Bytes> = None;
        loop {
            let scan = self.store.scan(
                tables::CATEGORY_PRODUCT_COUNTS,
                category,
                after.as_deref(),
                COUNT_ROWS_PER_SCAN,
            );
            let page = no_rows_if_missing(scan.await, Default::default)?;
            for (_, value) in &page.rows {
                let count: i64 = rows::decode(tables::CATEGORY_PRODUCT_COUNTS, value)?;
                total = total.saturating_add(count);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(total.max(0))
    }

    async fn load_products(&self, ids: &[[u8; 16]]) -> Result<Vec<Option<ProductView>>> {
        let keys: Vec<RowKey> = ids.iter().map(tables::by_id).collect();
        let rows = self.get_many(tables::PRODUCTS, &keys).await?;
        rows.into_iter()
            .map(|row| Ok(decode_opt::<ProductRow>(tables::PRODUCTS, row)?.map(ProductView::from)))
            .collect()
    }

    async fn load_orders(&self, ids: &[[u8; 16]]) -> Result<Vec<Option<OrderView>>> {
        let keys: Vec<RowKey> = ids.iter().map(tables::by_id).collect();
        let rows = self.get_many(tables::ORDERS, &keys).await?;
        rows.into_iter()
            .map(|row| Ok(decode_opt::<OrderRow>(tables::ORDERS, row)?.map(OrderView::from)))
            .collect()
    }
}

/// A table the projections have not created yet holds no rows: a query served before they
/// start answers empty rather than failing.
pub(crate) fn no_rows_if_missing<T>(
    result: nagare_infra::Result<T>,
    empty: impl FnOnce() -> T,
) -> Result<T> {
    match result {
        Err(nagare_infra::Error::UnknownTable(_)) => Ok(empty()),
        other => Ok(other?),
    }
}

fn decode_opt<T: serde::de::DeserializeOwned>(
    table: &str,
    row: Option<Bytes>,
) -> Result<Option<T>> {
    row.map(|bytes| rows::decode(table, &bytes)).transpose()
}

/// The ids that parse, each with the text it was asked by (malformed ids cannot exist).
fn parse_ids(ids: &[String]) -> (Vec<&String>, Vec<[u8; 16]>) {
    ids.iter().filter_map(|id| Some((id, tables::entity_bytes(id)?))).unzip()
}

fn keyed_by_asked_id<T>(asked: Vec<&String>, found: Vec<Option<T>>) -> HashMap<String, T> {
    asked.into_iter().zip(found).filter_map(|(id, view)| Some((id.clone(), view?))).collect()
}

fn listed_ids(index: &IndexPage, order: Order) -> Vec<[u8; 16]> {
    index.rows.iter().filter_map(|(key, _)| tables::id_of_listing_key(key, order)).collect()
}

/// Pairs index rows with their views. Index rows and entity rows are written in one batch, so
/// a row without its entity cannot normally occur; one that does is left out of the page.
fn into_page<T>(index: IndexPage, views: Vec<Option<T>>) -> Page<T> {
    let keys = index.rows.iter().filter(|(key, _)| key.len() == tables::LISTING_KEY_LEN);
    let items =
        keys.zip(views).filter_map(|((key, _), view)| Some((cursor::encode(key), view?))).collect();
    Page { items, has_next_page: index.has_next_page }
}

fn empty_page<T>(page: &PageRequest) -> Result<Page<T>> {
    if let Some(after) = &page.after {
        cursor::decode(after)?;
    }
    Ok(Page { items: Vec::new(), has_next_page: false })
}
