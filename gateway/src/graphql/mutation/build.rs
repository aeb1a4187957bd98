//! Turns mutation arguments into commands, validating every field with the domain's value
//! objects first, so a bad input is refused here, with the field named, and nothing is sent.

use async_graphql::ID;
use nagare_schemas::ValidationError;
use nagare_schemas::commands::{
    AddStock, CancelOrder, ChangeProductPrice, Command, CreateCategory, CreateProduct,
    DeleteCategory, DeleteProduct, OrderLineRequest, PlaceOrder, UpdateCategory, UpdateProduct,
};
use nagare_schemas::values::{
    CategoryName, Description, EntityId, Money, ProductName, Quantity, Reason, StockLevel,
};
use uuid::Uuid;

use super::inputs::{
    CreateCategoryInput, CreateProductInput, PlaceOrderInput, UpdateCategoryInput,
    UpdateProductInput,
};
use crate::graphql::errors::ApiError;
use crate::graphql::scalars::Yen;

/// Longest idempotency key accepted.
pub(crate) const MAX_COMMAND_ID_CHARS: usize = 200;
/// Most lines one order may have.
pub(crate) const MAX_ORDER_LINES: usize = 100;

/// A validated command and the id it travels under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedCommand {
    pub(crate) command: Command,
    pub(crate) command_id: String,
}

pub(crate) fn create_category(input: CreateCategoryInput) -> Result<PlannedCommand, ApiError> {
    let name = CategoryName::parse("name", &input.name)?;
    let description = description(input.description.as_deref())?;
    let (id, command_id) = new_aggregate(input.command_id.as_deref())?;
    let command = Command::CreateCategory(CreateCategory {
        category_id: id.to_string(),
        name: name.into_string(),
        description,
    });
    Ok(PlannedCommand { command, command_id })
}

pub(crate) fn update_category(
    id: &ID,
    input: UpdateCategoryInput,
) -> Result<PlannedCommand, ApiError> {
    let id = existing_id("id", id)?;
    let name = input.name.as_deref().map(|n| CategoryName::parse("name", n)).transpose()?;
    let description = description(input.description.as_deref())?;
    if name.is_none() && description.is_none() {
        return Err(ApiError::validation(
            "input",
            "nothing to change: give a new name, a new description or both",
        ));
    }
    let command_id = command_id(input.command_id.as_deref())?;
    let command = Command::UpdateCategory(UpdateCategory {
        category_id: id,
        name: name.map(CategoryName::into_string),
        description,
    });
    Ok(PlannedCommand { command, command_id })
}

pub(crate) fn delete_category(
    id: &ID,
    command_id: Option<&str>,
) -> Result<PlannedCommand, ApiError> {
    let command = Command::DeleteCategory(DeleteCategory { category_id: existing_id("id", id)? });
    Ok(PlannedCommand { command, command_id: self::command_id(command_id)? })
}

pub(crate) fn create_product(input: CreateProductInput) -> Result<PlannedCommand, ApiError> {
    let category_id = existing_id("categoryId", &input.category_id)?;
    let name = ProductName::parse("name", &input.name)?;
    let description = description(input.description.as_deref())?;
    let price = price(input.price)?;
    let initial_stock = StockLevel::parse("initialStock", i64::from(input.initial_stock))?;
    let (id, command_id) = new_aggregate(input.command_id.as_deref())?;
    let command = Command::CreateProduct(CreateProduct {
        product_id: id.to_string(),
        category_id,
        name: name.into_string(),
        description,
        price: price.as_yen(),
        // At most StockLevel::MAX, which fits.
        initial_stock: i32::try_from(initial_stock.get()).unwrap_or(i32::MAX),
    });
    Ok(PlannedCommand { command, command_id })
}

pub(crate) fn update_product(
    id: &ID,
    input: UpdateProductInput,
) -> Result<PlannedCommand, ApiError> {
    let id = existing_id("id", id)?;
    let category_id =
        input.category_id.as_ref().map(|c| existing_id("categoryId", c)).transpose()?;
    let name = input.name.as_deref().map(|n| ProductName::parse("name", n)).transpose()?;
    let description = description(input.description.as_deref())?;
    if category_id.is_none() && name.is_none() && description.is_none() {
        return Err(ApiError::validation(
            "input",
            "nothing to change: give a new categoryId, name or description",
        ));
    }
    let command_id = command_id(input.command_id.as_deref())?;
    let command = Command::UpdateProduct(UpdateProduct {
        product_id: id,
        category_id,
        name: name.map(ProductName::into_string),
        description,
    });
    Ok(PlannedCommand { command, command_id })
}

