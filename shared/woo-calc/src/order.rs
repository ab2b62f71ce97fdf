//! The REST v3 order JSON WooCommerce would serve for a computed cart (`WC_REST_Orders_Controller`):
//! money as strings formatted to 2 decimals (`wc_format_decimal($x, $dp)`), raw line taxes as the stored
//! unrounded strings, `price`, `quantity` and `rate_percent` as JSON numbers.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::calc::{Calculated, calculate, round_half_up};
use crate::spec::OrderSpec;

/// Cents → currency string with 2 decimals (`number_format`: half away from zero).
fn money(cents: Decimal) -> String {
    let v = round_half_up(cents / Decimal::ONE_HUNDRED, 2);
    let v = if v.is_zero() { Decimal::ZERO } else { v };
    format!("{v:.2}")
}

/// Cents → the raw stored string (`wc_format_decimal` without dp: trailing zeros trimmed).
fn raw(cents: Decimal) -> String {
    let v = (cents / Decimal::ONE_HUNDRED).round_dp(8).normalize();
    if v.is_zero() {
        "0".to_owned()
    } else {
        v.to_string()
    }
}

/// A decimal as a JSON number: an integer when whole, else a float (as PHP's `json_encode` does).
fn number(v: Decimal) -> Value {
    if v.fract().is_zero()
        && let Some(i) = v.to_i64()
    {
        return json!(i);
    }
    v.to_f64().map(Value::from).unwrap_or(Value::Null)
}

fn rate_label(percent: Decimal) -> String {
    format!("TVA {} %", percent.normalize())
}

/// Builds the REST v3 order WooCommerce would return for `spec` (order id and number `id`).
pub fn build_order(id: u64, spec: &OrderSpec) -> Value {
    let calc = calculate(spec);
    order_json(id, spec, &calc)
}

