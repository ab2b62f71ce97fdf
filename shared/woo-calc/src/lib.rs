//! WooCommerce's order arithmetic, reproduced in `Decimal` so that tests and the demo can build orders
//! exactly as a real shop would compute them: per-line tax rounding or rounding at subtotal, prices entered
//! with or without tax, coupons spread over lines in cents, negative fees whose tax is spread over the cart's
//! rates, shipping tax.
//!
//! * [`spec`]: the cart ([`OrderSpec`]).
//! * [`calc`]: the calculation ([`calculate`]), with its assumptions documented at the top.
//! * [`order`]: the REST v3 order JSON ([`build_order`]).

pub mod calc;
pub mod order;
pub mod spec;

pub use calc::{Calculated, calculate};
pub use order::build_order;
pub use spec::{CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use serde_json::Value;

    fn line(name: &str, qty: Decimal, price: Decimal, rate: Decimal, rate_id: u64) -> LineSpec {
        LineSpec {
            product_id: 10,
            variation_id: 0,
            sku: Some(format!("SKU-{name}")),
            name: name.to_owned(),
            quantity: qty,
            unit_price: price,
            tax_rate: rate,
            tax_rate_id: rate_id,
        }
    }

    fn spec(lines: Vec<LineSpec>) -> OrderSpec {
        let date = NaiveDate::from_ymd_opt(2024, 6, 1)
            .and_then(|d| d.and_hms_opt(10, 30, 0))
            .expect("valid date");
        OrderSpec::paid(lines, date)
    }

    fn s(v: &Value) -> &str {
        v.as_str().expect("a string")
    }

    #[test]
    fn excluding_tax_order_with_taxed_shipping() {
        let mut sp = spec(vec![line("tee", dec!(2), dec!(12.50), dec!(20), 1)]);
        sp.shipping.push(ShippingSpec {
            method_id: "flat_rate".into(),
            title: "Colissimo".into(),
            cost: dec!(4.95),
            tax_rate: dec!(20),
            tax_rate_id: 1,
        });
        let o = build_order(7, &sp);
        let li = &o["line_items"][0];
        assert_eq!(s(&li["subtotal"]), "25.00");
        assert_eq!(s(&li["total_tax"]), "5.00");
        assert_eq!(s(&li["taxes"][0]["total"]), "5");
        // 4.95 × 20 % = 0.99.
        assert_eq!(s(&o["shipping_lines"][0]["total_tax"]), "0.99");
        assert_eq!(s(&o["tax_lines"][0]["tax_total"]), "5.00");
        assert_eq!(s(&o["tax_lines"][0]["shipping_tax_total"]), "0.99");
        assert_eq!(s(&o["total"]), "35.94");
        assert_eq!(s(&o["total_tax"]), "5.99");
    }

    #[test]
    fn prices_including_tax_round_tax_half_down_per_line() {
        // 9.99 TTC at 20 %: tax 1.665 → 1.66 (half-down with prices incl. tax), net 8.325 → "8.33";
        // grand total round(832.5 + 166) = 999 cents (half up on the total).
        let mut sp = spec(vec![line("mug", dec!(1), dec!(9.99), dec!(20), 1)]);
        sp.prices_include_tax = true;
        let c = calculate(&sp);
        assert_eq!(c.items[0].total_tax, dec!(166));
        assert_eq!(c.items[0].total, dec!(832.5));
        assert_eq!(c.total, dec!(999));
        let o = build_order(8, &sp);
        assert_eq!(s(&o["line_items"][0]["total"]), "8.33");
        assert_eq!(s(&o["line_items"][0]["total_tax"]), "1.66");
        assert_eq!(s(&o["line_items"][0]["taxes"][0]["total"]), "1.665");
        assert_eq!(s(&o["total"]), "9.99");
    }

    #[test]
    fn rounding_at_subtotal_changes_the_tax_total() {
        // Three lines of 1.05 at 5.5 %: 0.05775 each. Per line: 0.06 × 3 = 0.18; at subtotal: 0.17325 → 0.17.
        let lines = vec![
            line("a", dec!(1), dec!(1.05), dec!(5.5), 2),
            line("b", dec!(1), dec!(1.05), dec!(5.5), 2),
            line("c", dec!(1), dec!(1.05), dec!(5.5), 2),
        ];
        let per_line = build_order(1, &spec(lines.clone()));
        assert_eq!(s(&per_line["tax_lines"][0]["tax_total"]), "0.18");
        assert_eq!(s(&per_line["total"]), "3.33");
        let mut sub = spec(lines);
        sub.round_at_subtotal = true;
        let at_subtotal = build_order(1, &sub);
        assert_eq!(s(&at_subtotal["tax_lines"][0]["tax_total"]), "0.17");
        assert_eq!(s(&at_subtotal["total"]), "3.32");
        // Each line still shows its own rounded tax and the raw tax.
        assert_eq!(s(&at_subtotal["line_items"][0]["total_tax"]), "0.06");
        assert_eq!(
            s(&at_subtotal["line_items"][0]["taxes"][0]["total"]),
            "0.05775"
        );
    }

    #[test]
    fn percent_coupon_hands_the_floored_cents_out_one_by_one() {
        // 3 × 3.33 with 10 %: floor(33.3) = 33 per line = 99, the cart as a whole gets round(99.9) = 100:
        // the missing cent goes to the first line in price order.
        let mut sp = spec(vec![
            line("a", dec!(1), dec!(3.33), dec!(0), 0),
            line("b", dec!(1), dec!(3.33), dec!(0), 0),
            line("c", dec!(1), dec!(3.33), dec!(0), 0),
        ]);
        sp.coupons.push(CouponSpec::Percent {
            code: "DIX".into(),
            percent: dec!(10),
        });
        let c = calculate(&sp);
        let d: Vec<Decimal> = c.items.iter().map(|i| i.discount).collect();
        assert_eq!(d, vec![dec!(34), dec!(33), dec!(33)]);
        let o = build_order(2, &sp);
        assert_eq!(s(&o["coupon_lines"][0]["discount"]), "1.00");
        assert_eq!(s(&o["discount_total"]), "1.00");
        assert_eq!(s(&o["total"]), "8.99");
    }

    #[test]
    fn fixed_cart_coupon_is_spread_per_unit_with_remainder() {
        // 10.00 over 3 units: 3.33 each, then the last cent on the most expensive line.
        let mut sp = spec(vec![
            line("cheap", dec!(2), dec!(5), dec!(20), 1),
            line("dear", dec!(1), dec!(30), dec!(20), 1),
        ]);
        sp.coupons.push(CouponSpec::FixedCart {
            code: "MOINS10".into(),
            amount: dec!(10),
        });
        let c = calculate(&sp);
        assert_eq!(c.items[1].discount, dec!(334));
        assert_eq!(c.items[0].discount, dec!(666));
        let o = build_order(3, &sp);
        // Lines: 10 − 6.66 = 3.34 (tax 0.67), 30 − 3.34 = 26.66 (tax 5.33).
        assert_eq!(s(&o["line_items"][0]["total"]), "3.34");
        assert_eq!(s(&o["line_items"][1]["total"]), "26.66");
        assert_eq!(s(&o["tax_lines"][0]["tax_total"]), "6.00");
        assert_eq!(s(&o["coupon_lines"][0]["discount_tax"]), "2.00");
        assert_eq!(s(&o["total"]), "36.00");
    }

    #[test]
    fn fixed_product_coupon_never_exceeds_the_line() {
        let mut sp = spec(vec![line("pin", dec!(3), dec!(1.50), dec!(20), 1)]);
        sp.coupons.push(CouponSpec::FixedProduct {
            code: "PIN2".into(),
            amount: dec!(2),
        });
        let o = build_order(4, &sp);
        assert_eq!(s(&o["line_items"][0]["total"]), "0.00");
        assert_eq!(s(&o["coupon_lines"][0]["discount"]), "4.50");
        assert_eq!(s(&o["total"]), "0.00");
    }

    #[test]
    fn coupon_on_prices_including_tax_is_taken_off_the_gross_price() {
        let mut sp = spec(vec![line("bike", dec!(1), dec!(120), dec!(20), 1)]);
        sp.prices_include_tax = true;
        sp.coupons.push(CouponSpec::FixedCart {
            code: "VELO".into(),
            amount: dec!(12),
        });
        let o = build_order(5, &sp);
        // 108 TTC → 90 HT + 18 TVA; coupon 12 TTC = 10 HT + 2 TVA.
        assert_eq!(s(&o["line_items"][0]["subtotal"]), "100.00");
        assert_eq!(s(&o["line_items"][0]["total"]), "90.00");
        assert_eq!(s(&o["coupon_lines"][0]["discount"]), "10.00");
        assert_eq!(s(&o["coupon_lines"][0]["discount_tax"]), "2.00");
        assert_eq!(s(&o["total"]), "108.00");
    }

    #[test]
    fn negative_fee_spreads_its_tax_over_the_cart_rates() {
        // Cart: 100 at 20 % and 50 at 5.5 %, fee −15: 2/3 of it at 20 % (−2.00), 1/3 at 5.5 % (−0.275).
        let mut sp = spec(vec![
            line("book", dec!(1), dec!(50), dec!(5.5), 2),
            line("lamp", dec!(1), dec!(100), dec!(20), 1),
        ]);
        sp.fees.push(FeeSpec {
            name: "Remise fidélité".into(),
            amount: dec!(-15),
            taxable: false,
            tax_rate: dec!(0),
            tax_rate_id: 0,
        });
        let o = build_order(6, &sp);
        let fee = &o["fee_lines"][0];
        assert_eq!(s(&fee["total"]), "-15.00");
        assert_eq!(s(&fee["taxes"][0]["total"]), "-0.275");
        assert_eq!(s(&fee["taxes"][1]["total"]), "-2");
        // Per line the fee's taxes round to −0.28 (half up: away from zero) and −2.00.
        assert_eq!(s(&fee["total_tax"]), "-2.28");
        // Tax lines take fee taxes unrounded: 2.75 − 0.275 = 2.475 → 2.48; 20 − 2 = 18.
        let by_rate: Vec<(&str, &str)> = o["tax_lines"]
            .as_array()
            .expect("tax lines")
            .iter()
            .map(|t| (s(&t["label"]), s(&t["tax_total"])))
            .collect();
        assert_eq!(by_rate, vec![("TVA 5.5 %", "2.48"), ("TVA 20 %", "18.00")]);
        // The grand total uses the per-line rounded fee taxes: 150 − 15 + 22.75 − 2.28 = 155.47.
        assert_eq!(s(&o["total"]), "155.47");
    }

    #[test]
    fn negative_fee_cannot_take_the_total_below_zero() {
        let mut sp = spec(vec![line("gift", dec!(1), dec!(10), dec!(0), 0)]);
        sp.fees.push(FeeSpec {
            name: "Bon".into(),
            amount: dec!(-25),
            taxable: false,
            tax_rate: dec!(0),
            tax_rate_id: 0,
        });
        let o = build_order(9, &sp);
        assert_eq!(s(&o["fee_lines"][0]["total"]), "-10.00");
        assert_eq!(s(&o["fee_lines"][0]["amount"]), "-25");
        assert_eq!(s(&o["total"]), "0.00");
    }

    #[test]
    fn the_order_parses_as_the_connector_reads_it() {
        let mut sp = spec(vec![line("tee", dec!(1.5), dec!(3.33), dec!(20), 1)]);
        sp.customer.vat_number = Some("FR12345678901".into());
        sp.customer.company = "Acme SARL".into();
        let o = build_order(11, &sp);
        assert_eq!(o["line_items"][0]["quantity"], serde_json::json!(1.5));
        assert_eq!(o["meta_data"][0]["key"], "_billing_vat_number");
        assert_eq!(o["date_paid"], "2024-06-01T10:30:00");
        assert_eq!(o["tax_lines"][0]["rate_percent"], serde_json::json!(20));
        // 1.5 × 3.33 = 4.995 → 499.5 cents; tax 99.9 → 100; total round(499.5 + 100) = 600.
        assert_eq!(s(&o["line_items"][0]["total"]), "5.00");
        assert_eq!(s(&o["total"]), "6.00");
    }
}
