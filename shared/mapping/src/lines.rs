//! The document rows WooCommerce's lines give before any correction: one row per product line (its coupon
//! share as a row discount), one per shipping line, one per fee line — or one per rate for a fee whose tax
//! WooCommerce spread over several rates (a negative fee acting as a cart discount).

use rust_decimal::{Decimal, RoundingStrategy};
use woocommerce::{LineItem, MetaData, Order};
use woosellsy_domain::{LineDiscount, LineSource, PlanLine, TaxSpec};

use crate::error::MappingError;
use crate::sellsy_model::round2;
use crate::taxes::Rates;

/// Most decimals put on a unit amount (Sellsy's `decimal_number.unit_price` precision is per account; 6 is
/// what the v1 API and working integrations accept).
const UNIT_DECIMALS: u32 = 6;

/// Decodes the HTML entities WooCommerce leaves in names (`&ndash;`, `&amp;`, `&#8211;`).
pub(crate) fn text(s: &str) -> String {
    html_escape::decode_html_entities(s).trim().to_owned()
}

/// The single tax of a row: the rate of its non-zero taxes, exempt when it has none.
fn single_tax(
    rates: &Rates,
    taxes: &[(&crate::taxes::Rate, Decimal)],
    line: &str,
) -> Result<TaxSpec, MappingError> {
    match taxes {
        [] => Ok(rates.exempt),
        [(rate, _)] => Ok(rates.spec(rate.percent)),
        _ => Err(MappingError::StackedTaxes {
            line: line.to_owned(),
        }),
    }
}

/// A unit amount `u` with `round2(u × quantity) = amount`, with as few decimals as possible (2 to 6).
/// Returns the unit and the cents `round2(u × quantity)` exceeds `amount` by, when no unit hits it exactly
/// (huge quantities): the caller adds them to the row discount.
fn unit_for(amount: Decimal, quantity: Decimal) -> (Decimal, Decimal) {
    if quantity == Decimal::ONE {
        return (amount, Decimal::ZERO);
    }
    let exact = amount / quantity;
    for dp in 2..=UNIT_DECIMALS {
        let u = exact.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        if round2(u * quantity) == amount {
            let mut u = u.normalize();
            if u.scale() < 2 {
                u.rescale(2);
            }
            return (u, Decimal::ZERO);
        }
    }
    let u = exact.round_dp_with_strategy(UNIT_DECIMALS, RoundingStrategy::ToPositiveInfinity);
    (u, round2(u * quantity) - amount)
}

/// Variation attributes and other visible item meta ("Couleur : Noir"); keys starting with `_` are internal.
fn attributes(meta: &[MetaData]) -> Vec<String> {
    meta.iter()
        .filter(|m| !m.key.starts_with('_') && !m.key.is_empty())
        .filter_map(|m| match &m.value {
            serde_json::Value::String(v) if !v.trim().is_empty() => {
                Some(format!("{} : {}", text(&m.key), text(v)))
            }
            serde_json::Value::Number(n) => Some(format!("{} : {n}", text(&m.key))),
            _ => None,
        })
        .collect()
}

fn product_row(item: &LineItem, rates: &Rates, coupons: &str) -> Result<PlanLine, MappingError> {
    let name = text(&item.name);
    if item.quantity <= Decimal::ZERO {
        return Err(MappingError::InvalidQuantity {
            line: name,
            quantity: item.quantity,
        });
    }
    let taxes = rates.line_taxes(&item.taxes, &name)?;
    let tax = single_tax(rates, &taxes, &name)?;

    // Subtotal is before coupons, total after; both exclude tax even when prices include it.
    let (base, mut discount) = if item.subtotal >= item.total {
        (item.subtotal, item.subtotal - item.total)
    } else {
        (item.total, Decimal::ZERO)
    };
    let (u, extra) = unit_for(base, item.quantity);
    let (quantity, unit) = if extra.is_zero() || base >= Decimal::ZERO {
        discount += extra;
        (item.quantity, u)
    } else {
        // A negative amount that no unit price represents: one row for the whole line.
        (Decimal::ONE, base)
    };

    let sku = item.sku.as_deref().map(str::trim).unwrap_or_default();
    let source = if sku.chars().count() >= 2 {
        LineSource::Catalog {
            sku: sku.to_owned(),
            parent_sku: item
                .parent_sku
                .as_deref()
                .map(str::trim)
                .filter(|p| p.chars().count() >= 2 && *p != sku)
                .map(str::to_owned),
            is_variation: item.variation_id != 0,
        }
    } else {
        LineSource::Product {
            reference: (!sku.is_empty()).then(|| sku.to_owned()),
        }
    };
    let mut description = attributes(&item.meta_data);
    if !discount.is_zero() && !coupons.is_empty() {
        description.push(format!("Remise {coupons}"));
    }
    Ok(PlanLine {
        source,
        name,
        description: description.join("\n"),
        quantity,
        unit_amount: unit,
        tax,
        discount: (!discount.is_zero()).then_some(LineDiscount::Amount(discount)),
    })
}

fn single_row(
    source: LineSource,
    name: String,
    description: String,
    amount: Decimal,
    tax: TaxSpec,
) -> PlanLine {
    PlanLine {
        source,
        name,
        description,
        quantity: Decimal::ONE,
        unit_amount: amount,
        tax,
        discount: None,
    }
}

