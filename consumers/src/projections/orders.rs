//! The orders projection: orders by id and their listings (all, per customer, per status).
//! Until the order saga exists orders stay PENDING in practice, but every order event already
//! has its effect here.

use bytes::Bytes;
use nagare_infra::RowKey;
use nagare_schemas::events::{Event, OrderEvent};

use super::envelope::EventEnvelope;
use super::staged::StagedWrites;
use super::{Outcome, Step};
use crate::Result;
use crate::read_models::rows::{CustomerOrderEntry, OrderLineRow, OrderRow};
use crate::read_models::tables::{
    self, ALL, ORDER_LISTING, ORDERS, ORDERS_BY_CUSTOMER, ORDERS_BY_STATUS, Order,
};
use crate::read_models::views::OrderStatus;

pub(crate) const TABLES: &[&str] = &[ORDERS, ORDERS_BY_CUSTOMER, ORDER_LISTING, ORDERS_BY_STATUS];

pub(crate) async fn apply(
    staged: &mut StagedWrites<'_>,
    envelope: &EventEnvelope,
) -> Result<Outcome> {
    let Event::Order(event) = &envelope.event else { return Ok(Outcome::NotOurs) };
    let Some(id) = tables::entity_bytes(envelope.event.aggregate_id()) else {
        return Ok(Outcome::NotOurs);
    };
    let key = tables::by_id(&id);
    let current: Option<OrderRow> = staged.get(ORDERS, &key).await?;
    let next = match evolve(current.as_ref(), envelope, event) {
        Step::Apply(next) => next,
        Step::Skip(outcome) => return Ok(outcome),
    };
    let before = current.as_ref().map(|row| Listed::of(row, &id));
    let after = Listed::of(&next, &id);
    if before.as_ref() != Some(&after) {
        // Deleting then putting the same key leaves the put: the staged writes keep the last.
        if let Some(old) = before {
            old.remove(staged);
        }
        after.add(staged)?;
    }
    staged.put(ORDERS, key, &next)?;
    Ok(Outcome::Applied)
}

/// Where an order is listed; every order is, newest first.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    customer: Bytes,
    status: OrderStatus,
    clustering: Bytes,
}

impl Listed {
    fn of(row: &OrderRow, id: &[u8; 16]) -> Self {
        Listed {
            customer: tables::customer_partition(&row.customer_id),
            status: row.status,
            clustering: tables::listing_key(row.created_at_ms, id, Order::NewestFirst),
        }
    }

