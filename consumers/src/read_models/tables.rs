//! The read-model tables and how their rows are addressed.
//!
//! Each table serves one query, as one designs for ScyllaDB: the partition key is what the query
//! names (an id, a category, a customer, a status), the clustering key gives the listing order.
//! Listing tables hold index rows only; the query reads a page of them, then fetches the views
//! from the by-id table with one `get_many`, so a change to an entity rewrites one row, not one
//! copy per listing.
//!
//! Listings cluster by creation time (milliseconds, order-preserving) followed by the id bytes,
//! not by the id alone: ids derived from a client's idempotency key are UUIDv5 and carry no time.
//!
//! The all-items and per-status listings are single partitions. On ScyllaDB that is a hot
//! partition under heavy writes and grows without bound; bucketing them (by day, say) adds a
//! component to the partition key and is left until a deployment needs it.

use bytes::{BufMut, Bytes, BytesMut};
use nagare_infra::RowKey;
use uuid::Uuid;

use super::views::OrderStatus;

/// Categories by id (partition: category id; clustering: empty).
pub(crate) const CATEGORIES: &str = "rm_categories";
/// Every live category, oldest first (partition: [`ALL`]; clustering: [`listing_key`]).
pub(crate) const CATEGORY_LISTING: &str = "rm_category_listing";
/// Live products per category, one row per events partition (partition: category id;
/// clustering: [`count_key`]); a category's count is the sum of its rows. Owned by the
/// products projection, which sees the events that change it; category rows never carry it.
pub(crate) const CATEGORY_PRODUCT_COUNTS: &str = "rm_category_product_counts";
/// Products by id, deleted ones included (partition: product id; clustering: empty).
pub(crate) const PRODUCTS: &str = "rm_products";
/// Live products of one category, oldest first (partition: category id).
pub(crate) const PRODUCTS_BY_CATEGORY: &str = "rm_products_by_category";
/// Every live product, oldest first (partition: [`ALL`]).
pub(crate) const PRODUCT_LISTING: &str = "rm_product_listing";
/// Orders by id (partition: order id; clustering: empty).
pub(crate) const ORDERS: &str = "rm_orders";
/// A customer's orders, newest first (partition: [`customer_partition`]); the value holds the
/// order's status so a status filter needs no second read.
pub(crate) const ORDERS_BY_CUSTOMER: &str = "rm_orders_by_customer";
/// Every order, newest first (partition: [`ALL`]).
pub(crate) const ORDER_LISTING: &str = "rm_order_listing";
/// Orders per status, newest first (partition: [`status_partition`]).
pub(crate) const ORDERS_BY_STATUS: &str = "rm_orders_by_status";

/// The partition key of the single-partition listings.
pub(crate) const ALL: &[u8] = b"all";

/// Length of a listing clustering key: 8 bytes of time, 16 of id.
pub(crate) const LISTING_KEY_LEN: usize = 24;

/// The 16 bytes of an entity id, or `None` when the text is not a UUID.
pub(crate) fn entity_bytes(id: &str) -> Option<[u8; 16]> {
    Uuid::parse_str(id).ok().map(|uuid| *uuid.as_bytes())
}

/// The address of a row in a by-id table.
pub(crate) fn by_id(id: &[u8; 16]) -> RowKey {
    RowKey { partition: Bytes::copy_from_slice(id), clustering: Bytes::new() }
}

/// The address of a category's product-count row for the products of one events partition.
///
/// Products of a category live in every partition, and each partition may be applied by a
/// different member of the projection's group (another task, or another process on a shared
/// store). With one row per partition every row has a single writer, so no two members ever
/// read-modify-write the same row and lose each other's changes; the query sums them. Releases
/// before this layout kept one row with an empty clustering key; it is summed too, and the
/// per-partition rows count from zero the changes made after it, so an upgraded store needs no
/// rebuild (a per-partition row may then go below zero; the sum does not).
pub(crate) fn count_key(category: &[u8; 16], events_partition: u32) -> RowKey {
    RowKey {
        partition: Bytes::copy_from_slice(category),
        clustering: Bytes::copy_from_slice(&events_partition.to_be_bytes()),
    }
}

