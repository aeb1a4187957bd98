//! DataLoaders: the `category` of many products, or the `product` of many order lines, are
//! fetched with one batched read instead of one read each.
//!
//! They do not cache: they batch the loads of one moment, so a long-lived schema never serves
//! stale rows.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use nagare_consumers::{CategoryView, ProductView, ReadModels};

use super::errors::ApiError;

#[derive(Debug)]
pub(crate) struct CategoryLoader(pub(crate) ReadModels);

impl Loader<String> for CategoryLoader {
    type Value = CategoryView;
    type Error = ApiError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, CategoryView>, ApiError> {
        Ok(self.0.categories_by_id(ids).await?)
    }
}

#[derive(Debug)]
pub(crate) struct ProductLoader(pub(crate) ReadModels);

impl Loader<String> for ProductLoader {
    type Value = ProductView;
    type Error = ApiError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, ProductView>, ApiError> {
        Ok(self.0.products_by_id(ids).await?)
    }
}

pub(crate) fn category_loader(read_models: ReadModels) -> DataLoader<CategoryLoader> {
    DataLoader::new(CategoryLoader(read_models), tokio::spawn)
}

pub(crate) fn product_loader(read_models: ReadModels) -> DataLoader<ProductLoader> {
    DataLoader::new(ProductLoader(read_models), tokio::spawn)
}
