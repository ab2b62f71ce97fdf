//! Connector secrets held in memory, loaded by the caller from a config file or environment variables.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use woosellsy_domain::{ConnectorId, ConnectorSecrets};
use woosellsy_ports::{PortResult, SecretStore};

#[derive(Default)]
pub struct MemorySecrets {
    secrets: RwLock<HashMap<ConnectorId, ConnectorSecrets>>,
}

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, id: ConnectorId, secrets: ConnectorSecrets) {
        self.secrets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, secrets);
    }
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn connector_secrets(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
        Ok(self
            .secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned())
    }
}
