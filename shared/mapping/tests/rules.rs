//! One test per mapping rule: customers, lines, taxes, discounts/shipping/fees, currency and references,
//! totals gaps, eligibility. Orders are built with `woo-calc` (as WooCommerce computes them) and edited where
//! a rule needs an order WooCommerce would not produce.

mod support;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use woo_calc::{CouponSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec, build_order};
use woocommerce::Order;
use woosellsy_domain::{CustomerKind, DocumentKind, Exemption, LineDiscount, LineSource, TaxSpec};
use woosellsy_mapping::sellsy_model::{Rounding, compute};
use woosellsy_mapping::{Eligibility, MappingError, Planned, eligibility, plan_document};

fn line(sku: Option<&str>, qty: Decimal, price: Decimal, rate: Decimal, rate_id: u64) -> LineSpec {
    LineSpec {
        product_id: 1,
        variation_id: 0,
        sku: sku.map(str::to_owned),
        name: "Produit".into(),
        quantity: qty,
        unit_price: price,
        tax_rate: rate,
        tax_rate_id: rate_id,
    }
}

fn cart(lines: Vec<LineSpec>) -> OrderSpec {
    let date = NaiveDate::from_ymd_opt(2025, 1, 31)
        .and_then(|d| d.and_hms_opt(23, 10, 0))
        .expect("date");
    // Lower-case on purpose: the document's currency is normalised.
    OrderSpec {
        currency: "eur".into(),
        ..OrderSpec::paid(lines, date)
    }
}

fn parse(v: Value) -> Order {
    serde_json::from_value(v).expect("order")
}

fn plan(v: Value) -> Result<Planned, MappingError> {
    plan_document(&parse(v), &support::settings(), DocumentKind::Invoice)
}

fn ok(v: Value) -> Planned {
    let planned = plan(v).expect("maps");
    // Whatever the rule, the document must come to WooCommerce's figures under both roundings.
    for mode in [Rounding::PerRow, Rounding::PerRate] {
        let doc = compute(&planned.plan.lines, mode);
        assert_eq!(doc.incl_tax, planned.plan.totals.incl_tax, "{mode:?}");
        assert_eq!(doc.tax, planned.plan.totals.tax, "{mode:?}");
    }
    planned
}

const VAT20: TaxSpec = TaxSpec::Rate(dec!(20));

// --- 1. Customers -------------------------------------------------------------------------------------------

#[test]
fn a_billing_company_makes_a_company_customer_with_its_vat_number() {
    let mut c = cart(vec![line(Some("TEE"), dec!(1), dec!(10), dec!(20), 1)]);
    c.customer.company = "Atelier Dupont &amp; Fils".into();
    c.customer.vat_number = Some("fr 40 123456789".into());
    c.customer.email = "  Compta@Dupont.FR ".into();
    let p = ok(build_order(1, &c)).plan;
    assert_eq!(p.customer.email, "compta@dupont.fr");
    assert_eq!(
        p.customer.kind,
        CustomerKind::Company {
            name: "Atelier Dupont & Fils".into(),
            vat_number: Some("FR40123456789".into()),
            contact_first_name: "Camille".into(),
            contact_last_name: "Martin".into(),
        }
    );
    assert_eq!(p.customer.billing.label, "Facturation");
    assert_eq!(
        p.customer.shipping.as_ref().map(|a| a.label.as_str()),
        Some("Livraison")
    );
}

#[test]
fn the_vat_number_comes_from_the_first_configured_meta_key_that_is_set() {
    let mut order = build_order(1, &{
        let mut c = cart(vec![line(None, dec!(1), dec!(10), dec!(0), 0)]);
        c.customer.company = "ACME".into();
        c
    });
    order["meta_data"] = json!([
        {"key": "vat_number", "value": ""},
        {"key": "_vat_number", "value": "BE0123456789"},
        {"key": "_billing_eu_vat_number", "value": "FR00000000000"},
    ]);
    let p = ok(order).plan;
    assert!(
        matches!(p.customer.kind, CustomerKind::Company { vat_number: Some(ref v), .. } if v == "BE0123456789")
    );
}

