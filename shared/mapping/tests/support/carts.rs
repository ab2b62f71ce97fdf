//! Random carts as a WooCommerce shop sees them (shared by the property tests and `examples/corpus.rs`):
//! prices with and without tax, rounding per line and at subtotal, 1–3 tax rates plus untaxed products,
//! percent and fixed coupons, fees (including negative ones), taxed shipping, quantities 1–50.

#![allow(dead_code)]

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use woo_calc::{CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec};

/// Rates seen in real shops (France, Belgium, Switzerland, US states): the mix matters more than the country.
const RATES: [i64; 8] = [200, 100, 55, 21, 60, 85, 75, 77];

fn money(max_cents: i64) -> impl Strategy<Value = Decimal> {
    (1..=max_cents).prop_map(|c| Decimal::new(c, 2))
}

fn rate_set() -> impl Strategy<Value = Vec<(Decimal, u64)>> {
    proptest::sample::subsequence(RATES.to_vec(), 1..=3).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, tenths)| (Decimal::new(tenths, 1), i as u64 + 1))
            .collect()
    })
}

/// A rate of the set, or none (an untaxed product) one time in eight.
fn pick(rates: &[(Decimal, u64)], choice: usize) -> (Decimal, u64) {
    if choice % 8 == 7 {
        (Decimal::ZERO, 0)
    } else {
        rates[choice % rates.len()]
    }
}

fn quantity() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        8 => (1i64..=3).prop_map(Decimal::from),
        3 => (1i64..=50).prop_map(Decimal::from),
        1 => (1i64..=20).prop_map(|h| Decimal::new(h * 10 + 5, 1)),
    ]
}

fn coupon() -> impl Strategy<Value = CouponSpec> {
    prop_oneof![
        (1i64..=60).prop_map(|p| CouponSpec::Percent {
            code: format!("PROMO{p}"),
            percent: Decimal::from(p)
        }),
        Just(CouponSpec::Percent {
            code: "DEMI".into(),
            percent: Decimal::new(125, 1)
        }),
        money(5000).prop_map(|a| CouponSpec::FixedCart {
            code: format!("MOINS{a}"),
            amount: a
        }),
        money(1000).prop_map(|a| CouponSpec::FixedProduct {
            code: format!("UNIT{a}"),
            amount: a
        }),
    ]
}

/// Whether WooCommerce capped something in this order: a negative fee (so that the order does not go below
/// zero) or the grand total (`max(0, total)`, when a negative fee's spread tax or over-discounted lines take
/// it below zero). Such an order's total and its lines disagree by design; the mapping refuses it
/// (`CappedTotal`), and the generator leaves it out.
pub fn woocommerce_capped(spec: &OrderSpec) -> bool {
    let calc = woo_calc::calculate(spec);
    let fee_capped = spec
        .fees
        .iter()
        .zip(&calc.fees)
        .any(|(f, t)| f.amount * Decimal::ONE_HUNDRED != t.total);
    fee_capped || calc.total != calc.uncapped_total
}

pub fn order_spec() -> impl Strategy<Value = OrderSpec> {
    raw_order_spec().prop_filter("WooCommerce capped a fee or the total", |s| {
        !woocommerce_capped(s)
    })
}

fn raw_order_spec() -> impl Strategy<Value = OrderSpec> {
    (rate_set(), any::<bool>(), any::<bool>()).prop_flat_map(|(rates, pit, ras)| {
        let lines = proptest::collection::vec(
            (
                quantity(),
                money(30_000),
                0usize..64,
                proptest::option::of("[A-Z0-9-]{0,8}"),
            ),
            1..=6,
        );
        let coupons = proptest::collection::vec(coupon(), 0..=2);
        let fees = proptest::collection::vec((-3000i64..=3000, any::<bool>(), 0usize..64), 0..=2);
        let shipping = proptest::collection::vec((0i64..=3000, 0usize..64), 0..=2);
        let company = any::<bool>();
        (
            Just(rates),
            Just(pit),
            Just(ras),
            lines,
            coupons,
            fees,
            shipping,
            company,
        )
            .prop_map(
                |(rates, pit, ras, lines, coupons, fees, shipping, company)| {
                    let lines = lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, (qty, price, r, sku))| {
                            let (tax_rate, tax_rate_id) = pick(&rates, r);
                            LineSpec {
                                product_id: 100 + i as u64,
                                variation_id: if i % 3 == 2 { 500 + i as u64 } else { 0 },
                                sku,
                                name: format!("Article {i} &ndash; test"),
                                quantity: qty,
                                unit_price: price,
                                tax_rate,
                                tax_rate_id,
                            }
                        })
                        .collect();
                    let fees = fees
                        .into_iter()
                        .filter(|(c, _, _)| *c != 0)
                        .enumerate()
                        .map(|(i, (cents, taxable, r))| {
                            let (tax_rate, tax_rate_id) = pick(&rates, r);
                            FeeSpec {
                                name: if cents < 0 {
                                    format!("Remise {i}")
                                } else {
                                    format!("Frais {i}")
                                },
                                amount: Decimal::new(cents, 2),
                                taxable: taxable && tax_rate > Decimal::ZERO,
                                tax_rate,
                                tax_rate_id,
                            }
                        })
                        .collect();
                    let shipping = shipping
                        .into_iter()
                        .enumerate()
                        .map(|(i, (cents, r))| {
                            let (tax_rate, tax_rate_id) = pick(&rates, r);
                            ShippingSpec {
                                method_id: if cents == 0 {
                                    "free_shipping".into()
                                } else {
                                    "flat_rate".into()
                                },
                                title: format!("Livraison {i}"),
                                cost: Decimal::new(cents, 2),
                                tax_rate,
                                tax_rate_id,
                            }
                        })
                        .collect();
                    let mut customer = CustomerSpec::default();
                    if company {
                        customer.company = "Atelier Dupont SARL".into();
                        customer.vat_number = Some("FR 40 123456789".into());
                    }
                    OrderSpec {
                        currency: "EUR".into(),
                        prices_include_tax: pit,
                        round_at_subtotal: ras,
                        customer,
                        lines,
                        coupons,
                        fees,
                        shipping,
                        status: "processing".into(),
                        paid: true,
                        date_created: NaiveDate::from_ymd_opt(2025, 3, 14)
                            .and_then(|d| d.and_hms_opt(9, 26, 53))
                            .unwrap_or_default(),
                    }
                },
            )
    })
}
