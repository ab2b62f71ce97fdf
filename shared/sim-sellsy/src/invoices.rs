//! Invoice endpoints: strict validation of `InvoiceCreate` (shared by `POST /invoices` and
//! `POST /invoices/compute`), amount computation through [`crate::compute`], storage, list/search and the
//! draft → due validation that assigns the legal number.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::compute::{self, DocumentAmounts, RowDiscount, RowInput, RowKind, compute_row};
use crate::error::{ApiError, ApiResult, Reply};
use crate::pagination::Page;
use crate::parties::owns_address;
use crate::server::Ctx;
use crate::store::{PartyKind, STAFF_ID, Seq, Store, decimal_min2, money, now_rfc3339, today};
use crate::validate::{Checker, Obj, body_object, is_date, join, optional_body_object};

const STATUSES: &[&str] = &["draft", "due", "payinprogress", "paid", "late", "cancelled"];
const INVOICE_ORDERS: &[&str] = &["id", "number", "created", "date", "amount", "due_date"];

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
enum RowPlan {
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

/// A validated invoice body with its computed amounts.
struct Built {
    related: Vec<Value>,
    party: (PartyKind, u64),
    party_json: Obj,
    contact_id: Option<u64>,
    date: String,
    currency: String,
    public_link_enabled: bool,
    invoicing_address_id: Value,
    delivery_address_id: Value,
    discount: Value,
    amounts: DocumentAmounts,
    rows: Vec<Value>,
    body: Obj,
}

fn to_obj(v: Value) -> Obj {
    match v {
        Value::Object(o) => o,
        _ => Obj::new(),
    }
}

fn rate_label(st: &Store, tax_id: u64) -> (Decimal, String) {
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

fn check_discount(
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

fn opt_value(obj: &Obj, key: &str) -> Value {
    obj.get(key).cloned().unwrap_or(Value::Null)
}

fn check_row(st: &Store, c: &mut Checker, i: usize, v: &Value) -> Option<RowPlan> {
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

/// Validates an `InvoiceCreate` body and computes its amounts. Nothing is stored.
fn build(st: &Store, body: Obj) -> Result<Built, ApiError> {
    let mut c = Checker::new();

    // related: exactly one company or individual of type client; at most one contact.
    let mut party: Option<(PartyKind, u64)> = None;
    let mut contact_id = None;
    let mut related_out = Vec::new();
    let mut party_count = 0;
    let mut contact_count = 0;
    if let Some(arr) = c.array(&body, "", "related", true) {
        for (i, v) in arr.iter().enumerate() {
            let p = format!("related[{i}]");
            let Some(o) = v.as_object() else {
                c.fail(&p, "must be an object");
                continue;
            };
            let ty = c.one_of(
                o,
                &p,
                "type",
                true,
                &["company", "individual", "opportunity", "contact"],
            );
            let id = c.id(o, &p, "id", true);
            let (Some(ty), Some(id)) = (ty, id) else {
                continue;
            };
            related_out.push(json!({"id": id, "type": ty}));
            match ty.as_str() {
                "company" | "individual" => {
                    party_count += 1;
                    let kind = if ty == "company" {
                        PartyKind::Company
                    } else {
                        PartyKind::Individual
                    };
                    match st.party(kind, id) {
                        None => c.fail(join(&p, "id"), format!("{ty} {id} not found")),
                        Some(o) => match o.get("type").and_then(Value::as_str) {
                            Some("client") => party = Some((kind, id)),
                            other => c.fail(
                                &p,
                                format!(
                                    "only a {ty} of type client can be invoiced ({ty} {id} is a {}); convert it first",
                                    other.unwrap_or("unknown type")
                                ),
                            ),
                        },
                    }
                }
                "contact" => {
                    contact_count += 1;
                    if !st.contacts.contains_key(&id) {
                        c.fail(join(&p, "id"), format!("contact {id} not found"));
                    } else {
                        contact_id = Some((id, p.clone()));
                    }
                }
                _ => c.fail(join(&p, "id"), format!("opportunity {id} not found")),
            }
        }
        if party_count != 1 {
            c.fail(
                "related",
                "there must be exactly one company or one individual",
            );
        }
        if contact_count > 1 {
            c.fail("related", "there may be at most one contact");
        }
    }
    if let (Some((id, p)), Some((kind, pid))) = (&contact_id, party) {
        let linked = kind == PartyKind::Company && st.company_contacts.contains_key(&(pid, *id));
        if !linked {
            c.fail(
                join(p, "id"),
                format!("contact {id} is not a contact of the related company"),
            );
        }
    }

    // Top-level scalars.
    c.string(&body, "", "number", false, 0, 100);
    let date = c.date(&body, "", "date");
    c.date(&body, "", "due_date");
    c.datetime(&body, "", "created");
    c.string(&body, "", "subject", false, 0, 65_535);
    let currency = c.string(&body, "", "currency", false, 0, 5);
    if let Some(cur) = &currency
        && !st.currencies.contains(cur)
    {
        c.fail(
            "currency",
            format!("currency {cur} is not enabled on the account"),
        );
    }
    let global = check_discount(&mut c, &body, "");
    if let Some(pl) = c.object(&body, "", "public_link", false) {
        c.boolean(pl, "public_link", "enabled");
    }
    let public_link_enabled = c
        .boolean(&body, "", "public_link_enabled")
        .or_else(|| {
            body.get("public_link")
                .and_then(|p| p.get("enabled"))
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    c.integer(&body, "", "assigned_staff_id", false, 1);
    if let Some(owner) = c.id(&body, "", "owner_id", false)
        && owner != STAFF_ID
    {
        c.fail("owner_id", format!("staff {owner} not found"));
    }
    c.string(&body, "", "order_reference", false, 0, 100);
    if let Some(sd) = c.object(&body, "", "service_dates", false) {
        let start = c.date(sd, "service_dates", "start");
        let end = c.date(sd, "service_dates", "end");
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            c.fail(
                "service_dates.end",
                "end date must be greater than start date",
            );
        }
    }
    let invoicing_address_id = address_field(st, &mut c, &body, party, "invoicing_address_id");
    let delivery_address_id = address_field(st, &mut c, &body, party, "delivery_address_id");
    c.integer(&body, "", "issuer_address_id", false, 1);
    c.string(&body, "", "note", false, 0, 65_535);
    c.date(&body, "", "shipping_date");
    c.decimal(&body, "", "shipping_volume", false);
    if let Some(w) = c.object(&body, "", "shipping_weight", false) {
        c.one_of(
            w,
            "shipping_weight",
            "unit",
            false,
            &["g", "kg", "oz", "lb"],
        );
        c.decimal(w, "shipping_weight", "value", false);
    }
    c.integer(&body, "", "bank_account_id", false, 1);
    c.id_array(&body, "", "payment_method_ids");
    c.integer(&body, "", "eco_tax_id", false, 1);
    c.integer(&body, "", "check_label_id", false, 1);
    c.one_of(&body, "", "vat_mode", false, &["debit", "collection"]);
    c.string(&body, "", "vat_mention", false, 0, 255);
    c.string(&body, "", "analytic_code", false, 0, 13);
    c.one_of(
        &body,
        "",
        "sale_type",
        false,
        &["product", "service", "mixed"],
    );
    c.integer(&body, "", "rate_category_id", false, 1);
    if let Some(pt) = c.object(&body, "", "payment_terms", false) {
        c.id(pt, "payment_terms", "id", true);
        let codes = [
            "onorder",
            "endmonth",
            "received",
            "oninvoice",
            "nextmonth",
            "30days",
            "45days",
            "60days",
            "xdays",
            "scaled",
            "custom",
            "deadlines",
        ];
        c.one_of(pt, "payment_terms", "code", false, &codes);
        if let Some(dl) = c.array(pt, "payment_terms", "deadlines", false) {
            for (i, d) in dl.iter().enumerate() {
                let p = format!("payment_terms.deadlines[{i}]");
                match d.as_object() {
                    Some(o) => {
                        c.date(o, &p, "date");
                        c.decimal(o, &p, "amount", true);
                    }
                    None => c.fail(p, "must be an object"),
                }
            }
        }
    }
    if let Some(parent) = body.get("parent").filter(|p| !p.is_null()) {
        let ty = parent
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("parent");
        let id = parent.get("id").map(Value::to_string).unwrap_or_default();
        c.fail("parent", format!("{ty} {id} not found"));
    }
    c.object(&body, "", "settings", false);

    // Rows.
    let mut plans = Vec::new();
    if let Some(rows) = c.array(&body, "", "rows", false) {
        for (i, v) in rows.iter().enumerate() {
            if let Some(p) = check_row(st, &mut c, i, v) {
                plans.push(p);
            }
        }
    }
    c.finish()?;
    let Some((kind, pid)) = party else {
        return Err(ApiError::bad_request(
            "related: there must be exactly one company or one individual",
        ));
    };

    let inputs: Vec<RowInput> = plans
        .iter()
        .filter_map(|p| match p {
            RowPlan::Priced {
                input,
                optional: false,
                ..
            } => Some(input.clone()),
            _ => None,
        })
        .collect();
    let amounts = compute::compute(&inputs, global.as_ref().map(|(d, ..)| d), st.rounding);

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

    let discount = global.as_ref().map_or(Value::Null, |(d, ty, _)| {
        let amount = amounts
            .total_raw_excl_tax
            .saturating_sub(amounts.total_after_discount_excl_tax);
        let percent = match d {
            RowDiscount::Percent(p) => *p,
            RowDiscount::Amount(_) => amount
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(amounts.total_raw_excl_tax))
                .unwrap_or(Decimal::ZERO),
        };
        json!({"percent": money(percent), "amount": money(amount), "type": ty})
    });
    let party_json = st.party(kind, pid).cloned().unwrap_or_default();
    let default_address = |k: &str| party_json.get(k).cloned().unwrap_or(Value::Null);
    Ok(Built {
        related: related_out,
        party: (kind, pid),
        invoicing_address_id: if invoicing_address_id.is_null() {
            default_address("invoicing_address_id")
        } else {
            invoicing_address_id
        },
        delivery_address_id: if delivery_address_id.is_null() {
            default_address("delivery_address_id")
        } else {
            delivery_address_id
        },
        party_json,
        contact_id: contact_id.map(|(id, _)| id),
        date: date.unwrap_or_else(today),
        currency: currency.unwrap_or_else(|| st.default_currency()),
        public_link_enabled,
        discount,
        amounts,
        rows: rows_out,
        body,
    })
}

/// An address id that must belong to the invoiced third party; `null` when absent.
fn address_field(
    st: &Store,
    c: &mut Checker,
    body: &Obj,
    party: Option<(PartyKind, u64)>,
    key: &str,
) -> Value {
    let Some(id) = c.id(body, "", key, false) else {
        return Value::Null;
    };
    if let Some(owner) = party
        && !owns_address(st, owner, id)
    {
        c.fail(
            key,
            format!(
                "address {id} does not belong to the related {}",
                owner.0.as_str()
            ),
        );
    }
    json!(id)
}

fn amounts_json(a: &DocumentAmounts, with_due: bool) -> Value {
    let mut v = json!({
        "total_raw_excl_tax": money(a.total_raw_excl_tax),
        "total_after_discount_excl_tax": money(a.total_after_discount_excl_tax),
        "total_packaging": money(a.total_packaging),
        "total_shipping": money(a.total_shipping),
        "total_excl_tax": money(a.total_excl_tax),
        "total_incl_tax": money(a.total_incl_tax),
    });
    if with_due {
        v["total_remaining_due_incl_tax"] = json!(money(a.total_incl_tax));
        v["total_primes_incl_tax"] = json!("0.00");
    }
    v
}

fn taxes_json(st: &Store, a: &DocumentAmounts) -> Value {
    Value::Array(
        a.taxes
            .iter()
            .map(|t| json!({"label": rate_label(st, t.tax_id).1, "id": t.tax_id, "rate": money(t.rate), "amount": money(t.amount)}))
            .collect(),
    )
}

fn display_name(party: &Obj) -> Value {
    if let Some(n) = party.get("name").and_then(Value::as_str) {
        return json!(n);
    }
    let first = party
        .get("first_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let last = party
        .get("last_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!(format!("{first} {last}").trim())
}

fn public_token(id: u64) -> String {
    // Stable per invoice, and not simply the id, like Sellsy's hashed public links.
    format!(
        "{:016x}",
        id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0123_4567_89AB_CDEF
    )
}

fn invoice_json(st: &Store, b: &Built, id: u64, origin: &str) -> Value {
    let body = &b.body;
    let get = |k: &str| body.get(k).cloned().unwrap_or(Value::Null);
    let mut json = json!({
        "id": id,
        "number": null,
        "status": "draft",
        "date": b.date,
        "due_date": b.date,
        "created": now_rfc3339(),
        "subject": get("subject"),
        "amounts": amounts_json(&b.amounts, true),
        "currency": b.currency,
        "taxes": taxes_json(st, &b.amounts),
        "discount": b.discount,
        "related": b.related,
        "public_link": {"enabled": b.public_link_enabled, "url": format!("{origin}/public/invoices/{id}/{}", public_token(id))},
        "payment_conditions_acceptance": {"enabled": false},
        "owner": {"id": STAFF_ID, "type": "staff"},
        "fiscal_year_id": null,
        "file_id": id,
        "pdf_link": format!("{origin}/pdf/invoices/{id}/{}.pdf", public_token(id)),
        "decimal_number": {"unit_price": null, "quantity": null, "main": 2},
        "assigned_staff_id": body.get("assigned_staff_id").cloned().unwrap_or(json!(STAFF_ID)),
        "contact_id": b.contact_id,
        "invoicing_address_id": b.invoicing_address_id,
        "delivery_address_id": b.delivery_address_id,
        "issuer_address_id": get("issuer_address_id"),
        "parent": null,
        "order_reference": get("order_reference"),
        "is_deposit": false,
        "rate_category_id": get("rate_category_id"),
        "service_dates": get("service_dates"),
        "note": body.get("note").cloned().unwrap_or(json!("")),
        "subscription_id": null,
        "is_sent_to_accounting": false,
        "shipping_date": get("shipping_date"),
        "shipping_volume": get("shipping_volume"),
        "shipping_weight": get("shipping_weight"),
        "company_reference": b.party_json.get("reference").cloned().unwrap_or(Value::Null),
        "company_name": display_name(&b.party_json),
        "layout_id": null,
        "lang_id": null,
        "vat_mode": body.get("vat_mode").cloned().unwrap_or(json!("debit")),
        "is_progress_invoice": false,
        "bank_account_id": get("bank_account_id"),
        "payment_method_ids": body.get("payment_method_ids").cloned().unwrap_or(json!([])),
        "check_label_id": get("check_label_id"),
        "analytic_code": get("analytic_code"),
        "sale_type": body.get("sale_type").cloned().unwrap_or_else(|| json!(sale_type(&b.rows))),
        "rows": b.rows,
    });
    if let Value::Object(o) = &mut json {
        // A draft has no number yet; the others are unset optional ids and values.
        crate::store::omit_nulls(
            o,
            &[
                "number",
                "issuer_address_id",
                "rate_category_id",
                "subscription_id",
                "shipping_volume",
                "company_reference",
                "layout_id",
                "lang_id",
            ],
        );
    }
    json
}

fn sale_type(rows: &[Value]) -> &'static str {
    let is_service = |r: &Value| {
        r.get("related")
            .and_then(|x| x.get("type"))
            .and_then(Value::as_str)
            == Some("service")
    };
    let priced: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("amount_tax_exc").is_some())
        .collect();
    match (
        priced.iter().filter(|r| is_service(r)).count(),
        priced.len(),
    ) {
        (0, _) => "product",
        (s, n) if s == n => "service",
        _ => "mixed",
    }
}

pub(crate) fn create(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let built = build(st, body)?;
    let id = st.next_id(Seq::Invoice);
    let mut json = invoice_json(st, &built, id, ctx.origin);
    if let Some(rows) = json.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            let rid = st.next_id(Seq::Row);
            if let Some(o) = row.as_object_mut() {
                o.insert("id".into(), json!(rid));
            }
        }
    }
    let _ = built.party;
    st.invoices.insert(id, to_obj(json.clone()));
    Ok(Reply::created(json))
}

/// `POST /invoices/compute`: same validation as create, answers the `InvoiceCompute` shape, stores nothing.
pub(crate) fn compute(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let b = build(st, body)?;
    // The computed rows (`EstimateCompute` rows, `additionalProperties: false`) have no `is_optional`.
    let rows: Vec<Value> = b
        .rows
        .iter()
        .cloned()
        .map(|mut r| {
            if let Value::Object(o) = &mut r {
                o.shift_remove("is_optional");
            }
            r
        })
        .collect();
    Ok(Reply::ok(json!({
        "status": "draft",
        "date": b.date,
        "subject": b.body.get("subject").cloned().unwrap_or(Value::Null),
        "amounts": amounts_json(&b.amounts, false),
        "currency": b.currency,
        "taxes": taxes_json(st, &b.amounts),
        "order_reference": b.body.get("order_reference").cloned().unwrap_or(Value::Null),
        "discount": b.discount,
        "related": b.related,
        "owner": {"id": STAFF_ID, "type": "staff"},
        "payment_method_ids": b.body.get("payment_method_ids").cloned().unwrap_or(json!([])),
        "rows": rows,
        "shipping_weight": b.body.get("shipping_weight").cloned().unwrap_or(Value::Null),
    })))
}

pub(crate) fn get(st: &Store, id: u64) -> ApiResult {
    st.invoices
        .get(&id)
        .map(|o| Reply::ok(Value::Object(o.clone())))
        .ok_or_else(|| ApiError::not_found("Invoice"))
}

/// The list/search representation (`Invoice`): the full invoice without its rows.
fn summary(inv: &Obj) -> Value {
    let mut o = inv.clone();
    o.remove("rows");
    Value::Object(o)
}

/// Criteria of `POST /invoices/search`. Filters the spec does not define (e.g. `order_reference`) are ignored,
/// as the schema does not forbid extra properties.
#[derive(Default)]
pub(crate) struct Filters {
    related: Option<Vec<(String, u64)>>,
    date: Option<(Option<String>, Option<String>)>,
    created: Option<(Option<String>, Option<String>)>,
    status: Option<Vec<String>>,
    number: Option<String>,
    currency: Option<String>,
    owners: Option<Vec<u64>>,
    contacts: Option<Vec<u64>>,
    credit_note: bool,
    is_deposit: Option<bool>,
    is_progress: Option<bool>,
}

pub(crate) fn list(st: &Store, ctx: &Ctx<'_>, filters: Option<Filters>) -> ApiResult {
    let page = Page::from_query(ctx.query, INVOICE_ORDERS)?;
    let f = filters.unwrap_or_default();
    let s = |o: &Obj, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let items = st
        .invoices
        .iter()
        .filter(|(_, o)| {
            let related: Vec<(String, u64)> = o
                .get("related")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| {
                            Some((r.get("type")?.as_str()?.to_string(), r.get("id")?.as_u64()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let date = s(o, "date").unwrap_or_default();
            let created =
                s(o, "created").and_then(|c| chrono::DateTime::parse_from_rfc3339(&c).ok());
            let dt = |x: &Option<String>| {
                x.as_deref()
                    .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            };
            f.related
                .as_ref()
                .is_none_or(|want| want.iter().any(|w| related.contains(w)))
                && f.date.as_ref().is_none_or(|(a, b)| {
                    a.as_ref().is_none_or(|a| date >= *a) && b.as_ref().is_none_or(|b| date <= *b)
                })
                && f.created.as_ref().is_none_or(|(a, b)| {
                    created.is_some_and(|c| {
                        dt(a).is_none_or(|a| c >= a) && dt(b).is_none_or(|b| c <= b)
                    })
                })
                && f.status
                    .as_ref()
                    .is_none_or(|st| s(o, "status").is_some_and(|x| st.contains(&x)))
                && f.number
                    .as_ref()
                    .is_none_or(|n| s(o, "number").as_ref() == Some(n))
                && f.currency
                    .as_ref()
                    .is_none_or(|c| s(o, "currency").as_ref() == Some(c))
                && f.owners.as_ref().is_none_or(|w| w.contains(&STAFF_ID))
                && f.contacts.as_ref().is_none_or(|w| {
                    o.get("contact_id")
                        .and_then(Value::as_u64)
                        .is_some_and(|c| w.contains(&c))
                })
                && !f.credit_note
                && f.is_deposit.is_none_or(|d| !d)
                && f.is_progress.is_none_or(|d| !d)
        })
        .map(|(id, o)| (*id, summary(o)))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

fn date_pair(
    c: &mut Checker,
    f: &Obj,
    key: &str,
    datetime: bool,
) -> Option<(Option<String>, Option<String>)> {
    let p = format!("filters.{key}");
    let o = c.object(f, "filters", key, false)?;
    if datetime {
        Some((c.datetime(o, &p, "start"), c.datetime(o, &p, "end")))
    } else {
        Some((c.date(o, &p, "start"), c.date(o, &p, "end")))
    }
}

pub(crate) fn search(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    Page::from_query(ctx.query, INVOICE_ORDERS)?;
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let f = c
        .object(&body, "", "filters", true)
        .cloned()
        .unwrap_or_default();
    let mut filters = Filters::default();
    if let Some(arr) = c.array(&f, "filters", "related_objects", false) {
        let mut out = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            let p = format!("filters.related_objects[{i}]");
            match v.as_object() {
                Some(o) => {
                    let ty = c.one_of(
                        o,
                        &p,
                        "type",
                        true,
                        &["company", "individual", "opportunity"],
                    );
                    let id = c.id(o, &p, "id", true);
                    if let (Some(ty), Some(id)) = (ty, id) {
                        out.push((ty, id));
                    }
                }
                None => c.fail(p, "must be an object"),
            }
        }
        filters.related = Some(out);
    }
    filters.date = date_pair(&mut c, &f, "date", false);
    filters.created = date_pair(&mut c, &f, "created", true);
    if let Some(arr) = c.array(&f, "filters", "status", false) {
        let mut out = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            match v.as_str() {
                Some(s) if STATUSES.contains(&s) => out.push(s.to_string()),
                _ => c.fail(
                    format!("filters.status[{i}]"),
                    format!("must be one of: {}", STATUSES.join(", ")),
                ),
            }
        }
        filters.status = Some(out);
    }
    filters.number = c.string(&f, "filters", "number", false, 0, 100);
    filters.currency = c.string(&f, "filters", "currency", false, 0, 5);
    filters.owners = c.id_array(&f, "filters", "owners");
    filters.contacts = c.id_array(&f, "filters", "contacts");
    c.id_array(&f, "filters", "assigned_staff_ids");
    filters.credit_note = c.id(&f, "filters", "credit_note_id", false).is_some();
    c.integer(&f, "filters", "favourite_filter", false, 0);
    filters.is_deposit = c.boolean(&f, "filters", "is_deposit");
    filters.is_progress = c.boolean(&f, "filters", "is_progress_invoice");
    c.finish()?;
    list(st, ctx, Some(filters))
}

/// `POST /invoices/{id}/validate` `{"date"?}`: draft → due, assigns the definitive number.
pub(crate) fn validate(st: &mut Store, ctx: &Ctx<'_>, id: u64) -> ApiResult {
    if !st.invoices.contains_key(&id) {
        return Err(ApiError::not_found("Invoice"));
    }
    let body = optional_body_object(ctx.body)?;
    let mut c = Checker::new();
    let date = c.date(&body, "", "date");
    if let Some(d) = &date
        && is_date(d)
        && *d > today()
    {
        c.fail("date", "the validation date cannot be in the future");
    }
    c.finish()?;
    let status = st
        .invoices
        .get(&id)
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if status.as_deref() != Some("draft") {
        return Err(ApiError::bad_request(format!(
            "Only a draft invoice can be validated (status is {})",
            status.unwrap_or_default()
        ))
        .with_context("invalid_status"));
    }
    let seq = st.next_id(Seq::InvoiceNumber);
    let Some(inv) = st.invoices.get_mut(&id) else {
        return Err(ApiError::not_found("Invoice"));
    };
    if let Some(d) = date {
        inv.insert("date".into(), json!(d));
        inv.insert("due_date".into(), json!(d));
    }
    let year = inv
        .get("date")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..4))
        .unwrap_or("0000")
        .to_string();
    inv.insert("number".into(), json!(format!("FAC-{year}-{seq:05}")));
    inv.insert("status".into(), json!("due"));
    Ok(Reply::ok(Value::Object(inv.clone())))
}
