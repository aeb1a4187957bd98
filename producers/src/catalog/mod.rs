//! The catalog: what the command processor knows about every category and product, whichever
//! partition they live on. An aggregate sees only its own events, yet some rules span
//! aggregates — a product's category must exist, a category with live products cannot be
//! deleted, an order captures each product's current name and price — so the processor feeds
//! this view from *all* partitions of the category and product events topics (see [`feed`]).
//!
//! Applying is idempotent by aggregate version: an event whose version is not newer than what
//! the catalog holds for that aggregate is ignored. That lets the processor apply the events it
//! has just decided (so the next command of the same batch sees them) and later read the same
//! events back from the log without counting them twice.

pub mod feed;

pub use feed::CatalogFeed;

use std::collections::HashMap;

use nagare_schemas::events::{CategoryEvent, Event, ProductEvent};

/// What other aggregates may ask about a category.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CategoryFacts {
    /// The version of the last event applied (0: none yet, only counted products).
    pub version: u64,
    pub name: String,
    pub deleted: bool,
    /// Products in this category that are not deleted.
    pub live_products: u32,
}

impl CategoryFacts {
    pub fn is_live(&self) -> bool {
        self.version > 0 && !self.deleted
    }
}

/// What other aggregates may ask about a product.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductFacts {
    pub version: u64,
    pub category_id: String,
    pub name: String,
    /// Yen.
    pub price: i64,
    pub deleted: bool,
}

impl ProductFacts {
    pub fn is_live(&self) -> bool {
        self.version > 0 && !self.deleted
    }
}

