//! Building rows: the strict check of each request row (`single`, `catalog`, `shipping`, `packaging` and the
//! unpriced `comment`/`title`/`sub-total`/`break-*`), its defaults from the catalog item or declination, and
//! the row JSON once [`crate::compute`] has priced the document.
//!
//! Kept apart from the document because a row's rules (allowed keys per type, item defaults, tax fallback)
//! are the bulk of the invoice logic and do not depend on the invoice around them, except for sub-totals,
//! which only need the rows that precede them.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::compute::{self, DocumentAmounts, RowDiscount, RowInput, RowKind, compute_row};
use crate::store::{Store, decimal_min2, money};
use crate::validate::{Checker, Obj, join, opt_value, to_obj};

const READ_ONLY_AMOUNTS: &[&str] = &[
    "tax_rate",
    "tax_amount",
    "tax_label",
    "amount_tax_inc",
    "amount_tax_exc",
];
const SINGLE_KEYS: &[&str] = &[
    "id",
    "type",
    "unit_id",
    "purchase_amount",
    "unit_amount",
    "tax_id",
    "quantity",
    "reference",
    "description",
    "discount",
    "accounting_code_id",
    "analytic_code",
    "is_optional",
];
const SHIPPING_KEYS: &[&str] = &[
    "id",
    "type",
    "related",
    "unit_amount",
    "tax_id",
    "quantity",
    "reference",
    "description",
    "discount",
    "accounting_code_id",
    "analytic_code",
    "is_optional",
];
const CATALOG_KEYS: &[&str] = &[
    "id",
    "type",
    "related",
    "unit_amount",
    "eco_tax",
    "purchase_amount",
    "unit_id",
    "warehouse_id",
    "sku_id",
    "tax_id",
    "quantity",
    "reference",
    "description",
    "discount",
    "accounting_code_id",
    "analytic_code",
    "is_optional",
];

/// One validated request row.
pub(super) enum RowPlan {
    Priced {
        input: RowInput,
        optional: bool,
        json: Obj,
    },
    SubTotal {
        json: Obj,
    },
    Other {
        json: Obj,
    },
}

pub(super) fn rate_label(st: &Store, tax_id: u64) -> (Decimal, String) {
    st.taxes
        .get(&tax_id)
        .map_or((Decimal::ZERO, String::new()), |t| {
            (t.rate, t.label.clone())
        })
}

/// A tax usable on a document row: exists, active, e-invoicing compliant, not an eco-tax.
fn check_row_tax(
    st: &Store,
    c: &mut Checker,
    path: &str,
    tax_id: u64,
    defaulted_from: Option<&str>,
) -> bool {
    let problem = match st.taxes.get(&tax_id) {
        None => Some(format!("tax {tax_id} not found")),
        Some(t) if !t.is_active => Some(format!("tax {tax_id} ({}) is not active", t.label)),
        Some(t) if !t.compliant => Some(format!(
            "tax {tax_id} ({}) is not compliant with e-invoicing; use an exemption tax with a VATEX category for 0 % VAT",
            t.label
        )),
        Some(_) => None,
    };
    match problem {
        None => true,
        Some(p) => {
            let msg = match defaulted_from {
                Some(from) => format!("{p} (default tax of {from}); send a compliant tax_id"),
                None => p,
            };
            c.fail(path, msg);
            false
        }
    }
}

pub(super) fn check_discount(
    c: &mut Checker,
    obj: &Obj,
    prefix: &str,
) -> Option<(RowDiscount, String, String)> {
    let d = c.object(obj, prefix, "discount", false)?;
    let p = join(prefix, "discount");
    let ty = c.one_of(d, &p, "type", true, &["percent", "amount"]);
    let raw = d.get("value").and_then(Value::as_str).map(str::to_string);
    let value = c.decimal(d, &p, "value", true);
    let (ty, value, raw) = (ty?, value?, raw?);
    if value.is_sign_negative() {
        c.fail(join(&p, "value"), "must not be negative");
        return None;
    }
    if ty == "percent" && value > Decimal::ONE_HUNDRED {
        c.fail(join(&p, "value"), "a percentage must be between 0 and 100");
        return None;
    }
    let discount = if ty == "percent" {
        RowDiscount::Percent(value)
    } else {
        RowDiscount::Amount(value)
    };
    Some((discount, ty, raw))
}

pub(super) fn check_row(st: &Store, c: &mut Checker, i: usize, v: &Value) -> Option<RowPlan> {
    let prefix = format!("rows[{i}]");
    let Some(row) = v.as_object() else {
        c.fail(&prefix, "must be an object");
        return None;
    };
    let ty = c.one_of(
        row,
        &prefix,
        "type",
        true,
        &[
            "single",
            "catalog",
            "shipping",
            "packaging",
            "comment",
            "title",
            "sub-total",
            "break-line",
            "break-page",
        ],
    )?;
    match ty.as_str() {
        "comment" | "title" => {
            c.only_keys(row, &prefix, &["id", "type", "text"]);
            let text = c.string(row, &prefix, "text", true, 0, 65_535)?;
            Some(RowPlan::Other {
                json: to_obj(json!({"type": ty, "text": text})),
            })
        }
        "sub-total" => {
            c.only_keys(row, &prefix, &["id", "type", "amount"]);
            Some(RowPlan::SubTotal {
                json: to_obj(json!({"type": ty})),
            })
        }
        "break-line" | "break-page" => {
            c.only_keys(row, &prefix, &["id", "type"]);
            Some(RowPlan::Other {
                json: to_obj(json!({"type": ty})),
            })
        }
        _ => check_priced_row(st, c, &prefix, row, &ty),
    }
}