fn order_json(id: u64, spec: &OrderSpec, calc: &Calculated) -> Value {
    let c = &spec.customer;
    let created = spec.date_created.format("%Y-%m-%dT%H:%M:%S").to_string();
    let paid = spec.paid.then(|| created.clone());
    let billing = json!({
        "first_name": c.first_name, "last_name": c.last_name, "company": c.company,
        "address_1": c.address_1, "address_2": "", "city": c.city, "state": "", "postcode": c.postcode,
        "country": c.country, "email": c.email, "phone": c.phone,
    });
    let shipping_address = if c.has_shipping_address {
        json!({
            "first_name": c.first_name, "last_name": c.last_name, "company": c.company,
            "address_1": c.address_1, "address_2": "", "city": c.city, "state": "", "postcode": c.postcode,
            "country": c.country, "phone": "",
        })
    } else {
        json!({
            "first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "",
            "state": "", "postcode": "", "country": "", "phone": "",
        })
    };
    let mut meta = Vec::new();
    if let Some(vat) = &c.vat_number {
        meta.push(json!({"id": id * 10 + 1, "key": "_billing_vat_number", "value": vat}));
    }

    let mut item_id = id * 100;
    let mut next_id = || {
        item_id += 1;
        item_id
    };

    let line_items: Vec<Value> = spec
        .lines
        .iter()
        .zip(&calc.items)
        .map(|(line, it)| {
            let taxes = match (it.total_tax_raw, it.subtotal_tax_raw) {
                (Some(total), Some(subtotal)) => {
                    // `set_taxes`: "Subtotal cannot be less than total!"
                    let subtotal = if subtotal < total { total } else { subtotal };
                    vec![json!({"id": line.tax_rate_id, "total": raw(total), "subtotal": raw(subtotal)})]
                }
                _ => Vec::new(),
            };
            let price = if line.quantity.is_zero() {
                Decimal::ZERO
            } else {
                it.total / Decimal::ONE_HUNDRED / line.quantity
            };
            json!({
                "id": next_id(),
                "name": line.name,
                "product_id": line.product_id,
                "variation_id": line.variation_id,
                "quantity": number(line.quantity),
                "tax_class": if line.tax_rate > Decimal::ZERO { format!("rate-{}", line.tax_rate_id) } else { String::new() },
                "subtotal": money(it.subtotal),
                "subtotal_tax": money(it.subtotal_tax),
                "total": money(it.total),
                "total_tax": money(it.total_tax),
                "taxes": taxes,
                "meta_data": [],
                "sku": line.sku,
                "price": number(price.round_dp(10)),
                "parent_name": Value::Null,
            })
        })
        .collect();

    let tax_lines: Vec<Value> = calc
        .rates
        .iter()
        .map(|r| {
            json!({
                "id": next_id(),
                "rate_code": format!("{}-{}-1", spec.customer.country.to_uppercase(), rate_label(r.percent).to_uppercase()),
                "rate_id": r.rate_id,
                "label": rate_label(r.percent),
                "compound": false,
                "tax_total": money(r.tax_total),
                "shipping_tax_total": money(r.shipping_tax_total),
                "rate_percent": number(r.percent),
                "meta_data": [],
            })
        })
        .collect();

    let shipping_lines: Vec<Value> = spec
        .shipping
        .iter()
        .zip(&calc.shipping)
        .map(|(s, t)| {
            let taxes: Vec<Value> = t
                .tax_raw
                .iter()
                .map(|tax| json!({"id": s.tax_rate_id, "total": raw(*tax), "subtotal": ""}))
                .collect();
            json!({
                "id": next_id(),
                "method_title": s.title,
                "method_id": s.method_id,
                "instance_id": "1",
                "total": money(t.total),
                "total_tax": money(t.item_total_tax),
                "taxes": taxes,
                "meta_data": [],
            })
        })
        .collect();

    let fee_lines: Vec<Value> = spec
        .fees
        .iter()
        .zip(&calc.fees)
        .map(|(f, t)| {
            let taxes: Vec<Value> =
                t.taxes.iter().map(|(id, tax)| json!({"id": id, "total": raw(*tax), "subtotal": ""})).collect();
            json!({
                "id": next_id(),
                "name": f.name,
                "tax_class": if f.taxable { format!("rate-{}", f.tax_rate_id) } else { "0".to_owned() },
                "tax_status": if f.taxable { "taxable" } else { "none" },
                "amount": f.amount.normalize().to_string(),
                "total": money(t.total),
                "total_tax": money(t.total_tax),
                "taxes": taxes,
                "meta_data": [],
            })
        })
        .collect();

    let coupon_lines: Vec<Value> = spec
        .coupons
        .iter()
        .zip(&calc.coupons)
        .map(|(cp, t)| {
            json!({
                "id": next_id(),
                "code": cp.code(),
                "discount": money(t.discount),
                "discount_tax": money(t.discount_tax),
                "discount_type": cp.discount_type(),
                "nominal_amount": number(cp.amount()),
                "free_shipping": false,
                "meta_data": [],
            })
        })
        .collect();

    json!({
        "id": id,
        "parent_id": 0,
        "status": spec.status,
        "currency": spec.currency,
        "version": "9.8.0",
        "prices_include_tax": spec.prices_include_tax,
        "date_created": created,
        "date_modified": created,
        "discount_total": money(calc.discount_total),
        "discount_tax": money(calc.discount_tax),
        "shipping_total": money(calc.shipping_total),
        "shipping_tax": money(calc.shipping_tax),
        "cart_tax": money(calc.cart_tax),
        "total": money(calc.total),
        "total_tax": money(calc.cart_tax + calc.shipping_tax),
        "customer_id": c.customer_id,
        "order_key": format!("wc_order_{id}"),
        "billing": billing,
        "shipping": shipping_address,
        "payment_method": if spec.paid { "stripe" } else { "" },
        "payment_method_title": if spec.paid { "Carte bancaire" } else { "" },
        "transaction_id": "",
        "created_via": "checkout",
        "customer_note": "",
        "date_completed": Value::Null,
        "date_paid": paid,
        "number": id.to_string(),
        "meta_data": meta,
        "line_items": line_items,
        "tax_lines": tax_lines,
        "shipping_lines": shipping_lines,
        "fee_lines": fee_lines,
        "coupon_lines": coupon_lines,
        "refunds": [],
        "date_created_gmt": created,
        "date_modified_gmt": created,
        "date_completed_gmt": Value::Null,
        "date_paid_gmt": spec.paid.then(|| created.clone()),
        "currency_symbol": if spec.currency == "EUR" { "€" } else { "" },
    })
}
