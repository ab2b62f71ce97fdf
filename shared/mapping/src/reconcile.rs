//! Totals checked, never assumed: compares what Sellsy would compute for the rows with WooCommerce's own
//! figures (each rate's tax and the order total) and, when the difference is only rounding, adds rounding
//! rows so that the document matches to the cent under the roundings asked for: **both** of Sellsy's possible
//! roundings ([`crate::sellsy_model`]) unless the connector says which one its account uses.
//!
//! Why rows and not tweaks of existing rows: a row's amount is always whole cents (`round2(unit × qty)`), so
//! extra decimals on a unit price cannot move a tax by a cent; and the per-row and per-rate roundings can
//! only agree when the rows' own rounding errors nearly cancel. A rounding row of a rate therefore carries
//! (a) the cents of tax WooCommerce rounded differently, and (b) an amount chosen so that its own rounding
//! error brings the per-rate computation onto the same figure. When one row cannot do both, extra rows whose
//! tax rounds to zero shift the per-rate figure by up to half a cent each. With one rounding only, one tax
//! rounding row per rate suffices, and none when that rounding already gives WooCommerce's figure.
//!
//! Bound (what "only rounding" means): each WooCommerce row can be off by at most half a cent on its amount
//! and half a cent on its tax, so a gap of up to **1 cent per row, plus 1 cent** (for the total's own
//! rounding) is accepted — per rate counting that rate's rows (for each rounding asked for), for the total
//! counting every row. Anything larger is a [`MappingError::TaxGap`] / [`MappingError::TotalsGap`] and
//! nothing is created.

use rust_decimal::Decimal;
use woosellsy_domain::{LineSource, PlanLine, TaxSpec};

use crate::error::MappingError;
use crate::sellsy_model::{Rounding, compute, percent, round2, row_net, tax_of};

const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// What a correction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CorrectionKind {
    /// A rounding row at a tax rate, so that the rate's tax equals WooCommerce's under the Sellsy rounding
    /// the settings name (whether Sellsy rounds per row or per rate when unknown).
    TaxRounding,
    /// A rounding row whose tax is zero, so that the document total equals WooCommerce's total (the row
    /// takes the cents WooCommerce's rounded line amounts do not add up to).
    TotalRounding,
}

/// One correction applied to the plan, listed for the merchant and for the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub kind: CorrectionKind,
    pub tax: TaxSpec,
    /// Amount excluding tax of the row added.
    pub amount: Decimal,
    /// Tax of that row when Sellsy rounds per row.
    pub tax_amount: Decimal,
    pub why: String,
}

/// WooCommerce's figure for one tax.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaxTarget {
    pub tax: TaxSpec,
    pub amount: Decimal,
}

pub(crate) fn tax_name(tax: TaxSpec) -> String {
    match tax {
        TaxSpec::Rate(p) => format!("TVA {} %", p.normalize()),
        TaxSpec::Exempt(e) => format!("exonération {}", e.category()),
    }
}

struct Group {
    tax: TaxSpec,
    rows: usize,
    net: Decimal,
    per_row: Decimal,
    target: Decimal,
}

