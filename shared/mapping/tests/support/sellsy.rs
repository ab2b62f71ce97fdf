//! The plan as rows of the simulated Sellsy (`sim_sellsy::compute`), WooCommerce's own tax figures, and the
//! one property every generated order must have: Sellsy totals the plan as WooCommerce did, to the cent.

#![allow(dead_code)]

use proptest::prelude::*;
use rust_decimal::Decimal;
use sim_sellsy::compute::{RoundingMode, RowDiscount, RowInput, RowKind, compute};
use woo_calc::OrderSpec;
use woocommerce::Order;
use woosellsy_domain::{
    DocumentKind, DocumentPlan, LineDiscount, LineSource, TaxRounding, TaxSpec,
};
use woosellsy_mapping::{Planned, plan_document};

use super::settings_rounding;

/// The order WooCommerce would store for `spec`.
pub fn order(spec: &OrderSpec) -> Order {
    serde_json::from_value(woo_calc::build_order(4242, spec)).expect("order")
}

/// The same cart lines `copies` times over: more rows rounding the same way, the hard case for per-row
/// versus per-rate rounding.
pub fn many_lines(mut spec: OrderSpec, copies: usize) -> OrderSpec {
    let lines = spec.lines.clone();
    for _ in 1..copies {
        spec.lines.extend(lines.iter().cloned());
    }
    spec
}

/// Maps `spec` for an account rounding as `rounding` and checks Sellsy's figures in that mode (in both when
/// it is unknown): the document total and each rate's tax equal WooCommerce's, and no WooCommerce rate is
/// missing.
pub fn check(spec: &OrderSpec, rounding: TaxRounding) -> Result<Planned, TestCaseError> {
    let order = order(spec);
    let planned = plan_document(&order, &settings_rounding(rounding), DocumentKind::Invoice)
        .map_err(|e| TestCaseError::fail(format!("mapping refused a WooCommerce order: {e}")))?;
    let plan = &planned.plan;
    prop_assert_eq!(plan.totals.incl_tax, order.total);

    let wc = woocommerce_taxes(&order);
    let modes: &[RoundingMode] = match rounding {
        TaxRounding::Unknown => &[RoundingMode::PerRow, RoundingMode::PerRate],
        TaxRounding::PerRow => &[RoundingMode::PerRow],
        TaxRounding::PerRate => &[RoundingMode::PerRate],
    };
    let input = rows(plan);
    for &mode in modes {
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
    Ok(planned)
}

/// Sellsy tax ids are per account; the rows number the plan's taxes in order of appearance.
pub fn rows(plan: &DocumentPlan) -> Vec<RowInput> {
    let mut ids: Vec<TaxSpec> = Vec::new();
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

/// WooCommerce's tax per percent (items and shipping together), percents normalized.
pub fn woocommerce_taxes(order: &Order) -> Vec<(Decimal, Decimal)> {
    let mut wc: Vec<(Decimal, Decimal)> = Vec::new();
    for t in &order.tax_lines {
        let p = t.rate_percent.unwrap_or_default().normalize();
        match wc.iter_mut().find(|(q, _)| *q == p) {
            Some((_, a)) => *a += t.tax_total + t.shipping_tax_total,
            None => wc.push((p, t.tax_total + t.shipping_tax_total)),
        }
    }
    wc
}
