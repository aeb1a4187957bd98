//! The categories projection: categories by id and the listing of live categories.
//! (Their product counts belong to the products projection, which sees the events that
//! change them.)

use nagare_infra::RowKey;
use nagare_schemas::events::{CategoryEvent, Event};

use super::envelope::EventEnvelope;
use super::staged::StagedWrites;
use super::{Outcome, Step};
use crate::Result;
use crate::read_models::rows::CategoryRow;
use crate::read_models::tables::{self, ALL, CATEGORIES, CATEGORY_LISTING, Order};

pub(crate) const TABLES: &[&str] = &[CATEGORIES, CATEGORY_LISTING];

pub(crate) async fn apply(
    staged: &mut StagedWrites<'_>,
    envelope: &EventEnvelope,
) -> Result<Outcome> {
    let Event::Category(event) = &envelope.event else { return Ok(Outcome::NotOurs) };
    let Some(id) = tables::entity_bytes(envelope.event.aggregate_id()) else {
        return Ok(Outcome::NotOurs);
    };
    let key = tables::by_id(&id);
    let current: Option<CategoryRow> = staged.get(CATEGORIES, &key).await?;
    let next = match evolve(current.as_ref(), envelope, event) {
        Step::Apply(next) => next,
        Step::Skip(outcome) => return Ok(outcome),
    };
    let listed_before = current.as_ref().and_then(|row| listing_row(row, &id));
    let listed_after = listing_row(&next, &id);
    if listed_before != listed_after {
        if let Some(old) = listed_before {
            staged.delete(CATEGORY_LISTING, old);
        }
        if let Some(new) = listed_after {
            staged.put(CATEGORY_LISTING, new, &())?;
        }
    }
    staged.put(CATEGORIES, key, &next)?;
    Ok(Outcome::Applied)
}

/// The category's row in the listing of live categories, if it belongs there.
fn listing_row(row: &CategoryRow, id: &[u8; 16]) -> Option<RowKey> {
    (!row.deleted).then(|| RowKey {
        partition: bytes::Bytes::from_static(ALL),
        clustering: tables::listing_key(row.created_at_ms, id, Order::OldestFirst),
    })
}

/// The row after the event, unless the event is stale or has nothing to apply to.
fn evolve(
    current: Option<&CategoryRow>,
    envelope: &EventEnvelope,
    event: &CategoryEvent,
) -> Step<CategoryRow> {
    if current.is_some_and(|row| row.version >= envelope.version) {
        return Step::Skip(Outcome::Stale);
    }
    let (version, at) = (envelope.version, envelope.timestamp_ms);
    if let CategoryEvent::Created(created) = event {
        return Step::Apply(CategoryRow {
            id: created.category_id.clone(),
            name: created.name.clone(),
            description: created.description.clone(),
            deleted: false,
            version,
            created_at_ms: at,
            updated_at_ms: at,
        });
    }
    let Some(mut row) = current.cloned() else { return Step::Skip(Outcome::Orphan) };
    match event {
        CategoryEvent::Created(_) => {}
        CategoryEvent::Updated(updated) => {
            row.name = updated.name.clone();
            row.description = updated.description.clone();
        }
        CategoryEvent::Deleted(_) => row.deleted = true,
    }
    row.version = version;
    row.updated_at_ms = at;
    Step::Apply(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nagare_schemas::events::{CategoryCreated, CategoryDeleted, CategoryUpdated};

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    fn envelope(event: CategoryEvent, version: i64, timestamp_ms: i64) -> EventEnvelope {
        EventEnvelope { event: Event::Category(event), version, timestamp_ms, partition: 0 }
    }

    fn run(events: &[(CategoryEvent, i64, i64)]) -> (Option<CategoryRow>, Vec<Outcome>) {
        let mut row = None;
        let mut outcomes = Vec::new();
        for (event, version, at) in events {
            let env = envelope(event.clone(), *version, *at);
            match evolve(row.as_ref(), &env, event) {
                Step::Apply(next) => {
                    row = Some(next);
                    outcomes.push(Outcome::Applied);
                }
                Step::Skip(outcome) => outcomes.push(outcome),
            }
        }
        (row, outcomes)
    }

    fn created() -> CategoryEvent {
        CategoryEvent::Created(CategoryCreated {
            category_id: ID.into(),
            name: "Tea".into(),
            description: None,
        })
    }

    fn updated(name: &str) -> CategoryEvent {
        CategoryEvent::Updated(CategoryUpdated {
            category_id: ID.into(),
            name: name.into(),
            description: Some("leaves".into()),
        })
    }

    #[test]
    fn applies_in_order_and_ignores_replays() {
        let (row, outcomes) = run(&[
            (created(), 1, 10),
            (updated("Green tea"), 2, 20),
            (created(), 1, 10),
            (updated("Old name"), 2, 20),
        ]);
        let row = row.unwrap();
        assert_eq!(outcomes, [Outcome::Applied, Outcome::Applied, Outcome::Stale, Outcome::Stale]);
        assert_eq!((row.name.as_str(), row.version), ("Green tea", 2));
        assert_eq!((row.created_at_ms, row.updated_at_ms), (10, 20));
        assert_eq!(row.description.as_deref(), Some("leaves"));
    }

    #[test]
    fn deletion_keeps_the_row_flagged_and_updates_before_creation_are_orphans() {
        let deleted = CategoryEvent::Deleted(CategoryDeleted { category_id: ID.into() });
        let (row, outcomes) = run(&[(updated("x"), 2, 5), (created(), 1, 1), (deleted, 2, 7)]);
        assert_eq!(outcomes, [Outcome::Orphan, Outcome::Applied, Outcome::Applied]);
        let row = row.unwrap();
        assert!(row.deleted);
        assert_eq!(listing_row(&row, &[0; 16]), None);
    }
}
