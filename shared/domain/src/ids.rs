//! Identifiers: connector ids, WooCommerce order ids, document kinds and the claim key built from them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("connector id must be 1 to 64 characters of a-z, 0-9, '-' or '_', got {0:?}")]
    Connector(String),
    #[error("order id must be a positive integer, got {0:?}")]
    Order(String),
    #[error(
        "unknown document kind {0:?} (expected invoice, order, estimate, delivery, proforma or credit-note)"
    )]
    DocumentKind(String),
}

/// A connector is one WooCommerce store wired to one Sellsy account. Its id appears in the webhook URL
/// (`/webhooks/{connector_id}`), in store keys and in every log line, so it is kept URL- and key-safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectorId(String);

impl ConnectorId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::Connector(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectorId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConnectorId> for String {
    fn from(value: ConnectorId) -> Self {
        value.0
    }
}

impl FromStr for ConnectorId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A WooCommerce order id (the post / HPOS row id, not the displayed order number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

impl FromStr for OrderId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => Err(IdError::Order(s.to_owned())),
        }
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The Sellsy documents a connector can produce for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    Invoice,
    Order,
    Estimate,
    Delivery,
    Proforma,
    CreditNote,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Invoice,
        DocumentKind::Order,
        DocumentKind::Estimate,
        DocumentKind::Delivery,
        DocumentKind::Proforma,
        DocumentKind::CreditNote,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "invoice",
            DocumentKind::Order => "order",
            DocumentKind::Estimate => "estimate",
            DocumentKind::Delivery => "delivery",
            DocumentKind::Proforma => "proforma",
            DocumentKind::CreditNote => "credit-note",
        }
    }

    /// Prefix of the order meta keys the links are written back under (`woosellsy.invoice_id`, …).
    pub fn meta_prefix(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "woosellsy.invoice",
            DocumentKind::Order => "woosellsy.order",
            DocumentKind::Estimate => "woosellsy.estimate",
            DocumentKind::Delivery => "woosellsy.delivery",
            DocumentKind::Proforma => "woosellsy.proforma",
            DocumentKind::CreditNote => "woosellsy.credit_note",
        }
    }
}

impl FromStr for DocumentKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| IdError::DocumentKind(s.to_owned()))
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one claim protects: at most one document of `kind` for `order` of `connector`, ever.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimKey {
    pub connector: ConnectorId,
    pub order: OrderId,
    pub kind: DocumentKind,
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.connector, self.order, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids_are_url_and_key_safe() {
        assert!(ConnectorId::parse("shop-1").is_ok());
        assert!(ConnectorId::parse("").is_err());
        assert!(ConnectorId::parse("Shop").is_err());
        assert!(ConnectorId::parse("a/b").is_err());
        assert!(ConnectorId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn order_ids_are_positive() {
        assert_eq!("42".parse::<OrderId>().unwrap(), OrderId(42));
        assert!("0".parse::<OrderId>().is_err());
        assert!("-1".parse::<OrderId>().is_err());
    }

    #[test]
    fn document_kinds_round_trip() {
        for k in DocumentKind::ALL {
            assert_eq!(k.as_str().parse::<DocumentKind>().unwrap(), k);
        }
    }
}