/// Which way a listing runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    OldestFirst,
    NewestFirst,
}

/// The clustering key of a listing row: creation time then id, every byte inverted for a
/// newest-first listing so that the store's ascending scan yields the newest row first.
pub(crate) fn listing_key(created_at_ms: i64, id: &[u8; 16], order: Order) -> Bytes {
    // Flipping the sign bit maps i64 onto u64 preserving order, so big-endian bytes sort right.
    let time = (created_at_ms as u64) ^ (1 << 63);
    let mut key = BytesMut::with_capacity(LISTING_KEY_LEN);
    key.put_u64(time);
    key.put_slice(id);
    if order == Order::NewestFirst {
        key.iter_mut().for_each(|byte| *byte = !*byte);
    }
    key.freeze()
}

/// The entity id inside a listing key (the inverse of [`listing_key`]).
pub(crate) fn id_of_listing_key(key: &[u8], order: Order) -> Option<[u8; 16]> {
    if key.len() != LISTING_KEY_LEN {
        return None;
    }
    let tail: [u8; 16] = key.get(8..)?.try_into().ok()?;
    Some(match order {
        Order::OldestFirst => tail,
        Order::NewestFirst => tail.map(|byte| !byte),
    })
}

/// A customer's partition. Customer ids are UUIDs in practice, stored as their 16 bytes so
/// that any spelling of the same UUID finds the same orders; any other text is kept as UTF-8,
/// behind a different tag byte so the two kinds can never collide.
pub(crate) fn customer_partition(customer_id: &str) -> Bytes {
    let mut key = BytesMut::with_capacity(17);
    match entity_bytes(customer_id) {
        Some(bytes) => {
            key.put_u8(b'u');
            key.put_slice(&bytes);
        }
        None => {
            key.put_u8(b's');
            key.put_slice(customer_id.as_bytes());
        }
    }
    key.freeze()
}

/// A status's partition: its API name.
pub(crate) fn status_partition(status: OrderStatus) -> Bytes {
    Bytes::from_static(status.as_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    #[test]
    fn entity_ids_parse_whatever_their_case() {
        assert_eq!(entity_bytes(&ID.to_uppercase()), entity_bytes(ID));
        assert_eq!(entity_bytes(ID).map(|b| b[0]), Some(0x01));
        assert_eq!(entity_bytes("not-a-uuid"), None);
    }

    #[test]
    fn customer_partitions_do_not_depend_on_spelling_and_do_not_collide() {
        assert_eq!(customer_partition(ID), customer_partition(&ID.to_uppercase()));
        let raw = String::from_utf8_lossy(&customer_partition(ID)[1..]).into_owned();
        assert_ne!(customer_partition(ID), customer_partition(&raw));
    }

    proptest! {
        #[test]
        fn listing_keys_sort_like_time_then_id(
            a in (any::<i64>(), any::<[u8; 16]>()),
            b in (any::<i64>(), any::<[u8; 16]>()),
        ) {
            let oldest = (listing_key(a.0, &a.1, Order::OldestFirst), listing_key(b.0, &b.1, Order::OldestFirst));
            let newest = (listing_key(a.0, &a.1, Order::NewestFirst), listing_key(b.0, &b.1, Order::NewestFirst));
            prop_assert_eq!(oldest.0.cmp(&oldest.1), a.cmp(&b));
            prop_assert_eq!(newest.0.cmp(&newest.1), b.cmp(&a));
            prop_assert_eq!(id_of_listing_key(&oldest.0, Order::OldestFirst), Some(a.1));
            prop_assert_eq!(id_of_listing_key(&newest.0, Order::NewestFirst), Some(a.1));
        }
    }
}
