//! The products projection: products by id, the listings of live products (all, and per
//! category) and the per-category product count, which moves with the listings.

use bytes::Bytes;
use nagare_infra::RowKey;
use nagare_schemas::events::{Event, ProductEvent};

use super::envelope::EventEnvelope;
use super::staged::StagedWrites;
use super::{Outcome, Step};
use crate::Result;
use crate::read_models::rows::ProductRow;
use crate::read_models::tables::{
    self, ALL, CATEGORY_PRODUCT_COUNTS, Order, PRODUCT_LISTING, PRODUCTS, PRODUCTS_BY_CATEGORY,
};

pub(crate) const TABLES: &[&str] =
    &[PRODUCTS, PRODUCTS_BY_CATEGORY, PRODUCT_LISTING, CATEGORY_PRODUCT_COUNTS];

pub(crate) async fn apply(
    staged: &mut StagedWrites<'_>,
    envelope: &EventEnvelope,
) -> Result<Outcome> {
    let Event::Product(event) = &envelope.event else { return Ok(Outcome::NotOurs) };
    let Some(id) = tables::entity_bytes(envelope.event.aggregate_id()) else {
        return Ok(Outcome::NotOurs);
    };
    let key = tables::by_id(&id);
    let current: Option<ProductRow> = staged.get(PRODUCTS, &key).await?;
    let next = match evolve(current.as_ref(), envelope, event) {
        Step::Apply(next) => next,
        Step::Skip(outcome) => return Ok(outcome),
    };
    let before = current.as_ref().and_then(|row| Listed::of(row, &id, envelope.partition));
    let after = Listed::of(&next, &id, envelope.partition);
    if before != after {
        if let Some(old) = before {
            old.remove(staged).await?;
        }
        if let Some(new) = after {
            new.add(staged).await?;
        }
    }
    staged.put(PRODUCTS, key, &next)?;
    Ok(Outcome::Applied)
}

/// Where a live product is listed: the all-products listing, and its category's listing and
/// count (the row of the product's events partition) when the category id is a valid id.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    category: Option<[u8; 16]>,
    clustering: Bytes,
    events_partition: u32,
}

impl Listed {
    fn of(row: &ProductRow, id: &[u8; 16], events_partition: u32) -> Option<Self> {
        (!row.deleted).then(|| Listed {
            category: tables::entity_bytes(&row.category_id),
            clustering: tables::listing_key(row.created_at_ms, id, Order::OldestFirst),
            events_partition,
        })
    }

    fn count_row(&self, category: &[u8; 16]) -> RowKey {
        tables::count_key(category, self.events_partition)
    }

    fn all_products_row(&self) -> RowKey {
        RowKey { partition: Bytes::from_static(ALL), clustering: self.clustering.clone() }
    }

    fn category_row(&self, category: &[u8; 16]) -> RowKey {
        RowKey { partition: Bytes::copy_from_slice(category), clustering: self.clustering.clone() }
    }

    async fn add(&self, staged: &mut StagedWrites<'_>) -> Result<()> {
        staged.put(PRODUCT_LISTING, self.all_products_row(), &())?;
        if let Some(category) = &self.category {
            staged.put(PRODUCTS_BY_CATEGORY, self.category_row(category), &())?;
            staged.add_to_count(CATEGORY_PRODUCT_COUNTS, self.count_row(category), 1).await?;
        }
        Ok(())
    }

    async fn remove(&self, staged: &mut StagedWrites<'_>) -> Result<()> {
        staged.delete(PRODUCT_LISTING, self.all_products_row());
        if let Some(category) = &self.category {
            staged.delete(PRODUCTS_BY_CATEGORY, self.category_row(category));
            staged.add_to_count(CATEGORY_PRODUCT_COUNTS, self.count_row(category), -1).await?;
        }
        Ok(())
    }
}

