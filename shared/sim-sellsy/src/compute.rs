//! Pure document arithmetic of the simulated Sellsy: row amounts, per-tax totals and document totals.
//!
//! Sellsy does not document its rounding (reference `sellsy.md` §5.6 and §7.3), so the simulator offers two
//! plausible modes and the connector must produce the same cents under both:
//! - [`RoundingMode::PerRow`]: each row's tax is rounded, the document tax of a tax id is the sum of its rows;
//! - [`RoundingMode::PerRate`]: the document tax of a tax id is computed once on the summed base of its rows.
//!
//! Every rounding is to 2 decimals, midpoint away from zero ("HALF_UP"). All operations saturate instead of
//! panicking so that absurd inputs cannot crash a test server; the HTTP layer bounds inputs well below the limits.

use rust_decimal::{Decimal, RoundingStrategy};

/// How document taxes are rounded (see module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RoundingMode {
    /// Round each row's tax, sum per tax id.
    #[default]
    PerRow,
    /// Sum bases per tax id, round the tax once.
    PerRate,
}

/// A row discount as sent in `rows[x].discount` (`type` + `value`).
#[derive(Clone, Debug, PartialEq)]
pub enum RowDiscount {
    /// Whole-row amount (not per unit) subtracted from the row total.
    Amount(Decimal),
    /// Percentage of the row total.
    Percent(Decimal),
}

/// The numeric part of one computable row (`single`, `catalog`, `shipping` or `packaging`).
#[derive(Clone, Debug, PartialEq)]
pub struct RowInput {
    pub quantity: Decimal,
    /// Unit price excluding tax.
    pub unit_amount: Decimal,
    pub tax_id: u64,
    /// Tax rate in percent (20 for 20 %).
    pub tax_rate: Decimal,
    pub discount: Option<RowDiscount>,
    pub kind: RowKind,
}

/// Which document total a row feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Single,
    Catalog,
    Shipping,
    Packaging,
}

/// Amounts of one row, all rounded to 2 decimals.
#[derive(Clone, Debug, PartialEq)]
pub struct RowAmounts {
    pub amount_tax_exc: Decimal,
    pub tax_amount: Decimal,
    pub amount_tax_inc: Decimal,
    pub discount_total: Decimal,
}

/// The document total of one tax id. `base` is the taxable base after the global discount share.
#[derive(Clone, Debug, PartialEq)]
pub struct TaxTotal {
    pub tax_id: u64,
    pub rate: Decimal,
    pub base: Decimal,
    pub amount: Decimal,
}

/// Everything Sellsy reports in `amounts`, `taxes` and `rows` of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentAmounts {
    pub rows: Vec<RowAmounts>,
    /// One entry per tax id, in order of first use by a row.
    pub taxes: Vec<TaxTotal>,
    /// Σ row totals (after row discounts) of `single`/`catalog` rows; excludes shipping and packaging.
    pub total_raw_excl_tax: Decimal,
    /// `total_raw_excl_tax` minus the global discount.
    pub total_after_discount_excl_tax: Decimal,
    pub total_shipping: Decimal,
    pub total_packaging: Decimal,
    pub total_excl_tax: Decimal,
    pub total_tax: Decimal,
    pub total_incl_tax: Decimal,
}

/// Rounds to 2 decimals, midpoint away from zero.
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn percent_of(value: Decimal, percent: Decimal) -> Decimal {
    // Dividing by a non-zero constant cannot fail; `checked_div` keeps the function total anyway.
    value
        .saturating_mul(percent)
        .checked_div(Decimal::ONE_HUNDRED)
        .unwrap_or(Decimal::ZERO)
}

/// Amounts of a single row: `round2(unit × qty) − discount`, tax rounded on the row.
pub fn compute_row(row: &RowInput) -> RowAmounts {
    let gross = round2(row.unit_amount.saturating_mul(row.quantity));
    let discount_total = match &row.discount {
        None => Decimal::ZERO,
        Some(RowDiscount::Percent(p)) => round2(percent_of(gross, *p)),
        Some(RowDiscount::Amount(a)) => round2(*a),
    };
    let amount_tax_exc = gross.saturating_sub(discount_total);
    let tax_amount = round2(percent_of(amount_tax_exc, row.tax_rate));
    RowAmounts {
        amount_tax_exc,
        tax_amount,
        amount_tax_inc: amount_tax_exc.saturating_add(tax_amount),
        discount_total,
    }
}

