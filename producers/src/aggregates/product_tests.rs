use nagare_schemas::commands::{
    AddStock, ChangeProductPrice, CreateProduct, DeleteProduct, ReleaseStock, ReserveStock,
    UpdateProduct,
};
use nagare_schemas::events::{CategoryCreated, CategoryDeleted, CategoryEvent};
use nagare_schemas::replies::RejectionCode;

use super::*;
use crate::test_framework::TestFramework;

const ID: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";
const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-00000000000c";
const OTHER_CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-00000000000d";
const ORDER: &str = "0192f0c1-7a5e-7d2c-9b1e-0000000000a1";

fn category(id: &str) -> Event {
    Event::Category(CategoryEvent::Created(CategoryCreated {
        category_id: id.into(),
        name: "Tea".into(),
        description: None,
    }))
}

fn create(name: &str, price: i64, initial_stock: i32) -> Command {
    Command::CreateProduct(CreateProduct {
        product_id: ID.into(),
        category_id: CATEGORY.into(),
        name: name.into(),
        description: None,
        price,
        initial_stock,
    })
}

fn created(stock: i32) -> ProductEvent {
    ProductEvent::Created(ProductCreated {
        product_id: ID.into(),
        category_id: CATEGORY.into(),
        name: "Sencha".into(),
        description: None,
        price: 500,
        initial_stock: stock,
    })
}

fn deleted() -> ProductEvent {
    ProductEvent::Deleted(ProductDeleted { product_id: ID.into(), category_id: CATEGORY.into() })
}

fn with_category() -> TestFramework<Product> {
    TestFramework::<Product>::new().with_catalog(vec![category(CATEGORY)])
}

fn reserve(quantity: i32) -> Command {
    Command::ReserveStock(ReserveStock { product_id: ID.into(), order_id: ORDER.into(), quantity })
}

#[test]
fn create_in_an_existing_category() {
    with_category().when(create("Sencha", 500, 10)).then_expect(vec![created(10)]);
}

#[test]
fn create_validates_each_field() {
    with_category()
        .when(create(&"x".repeat(101), 500, 1))
        .then_reject(RejectionCode::ValidationFailed, Some("name"));
    with_category()
        .when(create("Sencha", -1, 1))
        .then_reject(RejectionCode::ValidationFailed, Some("price"));
    with_category()
        .when(create("Sencha", 500, -1))
        .then_reject(RejectionCode::ValidationFailed, Some("initialStock"));
    with_category()
        .when(Command::CreateProduct(CreateProduct {
            product_id: ID.into(),
            category_id: "nope".into(),
            name: "Sencha".into(),
            description: None,
            price: 1,
            initial_stock: 0,
        }))
        .then_reject(RejectionCode::ValidationFailed, Some("categoryId"));
}

#[test]
fn an_id_in_another_spelling_is_refused() {
    with_category()
        .when(Command::CreateProduct(CreateProduct {
            product_id: ID.to_uppercase(),
            category_id: CATEGORY.into(),
            name: "Sencha".into(),
            description: None,
            price: 1,
            initial_stock: 0,
        }))
        .then_reject(RejectionCode::ValidationFailed, Some("id"));
}

#[test]
fn create_needs_a_live_category() {
    TestFramework::<Product>::new()
        .when(create("Sencha", 500, 1))
        .then_reject(RejectionCode::NotFound, Some("categoryId"));
    let gone =
        Event::Category(CategoryEvent::Deleted(CategoryDeleted { category_id: CATEGORY.into() }));
    TestFramework::<Product>::new()
        .with_catalog(vec![category(CATEGORY), gone])
        .when(create("Sencha", 500, 1))
        .then_reject(RejectionCode::NotFound, Some("categoryId"));
}

#[test]
fn create_on_an_existing_or_deleted_id_conflicts() {
    with_category()
        .given(vec![created(1)])
        .when(create("Sencha", 500, 1))
        .then_reject(RejectionCode::Conflict, None);
    with_category()
        .given(vec![created(1), deleted()])
        .when(create("Sencha", 500, 1))
        .then_reject(RejectionCode::Conflict, None);
}

#[test]
fn update_moves_to_another_live_category_and_keeps_the_rest() {
    let update = |category: &str| {
        Command::UpdateProduct(UpdateProduct {
            product_id: ID.into(),
            category_id: Some(category.into()),
            name: None,
            description: Some("Green".into()),
        })
    };
    with_category()
        .with_catalog(vec![category(OTHER_CATEGORY)])
        .given(vec![created(1)])
        .when(update(OTHER_CATEGORY))
        .then_expect(vec![ProductEvent::Updated(ProductUpdated {
            product_id: ID.into(),
            category_id: OTHER_CATEGORY.into(),
            previous_category_id: CATEGORY.into(),
            name: "Sencha".into(),
            description: Some("Green".into()),
        })]);
    with_category()
        .given(vec![created(1)])
        .when(update(OTHER_CATEGORY))
        .then_reject(RejectionCode::NotFound, Some("categoryId"));
}