pub(crate) fn change_product_price(
    id: &ID,
    new_price: Yen,
    command_id: Option<&str>,
) -> Result<PlannedCommand, ApiError> {
    let command = Command::ChangeProductPrice(ChangeProductPrice {
        product_id: existing_id("id", id)?,
        price: price(new_price)?.as_yen(),
    });
    Ok(PlannedCommand { command, command_id: self::command_id(command_id)? })
}

pub(crate) fn add_stock(
    id: &ID,
    quantity: i32,
    command_id: Option<&str>,
) -> Result<PlannedCommand, ApiError> {
    let product_id = existing_id("id", id)?;
    let quantity = Quantity::parse("quantity", i64::from(quantity))?;
    let command = Command::AddStock(AddStock { product_id, quantity: wire_quantity(quantity) });
    Ok(PlannedCommand { command, command_id: self::command_id(command_id)? })
}

pub(crate) fn delete_product(
    id: &ID,
    command_id: Option<&str>,
) -> Result<PlannedCommand, ApiError> {
    let command = Command::DeleteProduct(DeleteProduct { product_id: existing_id("id", id)? });
    Ok(PlannedCommand { command, command_id: self::command_id(command_id)? })
}

pub(crate) fn place_order(input: PlaceOrderInput) -> Result<PlannedCommand, ApiError> {
    let customer_id = existing_id("customerId", &input.customer_id)?;
    if input.lines.is_empty() {
        return Err(ApiError::validation("lines", "lines: an order needs at least one line"));
    }
    if input.lines.len() > MAX_ORDER_LINES {
        return Err(ApiError::validation(
            "lines",
            format!(
                "lines: an order may have at most {MAX_ORDER_LINES} lines (got {})",
                input.lines.len()
            ),
        ));
    }
    let lines = input
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let at =
                |error: ValidationError| ApiError::from(error.within(&format!("lines[{index}]")));
            let product_id = EntityId::parse("productId", line.product_id.as_str()).map_err(at)?;
            let quantity = Quantity::parse("quantity", i64::from(line.quantity)).map_err(at)?;
            Ok(OrderLineRequest {
                product_id: product_id.to_string(),
                quantity: wire_quantity(quantity),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let (id, command_id) = new_aggregate(input.command_id.as_deref())?;
    let command = Command::PlaceOrder(PlaceOrder { order_id: id.to_string(), customer_id, lines });
    Ok(PlannedCommand { command, command_id })
}

pub(crate) fn cancel_order(
    id: &ID,
    reason: &str,
    command_id: Option<&str>,
) -> Result<PlannedCommand, ApiError> {
    let order_id = existing_id("id", id)?;
    let reason = Reason::parse("reason", reason)?;
    let command = Command::CancelOrder(CancelOrder { order_id, reason: reason.into_string() });
    Ok(PlannedCommand { command, command_id: self::command_id(command_id)? })
}

/// The id of an aggregate a mutation addresses, canonical (as events and read models hold it).
fn existing_id(field: &str, id: &ID) -> Result<String, ApiError> {
    Ok(EntityId::parse(field, id.as_str())?.to_string())
}

/// A create's aggregate id and command id: derived from the client's key when given, so a
/// retried create addresses the same aggregate and is recognised as a duplicate.
fn new_aggregate(given: Option<&str>) -> Result<(EntityId, String), ApiError> {
    Ok(match validated_command_id(given)? {
        Some(key) => (EntityId::derived_from(&key), key),
        None => (EntityId::new(), Uuid::now_v7().to_string()),
    })
}

/// The client's idempotency key, or a fresh one.
fn command_id(given: Option<&str>) -> Result<String, ApiError> {
    Ok(validated_command_id(given)?.unwrap_or_else(|| Uuid::now_v7().to_string()))
}

fn validated_command_id(given: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(key) = given else { return Ok(None) };
    let key = key.trim();
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_COMMAND_ID_CHARS {
        return Err(ApiError::validation(
            "commandId",
            format!(
                "commandId must be 1 to {MAX_COMMAND_ID_CHARS} characters (got {chars}); \
                 omit it to let the gateway pick one"
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

fn description(text: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(text
        .map(|d| Description::parse("description", d))
        .transpose()?
        .map(Description::into_string))
}

fn price(price: Yen) -> Result<Money, ApiError> {
    Ok(Money::yen("price", price.0)?)
}

/// Quantities are at most `Quantity::MAX`, which fits the wire's `i32`.
fn wire_quantity(quantity: Quantity) -> i32 {
    i32::try_from(quantity.get()).unwrap_or(i32::MAX)
}
