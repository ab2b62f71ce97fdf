//! The invoice's currency, which must be enabled on the Sellsy account (`GET /currencies`); once
//! found it is remembered, so the list is fetched once per connector and currency.

use woosellsy_ports::{IdCache, IdKind, PortError, PortResult};

use super::{SellsyBackend, port_error, remember};

impl SellsyBackend {
    /// The currency code as Sellsy knows it, or a permanent error when the account has not enabled it.
    pub(super) async fn ensure_currency(
        &self,
        code: &str,
        cache: &dyn IdCache,
    ) -> PortResult<String> {
        let code = code.trim().to_ascii_uppercase();
        let key = format!("currency:{code}");
        if cache.get(IdKind::Other, &key).await?.is_some() {
            return Ok(code);
        }
        let currencies = self
            .client
            .list_currencies()
            .await
            .map_err(|e| port_error("listing the Sellsy currencies", e))?;
        match currencies
            .iter()
            .find(|c| c.code.trim().eq_ignore_ascii_case(&code))
        {
            Some(c) => {
                remember(cache, IdKind::Other, &key, &c.id.to_string()).await;
                Ok(code)
            }
            None => {
                let enabled: Vec<&str> = currencies.iter().map(|c| c.code.as_str()).collect();
                Err(PortError::permanent(format!(
                    "currency {code} is not enabled in Sellsy (enabled: {}); enable it in Sellsy or change the shop currency",
                    if enabled.is_empty() {
                        "none".to_owned()
                    } else {
                        enabled.join(", ")
                    }
                )))
            }
        }
    }
}
