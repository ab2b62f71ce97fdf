//! WooCommerce order → backend-neutral [`DocumentPlan`], pure (no I/O, no async).
//!
//! * [`eligibility`]: whether an order is to be invoiced now.
//! * [`plan_document`]: the plan — customer, one row per product/shipping/fee line, taxes per rate — checked
//!   against WooCommerce's totals to the cent, with rounding corrections listed ([`Correction`]), under the
//!   Sellsy tax rounding the settings name (both plausible ones when unknown).
//! * [`sellsy_model`]: the arithmetic Sellsy is assumed to apply, under both plausible tax roundings.
//! * [`MappingError`]: why an order cannot be mapped, in words a merchant can act on.

mod customer;
pub mod eligibility;
mod error;
mod lines;
mod reconcile;
pub mod sellsy_model;
mod taxes;

use rust_decimal::Decimal;
use woocommerce::Order;
use woosellsy_domain::{
    ConnectorSettings, DocumentKind, DocumentPlan, OrderId, PlanTax, PlanTotals, TaxSpec,
};

pub use eligibility::{Eligibility, eligibility};
pub use error::MappingError;
pub use reconcile::{Correction, CorrectionKind};

/// A plan and the corrections that made it match WooCommerce to the cent.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub plan: DocumentPlan,
    pub corrections: Vec<Correction>,
}

/// Largest magnitude accepted for any amount or quantity (a trillion): far beyond any real order, and small
/// enough that no product of two such numbers can overflow a `Decimal`.
const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);
/// Smallest non-zero magnitude accepted (a millionth): finer than any price or quantity a shop stores,
/// and coarse enough that dividing the largest amount by it cannot overflow a `Decimal` (the mapping
/// divides by quantities and rates).
const MIN_MAGNITUDE: Decimal = Decimal::from_parts(1, 0, 0, false, 6);
/// Largest tax rate accepted, in percent.
pub(crate) const MAX_RATE_PERCENT: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

fn out_of_range(v: Decimal) -> bool {
    v.abs() > MAX_AMOUNT || (!v.is_zero() && v.abs() < MIN_MAGNITUDE)
}

fn check_ranges(order: &Order) -> Result<(), MappingError> {
    let check =
        |what: String, values: Vec<Decimal>| match values.into_iter().find(|v| out_of_range(*v)) {
            Some(amount) => Err(MappingError::AmountOutOfRange { what, amount }),
            None => Ok(()),
        };
    let with_taxes = |mut values: Vec<Decimal>, taxes: &[woocommerce::LineTax]| {
        values.extend(taxes.iter().flat_map(|t| [t.total, t.subtotal]));
        values
    };
    check("the order total".into(), vec![order.total])?;
    for t in &order.tax_lines {
        check(
            format!("tax {:?}", t.label),
            vec![t.tax_total, t.shipping_tax_total],
        )?;
        if let Some(rate) = t.rate_percent
            && (out_of_range(rate) || rate > MAX_RATE_PERCENT)
        {
            return Err(MappingError::AmountOutOfRange {
                what: format!("the rate of tax {:?} (percent)", t.label),
                amount: rate,
            });
        }
    }
    for l in &order.line_items {
        check(
            format!("line {:?}", l.name),
            with_taxes(vec![l.quantity, l.subtotal, l.total], &l.taxes),
        )?;
    }
    for s in &order.shipping_lines {
        check(
            format!("shipping {:?}", s.method_title),
            with_taxes(vec![s.total], &s.taxes),
        )?;
    }
    for f in &order.fee_lines {
        check(
            format!("fee {:?}", f.name),
            with_taxes(vec![f.total], &f.taxes),
        )?;
    }
    Ok(())
}

/// Maps an order to the plan of a document of `kind`. The plan gives WooCommerce's figures to the cent under
/// the tax rounding `settings.sellsy_tax_rounding` names, or under both when it is unknown.
pub fn plan_document(
    order: &Order,
    settings: &ConnectorSettings,
    kind: DocumentKind,
) -> Result<Planned, MappingError> {
    let customer = customer::customer(order, settings)?;
    check_ranges(order)?;
    let currency = order.currency.trim().to_uppercase();
    if currency.is_empty() {
        return Err(MappingError::MissingCurrency);
    }
    let date = order
        .date_paid
        .or(order.date_created)
        .or(order.date_paid_gmt)
        .or(order.date_created_gmt)
        .ok_or(MappingError::MissingDate)?
        .date();

    let exempt = TaxSpec::Exempt(settings.zero_rate_exemption);
    let rates = taxes::Rates::read(order, exempt)?;

    let codes: Vec<String> = order
        .coupon_lines
        .iter()
        .map(|c| lines::text(&c.code))
        .filter(|c| !c.is_empty())
        .collect();
    let coupon_label = match codes.len() {
        0 => String::new(),
        1 => format!("(code promo {})", codes[0]),
        _ => format!("(codes promo {})", codes.join(", ")),
    };
    let mut rows = lines::rows(order, &rates, &coupon_label)?;

    // WooCommerce's figure per tax; several rate ids with one percent are one Sellsy tax.
    let mut targets: Vec<reconcile::TaxTarget> = Vec::new();
    for rate in &rates.rates {
        let tax = rates.spec(rate.percent);
        match targets.iter_mut().find(|t| t.tax == tax) {
            Some(t) => t.amount += rate.amount,
            None => targets.push(reconcile::TaxTarget {
                tax,
                amount: rate.amount,
            }),
        }
    }
    let corrections = reconcile::reconcile(
        &mut rows,
        &targets,
        order.total,
        exempt,
        sellsy_model::roundings(settings.sellsy_tax_rounding),
    )?;

    let mut taxes: Vec<PlanTax> = Vec::new();
    for row in &rows {
        let net = sellsy_model::row_net(row);
        match taxes.iter_mut().find(|t| t.tax == row.tax) {
            Some(t) => t.base_excl_tax += net,
            None => taxes.push(PlanTax {
                tax: row.tax,
                base_excl_tax: net,
                amount: targets
                    .iter()
                    .filter(|t| t.tax == row.tax)
                    .map(|t| t.amount)
                    .sum(),
            }),
        }
    }
    let tax_total: Decimal = taxes.iter().map(|t| t.amount).sum();

    let number = if order.number.trim().is_empty() {
        order.id.to_string()
    } else {
        order.number.trim().to_owned()
    };
    let mut notes = Vec::new();
    if !codes.is_empty() {
        let detail: Vec<String> = order
            .coupon_lines
            .iter()
            .map(|c| format!("{} (−{} HT)", lines::text(&c.code), c.discount))
            .collect();
        notes.push(format!("Codes promo appliqués : {}", detail.join(", ")));
    }
    if !order.customer_note.trim().is_empty() {
        notes.push(format!(
            "Note du client : {}",
            lines::text(&order.customer_note)
        ));
    }
    for c in &corrections {
        notes.push(format!(
            "Ligne d'arrondi de {} HT ({}) pour retrouver exactement les montants de la commande WooCommerce",
            c.amount,
            reconcile::tax_name(c.tax)
        ));
    }

    Ok(Planned {
        plan: DocumentPlan {
            kind,
            connector: Some(settings.id.clone()),
            order_id: OrderId(order.id),
            order_number: number.clone(),
            order_reference: format!("{}{number}", settings.order_reference_prefix),
            date,
            currency,
            subject: format!("Commande WooCommerce n°{number}"),
            customer,
            lines: rows,
            taxes,
            totals: PlanTotals {
                excl_tax: order.total - tax_total,
                tax: tax_total,
                incl_tax: order.total,
            },
            notes,
        },
        corrections,
    })
}