/// Checks `lines` against WooCommerce's figures and appends the rounding rows needed for the document to
/// be exact under each of `modes` (not empty). `exempt` is the tax used for a zero-tax rounding row when no
/// taxed rate can take the cents.
pub(crate) fn reconcile(
    lines: &mut Vec<PlanLine>,
    targets: &[TaxTarget],
    total: Decimal,
    exempt: TaxSpec,
    modes: &[Rounding],
) -> Result<Vec<Correction>, MappingError> {
    let per_row = modes.contains(&Rounding::PerRow);
    let per_rate = modes.contains(&Rounding::PerRate);
    // Whether a rate's rows give its target under every rounding asked for.
    let exact = |g_per_row: Decimal, g_net: Decimal, tax: TaxSpec, target: Decimal| {
        (!per_row || g_per_row == target) && (!per_rate || tax_of(g_net, tax) == target)
    };
    let mut groups: Vec<Group> = Vec::new();
    for line in lines.iter() {
        let net = row_net(line);
        let tax = tax_of(net, line.tax);
        match groups.iter_mut().find(|g| g.tax == line.tax) {
            Some(g) => {
                g.rows += 1;
                g.net += net;
                g.per_row += tax;
            }
            None => groups.push(Group {
                tax: line.tax,
                rows: 1,
                net,
                per_row: tax,
                target: Decimal::ZERO,
            }),
        }
    }
    for t in targets {
        match groups.iter_mut().find(|g| g.tax == t.tax) {
            Some(g) => g.target += t.amount,
            None if t.amount.is_zero() => {}
            None => {
                return Err(MappingError::TaxGap {
                    tax: tax_name(t.tax),
                    expected: t.amount,
                    computed: Decimal::ZERO,
                    gap: t.amount,
                    bound: Decimal::ZERO,
                });
            }
        }
    }

    // Bounds first: a gap larger than rounding can explain is refused before anything is adjusted.
    let mut net_sum = Decimal::ZERO;
    let mut tax_sum = Decimal::ZERO;
    for g in &groups {
        let bound = CENT * Decimal::from(g.rows + 1);
        for &mode in modes {
            let computed = match mode {
                Rounding::PerRow => g.per_row,
                Rounding::PerRate => tax_of(g.net, g.tax),
            };
            let gap = g.target - computed;
            if gap.abs() > bound {
                return Err(MappingError::TaxGap {
                    tax: tax_name(g.tax),
                    expected: g.target,
                    computed,
                    gap,
                    bound,
                });
            }
        }
        net_sum += g.net;
        tax_sum += g.target;
    }
    let rows: usize = groups.iter().map(|g| g.rows).sum();
    let total_bound = CENT * Decimal::from(rows + 1);
    let net_gap = total - tax_sum - net_sum;
    if total.is_zero() && net_sum + tax_sum < Decimal::ZERO {
        // `WC_Cart_Totals::calculate_totals` ends with `max(0, total)`.
        return Err(MappingError::CappedTotal {
            computed: net_sum + tax_sum,
        });
    }
    if net_gap.abs() > total_bound {
        return Err(MappingError::TotalsGap {
            expected: total,
            computed: net_sum + tax_sum,
            gap: net_gap,
            bound: total_bound,
        });
    }

    let mut corrections = Vec::new();
    let mut remaining = net_gap;
    for g in &mut groups {
        if percent(g.tax).is_zero() {
            continue;
        }
        let p = percent(g.tax);
        if exact(g.per_row, g.net, g.tax, g.target) {
            continue;
        }
        let max_rows = (g.rows + 3).min(64);
        let goal = Goal {
            net: g.net,
            per_row: per_row.then_some(g.per_row),
            per_rate,
            p,
            target: g.target,
        };
        let solution =
            solve(&goal, remaining, max_rows).ok_or_else(|| MappingError::RoundingUnresolved {
                tax: tax_name(g.tax),
            })?;
        for x in solution {
            let tax_amount = tax_of(x, g.tax);
            lines.push(rounding_line(x, g.tax));
            corrections.push(Correction {
                kind: CorrectionKind::TaxRounding,
                tax: g.tax,
                amount: x,
                tax_amount,
                why: format!(
                    "WooCommerce's {} comes to {} while Sellsy's rows would not give that figure {}",
                    tax_name(g.tax),
                    g.target,
                    match (per_row, per_rate) {
                        (true, false) => "when it rounds per row",
                        (false, true) => "when it rounds per rate",
                        _ => "whether it rounds per row or per rate",
                    }
                ),
            });
            g.net += x;
            g.per_row += tax_amount;
            remaining -= x;
        }
    }

    if !remaining.is_zero() {
        // Prefer a taxed rate whose tax the extra cents leave unchanged in the roundings asked for.
        let taxed = groups.iter_mut().find(|g| {
            !percent(g.tax).is_zero()
                && exact(
                    g.per_row + tax_of(remaining, g.tax),
                    g.net + remaining,
                    g.tax,
                    g.target,
                )
        });
        let tax = match taxed {
            Some(g) => {
                g.net += remaining;
                g.tax
            }
            None => exempt,
        };
        lines.push(rounding_line(remaining, tax));
        corrections.push(Correction {
            kind: CorrectionKind::TotalRounding,
            tax,
            amount: remaining,
            tax_amount: Decimal::ZERO,
            why: format!(
                "WooCommerce's total is {total} while its rounded line amounts and taxes add up to {}",
                total - net_gap
            ),
        });
    }

    // Never assumed: the final rows must give WooCommerce's figures under the roundings asked for.
    for &rounding in modes {
        let doc = compute(lines, rounding);
        for g in &groups {
            let amount = doc
                .taxes
                .iter()
                .find(|t| t.tax == g.tax)
                .map(|t| t.amount)
                .unwrap_or_default();
            if amount != g.target {
                return Err(MappingError::RoundingUnresolved {
                    tax: tax_name(g.tax),
                });
            }
        }
        if doc.incl_tax != total {
            return Err(MappingError::RoundingUnresolved {
                tax: "total".to_owned(),
            });
        }
    }
    Ok(corrections)
}

