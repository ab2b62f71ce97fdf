//! The order's tax rates: each `tax_lines[]` entry becomes a [`TaxSpec`] keyed by its rate id, with
//! WooCommerce's figure for it (`tax_total + shipping_tax_total`). Compound rates are refused; a missing
//! `rate_percent` (orders saved before WooCommerce 3.7) is deduced from the lines' raw taxes when exactly one
//! simple rate explains them all.

use rust_decimal::Decimal;
use woocommerce::{LineTax, Order};
use woosellsy_domain::TaxSpec;

use crate::error::MappingError;

/// One WooCommerce rate of the order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rate {
    pub id: u64,
    pub label: String,
    pub percent: Decimal,
    /// `tax_total + shipping_tax_total`, as WooCommerce computed them.
    pub amount: Decimal,
}

pub(crate) struct Rates {
    pub rates: Vec<Rate>,
    pub exempt: TaxSpec,
}

impl Rates {
    pub fn read(order: &Order, exempt: TaxSpec) -> Result<Self, MappingError> {
        let mut rates: Vec<Rate> = Vec::new();
        for tl in &order.tax_lines {
            let label = if tl.label.trim().is_empty() {
                tl.rate_code.clone()
            } else {
                tl.label.clone()
            };
            if tl.compound {
                return Err(MappingError::CompoundTax {
                    rate_id: tl.rate_id,
                    label,
                });
            }
            let percent = match tl.rate_percent {
                Some(p) => p,
                None => derive_percent(order, tl.rate_id, tl.tax_total + tl.shipping_tax_total)
                    .ok_or_else(|| MappingError::MissingRatePercent {
                        rate_id: tl.rate_id,
                        label: label.clone(),
                    })?,
            };
            if percent < Decimal::ZERO {
                return Err(MappingError::NegativeRate { label, percent });
            }
            match rates.iter_mut().find(|r| r.id == tl.rate_id) {
                Some(r) => r.amount += tl.tax_total + tl.shipping_tax_total,
                None => rates.push(Rate {
                    id: tl.rate_id,
                    label,
                    percent: percent.normalize(),
                    amount: tl.tax_total + tl.shipping_tax_total,
                }),
            }
        }
        Ok(Self { rates, exempt })
    }

    pub fn get(&self, id: u64) -> Option<&Rate> {
        self.rates.iter().find(|r| r.id == id)
    }

    pub fn spec(&self, percent: Decimal) -> TaxSpec {
        if percent.is_zero() {
            self.exempt
        } else {
            TaxSpec::Rate(percent)
        }
    }

    /// The non-zero taxes of a line, resolved to rates. Zero entries are ignored (a fully discounted line
    /// keeps a `"0"` tax); an unknown rate id with a non-zero amount is an error.
    pub fn line_taxes<'a>(
        &'a self,
        taxes: &[LineTax],
        line: &str,
    ) -> Result<Vec<(&'a Rate, Decimal)>, MappingError> {
        let mut out: Vec<(&Rate, Decimal)> = Vec::new();
        for t in taxes.iter().filter(|t| !t.total.is_zero()) {
            let rate = self.get(t.id).ok_or_else(|| MappingError::UnknownTaxRate {
                rate_id: t.id,
                line: line.to_owned(),
            })?;
            match out.iter_mut().find(|(r, _)| r.id == rate.id) {
                Some((_, amount)) => *amount += t.total,
                None => out.push((rate, t.total)),
            }
        }
        Ok(out)
    }
}

/// Deduces a rate from every (amount excl. tax, raw tax) pair taxed by it: the candidate from the largest
/// amount, rounded to the fewest decimals (0 to 4, as WooCommerce stores rates) that explains every pair to
/// within a cent and the rate's total to within a cent per pair.
fn derive_percent(order: &Order, rate_id: u64, amount: Decimal) -> Option<Decimal> {
    let pairs: Vec<(Decimal, Decimal)> = order
        .line_items
        .iter()
        .map(|l| (l.total, &l.taxes))
        .chain(order.shipping_lines.iter().map(|s| (s.total, &s.taxes)))
        .chain(order.fee_lines.iter().map(|f| (f.total, &f.taxes)))
        .filter_map(|(base, taxes)| {
            let mine: Vec<&LineTax> = taxes.iter().filter(|t| t.id == rate_id).collect();
            let others = taxes.iter().any(|t| t.id != rate_id && !t.total.is_zero());
            (!mine.is_empty() && !others).then(|| (base, mine.iter().map(|t| t.total).sum()))
        })
        .filter(|(base, _)| !base.is_zero())
        .collect();
    let (base, tax) = pairs.iter().copied().max_by_key(|(b, _)| b.abs())?;
    let candidate = tax * Decimal::ONE_HUNDRED / base;
    // Not a tax rate: refused as a missing one rather than multiplied back into an overflow.
    if candidate.abs() > crate::MAX_RATE_PERCENT {
        return None;
    }
    let cent = Decimal::new(1, 2);
    (0..=4).map(|dp| candidate.round_dp(dp)).find(|&rate| {
        rate >= Decimal::ZERO
            && pairs
                .iter()
                .all(|(b, t)| (*b * rate / Decimal::ONE_HUNDRED - *t).abs() <= cent)
            && (pairs.iter().map(|(b, _)| *b).sum::<Decimal>() * rate / Decimal::ONE_HUNDRED
                - amount)
                .abs()
                <= cent * Decimal::from(pairs.len() + 1)
    })
}