/// The row after the event, unless the event is stale or has nothing to apply to.
fn evolve(
    current: Option<&ProductRow>,
    envelope: &EventEnvelope,
    event: &ProductEvent,
) -> Step<ProductRow> {
    if current.is_some_and(|row| row.version >= envelope.version) {
        return Step::Skip(Outcome::Stale);
    }
    let (version, at) = (envelope.version, envelope.timestamp_ms);
    if let ProductEvent::Created(created) = event {
        return Step::Apply(ProductRow {
            id: created.product_id.clone(),
            category_id: created.category_id.clone(),
            name: created.name.clone(),
            description: created.description.clone(),
            price: created.price,
            stock: created.initial_stock,
            reserved: 0,
            deleted: false,
            version,
            created_at_ms: at,
            updated_at_ms: at,
        });
    }
    let Some(mut row) = current.cloned() else { return Step::Skip(Outcome::Orphan) };
    // A rejected reservation changes nothing about the product but still advances its version.
    let mut changed = true;
    match event {
        ProductEvent::Created(_) => {}
        ProductEvent::Updated(updated) => {
            row.category_id = updated.category_id.clone();
            row.name = updated.name.clone();
            row.description = updated.description.clone();
        }
        ProductEvent::PriceChanged(price) => row.price = price.price,
        ProductEvent::Deleted(_) => row.deleted = true,
        ProductEvent::StockAdded(added) => row.stock = added.stock,
        ProductEvent::StockReserved(reserved) => {
            row.stock = reserved.stock;
            row.reserved = reserved.reserved;
        }
        ProductEvent::StockReleased(released) => {
            row.stock = released.stock;
            row.reserved = released.reserved;
        }
        ProductEvent::StockReservationRejected(_) => changed = false,
    }
    row.version = version;
    if changed {
        row.updated_at_ms = at;
    }
    Step::Apply(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nagare_schemas::events::{
        ProductCreated, ProductDeleted, ProductPriceChanged, ProductUpdated, StockAdded,
        StockReservationRejected, StockReserved,
    };

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";
    const TEA: &str = "01890a5d-ac96-774b-bcce-000000000001";
    const COFFEE: &str = "01890a5d-ac96-774b-bcce-000000000002";

    fn fold(events: Vec<ProductEvent>) -> (ProductRow, Vec<Outcome>) {
        let mut row: Option<ProductRow> = None;
        let mut outcomes = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            let version = i64::try_from(i).unwrap() + 1;
            let env = EventEnvelope {
                event: Event::Product(event.clone()),
                version,
                timestamp_ms: version * 100,
                partition: 0,
            };
            match evolve(row.as_ref(), &env, &event) {
                Step::Apply(next) => {
                    row = Some(next);
                    outcomes.push(Outcome::Applied);
                }
                Step::Skip(outcome) => outcomes.push(outcome),
            }
        }
        (row.unwrap(), outcomes)
    }

    fn created() -> ProductEvent {
        ProductEvent::Created(ProductCreated {
            product_id: ID.into(),
            category_id: TEA.into(),
            name: "Sencha".into(),
            description: None,
            price: 1200,
            initial_stock: 5,
        })
    }

    #[test]
    fn every_event_lands_in_the_row() {
        let (row, outcomes) = fold(vec![
            created(),
            ProductEvent::Updated(ProductUpdated {
                product_id: ID.into(),
                category_id: COFFEE.into(),
                previous_category_id: TEA.into(),
                name: "Kona".into(),
                description: Some("beans".into()),
            }),
            ProductEvent::PriceChanged(ProductPriceChanged {
                product_id: ID.into(),
                previous_price: 1200,
                price: 1500,
            }),
            ProductEvent::StockAdded(StockAdded { product_id: ID.into(), quantity: 3, stock: 8 }),
            ProductEvent::StockReserved(StockReserved {
                product_id: ID.into(),
                order_id: "o".into(),
                quantity: 2,
                stock: 6,
                reserved: 2,
            }),
            ProductEvent::StockReservationRejected(StockReservationRejected {
                product_id: ID.into(),
                order_id: "o2".into(),
                requested: 9,
                available: 6,
                reason: "not enough".into(),
            }),
        ]);
        assert!(outcomes.iter().all(|o| *o == Outcome::Applied));
        assert_eq!((row.category_id.as_str(), row.name.as_str()), (COFFEE, "Kona"));
        assert_eq!((row.price, row.stock, row.reserved), (1500, 6, 2));
        assert_eq!((row.version, row.created_at_ms, row.updated_at_ms), (6, 100, 500));
    }

    #[test]
    fn a_deleted_product_leaves_its_listings() {
        let deleted = ProductEvent::Deleted(ProductDeleted {
            product_id: ID.into(),
            category_id: TEA.into(),
        });
        let (row, _) = fold(vec![created(), deleted]);
        assert!(row.deleted);
        assert_eq!(Listed::of(&row, &[1; 16], 0), None);
    }

    #[test]
    fn a_move_changes_the_listed_category_but_not_the_order() {
        let (row, _) = fold(vec![created()]);
        let mut moved = row.clone();
        moved.category_id = COFFEE.into();
        let (before, after) = (Listed::of(&row, &[1; 16], 0), Listed::of(&moved, &[1; 16], 0));
        assert_ne!(before, after);
        assert_eq!(before.map(|l| l.clustering), after.map(|l| l.clustering));
    }
}