fn rounding_line(amount: Decimal, tax: TaxSpec) -> PlanLine {
    PlanLine {
        source: LineSource::Rounding,
        name: "Arrondi".to_owned(),
        description: "Écart d'arrondi avec le calcul de WooCommerce".to_owned(),
        quantity: Decimal::ONE,
        unit_amount: amount,
        tax,
        discount: None,
    }
}

/// What one rate's rounding rows must achieve.
struct Goal {
    /// The rate's rows: their summed amount and, when the per-row rounding is asked for, their summed
    /// rounded taxes.
    net: Decimal,
    per_row: Option<Decimal>,
    /// Whether the per-rate rounding is asked for.
    per_rate: bool,
    p: Decimal,
    target: Decimal,
}

/// Finds the fewest rounding rows (amounts in cents) for one rate so that
/// `per_row + Σ round2(p·xᵢ) = target` (per-row rounding) and `round2(p·(net + Σ xᵢ)) = target`
/// (per-rate rounding), for the roundings `goal` asks for, preferring the rows whose sum is closest to
/// `wanted` (the total's own gap, which these rows can absorb), then the smallest.
fn solve(goal: &Goal, wanted: Decimal, max_rows: usize) -> Option<Vec<Decimal>> {
    let Goal {
        net,
        per_row,
        per_rate,
        p,
        target,
    } = *goal;
    let rate = p / Decimal::ONE_HUNDRED;
    let row_tax = |x: Decimal| round2(x * rate);
    let half = CENT / Decimal::TWO;
    // Final-row candidates: per row, every cent amount whose own tax rounds to exactly the missing cents;
    // per rate only, every cent amount that brings the rate's summed rows into the target's rounding window.
    let (lo, hi) = match per_row {
        Some(per_row) => {
            let d = target - per_row;
            ((d - half) / rate, (d + half) / rate)
        }
        None => ((target - half) / rate - net, (target + half) / rate - net),
    };
    let lo = (lo / CENT).floor() - Decimal::ONE;
    let hi = (hi / CENT).ceil() + Decimal::ONE;
    // Rates under ~0.05 % would need thousands of candidates: refuse rather than search for long.
    if hi - lo > Decimal::from(2_000) {
        return None;
    }
    let mut finals = Vec::new();
    let mut k = lo;
    while k <= hi {
        let x = k * CENT;
        if per_row.is_none_or(|per_row| row_tax(x) == target - per_row) {
            finals.push(x);
        }
        k += Decimal::ONE;
    }
    // Largest amount whose tax rounds to zero: the most a "neutral" row can shift the per-rate figure.
    let mut neutral_max = Decimal::ZERO;
    while row_tax(neutral_max + CENT).is_zero() && neutral_max < Decimal::from(10) {
        neutral_max += CENT;
    }

    let better =
        |a: &Decimal, b: &Decimal| ((*a - wanted).abs(), a.abs()) < ((*b - wanted).abs(), b.abs());
    for m in 1..=max_rows {
        let mut best: Option<Vec<Decimal>> = None;
        let mut consider = |rows: Vec<Decimal>| {
            let sum: Decimal = rows.iter().sum();
            if per_rate && round2((net + sum) * rate) != target {
                return;
            }
            let replace = match &best {
                None => true,
                Some(b) => better(&sum, &b.iter().sum()),
            };
            if replace {
                best = Some(rows);
            }
        };
        if m == 1 {
            for &x in &finals {
                consider(vec![x]);
            }
        } else if !neutral_max.is_zero() {
            for sign in [Decimal::ONE, Decimal::NEGATIVE_ONE] {
                let mut j = CENT;
                while j <= neutral_max {
                    for &x in &finals {
                        let mut rows = vec![sign * neutral_max; m - 2];
                        rows.push(sign * j);
                        rows.push(x);
                        consider(rows);
                    }
                    j += CENT;
                }
            }
        }
        if let Some(rows) = best {
            return Some(rows.into_iter().filter(|x| !x.is_zero()).collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use woosellsy_domain::Exemption;

    fn row(net: Decimal, tax: TaxSpec) -> PlanLine {
        PlanLine {
            source: LineSource::Fee,
            name: "x".into(),
            description: String::new(),
            quantity: Decimal::ONE,
            unit_amount: net,
            tax,
            discount: None,
        }
    }

    const EXEMPT: TaxSpec = TaxSpec::Exempt(Exemption::Exempt);
    const BOTH: &[Rounding] = &[Rounding::PerRow, Rounding::PerRate];

    /// The settings' default: exact under both roundings.
    fn reconcile(
        lines: &mut Vec<PlanLine>,
        targets: &[TaxTarget],
        total: Decimal,
        exempt: TaxSpec,
    ) -> Result<Vec<Correction>, MappingError> {
        super::reconcile(lines, targets, total, exempt, BOTH)
    }

    /// For an account known to round as `mode` (and [`EXEMPT`] for zero-tax rows).
    fn reconcile_known(
        mode: Rounding,
        lines: &mut Vec<PlanLine>,
        targets: &[TaxTarget],
        total: Decimal,
    ) -> Result<Vec<Correction>, MappingError> {
        super::reconcile(lines, targets, total, EXEMPT, &[mode])
    }

    #[test]
    fn matching_rows_need_no_correction() {
        let vat = TaxSpec::Rate(dec!(20));
        let mut lines = vec![row(dec!(10), vat), row(dec!(5), vat)];
        let c = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(3),
            }],
            dec!(18),
            EXEMPT,
        )
        .unwrap();
        assert!(c.is_empty());
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn per_line_rounding_is_made_to_hold_per_rate_too() {
        // WooCommerce rounded per line: 3 × 0.06 = 0.18, but per rate Sellsy would say 0.17.
        let vat = TaxSpec::Rate(dec!(5.5));
        let mut lines = vec![row(dec!(1.05), vat); 3];
        let c = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(0.18),
            }],
            dec!(3.33),
            EXEMPT,
        )
        .unwrap();
        assert!(!c.is_empty());
        for mode in [Rounding::PerRow, Rounding::PerRate] {
            let doc = compute(&lines, mode);
            assert_eq!(doc.tax, dec!(0.18), "{mode:?}");
            assert_eq!(doc.incl_tax, dec!(3.33), "{mode:?}");
        }
    }

    #[test]
    fn a_cent_of_total_gap_goes_on_a_zero_tax_row() {
        let vat = TaxSpec::Rate(dec!(20));
        let mut lines = vec![row(dec!(8.33), vat)];
        // 8.33 + 1.67 = 10.00 but WooCommerce says 9.99 (prices incl. tax, half-down tax).
        let c = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(1.66),
            }],
            dec!(9.99),
            EXEMPT,
        )
        .unwrap();
        for mode in [Rounding::PerRow, Rounding::PerRate] {
            let doc = compute(&lines, mode);
            assert_eq!(
                (doc.tax, doc.incl_tax),
                (dec!(1.66), dec!(9.99)),
                "{mode:?}"
            );
        }
        assert!(c.iter().all(|c| c.amount.abs() <= dec!(0.05)), "{c:?}");
    }

    #[test]
    fn a_real_gap_is_refused() {
        let vat = TaxSpec::Rate(dec!(20));
        let mut lines = vec![row(dec!(100), vat)];
        let err = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(20),
            }],
            dec!(110),
            EXEMPT,
        )
        .unwrap_err();
        assert!(matches!(err, MappingError::TotalsGap { .. }), "{err}");
        let err = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(18),
            }],
            dec!(118),
            EXEMPT,
        )
        .unwrap_err();
        assert!(matches!(err, MappingError::TaxGap { .. }), "{err}");
        assert!(err.to_string().contains("TVA 20 %"));
    }

    #[test]
    fn many_rows_rounding_the_same_way_are_compensated() {
        // Ten rows of 0.625 tax-worth each way: 20 % of 3.13 = 0.626 → 0.63 per row (6.30) vs 6.26 per rate.
        let vat = TaxSpec::Rate(dec!(20));
        let mut lines = vec![row(dec!(3.13), vat); 10];
        let c = reconcile(
            &mut lines,
            &[TaxTarget {
                tax: vat,
                amount: dec!(6.30),
            }],
            dec!(37.60),
            EXEMPT,
        )
        .unwrap();
        assert!(c.len() >= 2);
        for mode in [Rounding::PerRow, Rounding::PerRate] {
            let doc = compute(&lines, mode);
            assert_eq!(
                (doc.tax, doc.incl_tax),
                (dec!(6.30), dec!(37.60)),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn one_known_rounding_takes_fewer_rows_and_is_exact_in_that_rounding() {
        // Ten rows of 3.13 at 20 %: per row 6.30 (WooCommerce's figure), per rate 6.26.
        let vat = TaxSpec::Rate(dec!(20));
        let targets = [TaxTarget {
            tax: vat,
            amount: dec!(6.30),
        }];
        let both = {
            let mut lines = vec![row(dec!(3.13), vat); 10];
            reconcile(&mut lines, &targets, dec!(37.60), EXEMPT).unwrap()
        };
        assert!(both.len() >= 2, "{both:?}");

        // Per row the rows already give 6.30: nothing to add.
        let mut lines = vec![row(dec!(3.13), vat); 10];
        let c = reconcile_known(Rounding::PerRow, &mut lines, &targets, dec!(37.60)).unwrap();
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(lines.len(), 10);

        // Per rate, one row brings the rate's sum up to 6.30 and one zero-tax row keeps the total.
        let mut lines = vec![row(dec!(3.13), vat); 10];
        let c = reconcile_known(Rounding::PerRate, &mut lines, &targets, dec!(37.60)).unwrap();
        assert!(!c.is_empty() && c.len() < both.len(), "{c:?}");
        let doc = compute(&lines, Rounding::PerRate);
        assert_eq!((doc.tax, doc.incl_tax), (dec!(6.30), dec!(37.60)));
        assert!(
            c.iter()
                .filter(|c| c.kind == CorrectionKind::TaxRounding)
                .all(|c| c.why.contains("per rate") && !c.why.contains("per row")),
            "{c:?}"
        );
    }

    #[test]
    fn per_rate_alone_needs_nothing_when_woocommerce_rounded_at_subtotal() {
        // WooCommerce rounding at subtotal gives 0.17 on 3 × 1.05 at 5.5 %, as Sellsy per rate would.
        let vat = TaxSpec::Rate(dec!(5.5));
        let targets = [TaxTarget {
            tax: vat,
            amount: dec!(0.17),
        }];
        let mut lines = vec![row(dec!(1.05), vat); 3];
        let c = reconcile_known(Rounding::PerRate, &mut lines, &targets, dec!(3.32)).unwrap();
        assert!(c.is_empty(), "{c:?}");
        let mut lines = vec![row(dec!(1.05), vat); 3];
        let c = reconcile(&mut lines, &targets, dec!(3.32), EXEMPT).unwrap();
        assert!(!c.is_empty());
    }

    #[test]
    fn a_real_gap_is_refused_whatever_the_rounding() {
        let vat = TaxSpec::Rate(dec!(20));
        for mode in [Rounding::PerRow, Rounding::PerRate] {
            let mut lines = vec![row(dec!(100), vat)];
            let targets = [TaxTarget {
                tax: vat,
                amount: dec!(18),
            }];
            let err = reconcile_known(mode, &mut lines, &targets, dec!(118)).unwrap_err();
            assert!(
                matches!(err, MappingError::TaxGap { .. }),
                "{mode:?}: {err}"
            );
            assert_eq!(lines.len(), 1, "nothing added on refusal");
        }
    }
}
