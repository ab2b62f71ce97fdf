//! One [`SellsyBackend`] per connector, over one long-lived [`Client`] per connector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use woosellsy_domain::{ConnectorId, ConnectorSecrets, ConnectorSettings};
use woosellsy_ports::{AccountingBackend, BackendFactory, PortError, PortResult};

use super::SellsyBackend;
use crate::client::{CallRetries, Client, ClientConfig};

/// Builds one [`SellsyBackend`] per connector and keeps its [`Client`], so that every document of a
/// connector shares one token cache and one rate limiter. A connector whose Sellsy settings or keys
/// changed gets a new client.
pub struct SellsyBackendFactory {
    retry: CallRetries,
    timeout: Duration,
    clients: Mutex<HashMap<ConnectorId, (ClientIdentity, Client)>>,
}

/// What a client was built from; the secret only as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientIdentity {
    api_url: String,
    token_url: String,
    client_id: String,
    secret_digest: [u8; 32],
    requests_per_second: Option<u32>,
    quota_share_bits: u64,
}

impl Default for SellsyBackendFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl SellsyBackendFactory {
    pub fn new() -> Self {
        Self::with_policy(
            CallRetries::default(),
            crate::client::DEFAULT_REQUEST_TIMEOUT,
        )
    }

    /// A factory whose clients retry with `retry` and time requests out after `timeout`.
    pub fn with_policy(retry: CallRetries, timeout: Duration) -> Self {
        SellsyBackendFactory {
            retry,
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client of `settings.id`, built on first use or when its identity changed.
    pub fn client(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Client> {
        let identity = ClientIdentity {
            api_url: settings.sellsy_api_url.clone(),
            token_url: settings.sellsy_token_url.clone(),
            client_id: secrets.sellsy_client_id.clone(),
            secret_digest: Sha256::digest(secrets.sellsy_client_secret.expose_secret().as_bytes())
                .into(),
            requests_per_second: settings.sellsy_requests_per_second,
            quota_share_bits: settings.sellsy_quota_share.to_bits(),
        };
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| PortError::transient("the Sellsy client registry is unavailable"))?;
        if let Some((known, client)) = clients.get(&settings.id)
            && *known == identity
        {
            return Ok(client.clone());
        }
        let mut config = ClientConfig::new(
            settings.sellsy_api_url.clone(),
            settings.sellsy_token_url.clone(),
            secrets.sellsy_client_id.clone(),
            SecretString::from(secrets.sellsy_client_secret.expose_secret().to_owned()),
        );
        config.requests_per_second = settings.sellsy_requests_per_second.unwrap_or(0);
        config.quota_share = settings.sellsy_quota_share;
        config.retry = self.retry;
        config.timeout = self.timeout;
        let client = Client::new(config)
            .map_err(|e| PortError::permanent(format!("connector {}: {e}", settings.id)))?;
        clients.insert(settings.id.clone(), (identity, client.clone()));
        Ok(client)
    }
}

impl BackendFactory for SellsyBackendFactory {
    fn backend(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn AccountingBackend>> {
        Ok(Arc::new(
            SellsyBackend::new(self.client(settings, secrets)?)
                .verifying_totals(settings.verify_totals_with_sellsy),
        ))
    }
}
