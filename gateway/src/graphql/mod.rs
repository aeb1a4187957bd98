//! The GraphQL API of `API.md` for categories, products and orders.
//!
//! This module knows nothing of HTTP: [`build_schema`] gives an async-graphql `Schema` that the
//! server mounts and that tests execute directly.

mod error_codes;
pub mod errors;
pub mod limits;
mod loaders;
pub mod mutation;
mod pagination;
mod parsed_documents;
pub mod query;
pub mod scalars;
mod services;
pub mod types;

pub use error_codes::ErrorCodes;
pub use mutation::Mutation;
pub use parsed_documents::ParsedDocuments;
pub use query::Query;
pub use services::GraphqlServices;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

/// The gateway's schema type.
pub type NagareSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with every service it needs to answer.
pub fn build_schema(services: GraphqlServices) -> NagareSchema {
    let categories = loaders::category_loader(services.read_models.clone());
    let products = loaders::product_loader(services.read_models.clone());
    builder().data(categories).data(products).data(services).finish()
}

/// The schema in SDL, as clients see it.
pub fn schema_sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .extension(ErrorCodes)
        // Last, so a reused document skips only the parsing itself, not another extension.
        .extension(ParsedDocuments::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdl_has_the_api_names() {
        let sdl = schema_sdl();
        for expected in [
            "scalar Yen",
            "scalar Offset",
            "scalar DateTime",
            "enum Consistency",
            "enum OrderStatus",
            "type CategoryConnection",
            "type ProductConnection",
            "type OrderConnection",
            "type CommandReceipt",
            "type LogPosition",
            "categories(first: Int, after: String): CategoryConnection!",
            "products(categoryId: ID, first: Int, after: String): ProductConnection!",
            "orders(customerId: ID, status: OrderStatus, first: Int, after: String): OrderConnection!",
            "createCategory(input: CreateCategoryInput!, consistency: Consistency! = EVENTUAL): CommandReceipt!",
            "changeProductPrice(id: ID!, price: Yen!",
            "cancelOrder(id: ID!, reason: String!",
            "productCount: Int!",
            "price: Yen!",
            "total: Yen!",
            "offset: Offset!",
        ] {
            assert!(sdl.contains(expected), "SDL lacks `{expected}`:\n{sdl}");
        }
    }

    #[test]
    fn every_mutation_takes_consistency() {
        let sdl = schema_sdl();
        let mutation = sdl.split("type Mutation {").nth(1).and_then(|s| s.split('}').next());
        let Some(mutation) = mutation else { panic!("no Mutation type in\n{sdl}") };
        let operations: Vec<_> =
            mutation.lines().filter(|l| l.contains("): CommandReceipt!")).collect();
        assert_eq!(operations.len(), 10, "{mutation}");
        for operation in operations {
            assert!(operation.contains("consistency: Consistency! = EVENTUAL"), "{operation}");
        }
    }
}
