//! The Sellsy accounting backend: a [`DocumentPlan`] in, exactly one Sellsy invoice out.
//!
//! Everything the invoice refers to is resolved through the connector's [`IdCache`] first and
//! the API only on a miss, so that a returning customer with known products costs one call (the
//! create):
//! * currency (`currency.rs`) — must be enabled on the account (`GET /currencies`);
//! * customer (`customer.rs`) — by lower-cased email: company or individual per the plan, created as
//!   `client` when absent, converted when found as a `prospect`;
//! * addresses (`address.rs`) — the billing and shipping addresses, reused when the customer already
//!   has the same place, created otherwise;
//! * items (`items.rs`) — catalog rows by SKU (an item with that reference, a declination of the parent
//!   item, or a new product item); other lines are free (`single`) rows (`invoice.rs`);
//! * taxes (`taxes.rs`) — the active, e-invoicing-compliant tax of the line's rate, or the compliant
//!   0 % tax of the exemption's category (never a legacy 0 % tax, which Sellsy rejects on rows).
//!
//! Cache writes are best effort: a failed write costs a search next time, never the document. Cached ids
//! that went stale in Sellsy are looked up afresh once when Sellsy refuses the invoice ([`stale`]).

mod address;
mod currency;
mod customer;
mod factory;
mod invoice;
mod items;
mod stale;
mod taxes;
mod text;

use async_trait::async_trait;
use woosellsy_domain::{DocumentKind, DocumentPlan};
use woosellsy_ports::{AccountingBackend, DocumentRef, IdCache, IdKind, PortError, PortResult};

use crate::client::{Client, Error};

pub use factory::SellsyBackendFactory;

/// Creates and finds documents of one connector in its Sellsy account.
#[derive(Debug, Clone)]
pub struct SellsyBackend {
    client: Client,
    verify_with_compute: bool,
}

impl SellsyBackend {
    pub fn new(client: Client) -> Self {
        SellsyBackend {
            client,
            verify_with_compute: false,
        }
    }

    /// Asks Sellsy to compute each invoice before creating it, and refuses a total that differs from
    /// the plan's (see `ConnectorSettings::verify_totals_with_sellsy`).
    pub fn verifying_totals(mut self, verify: bool) -> Self {
        self.verify_with_compute = verify;
        self
    }

    /// The client this backend calls (shared with every backend of the same connector).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl AccountingBackend for SellsyBackend {
    async fn create_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<DocumentRef> {
        supported(plan.kind)?;
        // Before anything is created: what recovery needs to find it (see `invoice.rs`).
        self.note_create_attempt(plan, cache).await?;
        let counted = stale::Counted::new(cache);
        match self.create_invoice(plan, &counted).await {
            Err(PortError::Permanent { message }) if counted.hits() > 0 => {
                tracing::warn!(
                    order = %plan.order_id,
                    reason = %message,
                    "Sellsy refused the invoice while remembered ids were used; looking them up afresh once"
                );
                self.create_invoice(plan, &stale::Fresh(cache)).await
            }
            other => other,
        }
    }

    async fn find_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>> {
        supported(plan.kind)?;
        self.find_invoice(plan, cache).await
    }

    /// Calls made by this connector's client (every backend of a connector shares it).
    fn calls_made(&self) -> u64 {
        self.client.calls_made()
    }
}

/// The document kinds this backend creates; the configuration refuses any other when it is loaded.
pub const CREATABLE_KINDS: &[DocumentKind] = &[DocumentKind::Invoice];

fn supported(kind: DocumentKind) -> PortResult<()> {
    if CREATABLE_KINDS.contains(&kind) {
        return Ok(());
    }
    Err(PortError::permanent(format!(
        "creating a Sellsy {kind} is not supported yet (only invoices are)"
    )))
}

/// Classifies a client error for the caller: retry later, keys refused (the connector's condition, not
/// the order's), or a reason for the merchant.
fn port_error(what: &str, e: Error) -> PortError {
    if matches!(e, Error::Auth { .. } | Error::Api { status: 401, .. }) {
        return PortError::unauthorized(format!("{what}: {e}"));
    }
    if e.is_transient() {
        PortError::Transient {
            message: format!("{what}: {e}"),
            retry_after: e.retry_after(),
        }
    } else {
        PortError::permanent(format!("{what} failed: {e}"))
    }
}

async fn remember(cache: &dyn IdCache, kind: IdKind, key: &str, value: &str) {
    if let Err(e) = cache.put(kind, key, value).await {
        tracing::warn!(kind = kind.as_str(), key, error = %e, "could not cache a Sellsy id; it will be looked up again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_is_the_connectors_condition_not_the_orders() {
        let auth = Error::Auth {
            message: "invalid_client".to_owned(),
        };
        assert!(port_error("creating the invoice", auth).is_unauthorized());
        let refused = Error::Api {
            status: 401,
            message: "Unauthorized".to_owned(),
            context: None,
            details: Default::default(),
            retry_after: None,
        };
        assert!(port_error("creating the invoice", refused).is_unauthorized());
        let invalid = Error::Api {
            status: 400,
            message: "Invalid".to_owned(),
            context: None,
            details: Default::default(),
            retry_after: None,
        };
        assert!(matches!(
            port_error("creating the invoice", invalid),
            PortError::Permanent { .. }
        ));
    }
}
