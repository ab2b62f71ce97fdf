//! Sellsy for woosellsy.
//!
//! * [`client`]: the one Sellsy API v2 HTTP client — OAuth `client_credentials` token cache, request
//!   pacing, bounded retries on 429/5xx, quota headers, one typed [`client::Error`], and typed
//!   request/response structs for the operations the connector uses.
//! * [`backend`]: [`backend::SellsyBackend`], the [`woosellsy_ports::AccountingBackend`] that turns a
//!   [`woosellsy_domain::DocumentPlan`] into exactly one Sellsy invoice, resolving the customer,
//!   addresses, items, taxes and currency through a [`woosellsy_ports::IdCache`] first so that a
//!   returning customer costs a single API call.

pub mod backend;
pub mod client;

pub use backend::{CREATABLE_KINDS, SellsyBackend, SellsyBackendFactory};
pub use client::{CallRetries, Client, ClientConfig, Error, QuotaSnapshot};
