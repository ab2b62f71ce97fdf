//! When the connector names its Sellsy account's tax rounding (`sellsy_tax_rounding`), the plan only has to
//! be exact under that rounding. Property tests: the simulated Sellsy (`sim_sellsy::compute`) then totals the
//! plan to WooCommerce's total and per-rate taxes to the cent in that mode (5,000 generated orders per mode,
//! 2,000 of them with repeated lines). Table: orders that need rounding rows when the rounding is unknown
//! need none when it is known.

mod support;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use woo_calc::{LineSpec, OrderSpec, ShippingSpec};
use woosellsy_domain::{LineSource, TaxRounding};
use woosellsy_mapping::Planned;

use support::sellsy::{check, many_lines};

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn per_row_accounts_total_the_same_in_sellsy(spec in support::carts::order_spec()) {
        check(&spec, TaxRounding::PerRow)?;
    }

    #[test]
    fn per_rate_accounts_total_the_same_in_sellsy(spec in support::carts::order_spec()) {
        check(&spec, TaxRounding::PerRate)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn per_row_accounts_total_the_same_with_many_lines(
        spec in support::carts::order_spec(),
        copies in 2usize..=4,
    ) {
        let spec = many_lines(spec, copies);
        prop_assume!(!support::carts::woocommerce_capped(&spec));
        check(&spec, TaxRounding::PerRow)?;
    }

    #[test]
    fn per_rate_accounts_total_the_same_with_many_lines(
        spec in support::carts::order_spec(),
        copies in 2usize..=4,
    ) {
        let spec = many_lines(spec, copies);
        prop_assume!(!support::carts::woocommerce_capped(&spec));
        check(&spec, TaxRounding::PerRate)?;
    }
}

// --- Orders whose rounding rows the setting saves ----------------------------------------------------------

fn line(i: u64, qty: Decimal, price: Decimal, rate: Decimal) -> LineSpec {
    LineSpec {
        product_id: 100 + i,
        variation_id: 0,
        sku: Some(format!("REF-{i}")),
        name: format!("Article {i}"),
        quantity: qty,
        unit_price: price,
        tax_rate: rate,
        tax_rate_id: if rate.is_zero() { 0 } else { 1 },
    }
}

fn cart(prices_include_tax: bool, round_at_subtotal: bool, lines: Vec<LineSpec>) -> OrderSpec {
    let date = NaiveDate::from_ymd_opt(2025, 3, 14)
        .and_then(|d| d.and_hms_opt(9, 26, 53))
        .expect("date");
    OrderSpec {
        prices_include_tax,
        round_at_subtotal,
        ..OrderSpec::paid(lines, date)
    }
}

fn same_lines(n: u64, qty: Decimal, price: Decimal, rate: Decimal) -> Vec<LineSpec> {
    (0..n).map(|i| line(i, qty, price, rate)).collect()
}

fn rounding_rows(planned: &Planned) -> usize {
    planned
        .plan
        .lines
        .iter()
        .filter(|l| l.source == LineSource::Rounding)
        .count()
}

#[test]
fn knowing_the_rounding_saves_the_rounding_rows() {
    let with_shipping = {
        let mut c = cart(false, false, same_lines(4, dec!(1), dec!(2.35), dec!(5.5)));
        c.shipping.push(ShippingSpec {
            method_id: "flat_rate".into(),
            title: "Colissimo".into(),
            cost: dec!(5),
            tax_rate: dec!(5.5),
            tax_rate_id: 1,
        });
        c
    };
    let table = [
        (
            "3 × 1.05 at 5.5 %, WooCommerce rounds per line (0.18)",
            cart(false, false, same_lines(3, dec!(1), dec!(1.05), dec!(5.5))),
            TaxRounding::PerRow,
        ),
        (
            "3 × 1.05 at 5.5 %, WooCommerce rounds at subtotal (0.17)",
            cart(false, true, same_lines(3, dec!(1), dec!(1.05), dec!(5.5))),
            TaxRounding::PerRate,
        ),
        (
            "10 × 3.13 at 20 %, rounded per line (6.30 where per rate gives 6.26)",
            cart(false, false, same_lines(10, dec!(1), dec!(3.13), dec!(20))),
            TaxRounding::PerRow,
        ),
        (
            "3 × 10.00 incl. 20 % tax, rounded per line",
            cart(true, false, same_lines(3, dec!(1), dec!(10), dec!(20))),
            TaxRounding::PerRow,
        ),
        (
            "4 × 2.35 and shipping at 5.5 %, rounded per line",
            with_shipping,
            TaxRounding::PerRow,
        ),
    ];
    for (name, spec, matching) in table {
        let unknown = check(&spec, TaxRounding::Unknown).unwrap_or_else(|e| panic!("{name}: {e}"));
        let known = check(&spec, matching).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            rounding_rows(&unknown) >= 1,
            "{name}: expected rounding rows when the rounding is unknown"
        );
        assert_eq!(
            rounding_rows(&known),
            0,
            "{name}: {matching:?} needs no rounding row; got {:#?}",
            known.corrections
        );
        assert!(known.corrections.is_empty(), "{name}");
        // The merchant-facing notes only mention rounding rows that exist.
        assert!(
            !known
                .plan
                .notes
                .iter()
                .any(|n| n.contains("Arrondi") || n.contains("arrondi")),
            "{name}: {:?}",
            known.plan.notes
        );
    }
}