#[test]
fn price_changes_record_the_previous_price() {
    with_category()
        .given(vec![created(1)])
        .when(Command::ChangeProductPrice(ChangeProductPrice { product_id: ID.into(), price: 650 }))
        .then_expect(vec![ProductEvent::PriceChanged(ProductPriceChanged {
            product_id: ID.into(),
            previous_price: 500,
            price: 650,
        })]);
    with_category()
        .given(vec![created(1)])
        .when(Command::ChangeProductPrice(ChangeProductPrice { product_id: ID.into(), price: -5 }))
        .then_reject(RejectionCode::ValidationFailed, Some("price"));
}

#[test]
fn stock_is_added_in_positive_quantities_up_to_the_limit() {
    let add = |quantity| Command::AddStock(AddStock { product_id: ID.into(), quantity });
    with_category().given(vec![created(3)]).when(add(4)).then_expect(vec![
        ProductEvent::StockAdded(StockAdded { product_id: ID.into(), quantity: 4, stock: 7 }),
    ]);
    with_category()
        .given(vec![created(3)])
        .when(add(0))
        .then_reject(RejectionCode::ValidationFailed, Some("quantity"));
    with_category()
        .given(vec![created(999_999_999)])
        .when(add(2))
        .then_reject(RejectionCode::ValidationFailed, Some("quantity"));
}

#[test]
fn anything_on_a_missing_or_deleted_product_is_not_found() {
    let delete = Command::DeleteProduct(DeleteProduct { product_id: ID.into() });
    with_category().when(delete.clone()).then_reject(RejectionCode::NotFound, Some("id"));
    with_category()
        .given(vec![created(1), deleted()])
        .when(delete)
        .then_reject(RejectionCode::NotFound, Some("id"));
    with_category()
        .given(vec![created(1), deleted()])
        .when(Command::AddStock(AddStock { product_id: ID.into(), quantity: 1 }))
        .then_reject(RejectionCode::NotFound, Some("id"));
}

#[test]
fn reserving_moves_stock_to_reserved() {
    with_category().given(vec![created(5)]).when(reserve(2)).then_expect(vec![
        ProductEvent::StockReserved(StockReserved {
            product_id: ID.into(),
            order_id: ORDER.into(),
            quantity: 2,
            stock: 3,
            reserved: 2,
        }),
    ]);
}

#[test]
fn a_reservation_beyond_stock_or_on_a_deleted_product_is_a_rejected_event() {
    let events = with_category().given(vec![created(1)]).when(reserve(2)).decided();
    assert!(matches!(
        events.as_deref(),
        Ok([ProductEvent::StockReservationRejected(StockReservationRejected {
            requested: 2,
            available: 1,
            ..
        })])
    ));
    let events = with_category().given(vec![created(5), deleted()]).when(reserve(1)).decided();
    assert!(matches!(events.as_deref(), Ok([ProductEvent::StockReservationRejected(_)])));
}

#[test]
fn releasing_gives_back_what_the_order_held() {
    let reserved = ProductEvent::StockReserved(StockReserved {
        product_id: ID.into(),
        order_id: ORDER.into(),
        quantity: 2,
        stock: 3,
        reserved: 2,
    });
    let release =
        Command::ReleaseStock(ReleaseStock { product_id: ID.into(), order_id: ORDER.into() });
    with_category().given(vec![created(5), reserved.clone()]).when(release.clone()).then_expect(
        vec![ProductEvent::StockReleased(StockReleased {
            product_id: ID.into(),
            order_id: ORDER.into(),
            quantity: 2,
            stock: 5,
            reserved: 0,
        })],
    );
    with_category()
        .given(vec![created(5)])
        .when(release)
        .then_reject(RejectionCode::NotFound, Some("orderId"));
    with_category()
        .given(vec![created(5), reserved])
        .when(reserve(1))
        .then_reject(RejectionCode::Conflict, None);
}

#[test]
fn a_command_of_another_aggregate_type_is_refused() {
    with_category()
        .when(Command::DeleteCategory(nagare_schemas::commands::DeleteCategory {
            category_id: ID.into(),
        }))
        .then_reject(RejectionCode::ValidationFailed, Some("id"));
}
