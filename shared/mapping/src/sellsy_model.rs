//! Our model of Sellsy's document arithmetic, which the plan is checked against before anything is created.
//!
//! Sellsy does not document its rounding (reference `sellsy.md` §5.6, §7.3). What we assume:
//! * a row's amount excluding tax is `round2(unit_amount × quantity) − discount`, every rounding to 2
//!   decimals half away from zero ("HALF_UP"); an amount discount is a whole-row amount;
//! * a document's tax for one rate is **either** the sum of its rows' rounded taxes ([`Rounding::PerRow`])
//!   **or** the rounded tax of the summed rows ([`Rounding::PerRate`]). Unless the connector's settings name
//!   the account's rounding ([`TaxRounding`]), we cannot know which, so a plan is accepted only when both give
//!   WooCommerce's figures to the cent ([`roundings`]).

use rust_decimal::{Decimal, RoundingStrategy};
use woosellsy_domain::{LineDiscount, PlanLine, TaxRounding, TaxSpec};

/// How Sellsy might round document taxes (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    PerRow,
    PerRate,
}

/// The roundings a plan must be exact under, for a connector's setting: both when it is unknown.
pub fn roundings(setting: TaxRounding) -> &'static [Rounding] {
    match setting {
        TaxRounding::Unknown => &[Rounding::PerRow, Rounding::PerRate],
        TaxRounding::PerRow => &[Rounding::PerRow],
        TaxRounding::PerRate => &[Rounding::PerRate],
    }
}

/// Rounds to 2 decimals, half away from zero.
pub fn round2(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The tax percent of a tax spec (0 for exemptions).
pub fn percent(tax: TaxSpec) -> Decimal {
    match tax {
        TaxSpec::Rate(p) => p,
        TaxSpec::Exempt(_) => Decimal::ZERO,
    }
}

/// A row's amount excluding tax, after its discount.
pub fn row_net(line: &PlanLine) -> Decimal {
    let gross = round2(line.unit_amount * line.quantity);
    match line.discount {
        None => gross,
        Some(LineDiscount::Amount(a)) => gross - round2(a),
        Some(LineDiscount::Percent(p)) => gross - round2(gross * p / Decimal::ONE_HUNDRED),
    }
}

/// The rounded tax of an amount at a tax spec.
pub fn tax_of(net: Decimal, tax: TaxSpec) -> Decimal {
    round2(net * percent(tax) / Decimal::ONE_HUNDRED)
}

/// One tax of a computed document.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxAmount {
    pub tax: TaxSpec,
    pub base: Decimal,
    pub amount: Decimal,
}

/// What Sellsy would show for a set of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentAmounts {
    /// In order of first use by a row.
    pub taxes: Vec<TaxAmount>,
    pub excl_tax: Decimal,
    pub tax: Decimal,
    pub incl_tax: Decimal,
}

/// Computes a document the way Sellsy is assumed to.
pub fn compute(lines: &[PlanLine], rounding: Rounding) -> DocumentAmounts {
    let mut taxes: Vec<TaxAmount> = Vec::new();
    for line in lines {
        let net = row_net(line);
        let row_tax = tax_of(net, line.tax);
        match taxes.iter_mut().find(|t| t.tax == line.tax) {
            Some(t) => {
                t.base += net;
                t.amount += row_tax;
            }
            None => taxes.push(TaxAmount {
                tax: line.tax,
                base: net,
                amount: row_tax,
            }),
        }
    }
    if rounding == Rounding::PerRate {
        for t in &mut taxes {
            t.amount = tax_of(t.base, t.tax);
        }
    }
    let excl_tax = taxes.iter().map(|t| t.base).sum();
    let tax = taxes.iter().map(|t| t.amount).sum();
    DocumentAmounts {
        taxes,
        excl_tax,
        tax,
        incl_tax: excl_tax + tax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use woosellsy_domain::{Exemption, LineSource};

    fn row(qty: Decimal, unit: Decimal, tax: TaxSpec, discount: Option<LineDiscount>) -> PlanLine {
        PlanLine {
            source: LineSource::Fee,
            name: "x".into(),
            description: String::new(),
            quantity: qty,
            unit_amount: unit,
            tax,
            discount,
        }
    }

    #[test]
    fn the_two_roundings_differ_on_many_small_rows() {
        let rows = vec![row(dec!(1), dec!(1.05), TaxSpec::Rate(dec!(5.5)), None); 3];
        assert_eq!(compute(&rows, Rounding::PerRow).tax, dec!(0.18));
        assert_eq!(compute(&rows, Rounding::PerRate).tax, dec!(0.17));
    }

    #[test]
    fn row_amount_is_rounded_before_the_discount() {
        let r = row(
            dec!(3),
            dec!(8.333333),
            TaxSpec::Rate(dec!(20)),
            Some(LineDiscount::Amount(dec!(5))),
        );
        assert_eq!(row_net(&r), dec!(20.00));
        let ex = row(
            dec!(1),
            dec!(-0.125),
            TaxSpec::Exempt(Exemption::Exempt),
            None,
        );
        assert_eq!(row_net(&ex), dec!(-0.13));
        assert_eq!(compute(&[ex], Rounding::PerRate).tax, dec!(0));
    }
}
