//! The Category aggregate: a name and a description. It cannot be deleted while live products
//! still belong to it; that count comes from the catalog, since products live on other partitions.

use nagare_schemas::commands::Command;
use nagare_schemas::events::{
    AggregateType, CategoryCreated, CategoryDeleted, CategoryEvent, CategoryUpdated, Event,
};
use nagare_schemas::values::{CategoryName, Description};
use serde::{Deserialize, Serialize};

use super::{Aggregate, Lifecycle, Rejection};
use crate::catalog::Catalog;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub lifecycle: Lifecycle,
    pub name: String,
    pub description: Option<String>,
}

const WHAT: &str = "category";

impl Aggregate for Category {
    type Event = CategoryEvent;

    const TYPE: AggregateType = AggregateType::Category;

    fn decide(
        &self,
        command: &Command,
        catalog: &Catalog,
    ) -> Result<Vec<CategoryEvent>, Rejection> {
        match command {
            Command::CreateCategory(c) => {
                let name = CategoryName::parse("name", &c.name)?;
                let description = optional_description(c.description.as_deref())?;
                self.lifecycle.require_new(WHAT)?;
                Ok(vec![CategoryEvent::Created(CategoryCreated {
                    category_id: c.category_id.clone(),
                    name: name.into_string(),
                    description,
                })])
            }
            Command::UpdateCategory(c) => {
                let name = c.name.as_deref().map(|n| CategoryName::parse("name", n)).transpose()?;
                let description = optional_description(c.description.as_deref())?;
                self.lifecycle.require_live(WHAT)?;
                Ok(vec![CategoryEvent::Updated(CategoryUpdated {
                    category_id: c.category_id.clone(),
                    name: name.map_or_else(|| self.name.clone(), CategoryName::into_string),
                    description: description.or_else(|| self.description.clone()),
                })])
            }
            Command::DeleteCategory(c) => {
                self.lifecycle.require_live(WHAT)?;
                let live_products =
                    catalog.category(&c.category_id).map_or(0, |facts| facts.live_products);
                if live_products > 0 {
                    return Err(Rejection::conflict(format!(
                        "the category still has {live_products} product(s); delete or move them first"
                    )));
                }
                Ok(vec![CategoryEvent::Deleted(CategoryDeleted {
                    category_id: c.category_id.clone(),
                })])
            }
            other => Err(Rejection::validation(
                super::ID_FIELD,
                format!("{} is not a category command", other.command_type()),
            )),
        }
    }

    fn apply(&mut self, event: &CategoryEvent) {
        match event {
            CategoryEvent::Created(e) => {
                self.lifecycle = Lifecycle::Live;
                self.name.clone_from(&e.name);
                self.description.clone_from(&e.description);
            }
            CategoryEvent::Updated(e) => {
                self.name.clone_from(&e.name);
                self.description.clone_from(&e.description);
            }
            CategoryEvent::Deleted(_) => self.lifecycle = Lifecycle::Deleted,
        }
    }

    fn wrap(event: CategoryEvent) -> Event {
        Event::Category(event)
    }

    fn unwrap(event: &Event) -> Option<&CategoryEvent> {
        match event {
            Event::Category(e) => Some(e),
            _ => None,
        }
    }
}

/// A description, validated and trimmed; `None` when absent.
pub(crate) fn optional_description(text: Option<&str>) -> Result<Option<String>, Rejection> {
    Ok(text
        .map(|d| Description::parse("description", d))
        .transpose()?
        .map(Description::into_string))
}

#[cfg(test)]
mod tests {
    use nagare_schemas::commands::{CreateCategory, DeleteCategory, UpdateCategory};
    use nagare_schemas::events::{ProductCreated, ProductDeleted, ProductEvent};
    use nagare_schemas::replies::RejectionCode;

    use super::*;
    use crate::test_framework::TestFramework;

    const ID: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";
    const PRODUCT: &str = "0192f0c1-7a5e-7d2c-9b1e-000000000001";

    fn created() -> CategoryEvent {
        CategoryEvent::Created(CategoryCreated {
            category_id: ID.into(),
            name: "Tea".into(),
            description: Some("Leaves".into()),
        })
    }