#[test]
fn a_guest_without_company_is_an_individual_and_virtual_orders_have_no_shipping_address() {
    let mut c = cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]);
    c.customer.customer_id = 0;
    c.customer.has_shipping_address = false;
    c.customer.country = "be".into();
    let p = ok(build_order(1, &c)).plan;
    assert_eq!(
        p.customer.kind,
        CustomerKind::Individual {
            first_name: "Camille".into(),
            last_name: "Martin".into()
        }
    );
    assert_eq!(p.customer.shipping, None);
    assert_eq!(p.customer.billing.country_code, "BE");
}

#[test]
fn a_missing_or_broken_email_is_refused() {
    for (email, want) in [
        ("", MappingError::MissingEmail),
        ("   ", MappingError::MissingEmail),
        (
            "not-an-email",
            MappingError::InvalidEmail("not-an-email".into()),
        ),
        ("a b@c.fr", MappingError::InvalidEmail("a b@c.fr".into())),
    ] {
        let mut c = cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]);
        c.customer.email = email.into();
        assert_eq!(plan(build_order(1, &c)).unwrap_err(), want, "{email:?}");
    }
}

// --- 2. Lines -----------------------------------------------------------------------------------------------

#[test]
fn skus_of_two_characters_or_more_are_catalog_rows() {
    let mut variation = line(Some(" TS-BL-M "), dec!(2), dec!(12.5), dec!(20), 1);
    variation.variation_id = 77;
    let c = cart(vec![
        variation,
        line(Some("X"), dec!(1), dec!(3), dec!(20), 1),
        line(None, dec!(1), dec!(4), dec!(20), 1),
        line(Some(""), dec!(1), dec!(5), dec!(20), 1),
    ]);
    let p = ok(build_order(1, &c)).plan;
    let sources: Vec<LineSource> = p.lines.iter().map(|l| l.source.clone()).collect();
    assert_eq!(
        sources,
        vec![
            LineSource::Catalog {
                sku: "TS-BL-M".into(),
                parent_sku: None,
                is_variation: true
            },
            LineSource::Product {
                reference: Some("X".into())
            },
            LineSource::Product { reference: None },
            LineSource::Product { reference: None },
        ]
    );
}

#[test]
fn fractional_quantities_and_prices_with_tax_keep_enough_decimals() {
    let mut c = cart(vec![line(
        Some("VRAC"),
        dec!(2.5),
        dec!(9.99),
        dec!(5.5),
        2,
    )]);
    c.prices_include_tax = true;
    let order = build_order(1, &c);
    let p = ok(order.clone()).plan;
    let row = &p.lines[0];
    assert_eq!(row.quantity, dec!(2.5));
    // Excluding tax: the line's subtotal spread over 2.5 units, with the decimals it needs.
    let subtotal: Decimal = order["line_items"][0]["subtotal"]
        .as_str()
        .expect("s")
        .parse()
        .expect("d");
    assert_eq!(
        woosellsy_mapping::sellsy_model::round2(row.unit_amount * row.quantity),
        subtotal
    );
    assert!(row.unit_amount.scale() > 2, "{}", row.unit_amount);
}

// --- 3. Taxes -----------------------------------------------------------------------------------------------

#[test]
fn several_rates_in_one_order_each_keep_their_tax() {
    let mut c = cart(vec![
        line(Some("BOOK"), dec!(3), dec!(7.99), dec!(5.5), 2),
        line(Some("LAMP"), dec!(1), dec!(49.90), dec!(20), 1),
        line(Some("FOOD"), dec!(2), dec!(3.35), dec!(10), 3),
        line(Some("GIFT"), dec!(1), dec!(15), dec!(0), 0),
    ]);
    c.shipping.push(ShippingSpec {
        method_id: "flat_rate".into(),
        title: "Colissimo".into(),
        cost: dec!(6.9),
        tax_rate: dec!(20),
        tax_rate_id: 1,
    });
    let order = build_order(1, &c);
    let p = ok(order).plan;
    let taxes: Vec<TaxSpec> = p.taxes.iter().map(|t| t.tax).collect();
    assert_eq!(
        taxes,
        vec![
            TaxSpec::Rate(dec!(5.5)),
            VAT20,
            TaxSpec::Rate(dec!(10)),
            TaxSpec::Exempt(Exemption::Exempt)
        ]
    );
    assert_eq!(p.lines[3].tax, TaxSpec::Exempt(Exemption::Exempt));
    // The shipping row carries its own tax.
    assert_eq!(
        p.lines[4].source,
        LineSource::Shipping {
            method_id: "flat_rate".into()
        }
    );
    assert_eq!(p.lines[4].tax, VAT20);
}

