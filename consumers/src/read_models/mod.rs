//! Read-model queries: what the gateway asks of the store.

pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use nagare_infra::ReadStore;

use crate::Result;
use views::{CategoryView, OrderStatus, OrderView, Page, PageRequest, ProductView};

/// The queries over the read models. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReadModels {
    store: Arc<dyn ReadStore>,
}

impl ReadModels {
    pub fn new(store: Arc<dyn ReadStore>) -> Self {
        Self { store }
    }

    pub async fn category(&self, id: &str) -> Result<Option<CategoryView>> {
        let _ = (&self.store, id);
        unimplemented!()
    }

    /// Categories by id, for DataLoaders; missing ids are absent from the map.
    pub async fn categories_by_id(&self, ids: &[String]) -> Result<HashMap<String, CategoryView>> {
        let _ = ids;
        unimplemented!()
    }

    /// All categories, oldest first.
    pub async fn categories(&self, page: PageRequest) -> Result<Page<CategoryView>> {
        let _ = page;
        unimplemented!()
    }

    pub async fn product(&self, id: &str) -> Result<Option<ProductView>> {
        let _ = id;
        unimplemented!()
    }

    /// Products by id, for DataLoaders; missing ids are absent from the map.
    pub async fn products_by_id(&self, ids: &[String]) -> Result<HashMap<String, ProductView>> {
        let _ = ids;
        unimplemented!()
    }

    /// Live products, oldest first; only those of one category when `category_id` is given.
    pub async fn products(
        &self,
        category_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ProductView>> {
        let _ = (category_id, page);
        unimplemented!()
    }

    pub async fn order(&self, id: &str) -> Result<Option<OrderView>> {
        let _ = id;
        unimplemented!()
    }

    /// Orders, newest first, filtered by customer and/or status.
    pub async fn orders(
        &self,
        customer_id: Option<&str>,
        status: Option<OrderStatus>,
        page: PageRequest,
    ) -> Result<Page<OrderView>> {
        let _ = (customer_id, status, page);
        unimplemented!()
    }
}
