//! Property tests: orders computed the way WooCommerce computes them (`woo-calc`) map without error, and the
//! simulated Sellsy (`sim_sellsy::compute`) totals the plan to WooCommerce's total and per-rate taxes, to the
//! cent, whether it rounds taxes per row or per rate. 2 × 5,000 generated orders.

mod support;

use proptest::prelude::*;
use rust_decimal::Decimal;
use sim_sellsy::compute::{RoundingMode, RowDiscount, RowInput, RowKind, compute};
use woocommerce::Order;
use woosellsy_domain::{ConnectorId, DocumentKind, LineDiscount, LineSource, TaxSpec};
use woosellsy_mapping::plan_document;

use support::settings;

/// Sellsy tax ids are per account; the test numbers the plan's taxes in order of appearance.
fn rows(plan: &woosellsy_domain::DocumentPlan, ids: &mut Vec<TaxSpec>) -> Vec<RowInput> {
    plan.lines
        .iter()
        .map(|l| {
            let tax_id = match ids.iter().position(|t| *t == l.tax) {
                Some(i) => i as u64 + 1,
                None => {
                    ids.push(l.tax);
                    ids.len() as u64
                }
            };
            RowInput {
                quantity: l.quantity,
                unit_amount: l.unit_amount,
                tax_id,
                tax_rate: match l.tax {
                    TaxSpec::Rate(p) => p,
                    TaxSpec::Exempt(_) => Decimal::ZERO,
                },
                discount: l.discount.map(|d| match d {
                    LineDiscount::Amount(a) => RowDiscount::Amount(a),
                    LineDiscount::Percent(p) => RowDiscount::Percent(p),
                }),
                kind: match l.source {
                    LineSource::Catalog { .. } => RowKind::Catalog,
                    LineSource::Shipping { .. } => RowKind::Shipping,
                    _ => RowKind::Single,
                },
            }
        })
        .collect()
}

fn check(spec: &woo_calc::OrderSpec) -> Result<(), TestCaseError> {
    let json = woo_calc::build_order(4242, spec);
    let order: Order =
        serde_json::from_value(json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let planned = plan_document(&order, &settings(), DocumentKind::Invoice)
        .map_err(|e| TestCaseError::fail(format!("mapping refused a WooCommerce order: {e}")))?;
    let plan = &planned.plan;
    prop_assert_eq!(plan.totals.incl_tax, order.total);

    // WooCommerce's figure per percent.
    let mut wc: Vec<(Decimal, Decimal)> = Vec::new();
    for t in &order.tax_lines {
        let p = t.rate_percent.unwrap_or_default().normalize();
        match wc.iter_mut().find(|(q, _)| *q == p) {
            Some((_, a)) => *a += t.tax_total + t.shipping_tax_total,
            None => wc.push((p, t.tax_total + t.shipping_tax_total)),
        }
    }
    let mut ids = Vec::new();
    let input = rows(plan, &mut ids);
    for mode in [RoundingMode::PerRow, RoundingMode::PerRate] {
        let doc = compute(&input, None, mode);
        prop_assert_eq!(
            doc.total_incl_tax,
            order.total,
            "{:?} total; plan {:#?}",
            mode,
            plan.lines
        );
        for t in &doc.taxes {
            let expected = wc
                .iter()
                .find(|(p, _)| *p == t.rate)
                .map(|(_, a)| *a)
                .unwrap_or_default();
            prop_assert_eq!(
                t.amount,
                expected,
                "{:?} tax at {} %; plan {:#?}",
                mode,
                t.rate,
                plan.lines
            );
        }
        for (p, a) in &wc {
            if !a.is_zero() {
                prop_assert!(
                    doc.taxes.iter().any(|t| t.rate == *p),
                    "{:?}: WooCommerce tax at {} % missing",
                    mode,
                    p
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn woocommerce_orders_total_the_same_in_sellsy(spec in support::carts::order_spec()) {
        check(&spec)?;
    }

    #[test]
    fn woocommerce_orders_with_many_lines_total_the_same_in_sellsy(
        spec in support::carts::order_spec(),
        copies in 2usize..=4,
    ) {
        // The same cart lines several times over: more rows rounding the same way, the hard case for
        // per-row versus per-rate rounding.
        let mut spec = spec;
        let lines = spec.lines.clone();
        for _ in 1..copies {
            spec.lines.extend(lines.iter().cloned());
        }
        prop_assume!(!support::carts::woocommerce_capped(&spec));
        check(&spec)?;
    }
}

#[test]
fn connector_id_of_the_test_settings_is_valid() {
    assert_eq!(settings().id, ConnectorId::parse("shop-1").expect("id"));
}
