//! The REST client as the engine's [`Shop`] port: WooCommerce's errors classified into what the caller
//! decides on (retry, give up, or a connector whose keys are refused).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use woocommerce::{Order, Product};
use woosellsy_domain::{ConnectorSecrets, ConnectorSettings, OrderId, WooAuth};
use woosellsy_ports::{PortError, PortResult, Shop, ShopFactory};

use crate::{AuthMode, Client, Error, OrderQuery};

/// Builds each connector's [`Client`] from its settings and keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct WooShopFactory;

impl ShopFactory for WooShopFactory {
    fn shop(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn Shop>> {
        let auth = match settings.woocommerce_auth {
            WooAuth::Auto => AuthMode::Auto,
            WooAuth::Basic => AuthMode::Basic,
            WooAuth::Oauth1 => AuthMode::OAuth1,
        };
        let copy = |s: &SecretString| SecretString::from(s.expose_secret().to_owned());
        let client = Client::new(
            &settings.woocommerce_url,
            copy(&secrets.woocommerce_consumer_key),
            copy(&secrets.woocommerce_consumer_secret),
            auth,
        )
        .map_err(|e| {
            PortError::permanent(format!("WooCommerce client for {}: {e}", settings.id))
        })?;
        Ok(Arc::new(client))
    }
}

#[async_trait]
impl Shop for Client {
    async fn order(&self, id: OrderId) -> PortResult<Order> {
        self.get_order(id.0).await.map_err(port_error)
    }

    async fn orders_modified_since(&self, since: NaiveDateTime) -> PortResult<Vec<Order>> {
        self.list_all_orders(&OrderQuery::modified_since(since))
            .await
            .map_err(port_error)
    }

    async fn product(&self, id: u64) -> PortResult<Option<Product>> {
        match self.get_product(id).await {
            Ok(product) => Ok(Some(product)),
            // Deleted (or trashed and purged): the caller decides what an absent product means.
            Err(e) if matches!(e.status(), Some(404 | 410)) => Ok(None),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn write_order_meta(&self, id: OrderId, meta: &[(String, Value)]) -> PortResult<Order> {
        self.update_order_meta(id.0, meta).await.map_err(port_error)
    }
}

/// A refused key (401, or 403: WooCommerce answers 403 to a read-only key writing) is the connector's
/// condition, not the order's; everything else is transient or permanent as the client classifies it.
/// The message is the client's own; the caller says what it was doing.
pub fn port_error(e: Error) -> PortError {
    if matches!(e.status(), Some(401 | 403)) {
        return PortError::unauthorized(format!("WooCommerce refused the connector's keys: {e}"));
    }
    if e.is_transient() {
        return PortError::Transient {
            message: e.to_string(),
            retry_after: None,
        };
    }
    PortError::permanent(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            code: "woocommerce_rest_cannot_view".to_owned(),
            message: "Sorry, you cannot list resources.".to_owned(),
        }
    }

    #[test]
    fn refused_keys_are_the_connectors_condition_not_the_orders() {
        assert!(port_error(api(401)).is_unauthorized());
        assert!(port_error(api(403)).is_unauthorized());
        assert!(port_error(Error::Http(503, "busy".into())).is_transient());
        assert!(matches!(port_error(api(404)), PortError::Permanent { .. }));
        assert!(matches!(
            port_error(Error::Decode("bad".into())),
            PortError::Permanent { .. }
        ));
    }
}
