//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod carts;
pub mod sellsy;

use woosellsy_domain::{ConnectorSettings, TaxRounding};

pub fn settings() -> ConnectorSettings {
    serde_json::from_value(serde_json::json!({
        "id": "shop-1",
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
    }))
    .expect("settings")
}

/// The test settings, with the Sellsy account's tax rounding set.
pub fn settings_rounding(rounding: TaxRounding) -> ConnectorSettings {
    ConnectorSettings {
        sellsy_tax_rounding: rounding,
        ..settings()
    }
}