fn check_priced_row(
    st: &Store,
    c: &mut Checker,
    prefix: &str,
    row: &Obj,
    ty: &str,
) -> Option<RowPlan> {
    let base_keys = match ty {
        "single" => SINGLE_KEYS,
        "catalog" => CATALOG_KEYS,
        _ => SHIPPING_KEYS,
    };
    let allowed: Vec<&str> = base_keys.iter().chain(READ_ONLY_AMOUNTS).copied().collect();
    c.only_keys(row, prefix, &allowed);

    let errors_before = c.has_errors();
    let quantity = c.decimal(row, prefix, "quantity", true);
    let unit_amount = c.decimal(row, prefix, "unit_amount", ty == "single");
    let explicit_tax = c.id(row, prefix, "tax_id", false);
    let reference = c.string(row, prefix, "reference", false, 0, 250);
    let description = c.string(row, prefix, "description", false, 0, 65_535);
    let purchase = c.decimal(row, prefix, "purchase_amount", false);
    c.id(row, prefix, "unit_id", false);
    c.id(row, prefix, "accounting_code_id", false);
    c.string(row, prefix, "analytic_code", false, 0, 13);
    let optional = c.boolean(row, prefix, "is_optional").unwrap_or(false);
    let discount = check_discount(c, row, prefix);
    if row.get("discount").is_some_and(|d| !d.is_null()) && discount.is_none() && !c.has_errors() {
        c.fail(join(prefix, "discount"), "invalid discount");
    }

    // Catalog / shipping / packaging rows point at an existing item of the right type.
    let mut item_defaults: Option<(Decimal, Option<u64>, String, Value, String)> = None;
    let mut related_out = Value::Null;
    if ty != "single" {
        let rp = join(prefix, "related");
        if let Some(rel) = c.object(row, prefix, "related", true) {
            let allowed_types: &[&str] = if ty == "catalog" {
                &["product", "service"]
            } else {
                &["shipping", "packaging"]
            };
            let rty = c.one_of(rel, &rp, "type", true, allowed_types);
            let rid = c.id(rel, &rp, "id", true);
            let decl = if ty == "catalog" {
                c.id(rel, &rp, "declination_id", false)
            } else {
                None
            };
            if let (Some(rty), Some(rid)) = (rty, rid) {
                if ty != "catalog" && rty != ty {
                    c.fail(
                        join(&rp, "type"),
                        format!("must be \"{ty}\" for a {ty} row"),
                    );
                }
                match st.items.get(&rid) {
                    None => c.fail(join(&rp, "id"), format!("item {rid} not found")),
                    Some(item) if item.kind != rty => {
                        c.fail(
                            join(&rp, "id"),
                            format!("item {rid} is a {}, not a {rty}", item.kind),
                        );
                    }
                    Some(item) => {
                        let text = |k: &str| {
                            item.json
                                .get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        let name = text("name");
                        let label = format!("item {rid}");
                        let mut defaults = (
                            item.price_excl,
                            item.tax_id,
                            text("reference"),
                            item.json
                                .get("description")
                                .cloned()
                                .filter(|d| !d.is_null())
                                .unwrap_or(json!(name)),
                            label,
                        );
                        if let Some(did) = decl {
                            match st.declinations.get(&did) {
                                Some(d) if d.item_id == rid => {
                                    let dtext = |k: &str| {
                                        d.json
                                            .get(k)
                                            .and_then(Value::as_str)
                                            .unwrap_or_default()
                                            .to_string()
                                    };
                                    defaults = (
                                        d.price_excl,
                                        d.tax_id.or(item.tax_id),
                                        dtext("reference"),
                                        json!(dtext("name")),
                                        format!("declination {did}"),
                                    );
                                }
                                _ => c.fail(
                                    join(&rp, "declination_id"),
                                    format!("declination {did} not found on item {rid}"),
                                ),
                            }
                        }
                        if ty != "catalog" {
                            defaults.2 = name.clone();
                            defaults.3 = Value::Null;
                        }
                        item_defaults = Some(defaults);
                        related_out = json!({"id": rid, "type": rty});
                        if ty == "catalog" {
                            related_out["declination_id"] = json!(decl);
                        }
                    }
                }
            }
        }
    }
    let mut eco_tax = Value::Null;
    if ty == "catalog"
        && let Some(e) = c.object(row, prefix, "eco_tax", false)
    {
        let ep = join(prefix, "eco_tax");
        let ety = c.one_of(e, &ep, "type", false, &["inc", "excl"]);
        let evalue = c.decimal(e, &ep, "value", false);
        eco_tax = json!({"type": ety, "value": evalue.map(decimal_min2)});
    }
    if ty == "catalog" {
        c.integer(row, prefix, "warehouse_id", false, 1);
        c.integer(row, prefix, "sku_id", false, 1);
    }

    // Tax: explicit, else the item's default, else the account's standard rate.
    let tax_path = join(prefix, "tax_id");
    let tax_id = match (explicit_tax, &item_defaults) {
        (Some(t), _) => check_row_tax(st, c, &tax_path, t, None).then_some(t),
        (None, Some((_, Some(t), _, _, label))) => {
            check_row_tax(st, c, &tax_path, *t, Some(label)).then_some(*t)
        }
        _ => match st.default_tax_id() {
            Some(t) => Some(t),
            None => {
                c.fail(
                    &tax_path,
                    "no default tax available on the account; send a tax_id",
                );
                None
            }
        },
    };
    if c.has_errors() && !errors_before {
        return None;
    }
    let quantity = quantity?;
    let unit_amount = match (unit_amount, &item_defaults) {
        (Some(u), _) => u,
        (None, Some((price, ..))) => *price,
        (None, None) => return None,
    };
    let tax_id = tax_id?;
    let (rate, label) = rate_label(st, tax_id);
    let kind = match ty {
        "single" => RowKind::Single,
        "catalog" => RowKind::Catalog,
        "shipping" => RowKind::Shipping,
        _ => RowKind::Packaging,
    };
    let (default_ref, default_desc) = item_defaults
        .as_ref()
        .map_or((Value::Null, Value::Null), |(_, _, r, d, _)| {
            (json!(r), d.clone())
        });
    let mut json = json!({
        "type": ty,
        "unit_id": opt_value(row, "unit_id"),
        "purchase_amount": purchase.map(decimal_min2),
        "unit_amount": decimal_min2(unit_amount),
        "tax_id": tax_id,
        "quantity": decimal_min2(quantity),
        "reference": reference.map_or(default_ref, Value::String),
        "description": description.map_or(default_desc, Value::String),
        "discount": discount.as_ref().map(|(_, t, v)| json!({"type": t, "value": v, "total": "0.00"})),
        "tax_rate": money(rate),
        "tax_label": label,
        "accounting_code_id": opt_value(row, "accounting_code_id"),
        "analytic_code": opt_value(row, "analytic_code"),
        "is_optional": optional,
    });
    if ty != "single" {
        json["related"] = related_out;
    }
    if ty == "catalog" {
        json["eco_tax"] = eco_tax;
        json["warehouse_id"] = opt_value(row, "warehouse_id");
        json["sku_id"] = opt_value(row, "sku_id");
    }
    if let Value::Object(o) = &mut json {
        crate::store::omit_nulls(
            o,
            &[
                "unit_id",
                "purchase_amount",
                "reference",
                "accounting_code_id",
            ],
        );
    }
    let input = RowInput {
        quantity,
        unit_amount,
        tax_id,
        tax_rate: rate,
        discount: discount.map(|(d, ..)| d),
        kind,
    };
    Some(RowPlan::Priced {
        input,
        optional,
        json: to_obj(json),
    })
}

fn fill_amounts(json: &mut Obj, a: &compute::RowAmounts) {
    json.insert("tax_amount".into(), json!(money(a.tax_amount)));
    json.insert("amount_tax_inc".into(), json!(money(a.amount_tax_inc)));
    json.insert("amount_tax_exc".into(), json!(money(a.amount_tax_exc)));
    if let Some(Value::Object(d)) = json.get_mut("discount") {
        d.insert("total".into(), json!(money(a.discount_total)));
    }
}

/// The inputs [`compute::compute`] totals: optional rows are shown priced but stay out of the totals.
pub(super) fn totalled_inputs(plans: &[RowPlan]) -> Vec<RowInput> {
    plans
        .iter()
        .filter_map(|p| match p {
            RowPlan::Priced {
                input,
                optional: false,
                ..
            } => Some(input.clone()),
            _ => None,
        })
        .collect()
}

/// The rows JSON in request order, with the amounts `amounts` computed for them; `amounts.rows` follows the
/// order of [`totalled_inputs`].
pub(super) fn priced_rows(plans: Vec<RowPlan>, amounts: &DocumentAmounts) -> Vec<Value> {
    let mut rows_out = Vec::new();
    let mut next_priced = amounts.rows.iter();
    let mut since_subtotal = Decimal::ZERO;
    for plan in plans {
        let json = match plan {
            RowPlan::Priced {
                input,
                optional,
                mut json,
            } => {
                let a = if optional {
                    Some(compute_row(&input))
                } else {
                    next_priced.next().cloned()
                };
                if let Some(a) = a {
                    if !optional {
                        since_subtotal = since_subtotal.saturating_add(a.amount_tax_exc);
                    }
                    fill_amounts(&mut json, &a);
                }
                json
            }
            RowPlan::SubTotal { mut json } => {
                json.insert("amount".into(), json!(money(since_subtotal)));
                since_subtotal = Decimal::ZERO;
                json
            }
            RowPlan::Other { json } => json,
        };
        rows_out.push(Value::Object(json));
    }
    rows_out
}
