//! `/system_status` and the site index (`GET /wp-json/`), where the store's settings and timezone live.

use axum::extract::{Extension, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;

use super::errors::{Handled, WpError, php_json};
use super::{Authed, Shared};
use crate::store::SITE_UTC_OFFSET_SECS;

pub(super) async fn system_status(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
) -> Handled {
    if !auth.0 {
        return Err(WpError::cannot_view());
    }
    let home = &inner.home;
    let body = json!({
        "environment": {
            "home_url": home,
            "site_url": home,
            "version": inner.config.wc_version,
            "wp_version": crate::WP_VERSION,
            "wp_multisite": false,
            "wp_debug_mode": false,
            "language": "fr_FR",
            "server_info": "woosellsy sim-woocommerce",
            "php_version": "8.2.0",
            "default_timezone": "UTC",
            "secure_connection": inner.config.is_ssl,
            "hide_errors": true,
        },
        "database": { "wc_database_version": inner.config.wc_version },
        "active_plugins": [{
            "plugin": "woocommerce/woocommerce.php",
            "name": "WooCommerce",
            "version": inner.config.wc_version,
            "version_latest": inner.config.wc_version,
            "url": "https://woocommerce.com/",
            "author_name": "Automattic",
            "author_url": "https://woocommerce.com",
            "network_activated": false,
        }],
        "inactive_plugins": [],
        "settings": {
            "api_enabled": true,
            "force_ssl": false,
            "currency": "EUR",
            "currency_symbol": "&euro;",
            "currency_position": "right_space",
            "thousand_separator": " ",
            "decimal_separator": ",",
            "number_of_decimals": 2,
            "geolocation_enabled": false,
            "taxonomies": {},
            "woocommerce_com_connected": "no",
            "enforce_approved_download_dirs": true,
            "order_datastore": "Automattic\\WooCommerce\\Internal\\DataStores\\Orders\\OrdersTableDataStore",
            "HPOS_enabled": true,
            "HPOS_sync_enabled": false,
        },
        "security": { "secure_connection": inner.config.is_ssl, "hide_errors": true },
        "pages": [],
        "post_type_counts": [],
    });
    Ok(php_json(StatusCode::OK, &body))
}

/// `GET /wp-json/`: the site index, where the store's timezone lives.
pub(super) async fn index(State(inner): Shared) -> Response {
    let body = json!({
        "name": "WooSim",
        "description": "WooCommerce simulator",
        "url": inner.home,
        "home": inner.home,
        "gmt_offset": SITE_UTC_OFFSET_SECS / 3600,
        "timezone_string": "",
        "namespaces": ["wc/v3"],
        "authentication": [],
        "routes": {},
    });
    php_json(StatusCode::OK, &body)
}
