//! Each connector's shop and accounting backend, built once and reused while the connector's settings
//! **and keys** are unchanged.
//!
//! Keys are read on every event through the [`SecretStore`] (which caches them with the same TTL as the
//! receiver's), so that keys rotated with `woosellsy aws register` reach a warm Lambda container
//! within one TTL instead of never. A connector whose keys are refused is reported once when it
//! starts and once when it ends, not once per order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tracing::{info, warn};
use woosellsy_domain::{ConnectorId, ConnectorSecrets, ConnectorSettings};
use woosellsy_ports::{
    AccountingBackend, BackendFactory, PortError, SecretStore, Shop, ShopFactory, Store,
};

use super::Outcome;
use super::locks::LocalLocks;

pub(super) struct ConnectorClients {
    pub settings: ConnectorSettings,
    secrets: ConnectorSecrets,
    pub shop: Arc<dyn Shop>,
    pub backend: Arc<dyn AccountingBackend>,
    /// The in-process side of the locks on new customers and items ([`super::locks`]).
    pub locks: LocalLocks,
}

impl ConnectorClients {
    fn serves(&self, settings: &ConnectorSettings, secrets: &ConnectorSecrets) -> bool {
        self.settings == *settings && self.secrets.same_keys(secrets)
    }
}

pub(super) struct ClientCache {
    built: Mutex<HashMap<ConnectorId, Arc<ConnectorClients>>>,
    /// Connectors whose keys were refused and not accepted since.
    refused: Mutex<HashSet<ConnectorId>>,
}

impl ClientCache {
    pub fn new() -> Self {
        Self {
            built: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashSet::new()),
        }
    }

    /// The clients built for `connector`, if any (for counters).
    pub fn existing(&self, connector: &str) -> Option<Arc<ConnectorClients>> {
        let built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        built
            .iter()
            .find(|(id, _)| id.as_str() == connector)
            .map(|(_, c)| c.clone())
    }

    /// The clients of `connector` for its current settings and keys.
    pub async fn get(
        &self,
        connector: &ConnectorId,
        store: &dyn Store,
        secrets: &dyn SecretStore,
        shops: &dyn ShopFactory,
        backends: &dyn BackendFactory,
    ) -> Result<Arc<ConnectorClients>, Outcome> {
        let settings = match store.get_connector(connector).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(Outcome::Failed {
                    reason: format!("connector {connector} is not registered"),
                });
            }
            Err(e) => return Err(Outcome::from_port(e)),
        };
        let keys = match secrets.connector_secrets(connector).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(Outcome::Failed {
                    reason: format!("connector {connector} has no secrets configured"),
                });
            }
            Err(e) => return Err(Outcome::from_port(e)),
        };
        if let Some(c) = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(connector)
            && c.serves(&settings, &keys)
        {
            return Ok(c.clone());
        }
        let shop = shops.shop(&settings, &keys).map_err(Outcome::from_port)?;
        let backend = backends
            .backend(&settings, &keys)
            .map_err(Outcome::from_port)?;
        let built = Arc::new(ConnectorClients {
            settings,
            secrets: keys,
            shop,
            backend,
            locks: LocalLocks::default(),
        });
        // Two first events may have built clients at once: keep one, so both share its locks.
        let mut map = self.built.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(connector.clone())
            .or_insert_with(|| built.clone());
        if !entry.serves(&built.settings, &built.secrets) {
            info!(connector = %connector, "connector settings or keys changed: clients rebuilt");
            *entry = built;
        }
        Ok(entry.clone())
    }

    /// Notes how a call with the connector's keys went: the first refusal is logged (a warning an
    /// operator acts on), and so is the first success after it; the orders in between are not.
    pub fn note_keys(&self, connector: &ConnectorId, refused: Option<&PortError>) {
        let mut set = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        match refused {
            Some(e) => {
                if set.insert(connector.clone()) {
                    warn!(connector = %connector, error = %e, "the connector's keys are refused: its orders wait until new keys are read (check the keys, then `woosellsy aws register`)");
                }
            }
            None => {
                if set.remove(connector) {
                    info!(connector = %connector, "the connector's keys are accepted again: its waiting orders resume");
                }
            }
        }
    }
}
