//! The aggregates: Category, Product and Order. Each is pure — `decide` turns a command and the
//! current state into events or a typed [`Rejection`], `apply` folds an event into the state —
//! so every business rule is tested with no I/O (see `test_framework`).
//!
//! Commands are validated again here with the value objects of `nagare_schemas::values`: anything
//! that can write to the commands topic can send one, so the gateway's checks are not trusted.
//! Rejections name the field as the API's clients know it (`name`, `lines[1].quantity`, ...).

pub mod category;
pub mod order;
pub mod product;
mod rejection;

pub use category::Category;
pub use order::{Order, OrderStatus};
pub use product::Product;
pub use rejection::Rejection;

use std::fmt::Debug;

use nagare_schemas::commands::Command;
use nagare_schemas::events::{AggregateType, Event};
use nagare_schemas::values::EntityId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::Catalog;

/// The field name clients see for the id of the aggregate a command addresses.
pub const ID_FIELD: &str = "id";

/// One kind of aggregate: its state, its events and its rules.
pub trait Aggregate:
    Default + Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync
{
    /// The events of this aggregate type only.
    type Event: Clone + Debug + PartialEq + Send + Sync;

    const TYPE: AggregateType;

    /// Decides a command against the current state. The catalog supplies facts about other
    /// aggregates (does a category exist, a product's current price).
    fn decide(&self, command: &Command, catalog: &Catalog) -> Result<Vec<Self::Event>, Rejection>;

    /// Folds one of this aggregate's events into its state. Never fails: events are facts.
    fn apply(&mut self, event: &Self::Event);

    fn wrap(event: Self::Event) -> Event;

    /// This aggregate's event inside a domain event, if it is one.
    fn unwrap(event: &Event) -> Option<&Self::Event>;
}

/// The state of any aggregate, as the command processor keeps it per id.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "state")]
pub enum AnyAggregate {
    Category(Category),
    Product(Product),
    Order(Order),
}

impl AnyAggregate {
    /// The empty state ("never created") of an aggregate type.
    pub fn new(aggregate_type: AggregateType) -> Self {
        match aggregate_type {
            AggregateType::Category => AnyAggregate::Category(Category::default()),
            AggregateType::Product => AnyAggregate::Product(Product::default()),
            AggregateType::Order => AnyAggregate::Order(Order::default()),
        }
    }

    pub fn aggregate_type(&self) -> AggregateType {
        match self {
            AnyAggregate::Category(_) => AggregateType::Category,
            AnyAggregate::Product(_) => AggregateType::Product,
            AnyAggregate::Order(_) => AggregateType::Order,
        }
    }

    /// Validates the command's aggregate id and type, then lets the aggregate decide.
    pub fn decide(&self, command: &Command, catalog: &Catalog) -> Result<Vec<Event>, Rejection> {
        fn wrapped<A: Aggregate>(
            aggregate: &A,
            command: &Command,
            catalog: &Catalog,
        ) -> Result<Vec<Event>, Rejection> {
            Ok(decide(aggregate, command, catalog)?.into_iter().map(A::wrap).collect())
        }
        match self {
            AnyAggregate::Category(a) => wrapped(a, command, catalog),
            AnyAggregate::Product(a) => wrapped(a, command, catalog),
            AnyAggregate::Order(a) => wrapped(a, command, catalog),
        }
    }

    /// Applies an event of this aggregate's type; returns false (and changes nothing) for an
    /// event of another type.
    pub fn apply(&mut self, event: &Event) -> bool {
        match (self, event) {
            (AnyAggregate::Category(a), Event::Category(e)) => a.apply(e),
            (AnyAggregate::Product(a), Event::Product(e)) => a.apply(e),
            (AnyAggregate::Order(a), Event::Order(e)) => a.apply(e),
            _ => return false,
        }
        true
    }
}

/// Validates the command's aggregate id and type, then lets the aggregate decide.
pub fn decide<A: Aggregate>(
    aggregate: &A,
    command: &Command,
    catalog: &Catalog,
) -> Result<Vec<A::Event>, Rejection> {
    // Ids are log keys: one spelling per aggregate, or the same id would hash to two partitions.
    let id = EntityId::parse(ID_FIELD, command.aggregate_id())?;
    if id.to_string() != command.aggregate_id() {
        return Err(Rejection::validation(
            ID_FIELD,
            format!("must be a UUID in lowercase hyphenated form such as {id}"),
        ));
    }
    if command.aggregate_type() != A::TYPE {
        return Err(Rejection::validation(
            ID_FIELD,
            format!("a {} command cannot address a {}", command.command_type(), A::TYPE.as_str()),
        ));
    }
    aggregate.decide(command, catalog)
}

/// Where an aggregate is in its life: only a live one accepts commands other than create.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Lifecycle {
    #[default]
    New,
    Live,
    Deleted,
}

impl Lifecycle {
    /// Create commands: an id that was ever used is taken, even after deletion.
    pub(crate) fn require_new(self, what: &str) -> Result<(), Rejection> {
        match self {
            Lifecycle::New => Ok(()),
            Lifecycle::Live | Lifecycle::Deleted => {
                Err(Rejection::conflict(format!("this {what} already exists")))
            }
        }
    }

    pub(crate) fn require_live(self, what: &str) -> Result<(), Rejection> {
        match self {
            Lifecycle::Live => Ok(()),
            Lifecycle::New => Err(Rejection::not_found(ID_FIELD, format!("no such {what}"))),
            Lifecycle::Deleted => {
                Err(Rejection::not_found(ID_FIELD, format!("the {what} has been deleted")))
            }
        }
    }
}