/// Every category and product, as far as the events applied so far tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    categories: HashMap<String, CategoryFacts>,
    products: HashMap<String, ProductFacts>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The category, if it was ever seen (possibly deleted).
    pub fn category(&self, id: &str) -> Option<&CategoryFacts> {
        self.categories.get(id)
    }

    /// The category if it exists and is not deleted.
    pub fn live_category(&self, id: &str) -> Option<&CategoryFacts> {
        self.categories.get(id).filter(|c| c.is_live())
    }

    /// The product, if it was ever created (possibly deleted).
    pub fn product(&self, id: &str) -> Option<&ProductFacts> {
        self.products.get(id).filter(|p| p.version > 0)
    }

    /// Applies an event that leaves its aggregate at `version`. Returns false when the event
    /// was not newer than what the catalog holds (or is not a catalog event) and was ignored.
    pub fn apply(&mut self, event: &Event, version: u64) -> bool {
        match event {
            Event::Category(e) => self.apply_category(e, version),
            Event::Product(e) => self.apply_product(e, version),
            Event::Order(_) => false,
        }
    }

    fn apply_category(&mut self, event: &CategoryEvent, version: u64) -> bool {
        let id = event.category_id();
        let facts = self.categories.entry(id.to_owned()).or_default();
        if version <= facts.version {
            return false;
        }
        facts.version = version;
        match event {
            CategoryEvent::Created(e) => facts.name.clone_from(&e.name),
            CategoryEvent::Updated(e) => facts.name.clone_from(&e.name),
            CategoryEvent::Deleted(_) => facts.deleted = true,
        }
        true
    }

    fn apply_product(&mut self, event: &ProductEvent, version: u64) -> bool {
        let id = event.product_id();
        let facts = self.products.entry(id.to_owned()).or_default();
        if version <= facts.version {
            return false;
        }
        facts.version = version;
        // Category membership changes are collected and counted after the product is updated.
        let mut moved: Option<(Option<String>, Option<String>)> = None;
        match event {
            ProductEvent::Created(e) => {
                facts.category_id.clone_from(&e.category_id);
                facts.name.clone_from(&e.name);
                facts.price = e.price;
                moved = Some((None, Some(e.category_id.clone())));
            }
            ProductEvent::Updated(e) => {
                facts.name.clone_from(&e.name);
                if facts.category_id != e.category_id && !facts.deleted {
                    moved = Some((Some(facts.category_id.clone()), Some(e.category_id.clone())));
                }
                facts.category_id.clone_from(&e.category_id);
            }
            ProductEvent::PriceChanged(e) => facts.price = e.price,
            ProductEvent::Deleted(_) => {
                if !facts.deleted {
                    moved = Some((Some(facts.category_id.clone()), None));
                }
                facts.deleted = true;
            }
            ProductEvent::StockAdded(_)
            | ProductEvent::StockReserved(_)
            | ProductEvent::StockReservationRejected(_)
            | ProductEvent::StockReleased(_) => {}
        }
        if let Some((from, to)) = moved {
            if let Some(from) = from {
                let category = self.categories.entry(from).or_default();
                category.live_products = category.live_products.saturating_sub(1);
            }
            if let Some(to) = to {
                let category = self.categories.entry(to).or_default();
                category.live_products = category.live_products.saturating_add(1);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use nagare_schemas::events::{
        CategoryCreated, ProductCreated, ProductDeleted, ProductPriceChanged, ProductUpdated,
    };

    use super::*;

    fn category(id: &str) -> Event {
        Event::Category(CategoryEvent::Created(CategoryCreated {
            category_id: id.into(),
            name: id.into(),
            description: None,
        }))
    }

    fn product(id: &str, category: &str) -> Event {
        Event::Product(ProductEvent::Created(ProductCreated {
            product_id: id.into(),
            category_id: category.into(),
            name: "Sencha".into(),
            description: None,
            price: 500,
            initial_stock: 0,
        }))
    }

    #[test]
    fn counts_live_products_even_when_products_arrive_before_their_category() {
        let mut catalog = Catalog::new();
        assert!(catalog.apply(&product("p1", "c1"), 1));
        assert!(catalog.live_category("c1").is_none());
        assert!(catalog.apply(&category("c1"), 1));
        assert_eq!(catalog.live_category("c1").map(|c| c.live_products), Some(1));
    }

    #[test]
    fn moving_and_deleting_products_adjusts_the_counts() {
        let mut catalog = Catalog::new();
        catalog.apply(&category("c1"), 1);
        catalog.apply(&category("c2"), 1);
        catalog.apply(&product("p1", "c1"), 1);
        let moved = Event::Product(ProductEvent::Updated(ProductUpdated {
            product_id: "p1".into(),
            category_id: "c2".into(),
            previous_category_id: "c1".into(),
            name: "Gyokuro".into(),
            description: None,
        }));
        catalog.apply(&moved, 2);
        assert_eq!(catalog.category("c1").map(|c| c.live_products), Some(0));
        assert_eq!(catalog.category("c2").map(|c| c.live_products), Some(1));
        let deleted = Event::Product(ProductEvent::Deleted(ProductDeleted {
            product_id: "p1".into(),
            category_id: "c2".into(),
        }));
        catalog.apply(&deleted, 3);
        assert_eq!(catalog.category("c2").map(|c| c.live_products), Some(0));
        assert_eq!(
            catalog.product("p1").map(|p| (p.deleted, p.name.as_str())),
            Some((true, "Gyokuro"))
        );
    }

    #[test]
    fn an_event_applied_twice_counts_once() {
        let mut catalog = Catalog::new();
        catalog.apply(&category("c1"), 1);
        assert!(catalog.apply(&product("p1", "c1"), 1));
        assert!(!catalog.apply(&product("p1", "c1"), 1));
        let price = Event::Product(ProductEvent::PriceChanged(ProductPriceChanged {
            product_id: "p1".into(),
            previous_price: 500,
            price: 700,
        }));
        assert!(catalog.apply(&price, 2));
        assert!(!catalog.apply(&price, 2));
        assert_eq!(catalog.category("c1").map(|c| c.live_products), Some(1));
        assert_eq!(catalog.product("p1").map(|p| p.price), Some(700));
    }
}