#[test]
fn the_zero_rate_exemption_comes_from_the_settings() {
    let mut settings = support::settings();
    settings.zero_rate_exemption = Exemption::IntraEu;
    let order = parse(build_order(
        1,
        &cart(vec![line(None, dec!(1), dec!(10), dec!(0), 0)]),
    ));
    let p = plan_document(&order, &settings, DocumentKind::Invoice)
        .expect("maps")
        .plan;
    assert_eq!(p.lines[0].tax, TaxSpec::Exempt(Exemption::IntraEu));
}

#[test]
fn compound_and_stacked_taxes_are_refused() {
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]));
    order["tax_lines"][0]["compound"] = json!(true);
    assert!(matches!(
        plan(order).unwrap_err(),
        MappingError::CompoundTax { rate_id: 1, .. }
    ));

    // One product taxed by two rates at once (a state and a county rate).
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(5), 1)]));
    order["line_items"][0]["taxes"] = json!([{"id": 1, "total": "0.5", "subtotal": "0.5"}, {"id": 2, "total": "0.25", "subtotal": "0.25"}]);
    order["tax_lines"] = json!([
        {"id": 1, "rate_id": 1, "label": "State", "compound": false, "tax_total": "0.50", "shipping_tax_total": "0.00", "rate_percent": 5},
        {"id": 2, "rate_id": 2, "label": "County", "compound": false, "tax_total": "0.25", "shipping_tax_total": "0.00", "rate_percent": 2.5},
    ]);
    let err = plan(order).unwrap_err();
    assert_eq!(
        err,
        MappingError::StackedTaxes {
            line: "Produit".into()
        }
    );
    assert!(err.to_string().contains("several rates"));
}

#[test]
fn a_missing_rate_percent_is_deduced_or_refused() {
    let mut order = build_order(
        1,
        &cart(vec![line(None, dec!(3), dec!(9.99), dec!(5.5), 2)]),
    );
    order["tax_lines"][0]
        .as_object_mut()
        .expect("obj")
        .remove("rate_percent");
    let p = ok(order.clone()).plan;
    assert_eq!(p.lines[0].tax, TaxSpec::Rate(dec!(5.5)));

    // Nothing taxed with that rate has an amount: nothing to deduce from.
    order["line_items"][0]["total"] = json!("0.00");
    order["line_items"][0]["subtotal"] = json!("0.00");
    assert!(matches!(
        plan(order).unwrap_err(),
        MappingError::MissingRatePercent { rate_id: 2, .. }
    ));
}

// --- 4. Discounts, shipping, fees ---------------------------------------------------------------------------

#[test]
fn coupons_become_row_discounts_with_their_codes_visible() {
    let mut c = cart(vec![
        line(Some("TEE"), dec!(2), dec!(15), dec!(20), 1),
        line(Some("CAP"), dec!(1), dec!(9.9), dec!(20), 1),
    ]);
    c.coupons.push(CouponSpec::Percent {
        code: "ETE10".into(),
        percent: dec!(10),
    });
    c.coupons.push(CouponSpec::FixedCart {
        code: "BIENVENUE".into(),
        amount: dec!(5),
    });
    let order = build_order(1, &c);
    let p = ok(order.clone()).plan;
    for (row, item) in p
        .lines
        .iter()
        .zip(order["line_items"].as_array().expect("items"))
    {
        let sub: Decimal = item["subtotal"].as_str().expect("s").parse().expect("d");
        let tot: Decimal = item["total"].as_str().expect("s").parse().expect("d");
        assert_eq!(row.discount, Some(LineDiscount::Amount(sub - tot)));
        assert!(
            row.description.contains("ETE10") && row.description.contains("BIENVENUE"),
            "{}",
            row.description
        );
    }
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("Codes promo appliqués : ETE10")),
        "{:?}",
        p.notes
    );
}

