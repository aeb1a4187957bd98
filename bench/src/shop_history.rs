//! A shop's event history, generated: the records the command processor would have written for
//! a catalog that grows, is restocked and repriced, and takes orders. The projection scenarios
//! read it from a pre-filled log, so they measure the projections, not the processor.
//!
//! The mix (after the categories and products are created): half restocks, a fifth price
//! changes, a tenth renames, a fifth orders of two lines. Every event carries the headers the
//! processor writes, is keyed by its aggregate id (so it lands in murmur2(key) mod N), and
//! versions grow by one per aggregate in log order, as they do in a real log.

use bytes::Bytes;
use nagare_infra::{OutgoingRecord, Record};
use nagare_schemas::codec;
use nagare_schemas::events::{
    CategoryCreated, CategoryEvent, Event, OrderCreated, OrderEvent, OrderLine, ProductCreated,
    ProductEvent, ProductPriceChanged, ProductUpdated, StockAdded,
};
use nagare_schemas::metadata;
use nagare_schemas::topics::Topics;
use uuid::Uuid;

/// Categories per this many events (at least one, at most `MAX_CATEGORIES`).
const EVENTS_PER_CATEGORY: u64 = 10_000;
const MAX_CATEGORIES: u64 = 1_000;
/// One product is created per this many events.
const EVENTS_PER_PRODUCT: u64 = 5;

/// Generates `total` events in log order, one batch at a time.
#[derive(Debug)]
pub(crate) struct ShopHistory {
    topics: Topics,
    total: u64,
    next: u64,
    categories: u64,
    products: Vec<ProductState>,
    product_count: u64,
    timestamp_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct ProductState {
    version: u64,
    stock: i32,
    price: i64,
}

impl ShopHistory {
    pub(crate) fn new(topics: Topics, total: u64, timestamp_ms: i64) -> Self {
        let categories = (total / EVENTS_PER_CATEGORY).clamp(1, MAX_CATEGORIES).min(total);
        let product_count = (total / EVENTS_PER_PRODUCT).max(1).min(total - categories);
        Self {
            topics,
            total,
            next: 0,
            categories,
            products: Vec::with_capacity(product_count as usize),
            product_count,
            timestamp_ms,
        }
    }

    /// The next `max` records (fewer at the end; none once all are generated).
    pub(crate) fn next_batch(&mut self, max: usize) -> Vec<OutgoingRecord> {
        let mut batch = Vec::with_capacity(max);
        while batch.len() < max && self.next < self.total {
            let index = self.next;
            self.next += 1;
            let (event, version) = self.event(index);
            batch.push(self.record(&event, version, index));
        }
        batch
    }

    fn event(&mut self, index: u64) -> (Event, u64) {
        if index < self.categories {
            let event = CategoryEvent::Created(CategoryCreated {
                category_id: category_id(index),
                name: format!("Category {index}"),
                description: Some("generated for a benchmark".into()),
            });
            return (Event::Category(event), 1);
        }
        let created = index - self.categories;
        if created < self.product_count {
            self.products.push(ProductState { version: 1, stock: 100, price: 1_000 });
            let event = ProductEvent::Created(ProductCreated {
                product_id: product_id(created),
                category_id: category_id(created % self.categories),
                name: format!("Product {created}"),
                description: None,
                price: 1_000,
                initial_stock: 100,
            });
            return (Event::Product(event), 1);
        }
        // A product chosen by a stride coprime with most counts, so updates spread out.
        let n = created.wrapping_mul(7_919) % self.product_count;
        let product = &mut self.products[n as usize];
        let event = match index % 10 {
            0..=4 => {
                product.stock = product.stock.saturating_add(1);
                ProductEvent::StockAdded(StockAdded {
                    product_id: product_id(n),
                    quantity: 1,
                    stock: product.stock,
                })
            }
            5 | 6 => {
                let previous_price = product.price;
                product.price = 500 + (index % 1_000) as i64;
                ProductEvent::PriceChanged(ProductPriceChanged {
                    product_id: product_id(n),
                    previous_price,
                    price: product.price,
                })
            }
            7 => {
                let category = category_id(n % self.categories);
                ProductEvent::Updated(ProductUpdated {
                    product_id: product_id(n),
                    category_id: category.clone(),
                    previous_category_id: category,
                    name: format!("Product {n} (v{})", product.version + 1),
                    description: Some("renamed".into()),
                })
            }
            _ => return (self.order(index, n), 1),
        };
        product.version += 1;
        (Event::Product(event), product.version)
    }

