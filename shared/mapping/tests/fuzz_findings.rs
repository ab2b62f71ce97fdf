//! Orders the fuzzer found to break the mapping (`cargo run --release -p woosellsy-engine --example fuzz`,
//! findings under `target/fuzz-findings/`): `plan_document` must answer a `MappingError`, never panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use woocommerce::Order;
use woosellsy_domain::{ConnectorSettings, DocumentKind};

fn settings() -> ConnectorSettings {
    serde_json::from_value(json!({
        "id": "shop",
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.example/v2",
        "sellsy_token_url": "https://login.sellsy.example/oauth2/access-tokens",
    }))
    .unwrap()
}

fn plan_without_panic(order: Value) {
    let order: Order = serde_json::from_value(order).unwrap();
    let planned = catch_unwind(AssertUnwindSafe(|| {
        woosellsy_mapping::plan_document(&order, &settings(), DocumentKind::Invoice)
    }));
    assert!(planned.is_ok(), "plan_document panicked");
}

/// A line quantity of `1e-28` (the lenient decoder takes `"1e-28"`, `1e-28` or
/// `"0.0000000000000000000000000001"`): the unit price is the line amount divided by the quantity,
/// 20 / 1e-28 overflows `Decimal` and `lines::rows` panics ("Division overflowed").
#[test]
fn a_tiny_line_quantity_is_an_error_not_a_panic() {
    plan_without_panic(json!({
        "id": 960, "status": "processing", "currency": "USD", "total": "20.00",
        "date_created": "2018-04-03T20:52:38",
        "billing": {"first_name": "Julia", "last_name": "Woo", "email": "julia@example.com", "country": "US"},
        "line_items": [{"id": 886, "name": "Poster", "product_id": 956, "quantity": "1e-28",
                        "subtotal": "20.00", "total": "20.00", "taxes": []}],
    }));
}

/// Found by hand next to the fuzzer's finding (same class): a tiny `rate_percent` must not overflow either.
#[test]
fn a_tiny_rate_percent_is_an_error_not_a_panic() {
    plan_without_panic(json!({
        "id": 961, "status": "processing", "currency": "EUR", "total": "12.00",
        "date_created": "2018-04-03T20:52:38",
        "billing": {"first_name": "Julia", "last_name": "Woo", "email": "julia@example.com", "country": "FR"},
        "line_items": [{"id": 1, "name": "Mug", "product_id": 9, "quantity": 1,
                        "subtotal": "10.00", "total": "10.00", "taxes": [{"id": 1, "total": "2", "subtotal": "2"}]}],
        "tax_lines": [{"id": 5, "rate_id": 1, "rate_percent": "1e-28", "tax_total": "2.00", "shipping_tax_total": "0"}],
    }));
}

/// Found by hand next to the fuzzer's finding: `rate_percent` is not range-checked like the amounts, and
/// `1e27` % of a line overflows in `sellsy_model::tax_of` ("Multiplication overflowed").
#[test]
fn a_huge_rate_percent_is_an_error_not_a_panic() {
    plan_without_panic(json!({
        "id": 962, "status": "processing", "currency": "EUR", "total": "12.00",
        "date_created": "2018-04-03T20:52:38",
        "billing": {"first_name": "Julia", "last_name": "Woo", "email": "julia@example.com", "country": "FR"},
        "line_items": [{"id": 1, "name": "Mug", "product_id": 9, "quantity": 1,
                        "subtotal": "999999999999", "total": "999999999999", "taxes": [{"id": 1, "total": "2", "subtotal": "2"}]}],
        "tax_lines": [{"id": 5, "rate_id": 1, "rate_percent": "1e27", "tax_total": "2.00", "shipping_tax_total": "0"}],
    }));
}

/// Same class, on a fee (its base is `tax × 100 / rate`).
#[test]
fn a_fee_at_a_tiny_rate_is_an_error_not_a_panic() {
    plan_without_panic(json!({
        "id": 963, "status": "processing", "currency": "EUR", "total": "12.00",
        "date_created": "2018-04-03T20:52:38",
        "billing": {"first_name": "Julia", "last_name": "Woo", "email": "julia@example.com", "country": "FR"},
        "fee_lines": [{"id": 1, "name": "Frais", "total": "10.00", "taxes": [{"id": 1, "total": "2", "subtotal": "2"}]}],
        "tax_lines": [{"id": 5, "rate_id": 1, "rate_percent": "0.0000000000000000000000000001", "tax_total": "2.00", "shipping_tax_total": "0"}],
    }));
}

/// Found by hand next to the fuzzer's finding: a rate without `rate_percent` (WooCommerce < 3.7) is deduced
/// as `tax × 100 / base`; a line base of `1e-28` overflows in `taxes::derive_percent` ("Division overflowed").
#[test]
fn a_tiny_base_for_a_deduced_rate_is_an_error_not_a_panic() {
    plan_without_panic(json!({
        "id": 964, "status": "processing", "currency": "EUR", "total": "12.00",
        "date_created": "2018-04-03T20:52:38",
        "billing": {"first_name": "Julia", "last_name": "Woo", "email": "julia@example.com", "country": "FR"},
        "line_items": [{"id": 1, "name": "Mug", "product_id": 9, "quantity": 1,
                        "subtotal": "1e-28", "total": "1e-28", "taxes": [{"id": 1, "total": "2", "subtotal": "2"}]}],
        "tax_lines": [{"id": 5, "rate_id": 1, "tax_total": "2.00", "shipping_tax_total": "0"}],
    }));
}
