//! Connector secrets held in memory, loaded by the caller from a config file or environment variables.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use woosellsy_domain::{ConnectorId, ConnectorSecrets, WebhookSecrets};
use woosellsy_ports::{PortResult, SecretStore};

/// Secrets in memory. A connector's webhook secrets are its bundle's `webhook_secret` (current only),
/// unless [`MemorySecrets::insert_webhook_secrets`] gave them apart (e.g. with a previous one).
#[derive(Default)]
pub struct MemorySecrets {
    secrets: RwLock<HashMap<ConnectorId, ConnectorSecrets>>,
    webhooks: RwLock<HashMap<ConnectorId, WebhookSecrets>>,
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

    /// Webhook secrets held apart from the bundle; they take precedence over its `webhook_secret`.
    pub fn insert_webhook_secrets(&self, id: ConnectorId, secrets: WebhookSecrets) {
        self.webhooks
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

    async fn webhook_secrets(&self, id: &ConnectorId) -> PortResult<Option<WebhookSecrets>> {
        if let Some(apart) = self
            .webhooks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(Some(apart.clone()));
        }
        Ok(self
            .secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|s| WebhookSecrets::current_only(s.webhook_secret.clone())))
    }
}
