//! Given / when / then for aggregates, with no I/O:
//! `TestFramework::<Product>::new().with_catalog(other_events).given(own_events).when(command)`
//! then `.then_expect(events)` or `.then_reject(code, field)`.

use std::collections::HashMap;

use nagare_schemas::commands::Command;
use nagare_schemas::events::Event;
use nagare_schemas::replies::RejectionCode;

use crate::aggregates::{Aggregate, Rejection};
use crate::catalog::Catalog;

#[derive(Debug)]
pub(crate) struct TestFramework<A: Aggregate> {
    state: A,
    catalog: Catalog,
    /// The catalog needs each event's aggregate version: counted here per aggregate id.
    versions: HashMap<String, u64>,
}

impl<A: Aggregate> TestFramework<A> {
    pub(crate) fn new() -> Self {
        Self { state: A::default(), catalog: Catalog::new(), versions: HashMap::new() }
    }

    /// Events of other aggregates (categories, products) the catalog has seen.
    pub(crate) fn with_catalog(mut self, events: Vec<Event>) -> Self {
        for event in &events {
            self.feed_catalog(event);
        }
        self
    }

    /// The aggregate's own history (also fed to the catalog, as the processor does).
    pub(crate) fn given(mut self, events: Vec<A::Event>) -> Self {
        for event in events {
            self.state.apply(&event);
            self.feed_catalog(&A::wrap(event));
        }
        self
    }

    pub(crate) fn when(self, command: Command) -> Outcome<A> {
        let decided = crate::aggregates::decide(&self.state, &command, &self.catalog);
        Outcome { decided }
    }

    fn feed_catalog(&mut self, event: &Event) {
        let version = self.versions.entry(event.aggregate_id().to_owned()).or_default();
        *version += 1;
        self.catalog.apply(event, *version);
    }
}

#[derive(Debug)]
pub(crate) struct Outcome<A: Aggregate> {
    decided: Result<Vec<A::Event>, Rejection>,
}

impl<A: Aggregate> Outcome<A> {
    #[track_caller]
    pub(crate) fn then_expect(self, expected: Vec<A::Event>) {
        match self.decided {
            Ok(events) => assert_eq!(events, expected),
            Err(rejection) => panic!("expected events {expected:?}, got rejection {rejection:?}"),
        }
    }

    #[track_caller]
    pub(crate) fn then_reject(self, code: RejectionCode, field: Option<&str>) {
        match self.decided {
            Ok(events) => panic!("expected a {code:?} rejection, got events {events:?}"),
            Err(rejection) => {
                assert_eq!(rejection.code, code, "{rejection:?}");
                assert_eq!(rejection.field.as_deref(), field, "{rejection:?}");
                assert!(!rejection.message.is_empty());
            }
        }
    }

    /// The decision itself, for checks the two above do not cover.
    pub(crate) fn decided(self) -> Result<Vec<A::Event>, Rejection> {
        self.decided
    }
}
