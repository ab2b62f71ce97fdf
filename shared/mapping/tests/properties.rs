//! Property tests: orders computed the way WooCommerce computes them (`woo-calc`) map without error, and the
//! simulated Sellsy (`sim_sellsy::compute`) totals the plan to WooCommerce's total and per-rate taxes, to the
//! cent, whether it rounds taxes per row or per rate. 2 × 5,000 generated orders.

mod support;

use proptest::prelude::*;
use woosellsy_domain::{ConnectorId, TaxRounding};

use support::sellsy::{check, many_lines};
use support::settings;

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn woocommerce_orders_total_the_same_in_sellsy(spec in support::carts::order_spec()) {
        check(&spec, TaxRounding::Unknown)?;
    }

    #[test]
    fn woocommerce_orders_with_many_lines_total_the_same_in_sellsy(
        spec in support::carts::order_spec(),
        copies in 2usize..=4,
    ) {
        let spec = many_lines(spec, copies);
        prop_assume!(!support::carts::woocommerce_capped(&spec));
        check(&spec, TaxRounding::Unknown)?;
    }
}

#[test]
fn connector_id_of_the_test_settings_is_valid() {
    assert_eq!(settings().id, ConnectorId::parse("shop-1").expect("id"));
}
