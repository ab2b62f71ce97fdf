//! Every order in the repository's WooCommerce samples (`tests/fixtures/woocommerce/`, real captures and the
//! REST docs' examples) maps, or is refused with the documented, readable error.

mod support;

use std::path::PathBuf;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use woocommerce::Order;
use woosellsy_domain::{DocumentKind, LineSource, TaxSpec};
use woosellsy_mapping::sellsy_model::{Rounding, compute};
use woosellsy_mapping::{MappingError, plan_document};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/woocommerce")
}

/// The orders of a sample file: a single order, a list, or a batch response.
fn orders_in(value: serde_json::Value) -> Vec<serde_json::Value> {
    let is_order =
        |v: &serde_json::Value| v.get("line_items").is_some() && v.get("total").is_some();
    match value {
        serde_json::Value::Array(items) => items.into_iter().filter(is_order).collect(),
        v if is_order(&v) => vec![v],
        serde_json::Value::Object(mut map) => ["create", "update"]
            .iter()
            .filter_map(|k| map.remove(*k))
            .flat_map(|v| match v {
                serde_json::Value::Array(items) => items,
                _ => Vec::new(),
            })
            .filter(is_order)
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Debug)]
enum Expect {
    Maps { total: Decimal, tax: Decimal },
    Compound,
    MissingEmail,
}

fn expected(file: &str, id: u64) -> Expect {
    match (file, id) {
        (_, 727) => Expect::Maps {
            total: dec!(29.35),
            tax: dec!(1.35),
        },
        (_, 728) => Expect::Maps {
            total: dec!(62.25),
            tax: dec!(2.25),
        },
        (_, 729) => Expect::Maps {
            total: dec!(54.40),
            tax: dec!(2.40),
        },
        (_, 723) => Expect::Maps {
            total: dec!(39.00),
            tax: dec!(0),
        },
        (_, 609) => Expect::Maps {
            total: dec!(223.71),
            tax: dec!(0),
        },
        (_, 960 | 961) => Expect::Maps {
            total: dec!(20.00),
            tax: dec!(0),
        },
        (_, 560) => Expect::Maps {
            total: dec!(1198.50),
            tax: dec!(0),
        },
        // Hand-edited iOS mock: its only tax is compound.
        (_, 963) => Expect::Compound,
        // WC 4.7 capture with the billing email scrubbed.
        (_, 3207) => Expect::MissingEmail,
        other => panic!("no expectation for {other:?}"),
    }
}

#[test]
fn every_sample_order_maps_or_is_refused_readably() {
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(fixtures())
        .expect("fixtures dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
        for raw in orders_in(value) {
            let order: Order = serde_json::from_value(raw).expect("order parses");
            let result = plan_document(&order, &support::settings(), DocumentKind::Invoice);
            match (expected(&file, order.id), result) {
                (Expect::Maps { total, tax }, Ok(planned)) => {
                    let plan = &planned.plan;
                    assert_eq!(plan.totals.incl_tax, total, "{file} #{}", order.id);
                    assert_eq!(plan.totals.tax, tax, "{file} #{}", order.id);
                    for mode in [Rounding::PerRow, Rounding::PerRate] {
                        let doc = compute(&plan.lines, mode);
                        assert_eq!(
                            (doc.incl_tax, doc.tax),
                            (total, tax),
                            "{file} #{} {mode:?}",
                            order.id
                        );
                    }
                    assert_eq!(plan.order_reference, format!("WC-{}", order.number));
                    assert!(plan.customer.email.chars().all(|c| !c.is_uppercase()));
                }
                (Expect::Compound, Err(e @ MappingError::CompoundTax { .. })) => {
                    assert!(e.to_string().contains("compound"), "{e}");
                }
                (Expect::MissingEmail, Err(e @ MappingError::MissingEmail)) => {
                    assert!(e.to_string().contains("billing email"), "{e}");
                }
                (want, got) => panic!("{file} #{}: expected {want:?}, got {got:?}", order.id),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 15, "number of sample orders");
}

fn load(name: &str) -> Order {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join(name)).expect("read")).expect("json");
    serde_json::from_value(value).expect("order")
}

#[test]
fn an_order_from_before_wc_3_7_gets_its_rate_deduced() {
    // Order 727 has no `rate_percent`: 0.45 on 6.00 and 0.90 on 12.00 is 7.5 %.
    let planned = plan_document(
        &load("docs-order-create-response.json"),
        &support::settings(),
        DocumentKind::Invoice,
    )
    .expect("maps");
    let plan = planned.plan;
    assert!(planned.corrections.is_empty());
    assert_eq!(plan.taxes[0].tax, TaxSpec::Rate(dec!(7.5)));
    assert_eq!(plan.taxes[0].amount, dec!(1.35));
    // The product without SKU is a free row, the variation with SKU "Bar3" a catalog row.
    assert_eq!(
        plan.lines[0].source,
        LineSource::Product { reference: None }
    );
    assert_eq!(
        plan.lines[1].source,
        LineSource::Catalog {
            sku: "Bar3".into(),
            parent_sku: None,
            is_variation: true
        }
    );
    assert_eq!(
        (plan.lines[0].quantity, plan.lines[0].unit_amount),
        (dec!(2), dec!(3.00))
    );
    // Shipping is its own untaxed row.
    assert_eq!(
        plan.lines[2].source,
        LineSource::Shipping {
            method_id: "flat_rate".into()
        }
    );
    assert!(matches!(plan.lines[2].tax, TaxSpec::Exempt(_)));
    assert_eq!(plan.subject, "Commande WooCommerce n°727");
    assert_eq!(plan.date.to_string(), "2017-03-22");
    assert_eq!(plan.currency, "USD");
}

#[test]
fn an_order_rounded_at_subtotal_gets_a_tax_rounding_row() {
    // Order 728: raw taxes 1.125 + 0.225 + 0.9 = 2.25 (rounded at subtotal); rows rounded one by one would
    // give 1.13 + 0.23 + 0.90 = 2.26.
    let value: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("docs-orders-batch-response.json")).expect("read"),
    )
    .expect("json");
    let raw = orders_in(value)
        .into_iter()
        .find(|o| o["id"] == 728)
        .expect("order 728");
    let order: Order = serde_json::from_value(raw).expect("order");
    let planned = plan_document(&order, &support::settings(), DocumentKind::Invoice).expect("maps");
    assert!(!planned.corrections.is_empty());
    assert!(
        planned
            .plan
            .lines
            .iter()
            .any(|l| l.source == LineSource::Rounding)
    );
    for mode in [Rounding::PerRow, Rounding::PerRate] {
        let doc = compute(&planned.plan.lines, mode);
        assert_eq!(
            (doc.tax, doc.incl_tax),
            (dec!(2.25), dec!(62.25)),
            "{mode:?}"
        );
    }
    assert!(planned.plan.notes.iter().any(|n| n.contains("arrondi")));
}

#[test]
fn the_scrubbed_capture_with_an_email_is_refused_for_its_unknown_rate() {
    let mut order = load("ios-order-wc4.7-variation-line-item-attributes.json");
    order.billing.email = "Buyer@Example.com".into();
    let err = plan_document(&order, &support::settings(), DocumentKind::Invoice).unwrap_err();
    assert_eq!(
        err,
        MappingError::UnknownTaxRate {
            rate_id: 1,
            line: "<Variable> Fun Pens! - Orange, Mitsubishi".into()
        }
    );
    assert!(err.to_string().contains("recalculate"), "{err}");
}
