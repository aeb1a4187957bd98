//! Validation of mutation input, field by field, with no I/O.

use async_graphql::ID;
use nagare_schemas::commands::Command;
use nagare_schemas::values::EntityId;

use super::build::{self, PlannedCommand};
use super::inputs::{
    CreateCategoryInput, CreateProductInput, OrderLineInput, PlaceOrderInput, UpdateCategoryInput,
};
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::graphql::scalars::Yen;

const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";
const PRODUCT: &str = "0192f0c1-7a5e-7d2c-9b1e-000000000001";

fn field_of(result: Result<PlannedCommand, ApiError>) -> Option<String> {
    match result {
        Ok(planned) => panic!("expected a validation error, got {planned:?}"),
        Err(error) => {
            assert_eq!(error.code, ErrorCode::ValidationFailed, "{error:?}");
            error.field
        }
    }
}

fn category(name: &str) -> CreateCategoryInput {
    CreateCategoryInput { name: name.into(), description: None, command_id: None }
}

fn product(name: &str, price: i64) -> CreateProductInput {
    CreateProductInput {
        category_id: ID(CATEGORY.into()),
        name: name.into(),
        description: None,
        price: Yen(price),
        initial_stock: 0,
        command_id: None,
    }
}

fn order(lines: Vec<(String, i32)>) -> PlaceOrderInput {
    PlaceOrderInput {
        customer_id: ID(CATEGORY.into()),
        lines: lines
            .into_iter()
            .map(|(product_id, quantity)| OrderLineInput { product_id: ID(product_id), quantity })
            .collect(),
        command_id: None,
    }
}

#[test]
fn category_names_must_be_1_to_50_characters() {
    assert_eq!(field_of(build::create_category(category(""))).as_deref(), Some("name"));
    assert_eq!(field_of(build::create_category(category("   "))).as_deref(), Some("name"));
    assert_eq!(
        field_of(build::create_category(category(&"x".repeat(51)))).as_deref(),
        Some("name")
    );
    assert!(build::create_category(category(&"x".repeat(50))).is_ok());
}

#[test]
fn a_created_category_has_a_trimmed_name_and_a_fresh_id() {
    let planned = build::create_category(category("  Tea ")).ok();
    let Some(PlannedCommand { command: Command::CreateCategory(created), command_id }) = planned
    else {
        panic!("expected CreateCategory");
    };
    assert_eq!(created.name, "Tea");
    assert!(EntityId::parse("id", &created.category_id).is_ok());
    assert!(!command_id.is_empty());
}

#[test]
fn a_client_command_id_derives_the_new_id() {
    let input = CreateCategoryInput { command_id: Some("key-1".into()), ..category("Tea") };
    let first = build::create_category(input.clone()).ok();
    let second = build::create_category(input).ok();
    assert_eq!(first, second, "the same key plans the same command");
    let Some(PlannedCommand { command: Command::CreateCategory(created), command_id }) = first
    else {
        panic!("expected CreateCategory");
    };
    assert_eq!(command_id, "key-1");
    assert_eq!(created.category_id, EntityId::derived_from("key-1").to_string());
}

#[test]
fn an_empty_or_overlong_command_id_is_refused() {
    let empty = CreateCategoryInput { command_id: Some(" ".into()), ..category("Tea") };
    assert_eq!(field_of(build::create_category(empty)).as_deref(), Some("commandId"));
    let long = CreateCategoryInput { command_id: Some("k".repeat(201)), ..category("Tea") };
    assert_eq!(field_of(build::create_category(long)).as_deref(), Some("commandId"));
}

#[test]
fn an_update_must_change_something() {
    let nothing = UpdateCategoryInput { name: None, description: None, command_id: None };
    assert_eq!(
        field_of(build::update_category(&ID(CATEGORY.into()), nothing)).as_deref(),
        Some("input")
    );
}

#[test]
fn product_names_must_be_1_to_100_characters() {
    assert_eq!(
        field_of(build::create_product(product(&"p".repeat(101), 100))).as_deref(),
        Some("name")
    );
    assert!(build::create_product(product(&"p".repeat(100), 100)).is_ok());
}

#[test]
fn prices_cannot_be_negative() {
    assert_eq!(field_of(build::create_product(product("Tea", -1))).as_deref(), Some("price"));
    assert_eq!(
        field_of(build::change_product_price(&ID(PRODUCT.into()), Yen(-5), None)).as_deref(),
        Some("price")
    );
}

#[test]
fn malformed_ids_name_their_field() {
    let input = CreateProductInput { category_id: ID("not-a-uuid".into()), ..product("Tea", 1) };
    assert_eq!(field_of(build::create_product(input)).as_deref(), Some("categoryId"));
    assert_eq!(field_of(build::delete_product(&ID("nope".into()), None)).as_deref(), Some("id"));
    assert_eq!(
        field_of(build::place_order(order(vec![("bad".into(), 1)]))).as_deref(),
        Some("lines[0].productId")
    );
}

#[test]
fn ids_are_sent_in_canonical_form() {
    let upper = ID(PRODUCT.to_uppercase());
    let planned = build::delete_product(&upper, None).ok();
    assert!(matches!(
        planned.map(|p| p.command),
        Some(Command::DeleteProduct(d)) if d.product_id == PRODUCT
    ));
}

#[test]
fn quantities_must_be_positive() {
    assert_eq!(
        field_of(build::add_stock(&ID(PRODUCT.into()), 0, None)).as_deref(),
        Some("quantity")
    );
    let lines = vec![(PRODUCT.to_owned(), 2), (PRODUCT.to_owned(), 0)];
    assert_eq!(field_of(build::place_order(order(lines))).as_deref(), Some("lines[1].quantity"));
}

#[test]
fn an_order_needs_one_to_one_hundred_lines() {
    assert_eq!(field_of(build::place_order(order(vec![]))).as_deref(), Some("lines"));
    let many = (0..101).map(|_| (PRODUCT.to_owned(), 1)).collect();
    assert_eq!(field_of(build::place_order(order(many))).as_deref(), Some("lines"));
}

#[test]
fn initial_stock_cannot_be_negative() {
    let input = CreateProductInput { initial_stock: -1, ..product("Tea", 1) };
    assert_eq!(field_of(build::create_product(input)).as_deref(), Some("initialStock"));
}

#[test]
fn a_cancellation_needs_a_reason() {
    assert_eq!(
        field_of(build::cancel_order(&ID(CATEGORY.into()), "  ", None)).as_deref(),
        Some("reason")
    );
}
