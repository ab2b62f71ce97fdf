//! Domain types shared by every woosellsy crate.
//!
//! Nothing here performs I/O. Identifiers parse instead of validate (a `ConnectorId` that exists is a
//! valid one), and the [`plan::DocumentPlan`] is the backend-neutral description of an accounting
//! document that the mapping produces and an accounting backend (Sellsy today) turns into API calls.

pub mod backoff;
pub mod ids;
pub mod plan;
pub mod settings;

pub use ids::{ClaimKey, ConnectorId, DocumentKind, IdError, OrderId};
pub use plan::{
    Address, CustomerKind, CustomerPlan, DocumentPlan, Exemption, LineDiscount, LineSource,
    PlanLine, PlanTax, PlanTotals, TaxSpec,
};
pub use settings::{ConnectorSecrets, ConnectorSettings, TaxRounding, WebhookSecrets, WooAuth};