    fn order(&self, index: u64, first: u64) -> Event {
        let second = (first + 1) % self.product_count;
        let lines: Vec<OrderLine> = [(first, 1), (second, 2)]
            .into_iter()
            .map(|(n, quantity)| {
                let unit_price = self.products.get(n as usize).map_or(1_000, |p| p.price);
                OrderLine {
                    product_id: product_id(n),
                    product_name: format!("Product {n}"),
                    quantity,
                    unit_price,
                    subtotal: unit_price * i64::from(quantity),
                }
            })
            .collect();
        let total = lines.iter().map(|line| line.subtotal).sum();
        Event::Order(OrderEvent::Created(OrderCreated {
            order_id: entity_id(3, index),
            customer_id: entity_id(4, index % 1_000),
            lines,
            total,
        }))
    }

    fn record(&self, event: &Event, version: u64, index: u64) -> OutgoingRecord {
        let aggregate_type = event.aggregate_type();
        let command_id = entity_id(5, index).to_string();
        let header = |name: &str, value: String| (name.to_owned(), Bytes::from(value));
        OutgoingRecord {
            topic: self.topics.events(aggregate_type),
            partition: None,
            record: Record {
                key: Some(Bytes::copy_from_slice(event.aggregate_id().as_bytes())),
                value: Some(Bytes::from(codec::encode_event(event))),
                headers: vec![
                    header(metadata::EVENT_TYPE, event.event_type().to_owned()),
                    header(metadata::AGGREGATE_TYPE, aggregate_type.as_str().to_owned()),
                    header(metadata::AGGREGATE_ID, event.aggregate_id().to_owned()),
                    header(metadata::AGGREGATE_VERSION, version.to_string()),
                    header(metadata::COMMAND_ID, command_id.clone()),
                    header(metadata::CORRELATION_ID, command_id.clone()),
                    header(metadata::CAUSATION_ID, command_id),
                ],
                timestamp_ms: self.timestamp_ms,
            },
        }
    }
}

/// A UUID whose top bits name the kind of entity and whose low bits are its number, so ids are
/// valid, distinct and the same in every run.
fn entity_id(kind: u128, n: u64) -> String {
    Uuid::from_u128((kind << 120) | u128::from(n)).to_string()
}

fn category_id(n: u64) -> String {
    entity_id(1, n)
}

fn product_id(n: u64) -> String {
    entity_id(2, n)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn generate(total: u64) -> Vec<OutgoingRecord> {
        let mut history = ShopHistory::new(Topics::default(), total, 1);
        let mut all = Vec::new();
        loop {
            let batch = history.next_batch(7);
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    fn header(record: &OutgoingRecord, name: &str) -> String {
        String::from_utf8(record.record.header(name).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn generates_exactly_the_requested_count_of_decodable_events() {
        for total in [1, 2, 9, 1_000] {
            let records = generate(total);
            assert_eq!(records.len() as u64, total);
            for record in &records {
                codec::decode_event(record.record.value.as_ref().unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn versions_grow_by_one_per_aggregate_in_log_order_and_creates_come_first() {
        let mut versions: HashMap<String, u64> = HashMap::new();
        for record in generate(5_000) {
            let id = header(&record, metadata::AGGREGATE_ID);
            let version: u64 = header(&record, metadata::AGGREGATE_VERSION).parse().unwrap();
            let previous = versions.insert(id.clone(), version).unwrap_or(0);
            assert_eq!(version, previous + 1, "aggregate {id}");
            let event_type = header(&record, metadata::EVENT_TYPE);
            assert_eq!(version == 1, event_type.ends_with("Created"), "{event_type} v{version}");
        }
    }

    #[test]
    fn the_mix_covers_every_read_model_family() {
        let records = generate(10_000);
        for topic in Topics::default().all_events() {
            let count = records.iter().filter(|r| r.topic == topic).count();
            assert!(count > 0, "no events on {topic}");
        }
    }
}