#[test]
fn a_negative_fee_spread_over_two_rates_becomes_one_row_per_rate() {
    let mut c = cart(vec![
        line(Some("BOOK"), dec!(1), dec!(50), dec!(5.5), 2),
        line(Some("LAMP"), dec!(1), dec!(100), dec!(20), 1),
        line(Some("GIFT"), dec!(1), dec!(30), dec!(0), 0),
    ]);
    c.fees.push(FeeSpec {
        name: "Remise fidélité".into(),
        amount: dec!(-18),
        taxable: false,
        tax_rate: dec!(0),
        tax_rate_id: 0,
    });
    let p = ok(build_order(1, &c)).plan;
    let fees: Vec<(String, Decimal, TaxSpec)> = p
        .lines
        .iter()
        .filter(|l| l.source == LineSource::Fee)
        .map(|l| (l.name.clone(), l.unit_amount, l.tax))
        .collect();
    // 18 spread over 50 / 100 / 30: 5 at 5.5 %, 10 at 20 %, 3 untaxed.
    assert_eq!(
        fees,
        vec![
            (
                "Remise fidélité (TVA 5.5 %)".into(),
                dec!(-5.00),
                TaxSpec::Rate(dec!(5.5))
            ),
            ("Remise fidélité (TVA 20 %)".into(), dec!(-10.00), VAT20),
            (
                "Remise fidélité (hors TVA)".into(),
                dec!(-3.00),
                TaxSpec::Exempt(Exemption::Exempt)
            ),
        ]
    );
}

#[test]
fn a_taxable_positive_fee_is_one_row_at_its_rate() {
    let mut c = cart(vec![line(None, dec!(1), dec!(20), dec!(20), 1)]);
    c.fees.push(FeeSpec {
        name: "Emballage cadeau".into(),
        amount: dec!(2.5),
        taxable: true,
        tax_rate: dec!(20),
        tax_rate_id: 1,
    });
    let p = ok(build_order(1, &c)).plan;
    let fee = p
        .lines
        .iter()
        .find(|l| l.source == LineSource::Fee)
        .expect("fee row");
    assert_eq!(
        (fee.name.as_str(), fee.unit_amount, fee.tax),
        ("Emballage cadeau", dec!(2.50), VAT20)
    );
}

// --- 5/6. Currency, references, totals ----------------------------------------------------------------------

#[test]
fn currency_reference_date_and_subject() {
    let mut order = build_order(
        1042,
        &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]),
    );
    order["number"] = json!("2025-0042");
    let p = ok(order).plan;
    assert_eq!(p.currency, "EUR");
    assert_eq!(p.order_reference, "WC-2025-0042");
    // The document's identity: the connector and the order id (not the number, which plugins customise).
    assert_eq!(p.connector, Some(support::settings().id));
    assert_eq!(p.order_id.0, 1042);
    assert_eq!(p.subject, "Commande WooCommerce n°2025-0042");
    assert_eq!(p.date, NaiveDate::from_ymd_opt(2025, 1, 31).expect("date"));
    assert_eq!(
        (p.totals.excl_tax, p.totals.tax, p.totals.incl_tax),
        (dec!(10), dec!(2), dec!(12))
    );
}

#[test]
fn the_paid_date_wins_over_the_creation_date() {
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]));
    order["date_paid"] = json!("2025-02-03T08:00:00");
    assert_eq!(
        ok(order).plan.date,
        NaiveDate::from_ymd_opt(2025, 2, 3).expect("date")
    );
}

