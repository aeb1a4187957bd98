//! What resolvers reach through the GraphQL context.

use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use nagare_consumers::{Progress, ReadModels};

use super::errors::ApiError;
use super::loaders::{CategoryLoader, ProductLoader};
use crate::CommandBus;

/// Everything the schema needs to answer queries and mutations.
#[derive(Clone, Debug)]
pub struct GraphqlServices {
    pub read_models: ReadModels,
    pub commands: CommandBus,
    /// The projections' progress, for `consistency: STRONG`.
    pub progress: Progress,
    /// How long a `STRONG` mutation waits for the read models.
    pub consistency_timeout: Duration,
}

/// Context data the schema was built without (only the SDL-printing schema is): a clear
/// error rather than a panic.
fn missing<T>() -> ApiError {
    ApiError::unavailable(format!(
        "the gateway was started without {}; this operation is not available",
        std::any::type_name::<T>()
    ))
}

pub(crate) fn services<'a>(ctx: &Context<'a>) -> Result<&'a GraphqlServices, ApiError> {
    ctx.data_opt::<GraphqlServices>().ok_or_else(missing::<GraphqlServices>)
}

pub(crate) fn read_models<'a>(ctx: &Context<'a>) -> Result<&'a ReadModels, ApiError> {
    services(ctx).map(|s| &s.read_models)
}

pub(crate) fn category_loader<'a>(
    ctx: &Context<'a>,
) -> Result<&'a DataLoader<CategoryLoader>, ApiError> {
    ctx.data_opt::<DataLoader<CategoryLoader>>().ok_or_else(missing::<CategoryLoader>)
}

pub(crate) fn product_loader<'a>(
    ctx: &Context<'a>,
) -> Result<&'a DataLoader<ProductLoader>, ApiError> {
    ctx.data_opt::<DataLoader<ProductLoader>>().ok_or_else(missing::<ProductLoader>)
}