    fn create(name: &str) -> Command {
        Command::CreateCategory(CreateCategory {
            category_id: ID.into(),
            name: name.into(),
            description: None,
        })
    }

    fn product_in_category() -> Event {
        Event::Product(ProductEvent::Created(ProductCreated {
            product_id: PRODUCT.into(),
            category_id: ID.into(),
            name: "Sencha".into(),
            description: None,
            price: 500,
            initial_stock: 1,
        }))
    }

    #[test]
    fn create_trims_the_name() {
        TestFramework::<Category>::new().when(create("  Tea ")).then_expect(vec![
            CategoryEvent::Created(CategoryCreated {
                category_id: ID.into(),
                name: "Tea".into(),
                description: None,
            }),
        ]);
    }

    #[test]
    fn create_rejects_an_empty_or_too_long_name() {
        TestFramework::<Category>::new()
            .when(create("   "))
            .then_reject(RejectionCode::ValidationFailed, Some("name"));
        TestFramework::<Category>::new()
            .when(create(&"x".repeat(51)))
            .then_reject(RejectionCode::ValidationFailed, Some("name"));
    }

    #[test]
    fn create_rejects_a_malformed_id() {
        TestFramework::<Category>::new()
            .when(Command::CreateCategory(CreateCategory {
                category_id: "not-a-uuid".into(),
                name: "Tea".into(),
                description: None,
            }))
            .then_reject(RejectionCode::ValidationFailed, Some("id"));
    }

    #[test]
    fn create_on_an_existing_id_conflicts() {
        TestFramework::<Category>::new()
            .given(vec![created()])
            .when(create("Tea"))
            .then_reject(RejectionCode::Conflict, None);
    }

    #[test]
    fn update_keeps_unchanged_fields() {
        TestFramework::<Category>::new()
            .given(vec![created()])
            .when(Command::UpdateCategory(UpdateCategory {
                category_id: ID.into(),
                name: Some("Green tea".into()),
                description: None,
            }))
            .then_expect(vec![CategoryEvent::Updated(CategoryUpdated {
                category_id: ID.into(),
                name: "Green tea".into(),
                description: Some("Leaves".into()),
            })]);
    }

    #[test]
    fn update_on_a_missing_category_is_not_found() {
        TestFramework::<Category>::new()
            .when(Command::UpdateCategory(UpdateCategory {
                category_id: ID.into(),
                name: Some("Tea".into()),
                description: None,
            }))
            .then_reject(RejectionCode::NotFound, Some("id"));
    }

    #[test]
    fn delete_then_anything_is_not_found() {
        let delete = Command::DeleteCategory(DeleteCategory { category_id: ID.into() });
        TestFramework::<Category>::new()
            .given(vec![created()])
            .when(delete.clone())
            .then_expect(vec![CategoryEvent::Deleted(CategoryDeleted { category_id: ID.into() })]);
        TestFramework::<Category>::new()
            .given(vec![
                created(),
                CategoryEvent::Deleted(CategoryDeleted { category_id: ID.into() }),
            ])
            .when(delete)
            .then_reject(RejectionCode::NotFound, Some("id"));
    }

    #[test]
    fn a_category_with_live_products_cannot_be_deleted() {
        TestFramework::<Category>::new()
            .given(vec![created()])
            .with_catalog(vec![product_in_category()])
            .when(Command::DeleteCategory(DeleteCategory { category_id: ID.into() }))
            .then_reject(RejectionCode::Conflict, None);
    }

    #[test]
    fn a_category_whose_products_were_deleted_can_be_deleted() {
        let deleted = Event::Product(ProductEvent::Deleted(ProductDeleted {
            product_id: PRODUCT.into(),
            category_id: ID.into(),
        }));
        TestFramework::<Category>::new()
            .given(vec![created()])
            .with_catalog(vec![product_in_category(), deleted])
            .when(Command::DeleteCategory(DeleteCategory { category_id: ID.into() }))
            .then_expect(vec![CategoryEvent::Deleted(CategoryDeleted { category_id: ID.into() })]);
    }
}