#[test]
fn gaps_larger_than_rounding_are_refused_and_nothing_is_planned() {
    // A coupon WooCommerce applied to the total but not to the lines (pre-3.2 "after tax" discount).
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(100), dec!(20), 1)]));
    order["total"] = json!("110.00");
    let err = plan(order).unwrap_err();
    assert!(
        matches!(err, MappingError::TotalsGap { gap, .. } if gap == dec!(-10)),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was created"));

    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(100), dec!(20), 1)]));
    order["tax_lines"][0]["tax_total"] = json!("19.00");
    order["total"] = json!("119.00");
    let err = plan(order).unwrap_err();
    assert!(matches!(err, MappingError::TaxGap { .. }), "{err}");
    assert!(err.to_string().contains("TVA 20 %"), "{err}");
}

#[test]
fn one_cent_gaps_are_corrected_and_listed() {
    // 9.99 TTC at 20 %: WooCommerce says 8.33 + 1.66 = 9.99; Sellsy would compute 8.33 + 1.67.
    let mut c = cart(vec![line(None, dec!(1), dec!(9.99), dec!(20), 1)]);
    c.prices_include_tax = true;
    let planned = ok(build_order(1, &c));
    assert!(!planned.corrections.is_empty());
    assert!(
        planned
            .corrections
            .iter()
            .all(|c| c.amount.abs() <= dec!(0.10)),
        "{:?}",
        planned.corrections
    );
    assert_eq!(planned.plan.taxes[0].amount, dec!(1.66));
    assert!(
        planned
            .plan
            .lines
            .iter()
            .any(|l| l.source == LineSource::Rounding)
    );
}

#[test]
fn an_order_without_items_is_refused_for_now() {
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]));
    order["line_items"] = json!([]);
    assert_eq!(plan(order).unwrap_err(), MappingError::NoLines);
}

// --- Eligibility --------------------------------------------------------------------------------------------

#[test]
fn only_paid_orders_are_invoiced() {
    let base = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]));
    let case = |status: &str, paid: bool| {
        let mut o = base.clone();
        o["status"] = json!(status);
        if !paid {
            o["date_paid"] = Value::Null;
            o["date_paid_gmt"] = Value::Null;
        }
        eligibility(&parse(o))
    };
    assert_eq!(case("processing", false), Eligibility::Create);
    assert_eq!(case("completed", false), Eligibility::Create);
    assert_eq!(case("refunded", true), Eligibility::Create);
    assert_eq!(case("wc-partially-shipped", true), Eligibility::Create);
    for status in [
        "pending",
        "on-hold",
        "failed",
        "cancelled",
        "checkout-draft",
        "trash",
    ] {
        assert!(
            matches!(case(status, true), Eligibility::Skip { .. }),
            "{status}"
        );
    }
    match case("wc-partially-shipped", false) {
        Eligibility::Skip { reason } => assert!(reason.contains("not paid"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn absurd_amounts_are_refused_instead_of_overflowing() {
    let mut order = build_order(1, &cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]));
    order["line_items"][0]["quantity"] = json!("70000000000000000000000000000");
    order["line_items"][0]["subtotal"] = json!("70000000000000000000000000000");
    let err = plan(order).unwrap_err();
    assert!(
        matches!(err, MappingError::AmountOutOfRange { .. }),
        "{err}"
    );
}

#[test]
fn an_order_whose_total_woocommerce_capped_at_zero_is_refused_readably() {
    // Goods 10 (20 %) + untaxed shipping 5, fee −15: the fee's tax is spread as if all of it were at 20 %
    // (shipping counts under the first item's class), −3.00 against +2.00: WooCommerce shows 0.00, not −1.00.
    let mut c = cart(vec![line(None, dec!(1), dec!(10), dec!(20), 1)]);
    c.shipping.push(ShippingSpec {
        method_id: "flat_rate".into(),
        title: "Port".into(),
        cost: dec!(5),
        tax_rate: dec!(0),
        tax_rate_id: 0,
    });
    c.fees.push(FeeSpec {
        name: "Bon".into(),
        amount: dec!(-15),
        taxable: false,
        tax_rate: dec!(0),
        tax_rate_id: 0,
    });
    let order = build_order(1, &c);
    assert_eq!(order["total"], "0.00");
    let err = plan(order).unwrap_err();
    assert_eq!(
        err,
        MappingError::CappedTotal {
            computed: dec!(-1.00)
        }
    );
    assert!(err.to_string().contains("capped"), "{err}");
}
