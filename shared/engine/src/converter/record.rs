//! What the converter remembers of an order: its state in the store (skipped, done, error with the
//! merchant-readable reason) and the newest version it processed, so that older events are stale.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use serde_json::json;
use tracing::warn;
use woocommerce::Order;
use woosellsy_domain::DocumentKind;
use woosellsy_ports::{DocumentRef, OrderRecord, OrderState, PortError, QueuedEvent};

use super::clients::ConnectorClients;
use super::writeback::link_meta;
use super::{Converter, Outcome};

impl Converter {
    pub(super) async fn finish_skipped(
        &self,
        event: &QueuedEvent,
        record: Option<OrderRecord>,
        modified: Option<NaiveDateTime>,
        reason: String,
    ) -> Outcome {
        let mut record = record.unwrap_or_else(|| empty_record(event));
        // A document created earlier stays the order's state; skipping never hides it.
        if record.documents.is_empty() {
            record.state = OrderState::Skipped {
                reason: reason.clone(),
            };
        }
        record.last_modified_gmt = newest(record.last_modified_gmt, modified);
        record.updated_at = Utc::now();
        if let Err(e) = self.deps.store.put_order(&record).await {
            return Outcome::from_port(e);
        }
        Outcome::Skipped { reason }
    }

    /// Records a permanent failure where the merchant sees it: the order record, and the order's own
    /// meta data in WooCommerce (`woosellsy.error`), best effort.
    pub(super) async fn finish_failed(
        &self,
        event: &QueuedEvent,
        clients: &ConnectorClients,
        record: Option<OrderRecord>,
        order: &Order,
        documents: BTreeMap<DocumentKind, DocumentRef>,
        reason: String,
    ) -> Outcome {
        let mut modified = order.date_modified_gmt;
        let mut meta = link_meta(&documents);
        meta.push(("woosellsy.error".to_owned(), json!(reason)));
        match clients.shop.write_order_meta(event.order, &meta).await {
            // Our PUT fires an `order.updated` for this very version: record it so it is not re-tried.
            Ok(updated) => modified = newest(modified, updated.date_modified_gmt),
            Err(e) => warn!(error = %e, "could not write the error into the order meta"),
        }
        if let Err(e) = self
            .save_error(event, record, &reason, modified, Some(documents))
            .await
        {
            return Outcome::from_port(e);
        }
        Outcome::Failed { reason }
    }

    /// A failure of the shop, classified: transient and refused keys are retried (nothing
    /// recorded on the order), anything else is recorded as the order's error.
    pub(super) async fn shop_failure(
        &self,
        event: &QueuedEvent,
        what: &str,
        e: PortError,
    ) -> Outcome {
        match e.context(what) {
            PortError::Permanent { message: reason } => {
                // Order deleted, a body WooCommerce should never send…: retrying the same event cannot
                // help; the order shows why.
                self.record_failure(event, &reason).await;
                Outcome::Failed { reason }
            }
            other => Outcome::from_port(other),
        }
    }

    /// Records a permanent failure that happened outside the converter's own flow (e.g. a message
    /// dead-lettered after too many transient failures), so the order shows it.
    pub async fn record_failure(&self, event: &QueuedEvent, reason: &str) {
        let record = self
            .deps
            .store
            .get_order(&event.connector, event.order)
            .await
            .ok()
            .flatten();
        if let Err(e) = self.save_error(event, record, reason, None, None).await {
            warn!(error = %e, "could not record the order's error state");
        }
    }

    /// Puts the order in the error state; `modified` is the newest version the error is about.
    async fn save_error(
        &self,
        event: &QueuedEvent,
        record: Option<OrderRecord>,
        reason: &str,
        modified: Option<NaiveDateTime>,
        documents: Option<BTreeMap<DocumentKind, DocumentRef>>,
    ) -> Result<(), PortError> {
        let mut record = record.unwrap_or_else(|| empty_record(event));
        record.state = OrderState::Error {
            reason: reason.to_owned(),
        };
        if let Some(documents) = documents {
            record.documents = documents;
        }
        record.last_modified_gmt = newest(record.last_modified_gmt, modified);
        record.updated_at = Utc::now();
        self.deps.store.put_order(&record).await
    }
}

fn empty_record(event: &QueuedEvent) -> OrderRecord {
    OrderRecord {
        connector: event.connector.clone(),
        order: event.order,
        last_modified_gmt: None,
        state: OrderState::Skipped {
            reason: "not processed yet".to_owned(),
        },
        documents: Default::default(),
        links_written: false,
        updated_at: Utc::now(),
    }
}

pub(super) fn newest(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
