//! Every order and product sample (official docs examples, real captures from the WooCommerce iOS
//! app's test suite, the signed webhook bodies) parses with the lenient types, and the awkward values
//! come out right: decimals from strings and floats, fractional quantities, `null` SKUs, meta of any
//! shape, `[]` for empty objects.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use woocommerce::model::{ManageStock, Order, OrderStatus, Product};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../tests/fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn order(name: &str) -> Order {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture_names() -> Vec<String> {
    let dir = format!(
        "{}/../../tests/fixtures/woocommerce",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn looks_like_order(v: &Value) -> bool {
    v.get("line_items").is_some() && v.get("order_key").is_some()
}

fn looks_like_product(v: &Value) -> bool {
    v.get("stock_quantity").is_some() && v.get("line_items").is_none()
}

#[test]
fn every_order_and_product_fixture_parses() {
    let (mut orders, mut products) = (0, 0);
    for name in fixture_names() {
        let raw: Value = serde_json::from_str(&fixture(&name)).expect("valid JSON");
        let items: Vec<&Value> = match &raw {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for item in items {
            if looks_like_order(item) {
                let o: Order = serde_json::from_value(item.clone())
                    .unwrap_or_else(|e| panic!("{name}: order: {e}"));
                assert!(o.id > 0, "{name}: order id");
                assert!(!o.line_items.is_empty(), "{name}: line items");
                orders += 1;
            } else if looks_like_product(item) {
                let p: Product = serde_json::from_value(item.clone())
                    .unwrap_or_else(|e| panic!("{name}: product: {e}"));
                assert!(p.id > 0, "{name}: product id");
                products += 1;
            }
        }
        // Lists parse as a whole too (what the client does with a list response).
        if let Value::Array(a) = &raw
            && !a.is_empty()
            && a.iter().all(looks_like_order)
        {
            let list: Vec<Order> = serde_json::from_value(raw.clone()).expect("order list");
            assert_eq!(list.len(), a.len());
        }
    }
    // 2 docs create/update + 2 docs list + 4 iOS singles + 4 iOS list = 12 orders.
    assert!(orders >= 12, "only {orders} orders found");
    assert!(products >= 8, "only {products} products found");
}

#[test]
fn signed_webhook_body_parses_as_the_order_it_describes() {
    let vectors: Vec<Value> =
        serde_json::from_str(&fixture("constructed-webhook-test-vectors.json")).expect("json");
    let body = vectors[0]["request"]["body"].as_str().expect("body");
    let o: Order = serde_json::from_str(body).expect("order body");
    assert_eq!(o.id, 727);
    assert_eq!(o.status, OrderStatus::Processing);
    assert_eq!(o.total, dec("29.35"));
    assert_eq!(o.shipping_total, dec("10.00"));
    assert_eq!(o.line_items[1].sku.as_deref(), Some("Bar3"));
    assert_eq!(
        o.line_items[1].name,
        "Ship Your Idea &ndash; Color: Black, Size: M Test"
    );
    assert_eq!(o.tax_lines[0].rate_id, 75);
    assert_eq!(o.tax_lines[0].rate_percent, None, "absent before WC 3.7");
    assert!(o.is_paid());
    // The deleted/action payloads are not orders but must not crash the lenient parser either.
    let deleted: Order =
        serde_json::from_str(vectors[1]["request"]["body"].as_str().expect("body"))
            .expect("deleted body");
    assert_eq!(deleted.id, 727);
    assert!(deleted.line_items.is_empty());
}

#[test]
fn docs_order_amounts_are_exact_decimals() {
    let o = order("docs-order-create-response.json");
    assert_eq!(o.number, "727");
    assert_eq!(o.currency, "USD");
    assert!(!o.prices_include_tax);
    assert_eq!(o.total_tax, dec("1.35"));
    assert_eq!(o.line_items[0].quantity, dec("2"));
    // `price` is a JSON number (3), `taxes[].total` a raw string ("0.9").
    assert_eq!(o.line_items[0].price, dec("3"));
    assert_eq!(o.line_items[1].taxes[0].total, dec("0.9"));
    assert_eq!(
        o.meta_str("_download_permissions_granted").as_deref(),
        Some("yes")
    );
    assert_eq!(
        o.date_paid_gmt.map(|d| d.to_string()).as_deref(),
        Some("2017-03-22 19:28:08")
    );
}

#[test]
fn mock_order_with_fractional_quantity_float_rate_and_raw_taxes() {
    let o = order("ios-order-MOCK-coupon-fee-shipping-tax.json");
    let bundle = &o.line_items[1];
    assert_eq!(bundle.quantity, dec("1.5"));
    assert_eq!(bundle.sku.as_deref(), Some("5555-A"));
    assert_eq!(bundle.price, Decimal::ZERO, "0.0 float");
    assert_eq!(o.tax_lines[0].rate_percent, Some(dec("4.5")));
    assert!(o.tax_lines[0].compound);
    assert_eq!(o.shipping_lines[0].taxes[0].total, dec("0.62125"));
    assert_eq!(
        o.shipping_lines[0].taxes[0].subtotal,
        Decimal::ZERO,
        "\"\" subtotal"
    );
    assert_eq!(o.shipping_lines[0].instance_id, "5");
    assert_eq!(o.fee_lines[0].amount, Some(dec("125.5")));
    assert_eq!(o.coupon_lines[0].discount, dec("30"));
    // `prices_include_tax: null` reads as false.
    assert!(!o.prices_include_tax);
    // Meta values of any shape are kept verbatim.
    let coupon_data = &o.coupon_lines[0].meta_data[0].value;
    assert_eq!(coupon_data["discount_type"], "fixed_cart");
}

#[test]
fn captured_orders_keep_refunds_and_structured_meta() {
    let o = order("ios-order-wc4.7-with-refunds.json");
    let totals: Vec<Decimal> = o.refunds.iter().map(|r| r.total).collect();
    assert_eq!(totals, vec![dec("-16.00"), dec("-0.00")]);
    assert_eq!(o.line_items[0].price, dec("88"));
    assert_eq!(o.line_items[1].price, dec("23.5"));

    let o = order("ios-order-wc3.1-fully-refunded.json");
    assert_eq!(o.status, OrderStatus::Refunded);
    assert!(o.meta("_shipping_packages").is_some_and(Value::is_array));
    assert!(o.meta("_order_number_meta").is_some_and(Value::is_object));
    assert_eq!(
        o.meta_str("_order_number_formatted").as_deref(),
        Some("WC-1018-ZZ")
    );
    assert_eq!(
        o.meta_str("_shipping_method"),
        None,
        "array meta is not text"
    );

    let list: Vec<Order> =
        serde_json::from_str(&fixture("ios-orders-list-mixed.json")).expect("list");
    let real = list.iter().find(|o| o.id == 560).expect("order 560");
    assert_eq!(real.line_items.len(), 8);
    assert_eq!(
        real.line_items[0].sku.as_deref(),
        Some("T-SHIRT-HAPPY-NINJA")
    );
    assert_eq!(real.line_items[0].price, dec("16.2"));
}

#[test]
fn loose_shapes_from_plugins_and_php() {
    let body = r#"{
        "id": "901", "status": null, "total": 12.5, "total_tax": "", "prices_include_tax": "yes",
        "billing": [], "shipping": {"first_name": "Zoé", "postcode": 75011},
        "date_created_gmt": "2024-05-01T10:00:00Z",
        "line_items": [
            {"id": 1, "sku": null, "quantity": "2", "price": 3.3333333333333335, "total": "6.67",
             "taxes": {}, "meta_data": [{"key": "n", "value": 4}, {"key": "o", "value": {"a": [1]}},
                                        {"key": "b", "value": true}, {"key": "z", "value": null}]}
        ],
        "tax_lines": [{"rate_id": "3", "rate_percent": 20}, {"rate_id": 4, "rate_percent": 5.5},
                      {"rate_id": 5, "rate_percent": ""}],
        "coupon_lines": {"0": {"code": "A", "discount": "1.00"}},
        "refunds": null,
        "unknown_extension_field": {"x": 1}
    }"#;
    let o: Order = serde_json::from_str(body).expect("lenient order");
    assert_eq!(o.id, 901);
    assert_eq!(o.status, OrderStatus::Other(String::new()));
    assert_eq!(o.total, dec("12.5"));
    assert_eq!(o.total_tax, Decimal::ZERO);
    assert!(o.prices_include_tax);
    assert_eq!(o.billing, Default::default(), "[] is an empty object");
    assert_eq!(o.shipping.postcode, "75011");
    assert_eq!(
        o.date_created_gmt.map(|d| d.to_string()).as_deref(),
        Some("2024-05-01 10:00:00")
    );
    let line = &o.line_items[0];
    assert_eq!(line.sku, None);
    assert_eq!(line.quantity, dec("2"));
    assert_eq!(
        line.price,
        dec("3.3333333333333335"),
        "float kept as its shortest text"
    );
    assert!(line.taxes.is_empty());
    assert_eq!(line.meta_data[0].value, Value::from(4));
    assert_eq!(line.meta_data[1].value["a"][0], 1);
    assert_eq!(line.meta_data[2].value, Value::Bool(true));
    assert_eq!(line.meta_data[3].value, Value::Null);
    let rates: Vec<Option<Decimal>> = o.tax_lines.iter().map(|t| t.rate_percent).collect();
    assert_eq!(rates, vec![Some(dec("20")), Some(dec("5.5")), None]);
    assert_eq!(o.tax_lines[0].rate_id, 3);
    assert_eq!(o.coupon_lines[0].code, "A");
    assert!(o.refunds.is_empty());
}

#[test]
fn bad_money_is_an_error_not_a_panic() {
    let err = serde_json::from_str::<Order>(r#"{"id":1,"total":"12,50"}"#);
    assert!(
        err.is_err(),
        "a comma decimal must not silently become a number"
    );
}

#[test]
fn products_and_variations_from_every_endpoint() {
    let simple: Product =
        serde_json::from_str(&fixture("docs-product-simple-create-response.json")).expect("simple");
    assert_eq!(simple.kind, "simple");
    assert_eq!(simple.price, Some(dec("21.99")));
    assert_eq!(simple.manage_stock, ManageStock::No);
    assert_eq!(simple.stock_quantity, None);
    assert_eq!(simple.sku, "");

    let variable: Product =
        serde_json::from_str(&fixture("docs-product-variable-create-response.json"))
            .expect("variable");
    assert_eq!(variable.kind, "variable");
    assert_eq!(variable.price, None, "\"\" price on a variable parent");

    let via_products: Product =
        serde_json::from_str(&fixture("ios-variation-via-products-endpoint.json"))
            .expect("variation");
    assert!(via_products.is_variation());
    assert_eq!(via_products.parent_id, 205);
    assert_eq!(via_products.manage_stock, ManageStock::Parent);
    assert_eq!(via_products.sku, "345345-2");

    let fractional: Product =
        serde_json::from_str(&fixture("ios-product-variation.json")).expect("variation");
    assert_eq!(fractional.manage_stock, ManageStock::Yes);
    assert_eq!(fractional.stock_quantity, Some(dec("16.5")));

    let found: Vec<Product> =
        serde_json::from_str(&fixture("ios-products-sku-search-variation.json")).expect("search");
    assert_eq!(found[0].sku, "chocobars");
    assert_eq!(found[0].parent_id, 846);
    assert_eq!(found[0].stock_quantity, Some(dec("7774")));

    let p: Product = serde_json::from_str(
        r#"{"id":5,"type":"variable","sku":null,"variations":[7,"8",0],"manage_stock":"parent","stock_quantity":3.0}"#,
    )
    .expect("loose product");
    assert_eq!(p.variations, vec![7, 8]);
    assert_eq!(p.sku, "");
    assert_eq!(p.stock_quantity, Some(dec("3")));
    // It writes back in WooCommerce's shape: bool|"parent", numeric stock.
    let out = serde_json::to_value(&p).expect("serialises");
    assert_eq!(out["type"], "variable");
    assert_eq!(out["manage_stock"], "parent");
    assert_eq!(out["stock_quantity"], 3);
}