/// Fee rows. A fee taxed at one rate on its whole amount is one row. A fee whose tax covers only part of it,
/// or is spread over several rates (WooCommerce does this for negative fees, in proportion to the cart's
/// costs per tax class), becomes one row per rate with the amount that rate's tax implies
/// (`tax × 100 / rate`), plus an untaxed row for the rest. The cent lost in rounding those amounts goes to
/// the largest row. A fee whose rates together tax more than its amount is stacked, which is refused.
fn fee_rows(order: &Order, rates: &Rates, out: &mut Vec<PlanLine>) -> Result<(), MappingError> {
    let cent = Decimal::new(1, 2);
    for fee in &order.fee_lines {
        let name = text(&fee.name);
        let taxes = rates.line_taxes(&fee.taxes, &name)?;
        let positive: Vec<_> = taxes.iter().filter(|(r, _)| !r.percent.is_zero()).collect();
        if positive.is_empty() {
            out.push(single_row(
                LineSource::Fee,
                name,
                String::new(),
                fee.total,
                rates.exempt,
            ));
            continue;
        }
        let raw_bases: Vec<Decimal> = positive
            .iter()
            .map(|(r, t)| *t * Decimal::ONE_HUNDRED / r.percent)
            .collect();
        let taxed: Decimal = raw_bases.iter().map(|b| b.abs()).sum();
        let tolerance = cent * Decimal::from(positive.len());
        if taxed > fee.total.abs() + tolerance {
            return Err(MappingError::StackedTaxes { line: name });
        }
        let untaxed_raw = fee.total - raw_bases.iter().sum::<Decimal>();
        if positive.len() == 1 && untaxed_raw.abs() <= cent / Decimal::TWO {
            out.push(single_row(
                LineSource::Fee,
                name,
                String::new(),
                fee.total,
                rates.spec(positive[0].0.percent),
            ));
            continue;
        }
        let mut rows: Vec<PlanLine> = positive
            .iter()
            .zip(&raw_bases)
            .map(|((rate, _), base)| {
                single_row(
                    LineSource::Fee,
                    format!("{name} (TVA {} %)", rate.percent),
                    "Part de la remise soumise à ce taux, répartie comme WooCommerce la calcule"
                        .to_owned(),
                    round2(*base),
                    rates.spec(rate.percent),
                )
            })
            .collect();
        let residual = fee.total - rows.iter().map(|r| r.unit_amount).sum::<Decimal>();
        if untaxed_raw.abs() > cent / Decimal::TWO {
            rows.push(single_row(
                LineSource::Fee,
                format!("{name} (hors TVA)"),
                "Part de la remise sur des articles non taxés".to_owned(),
                residual,
                rates.exempt,
            ));
        } else if let Some(largest) = rows.iter_mut().max_by_key(|r| r.unit_amount.abs()) {
            largest.unit_amount += residual;
        }
        out.extend(rows);
    }
    Ok(())
}

/// All rows of the order, before reconciliation.
pub(crate) fn rows(
    order: &Order,
    rates: &Rates,
    coupons: &str,
) -> Result<Vec<PlanLine>, MappingError> {
    if order.line_items.is_empty() {
        return Err(MappingError::NoLines);
    }
    let mut out = Vec::new();
    for item in &order.line_items {
        out.push(product_row(item, rates, coupons)?);
    }
    for s in &order.shipping_lines {
        let name = text(&s.method_title);
        let taxes = rates.line_taxes(&s.taxes, &name)?;
        let tax = single_tax(rates, &taxes, &name)?;
        let name = if name.is_empty() {
            "Livraison".to_owned()
        } else {
            name
        };
        out.push(single_row(
            LineSource::Shipping {
                method_id: s.method_id.clone(),
            },
            name,
            String::new(),
            s.total,
            tax,
        ));
    }
    fee_rows(order, rates, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn unit_amounts_use_the_fewest_decimals_that_give_the_line_amount() {
        // 8.333 × 3 = 24.999 → 25.00: three decimals are enough.
        assert_eq!(unit_for(dec!(25.00), dec!(3)), (dec!(8.333), dec!(0)));
        assert_eq!(unit_for(dec!(36.00), dec!(3)), (dec!(12.00), dec!(0)));
        assert_eq!(unit_for(dec!(4.99), dec!(1.5)), (dec!(3.327), dec!(0)));
        // A quantity so large that 6 decimals cannot hit the cent: the excess becomes a discount.
        let (u, extra) = unit_for(dec!(100.00), dec!(30000));
        assert_eq!(round2(u * dec!(30000)) - extra, dec!(100.00));
        assert!(extra >= Decimal::ZERO);
    }

    #[test]
    fn names_lose_their_html_entities() {
        assert_eq!(
            text("Ship Your Idea &ndash; Color: Black"),
            "Ship Your Idea – Color: Black"
        );
        assert_eq!(text("&lt;Variable&gt; Fun Pens!"), "<Variable> Fun Pens!");
        assert_eq!(text("Caf&eacute; &amp; th&#233;"), "Café & thé");
    }
}