struct TaxAcc {
    tax_id: u64,
    rate: Decimal,
    /// Σ `single`/`catalog` row totals: the part the global discount is spread over.
    goods_base: Decimal,
    /// Σ shipping/packaging row totals: never discounted globally.
    other_base: Decimal,
    row_taxes: Decimal,
    discount_share: Decimal,
}

/// Computes a whole document. `global_discount` is the document-level `discount`.
pub fn compute(
    rows: &[RowInput],
    global_discount: Option<&RowDiscount>,
    mode: RoundingMode,
) -> DocumentAmounts {
    let amounts: Vec<RowAmounts> = rows.iter().map(compute_row).collect();

    let mut raw = Decimal::ZERO;
    let mut shipping = Decimal::ZERO;
    let mut packaging = Decimal::ZERO;
    let mut accs: Vec<TaxAcc> = Vec::new();
    for (row, amt) in rows.iter().zip(&amounts) {
        let idx = match accs.iter().position(|a| a.tax_id == row.tax_id) {
            Some(i) => i,
            None => {
                accs.push(TaxAcc {
                    tax_id: row.tax_id,
                    rate: row.tax_rate,
                    goods_base: Decimal::ZERO,
                    other_base: Decimal::ZERO,
                    row_taxes: Decimal::ZERO,
                    discount_share: Decimal::ZERO,
                });
                accs.len() - 1
            }
        };
        let acc = &mut accs[idx];
        acc.row_taxes = acc.row_taxes.saturating_add(amt.tax_amount);
        match row.kind {
            RowKind::Single | RowKind::Catalog => {
                raw = raw.saturating_add(amt.amount_tax_exc);
                acc.goods_base = acc.goods_base.saturating_add(amt.amount_tax_exc);
            }
            RowKind::Shipping => {
                shipping = shipping.saturating_add(amt.amount_tax_exc);
                acc.other_base = acc.other_base.saturating_add(amt.amount_tax_exc);
            }
            RowKind::Packaging => {
                packaging = packaging.saturating_add(amt.amount_tax_exc);
                acc.other_base = acc.other_base.saturating_add(amt.amount_tax_exc);
            }
        }
    }

    let global = match global_discount {
        None => Decimal::ZERO,
        Some(RowDiscount::Percent(p)) => round2(percent_of(raw, *p)),
        Some(RowDiscount::Amount(a)) => round2(*a),
    };
    let after_discount = raw.saturating_sub(global);

    // Spread the global discount over tax ids in proportion to their goods base; the last tax id with a goods
    // base absorbs the rounding remainder so that the shares add up to the discount exactly.
    if !global.is_zero() && !raw.is_zero() {
        let mut spread = Decimal::ZERO;
        let last = accs.iter().rposition(|a| !a.goods_base.is_zero());
        for (i, acc) in accs.iter_mut().enumerate() {
            if acc.goods_base.is_zero() {
                continue;
            }
            acc.discount_share = if Some(i) == last {
                global.saturating_sub(spread)
            } else {
                round2(
                    global
                        .saturating_mul(acc.goods_base)
                        .checked_div(raw)
                        .unwrap_or(Decimal::ZERO),
                )
            };
            spread = spread.saturating_add(acc.discount_share);
        }
    }

    let taxes: Vec<TaxTotal> = accs
        .iter()
        .map(|acc| {
            let base = acc
                .goods_base
                .saturating_sub(acc.discount_share)
                .saturating_add(acc.other_base);
            let amount = match mode {
                RoundingMode::PerRow => acc
                    .row_taxes
                    .saturating_sub(round2(percent_of(acc.discount_share, acc.rate))),
                RoundingMode::PerRate => round2(percent_of(base, acc.rate)),
            };
            TaxTotal {
                tax_id: acc.tax_id,
                rate: acc.rate,
                base,
                amount,
            }
        })
        .collect();

    let total_excl_tax = after_discount
        .saturating_add(shipping)
        .saturating_add(packaging);
    let total_tax = taxes
        .iter()
        .fold(Decimal::ZERO, |s, t| s.saturating_add(t.amount));
    DocumentAmounts {
        rows: amounts,
        taxes,
        total_raw_excl_tax: raw,
        total_after_discount_excl_tax: after_discount,
        total_shipping: shipping,
        total_packaging: packaging,
        total_excl_tax,
        total_tax,
        total_incl_tax: total_excl_tax.saturating_add(total_tax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn row(qty: Decimal, unit: Decimal, tax_id: u64, rate: Decimal) -> RowInput {
        RowInput {
            quantity: qty,
            unit_amount: unit,
            tax_id,
            tax_rate: rate,
            discount: None,
            kind: RowKind::Single,
        }
    }

    #[test]
    fn half_up_is_away_from_zero_on_both_signs() {
        assert_eq!(round2(dec!(0.125)), dec!(0.13));
        assert_eq!(round2(dec!(-0.125)), dec!(-0.13));
        assert_eq!(round2(dec!(2.675)), dec!(2.68));
        assert_eq!(round2(dec!(0.1249999)), dec!(0.12));
    }

    #[test]
    fn row_total_is_rounded_before_tax() {
        // 3 × 0.335 = 1.005 → 1.01; tax 20 % of 1.01 = 0.202 → 0.20.
        let r = compute_row(&row(dec!(3), dec!(0.335), 1, dec!(20)));
        assert_eq!(r.amount_tax_exc, dec!(1.01));
        assert_eq!(r.tax_amount, dec!(0.20));
        assert_eq!(r.amount_tax_inc, dec!(1.21));
        assert_eq!(r.discount_total, dec!(0));
    }

    #[test]
    fn percent_and_amount_row_discounts() {
        // 3 × 19.99 = 59.97; 10 % = 5.997 → 6.00; 53.97; tax 10.794 → 10.79.
        let mut r = row(dec!(3), dec!(19.99), 1, dec!(20));
        r.discount = Some(RowDiscount::Percent(dec!(10)));
        let a = compute_row(&r);
        assert_eq!(
            (a.discount_total, a.amount_tax_exc, a.tax_amount),
            (dec!(6.00), dec!(53.97), dec!(10.79))
        );
        // Amount discounts are whole-row amounts, not per unit: 59.97 − 5 = 54.97.
        r.discount = Some(RowDiscount::Amount(dec!(5)));
        let a = compute_row(&r);
        assert_eq!(
            (a.discount_total, a.amount_tax_exc, a.tax_amount),
            (dec!(5), dec!(54.97), dec!(10.99))
        );
    }

    #[test]
    fn per_row_and_per_rate_differ_by_a_cent() {
        // Three rows of 1.05 at 5.5 %: each row tax 0.05775 → 0.06, so PerRow = 0.18;
        // PerRate: 3.15 × 5.5 % = 0.17325 → 0.17.
        let rows = vec![row(dec!(1), dec!(1.05), 7, dec!(5.5)); 3];
        let per_row = compute(&rows, None, RoundingMode::PerRow);
        let per_rate = compute(&rows, None, RoundingMode::PerRate);
        assert_eq!(per_row.total_excl_tax, dec!(3.15));
        assert_eq!(
            per_row.taxes,
            vec![TaxTotal {
                tax_id: 7,
                rate: dec!(5.5),
                base: dec!(3.15),
                amount: dec!(0.18)
            }]
        );
        assert_eq!(per_row.total_incl_tax, dec!(3.33));
        assert_eq!(per_rate.taxes[0].amount, dec!(0.17));
        assert_eq!(per_rate.total_incl_tax, dec!(3.32));
        // Rows always show their own rounded tax, whatever the mode.
        assert!(per_rate.rows.iter().all(|r| r.tax_amount == dec!(0.06)));
    }

    #[test]
    fn taxes_are_grouped_by_tax_id_in_first_use_order() {
        let rows = vec![
            row(dec!(2), dec!(10), 5, dec!(5.5)),
            row(dec!(1), dec!(100), 1, dec!(20)),
            row(dec!(1), dec!(10), 5, dec!(5.5)),
        ];
        let d = compute(&rows, None, RoundingMode::PerRow);
        let ids: Vec<u64> = d.taxes.iter().map(|t| t.tax_id).collect();
        assert_eq!(ids, vec![5, 1]);
        assert_eq!(d.taxes[0].base, dec!(30));
        assert_eq!(d.taxes[0].amount, dec!(1.65));
        assert_eq!(d.taxes[1].amount, dec!(20));
        assert_eq!(d.total_incl_tax, dec!(151.65));
    }

    #[test]
    fn shipping_and_packaging_stay_out_of_raw_total_and_global_discount() {
        let mut ship = row(dec!(1), dec!(5), 1, dec!(20));
        ship.kind = RowKind::Shipping;
        let mut pack = row(dec!(1), dec!(2), 1, dec!(20));
        pack.kind = RowKind::Packaging;
        let rows = vec![row(dec!(1), dec!(100), 1, dec!(20)), ship, pack];
        let d = compute(
            &rows,
            Some(&RowDiscount::Percent(dec!(10))),
            RoundingMode::PerRate,
        );
        assert_eq!(d.total_raw_excl_tax, dec!(100));
        assert_eq!(d.total_after_discount_excl_tax, dec!(90));
        assert_eq!(d.total_shipping, dec!(5));
        assert_eq!(d.total_packaging, dec!(2));
        assert_eq!(d.total_excl_tax, dec!(97));
        assert_eq!(d.taxes[0].base, dec!(97));
        assert_eq!(d.total_tax, dec!(19.40));
        assert_eq!(d.total_incl_tax, dec!(116.40));
    }

    #[test]
    fn global_discount_is_spread_over_rates_in_both_modes() {
        // Goods 100 @ 20 % and 50 @ 5.5 %, global discount 15 → shares 10 and 5.
        let rows = vec![
            row(dec!(1), dec!(100), 1, dec!(20)),
            row(dec!(1), dec!(50), 3, dec!(5.5)),
        ];
        let gd = RowDiscount::Amount(dec!(15));
        let rate = compute(&rows, Some(&gd), RoundingMode::PerRate);
        assert_eq!(rate.total_after_discount_excl_tax, dec!(135));
        assert_eq!(rate.taxes[0].base, dec!(90));
        assert_eq!(rate.taxes[1].base, dec!(45));
        assert_eq!(rate.taxes[0].amount, dec!(18.00));
        assert_eq!(rate.taxes[1].amount, dec!(2.48)); // 2.475 → 2.48
        assert_eq!(rate.total_incl_tax, dec!(155.48));
        // PerRow: row taxes 20.00 and 2.75 minus the rounded tax of each share (2.00 and 0.275 → 0.28).
        let row_mode = compute(&rows, Some(&gd), RoundingMode::PerRow);
        assert_eq!(row_mode.taxes[0].amount, dec!(18.00));
        assert_eq!(row_mode.taxes[1].amount, dec!(2.47));
        assert_eq!(row_mode.total_incl_tax, dec!(155.47));
    }

    #[test]
    fn discount_shares_always_add_up_to_the_discount() {
        // 10 % of 100 = 10 spread over three equal thirds (33.33…) must not lose a cent.
        let rows = vec![
            row(dec!(1), dec!(33.33), 1, dec!(20)),
            row(dec!(1), dec!(33.33), 2, dec!(10)),
            row(dec!(1), dec!(33.34), 3, dec!(5.5)),
        ];
        let d = compute(
            &rows,
            Some(&RowDiscount::Amount(dec!(10))),
            RoundingMode::PerRate,
        );
        let bases: Decimal = d.taxes.iter().map(|t| t.base).sum();
        assert_eq!(bases, dec!(90));
        assert_eq!(d.total_excl_tax, dec!(90));
    }

    #[test]
    fn empty_document_is_all_zero_and_absurd_values_do_not_panic() {
        let d = compute(
            &[],
            Some(&RowDiscount::Percent(dec!(50))),
            RoundingMode::PerRow,
        );
        assert_eq!(d.total_incl_tax, dec!(0));
        assert!(d.taxes.is_empty());
        let huge = row(Decimal::MAX, Decimal::MAX, 1, dec!(20));
        let _ = compute(
            &[huge],
            Some(&RowDiscount::Amount(Decimal::MIN)),
            RoundingMode::PerRate,
        );
    }
}
