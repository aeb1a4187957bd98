//! The projections: one per read-model family, each a consumer group on the events topics it
//! needs, writing its rows and its checkpoints in one store batch.

mod categories;
mod envelope;
mod orders;
mod products;
mod row_cache;
mod runner;
mod staged;

pub(crate) use runner::Runner;

use nagare_schemas::events::AggregateType;

use crate::Result;
use envelope::EventEnvelope;
use staged::StagedWrites;

/// A read-model family and the events it is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Projection {
    Categories,
    Products,
    Orders,
}

impl Projection {
    pub(crate) const ALL: [Projection; 3] =
        [Projection::Categories, Projection::Products, Projection::Orders];

    /// The projection's name: its checkpoints' key and its consumer group's suffix.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Projection::Categories => "categories",
            Projection::Products => "products",
            Projection::Orders => "orders",
        }
    }

    /// The aggregate whose events topic the projection consumes.
    pub(crate) fn aggregate(self) -> AggregateType {
        match self {
            Projection::Categories => AggregateType::Category,
            Projection::Products => AggregateType::Product,
            Projection::Orders => AggregateType::Order,
        }
    }

    pub(crate) fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Categories => categories::TABLES,
            Projection::Products => products::TABLES,
            Projection::Orders => orders::TABLES,
        }
    }

    async fn apply(
        self,
        staged: &mut StagedWrites<'_>,
        envelope: &EventEnvelope,
    ) -> Result<Outcome> {
        match self {
            Projection::Categories => categories::apply(staged, envelope).await,
            Projection::Products => products::apply(staged, envelope).await,
            Projection::Orders => orders::apply(staged, envelope).await,
        }
    }
}

/// What applying one event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Applied,
    /// The row already records this version or a newer one (a replay).
    Stale,
    /// The event changes an entity whose creation the read model never saw.
    Orphan,
    /// The event belongs to another aggregate type or has no valid id.
    NotOurs,
}

/// A row's next state, or why it has none.
#[derive(Debug)]
enum Step<T> {
    Apply(T),
    Skip(Outcome),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_models::TABLES;

    #[test]
    fn every_table_has_exactly_one_owning_projection() {
        let mut owned: Vec<&str> =
            Projection::ALL.iter().flat_map(|p| p.tables().iter().copied()).collect();
        owned.sort_unstable();
        let mut all = TABLES.to_vec();
        all.sort_unstable();
        assert_eq!(owned, all);
    }
}