    fn rows(&self) -> [(&'static str, RowKey); 3] {
        let row = |partition: Bytes| RowKey { partition, clustering: self.clustering.clone() };
        [
            (ORDER_LISTING, row(Bytes::from_static(ALL))),
            (ORDERS_BY_STATUS, row(tables::status_partition(self.status))),
            (ORDERS_BY_CUSTOMER, row(self.customer.clone())),
        ]
    }

    fn add(&self, staged: &mut StagedWrites<'_>) -> Result<()> {
        for (table, key) in self.rows() {
            if table == ORDERS_BY_CUSTOMER {
                staged.put(table, key, &CustomerOrderEntry { status: self.status })?;
            } else {
                staged.put(table, key, &())?;
            }
        }
        Ok(())
    }

    fn remove(&self, staged: &mut StagedWrites<'_>) {
        for (table, key) in self.rows() {
            staged.delete(table, key);
        }
    }
}

/// The row after the event, unless the event is stale or has nothing to apply to.
fn evolve(
    current: Option<&OrderRow>,
    envelope: &EventEnvelope,
    event: &OrderEvent,
) -> Step<OrderRow> {
    if current.is_some_and(|row| row.version >= envelope.version) {
        return Step::Skip(Outcome::Stale);
    }
    let (version, at) = (envelope.version, envelope.timestamp_ms);
    if let OrderEvent::Created(created) = event {
        let lines = created
            .lines
            .iter()
            .map(|line| OrderLineRow {
                product_id: line.product_id.clone(),
                product_name: line.product_name.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                subtotal: line.subtotal,
            })
            .collect();
        return Step::Apply(OrderRow {
            id: created.order_id.clone(),
            customer_id: created.customer_id.clone(),
            status: OrderStatus::Pending,
            lines,
            total: created.total,
            cancellation_reason: None,
            payment_failure: None,
            version,
            created_at_ms: at,
            updated_at_ms: at,
        });
    }
    let Some(mut row) = current.cloned() else { return Step::Skip(Outcome::Orphan) };
    match event {
        OrderEvent::Created(_) => {}
        OrderEvent::PaymentProcessed(_) => {
            row.status = OrderStatus::Paid;
            row.payment_failure = None;
        }
        // The saga decides what a failed payment leads to (a cancellation); until then the
        // order keeps its status and the reason is kept.
        OrderEvent::PaymentFailed(failed) => row.payment_failure = Some(failed.reason.clone()),
        OrderEvent::Confirmed(_) => row.status = OrderStatus::Confirmed,
        OrderEvent::Cancelled(cancelled) => {
            row.status = OrderStatus::Cancelled;
            row.cancellation_reason = Some(cancelled.reason.clone());
        }
    }
    row.version = version;
    row.updated_at_ms = at;
    Step::Apply(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nagare_schemas::events::{
        OrderCancelled, OrderConfirmed, OrderCreated, OrderLine, OrderPaymentFailed,
        OrderPaymentProcessed,
    };

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    fn fold(events: Vec<OrderEvent>) -> OrderRow {
        let mut row: Option<OrderRow> = None;
        for (i, event) in events.into_iter().enumerate() {
            let version = i64::try_from(i).unwrap() + 1;
            let env = EventEnvelope {
                event: Event::Order(event.clone()),
                version,
                timestamp_ms: version,
                partition: 0,
            };
            if let Step::Apply(next) = evolve(row.as_ref(), &env, &event) {
                row = Some(next);
            }
        }
        row.unwrap()
    }

    fn created() -> OrderEvent {
        OrderEvent::Created(OrderCreated {
            order_id: ID.into(),
            customer_id: "c".into(),
            lines: vec![OrderLine {
                product_id: "p".into(),
                product_name: "Tea".into(),
                quantity: 2,
                unit_price: 300,
                subtotal: 600,
            }],
            total: 600,
        })
    }

    #[test]
    fn payment_then_confirmation() {
        let row = fold(vec![
            created(),
            OrderEvent::PaymentFailed(OrderPaymentFailed {
                order_id: ID.into(),
                reason: "x".into(),
            }),
            OrderEvent::PaymentProcessed(OrderPaymentProcessed {
                order_id: ID.into(),
                payment_id: "pay".into(),
                amount: 600,
            }),
        ]);
        assert_eq!((row.status, row.payment_failure), (OrderStatus::Paid, None));
        let row =
            fold(vec![created(), OrderEvent::Confirmed(OrderConfirmed { order_id: ID.into() })]);
        assert_eq!(
            (row.status, row.version, row.lines.len(), row.total),
            (OrderStatus::Confirmed, 2, 1, 600)
        );
    }

    #[test]
    fn cancellation_keeps_its_reason_and_moves_the_status_listing() {
        let pending = fold(vec![created()]);
        let row = fold(vec![
            created(),
            OrderEvent::Cancelled(OrderCancelled {
                order_id: ID.into(),
                reason: "changed my mind".into(),
            }),
        ]);
        assert_eq!(row.status, OrderStatus::Cancelled);
        assert_eq!(row.cancellation_reason.as_deref(), Some("changed my mind"));
        let (before, after) = (Listed::of(&pending, &[1; 16]), Listed::of(&row, &[1; 16]));
        assert_ne!(before.rows()[1], after.rows()[1]);
        assert_eq!(before.rows()[0], after.rows()[0]);
    }
}
