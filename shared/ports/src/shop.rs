//! The shop port: what woosellsy reads from and writes to the merchant's WooCommerce. The engine
//! sees only this trait, so the converter's decisions are unit-tested against an in-memory shop and
//! the REST client (`woocommerce-client`) is one implementation among the test fakes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use serde_json::Value;
use woocommerce::{Order, Product};
use woosellsy_domain::{ConnectorSecrets, ConnectorSettings, OrderId};

use crate::PortResult;

#[async_trait]
pub trait Shop: Send + Sync {
    /// The order as the shop has it now (webhook payloads are built late and may be partial).
    async fn order(&self, id: OrderId) -> PortResult<Order>;
    /// Every order modified after `since` (GMT), oldest change first, all pages.
    async fn orders_modified_since(&self, since: NaiveDateTime) -> PortResult<Vec<Order>>;
    /// A product or variation by id; `None` when the shop no longer has it.
    async fn product(&self, id: u64) -> PortResult<Option<Product>>;
    /// Upserts order meta by key (a `null` value deletes the key) and returns the order as written:
    /// its `date_modified_gmt` is the version our own write produced.
    async fn write_order_meta(&self, id: OrderId, meta: &[(String, Value)]) -> PortResult<Order>;
}

/// Builds the shop of one connector from its settings and keys.
pub trait ShopFactory: Send + Sync {
    fn shop(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn Shop>>;
}
