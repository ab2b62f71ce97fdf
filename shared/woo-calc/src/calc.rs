//! WooCommerce's cart arithmetic, step by step as `WC_Cart_Totals::calculate()` runs it (WooCommerce ≥ 3.2):
//! item subtotals → coupons (`WC_Discounts`) → item totals → shipping → fees → grand total.
//!
//! Everything is computed in **cents** (`wc_add_number_precision`), with `Decimal` instead of PHP floats.
//! Assumptions, where PHP floats or settings leave room:
//! * prices have 2 decimals (`wc_get_price_decimals()` = 2); `wc_add_number_precision` keeps 4 decimals of a
//!   cent, and so does every raw tax (`WC_Tax::round`, precision 6 in currency units, which is what REST
//!   captures show: `"0.352941"`);
//! * tax rounding (`wc_round_tax_total`) is half-down when prices include tax and half-up otherwise
//!   (`wc_get_tax_rounding_mode()`); discounts round half-down (`WC_DISCOUNT_ROUNDING_MODE`); every other
//!   `round()` is PHP's half away from zero;
//! * one tax class = one rate, no compound rates; shipping uses the `inherit` class (its cost counts under
//!   the first item's class when a negative fee spreads its tax); customers are never VAT-exempt;
//! * coupons apply to every line, `woocommerce_calc_discounts_sequentially` is off, no usage limits.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::spec::{CouponSpec, OrderSpec};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// PHP `round($v, $dp)`: half away from zero.
pub(crate) fn round_half_up(v: Decimal, dp: u32) -> Decimal {
    v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// PHP `round($v, $dp, PHP_ROUND_HALF_DOWN)`: half toward zero.
pub(crate) fn round_half_down(v: Decimal, dp: u32) -> Decimal {
    v.round_dp_with_strategy(dp, RoundingStrategy::MidpointTowardZero)
}

/// `wc_add_number_precision`: currency → cents, rounded to 4 decimals of a cent.
fn to_cents(v: Decimal) -> Decimal {
    round_half_up(v * HUNDRED, 4)
}

/// `WC_Tax::round`: raw taxes keep 4 decimals of a cent (6 in currency units).
fn tax_round(v: Decimal) -> Decimal {
    round_half_up(v, 4)
}

/// `WC_Tax::calc_exclusive_tax` for one rate.
fn exclusive_tax(amount: Decimal, rate: Decimal) -> Decimal {
    tax_round(amount * rate / HUNDRED)
}

/// `WC_Tax::calc_inclusive_tax` for one regular rate: `price − price / (1 + rate)`.
fn inclusive_tax(price: Decimal, rate: Decimal) -> Decimal {
    tax_round(price * rate / (HUNDRED + rate))
}

fn calc_tax(amount: Decimal, rate: Decimal, includes_tax: bool) -> Decimal {
    if includes_tax {
        inclusive_tax(amount, rate)
    } else {
        exclusive_tax(amount, rate)
    }
}

/// One product line after the calculation. Money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemTotals {
    /// Before coupons, excluding tax (unrounded when prices include tax).
    pub subtotal: Decimal,
    /// Raw tax before coupons (`taxes[].subtotal`), `None` when not taxable.
    pub subtotal_tax_raw: Option<Decimal>,
    pub subtotal_tax: Decimal,
    /// After coupons, excluding tax.
    pub total: Decimal,
    /// Raw tax after coupons (`taxes[].total`).
    pub total_tax_raw: Option<Decimal>,
    pub total_tax: Decimal,
    /// Coupon discount on this line in cents, as applied to the entered price (incl. tax when prices do).
    pub discount: Decimal,
}

/// A fee after the calculation. Money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct FeeTotals {
    pub total: Decimal,
    /// Raw taxes by rate id (several for a negative fee spread over the cart's classes).
    pub taxes: Vec<(u64, Decimal)>,
    pub total_tax: Decimal,
}

/// A shipping line after the calculation. Money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippingTotals {
    pub total: Decimal,
    /// The shipping rate's raw tax (`taxes[].total` in REST), `None` when untaxed.
    pub tax_raw: Option<Decimal>,
    /// The tax as the cart counts it (rounded to the cent unless rounding at subtotal).
    pub tax: Decimal,
    /// The line's `total_tax` as the order item stores it.
    pub item_total_tax: Decimal,
}

/// One coupon's effect. Money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponTotals {
    /// Excluding tax.
    pub discount: Decimal,
    pub discount_tax: Decimal,
}

/// One tax rate's order figures (a `tax_lines[]` entry). Money in cents, unrounded.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTotals {
    pub rate_id: u64,
    pub percent: Decimal,
    /// Items + fees.
    pub tax_total: Decimal,
    pub shipping_tax_total: Decimal,
}

/// Everything WooCommerce computes for an order. Money in cents (unrounded where WooCommerce keeps it so).
#[derive(Debug, Clone, PartialEq)]
pub struct Calculated {
    pub items: Vec<ItemTotals>,
    pub coupons: Vec<CouponTotals>,
    pub fees: Vec<FeeTotals>,
    pub shipping: Vec<ShippingTotals>,
    pub rates: Vec<RateTotals>,
    pub discount_total: Decimal,
    pub discount_tax: Decimal,
    pub shipping_total: Decimal,
    pub shipping_tax: Decimal,
    /// Items + fees tax.
    pub cart_tax: Decimal,
    /// The grand total in whole cents.
    pub total: Decimal,
    /// The grand total before WooCommerce's final `max(0, total)`: negative when discounts and negative fees
    /// (or the `absint` quirk of `WC_Discounts` with fractional quantities) exceed the cart.
    pub uncapped_total: Decimal,
}

struct Cart<'a> {
    spec: &'a OrderSpec,
}

impl Cart<'_> {
    fn ras(&self) -> bool {
        self.spec.round_at_subtotal
    }

    /// `round_line_tax`: whole cents unless rounding at subtotal, in the tax rounding mode.
    fn round_line_tax(&self, v: Decimal) -> Decimal {
        if self.ras() {
            v
        } else if self.spec.prices_include_tax {
            round_half_down(v, 0)
        } else {
            round_half_up(v, 0)
        }
    }

    /// `round_item_subtotal`: whole cents (half up) unless rounding at subtotal.
    fn round_item_subtotal(&self, v: Decimal) -> Decimal {
        if self.ras() { v } else { round_half_up(v, 0) }
    }
}

/// `WC_Discounts`, restricted to what [`CouponSpec`] can express.
struct Discounts {
    /// Item prices in cents (unit × quantity, as entered), in cart order.
    prices: Vec<Decimal>,
    quantities: Vec<Decimal>,
    /// Indices sorted by `sort_by_price` (price × quantity, descending, stable).
    order: Vec<usize>,
    /// `discounts[coupon][item]` in cents.
    discounts: Vec<Vec<Decimal>>,
}

impl Discounts {
    fn new(prices: Vec<Decimal>, quantities: Vec<Decimal>) -> Self {
        let mut order: Vec<usize> = (0..prices.len()).collect();
        // WooCommerce multiplies the line price (already × quantity) by the quantity again; kept as is.
        order.sort_by(|&a, &b| (prices[b] * quantities[b]).cmp(&(prices[a] * quantities[a])));
        Self {
            prices,
            quantities,
            order,
            discounts: Vec::new(),
        }
    }

    fn item_discount(&self, i: usize) -> Decimal {
        self.discounts.iter().map(|d| d[i]).sum()
    }

    /// `get_discounted_price_in_cents`: `absint(round(price − discounts))`.
    fn discounted_price(&self, i: usize) -> Decimal {
        round_half_up(self.prices[i] - self.item_discount(i), 0).abs()
    }

    fn apply(&mut self, coupon: &CouponSpec) {
        let c = self.discounts.len();
        self.discounts.push(vec![Decimal::ZERO; self.prices.len()]);
        let items: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|&i| !self.discounted_price(i).is_zero() && self.quantities[i] > Decimal::ZERO)
            .collect();
        match coupon {
            CouponSpec::Percent { percent, .. } => self.percent(c, &items, *percent),
            CouponSpec::FixedProduct { amount, .. } => {
                self.fixed_product(c, &items, to_cents(*amount));
            }
            CouponSpec::FixedCart { amount, .. } => {
                self.fixed_cart(c, &items, to_cents(*amount));
            }
        }
    }

    fn percent(&mut self, c: usize, items: &[usize], percent: Decimal) {
        let mut total = Decimal::ZERO;
        let mut cart_total = Decimal::ZERO;
        for &i in items {
            let discounted = self.discounted_price(i);
            let price_to_discount = round_half_up(self.prices[i], 0);
            let discount = (price_to_discount * percent / HUNDRED).floor();
            let discount = round_half_down(discounted.min(discount), 0);
            cart_total += price_to_discount;
            total += discount;
            self.discounts[c][i] += discount;
        }
        // What the whole cart would get; the per-line floors lose cents that are handed out one by one.
        let cart_discount = round_half_down(cart_total * percent / HUNDRED, 0);
        if total < cart_discount {
            self.remainder(c, items, cart_discount - total);
        }
    }

    fn fixed_product(&mut self, c: usize, items: &[usize], amount: Decimal) -> Decimal {
        let mut total = Decimal::ZERO;
        for &i in items {
            let discounted = self.discounted_price(i);
            let discount = discounted.min(amount * self.quantities[i]);
            total += discount;
            self.discounts[c][i] += discount;
        }
        total
    }

    fn fixed_cart(&mut self, c: usize, items: &[usize], amount: Decimal) -> Decimal {
        let items: Vec<usize> = items
            .iter()
            .copied()
            .filter(|&i| self.discounted_price(i) > Decimal::ZERO)
            .collect();
        let count: Decimal = items.iter().map(|&i| self.quantities[i]).sum();
        if count.is_zero() || amount.is_zero() {
            return Decimal::ZERO;
        }
        let per_item = (amount / count).trunc().abs();
        let mut total = Decimal::ZERO;
        if per_item > Decimal::ZERO {
            total = self.fixed_product(c, &items, per_item);
            if total > Decimal::ZERO && total < amount {
                total += self.fixed_cart(c, &items, amount - total);
            }
        } else if amount > Decimal::ZERO {
            total += self.remainder(c, &items, amount);
        }
        total
    }

    /// `apply_coupon_remainder`: one cent per unit, most expensive lines first, until `amount` is reached.
    fn remainder(&mut self, c: usize, items: &[usize], amount: Decimal) -> Decimal {
        let mut total = Decimal::ZERO;
        for &i in items {
            let mut unit = Decimal::ZERO;
            // PHP `for ($i = 0; $i < $quantity; $i++)`: ceil(quantity) passes for a fractional quantity.
            while unit < self.quantities[i] {
                let discount = self.discounted_price(i).min(Decimal::ONE);
                total += discount;
                self.discounts[c][i] += discount;
                if total >= amount {
                    return total;
                }
                unit += Decimal::ONE;
            }
        }
        total
    }
}

/// Runs WooCommerce's calculation on a cart.
pub fn calculate(spec: &OrderSpec) -> Calculated {
    let cart = Cart { spec };
    let pit = spec.prices_include_tax;

    // Items: `get_items_from_cart` + `calculate_item_subtotals`.
    let prices: Vec<Decimal> = spec
        .lines
        .iter()
        .map(|l| to_cents(l.unit_price * l.quantity))
        .collect();
    let taxable = |rate: Decimal| rate > Decimal::ZERO;

    let mut items: Vec<ItemTotals> = spec
        .lines
        .iter()
        .zip(&prices)
        .map(|(line, &price)| {
            let (subtotal, raw, tax) = if taxable(line.tax_rate) {
                let raw = calc_tax(price, line.tax_rate, pit);
                let subtotal = if pit { price - raw } else { price };
                (subtotal, Some(raw), cart.round_line_tax(raw))
            } else {
                (price, None, Decimal::ZERO)
            };
            ItemTotals {
                subtotal,
                subtotal_tax_raw: raw,
                subtotal_tax: tax,
                total: Decimal::ZERO,
                total_tax_raw: None,
                total_tax: Decimal::ZERO,
                discount: Decimal::ZERO,
            }
        })
        .collect();

    // Coupons: `calculate_discounts`, sorted as `sort_coupons_callback` does (type, then amount ascending;
    // ties keep the order they were added in, standing in for the coupon id).
    let mut coupons: Vec<(usize, &CouponSpec)> = spec.coupons.iter().enumerate().collect();
    coupons.sort_by(|(_, a), (_, b)| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then(a.amount().cmp(&b.amount()))
    });
    let mut discounts = Discounts::new(
        prices.clone(),
        spec.lines.iter().map(|l| l.quantity).collect(),
    );
    for (_, coupon) in &coupons {
        discounts.apply(coupon);
    }
    let mut coupon_totals = vec![
        CouponTotals {
            discount: Decimal::ZERO,
            discount_tax: Decimal::ZERO
        };
        spec.coupons.len()
    ];
    for (applied, (original, _)) in coupons.iter().enumerate() {
        let mut amount = Decimal::ZERO;
        let mut tax = Decimal::ZERO;
        for (i, line) in spec.lines.iter().enumerate() {
            let d = discounts.discounts[applied][i];
            amount += d;
            if taxable(line.tax_rate) {
                let t = calc_tax(d, line.tax_rate, pit);
                tax += t;
                if pit {
                    amount -= t;
                }
            }
        }
        coupon_totals[*original] = CouponTotals {
            discount: amount,
            discount_tax: tax,
        };
    }
    let discount_tax: Decimal = coupon_totals.iter().map(|c| c.discount_tax).sum();
    let item_discounts: Decimal = (0..spec.lines.len())
        .map(|i| discounts.item_discount(i))
        .sum();
    let discount_total = if pit {
        item_discounts - discount_tax
    } else {
        item_discounts
    };

    // Item totals: tax on the discounted price.
    for (i, (line, item)) in spec.lines.iter().zip(items.iter_mut()).enumerate() {
        item.discount = discounts.item_discount(i);
        item.total = prices[i] - item.discount;
        if taxable(line.tax_rate) {
            let raw = calc_tax(item.total, line.tax_rate, pit);
            item.total_tax_raw = Some(raw);
            item.total_tax = cart.round_line_tax(raw);
            if pit {
                // "Use unrounded taxes so we can re-calculate from the orders screen accurately later."
                item.total -= raw;
            }
        }
    }
    let items_total: Decimal = items
        .iter()
        .map(|it| cart.round_item_subtotal(it.total))
        .sum();

    // Shipping: the rate's taxes are computed in currency units by the shipping method.
    let shipping: Vec<ShippingTotals> = spec
        .shipping
        .iter()
        .map(|s| {
            let tax_raw = taxable(s.tax_rate)
                .then(|| round_half_up(s.cost * s.tax_rate / HUNDRED, 6) * HUNDRED);
            let tax = tax_raw
                .map(|t| cart.round_item_subtotal(t))
                .unwrap_or_default();
            let item_total_tax = match tax_raw {
                Some(t) if !cart.ras() => cart.round_line_tax(t),
                Some(t) => t,
                None => Decimal::ZERO,
            };
            ShippingTotals {
                total: to_cents(s.cost),
                tax_raw,
                tax,
                item_total_tax,
            }
        })
        .collect();
    let shipping_total: Decimal = shipping.iter().map(|s| s.total).sum();
    let shipping_tax: Decimal = shipping.iter().map(|s| s.tax).sum();

    // Fees: `get_fees_from_cart`.
    let mut fees: Vec<FeeTotals> = Vec::new();
    let mut fee_running_total = Decimal::ZERO;
    for fee in &spec.fees {
        let mut total = to_cents(fee.amount);
        if total < Decimal::ZERO {
            // Negative fees should not make the order total go negative.
            let max_discount = -round_half_up(items_total + fee_running_total + shipping_total, 0);
            if total < max_discount {
                total = max_discount;
            }
        }
        fee_running_total += total;
        let mut taxes: Vec<(u64, Decimal)> = Vec::new();
        if total < Decimal::ZERO {
            // "Negative fees should have the taxes split between all items so it works as a true discount."
            let costs = tax_class_costs(spec, &items, &fees, &shipping);
            let total_cost: Decimal = costs.iter().map(|c| c.cost).sum();
            if !total_cost.is_zero() {
                for class in costs.iter().filter(|c| c.rate.is_some()) {
                    if let Some((rate_id, percent)) = class.rate {
                        let tax = exclusive_tax(total * (class.cost / total_cost), percent);
                        add_tax(&mut taxes, rate_id, tax);
                    }
                }
            }
        } else if fee.taxable && taxable(fee.tax_rate) {
            taxes.push((fee.tax_rate_id, exclusive_tax(total, fee.tax_rate)));
        }
        let total_tax = taxes.iter().map(|(_, t)| cart.round_line_tax(*t)).sum();
        fees.push(FeeTotals {
            total,
            taxes,
            total_tax,
        });
    }
    let fees_total: Decimal = fees.iter().map(|f| f.total).sum();

    // Per-rate figures (`create_order_tax_lines`): items rounded per line, fees raw, shipping per line.
    let mut rates: Vec<RateTotals> = Vec::new();
    let rate_of = |rates: &mut Vec<RateTotals>, id: u64, percent: Decimal| -> usize {
        if let Some(i) = rates.iter().position(|r| r.rate_id == id) {
            return i;
        }
        rates.push(RateTotals {
            rate_id: id,
            percent,
            tax_total: Decimal::ZERO,
            shipping_tax_total: Decimal::ZERO,
        });
        rates.len() - 1
    };
    let mut merged_all = Decimal::ZERO;
    let mut items_tax = Decimal::ZERO;
    for (line, item) in spec.lines.iter().zip(&items) {
        if let Some(raw) = item.total_tax_raw {
            let i = rate_of(&mut rates, line.tax_rate_id, line.tax_rate);
            rates[i].tax_total += cart.round_line_tax(raw);
            merged_all += cart.round_line_tax(raw);
            items_tax += cart.round_line_tax(raw);
        }
    }
    for (s, t) in spec.shipping.iter().zip(&shipping) {
        if t.tax_raw.is_some() {
            let i = rate_of(&mut rates, s.tax_rate_id, s.tax_rate);
            rates[i].shipping_tax_total += t.tax;
            merged_all += cart.round_line_tax(t.tax);
        }
    }
    let mut fees_tax = Decimal::ZERO;
    for fee in &fees {
        for (id, tax) in &fee.taxes {
            let percent = rate_percent(spec, *id);
            let i = rate_of(&mut rates, *id, percent);
            rates[i].tax_total += *tax;
            merged_all += cart.round_line_tax(*tax);
        }
        fees_tax += fee.total_tax;
    }
    // Tax lines appear as items' taxes, then shipping's, then fees' (PHP array union order).
    let uncapped_total = round_half_up(items_total + fees_total + shipping_total + merged_all, 0);

    Calculated {
        items,
        coupons: coupon_totals,
        fees,
        shipping,
        rates,
        discount_total,
        discount_tax,
        shipping_total,
        shipping_tax,
        cart_tax: items_tax + fees_tax,
        total: uncapped_total.max(Decimal::ZERO),
        uncapped_total,
    }
}

fn add_tax(taxes: &mut Vec<(u64, Decimal)>, id: u64, tax: Decimal) {
    match taxes.iter_mut().find(|(i, _)| *i == id) {
        Some((_, t)) => *t += tax,
        None => taxes.push((id, tax)),
    }
}

/// The percent of a rate id, looked up among the lines, shipping and fees that use it.
fn rate_percent(spec: &OrderSpec, id: u64) -> Decimal {
    spec.lines
        .iter()
        .filter(|l| l.tax_rate > Decimal::ZERO)
        .map(|l| (l.tax_rate_id, l.tax_rate))
        .chain(spec.shipping.iter().map(|s| (s.tax_rate_id, s.tax_rate)))
        .chain(spec.fees.iter().map(|f| (f.tax_rate_id, f.tax_rate)))
        .find(|(i, _)| *i == id)
        .map(|(_, r)| r)
        .unwrap_or_default()
}

struct ClassCost {
    /// `None` for the non-taxable bucket.
    rate: Option<(u64, Decimal)>,
    cost: Decimal,
}

/// `get_tax_class_costs`: positive totals of items, fees computed so far and shipping, by tax class.
fn tax_class_costs(
    spec: &OrderSpec,
    items: &[ItemTotals],
    fees: &[FeeTotals],
    shipping: &[ShippingTotals],
) -> Vec<ClassCost> {
    let mut costs: Vec<ClassCost> = Vec::new();
    let mut add = |rate: Option<(u64, Decimal)>, cost: Decimal| {
        if cost < Decimal::ZERO {
            return;
        }
        match costs
            .iter_mut()
            .find(|c| c.rate.map(|r| r.0) == rate.map(|r| r.0))
        {
            Some(c) => c.cost += cost,
            None => costs.push(ClassCost { rate, cost }),
        }
    };
    let class_of = |rate: Decimal, id: u64| (rate > Decimal::ZERO).then_some((id, rate));
    for (line, item) in spec.lines.iter().zip(items) {
        add(class_of(line.tax_rate, line.tax_rate_id), item.total);
    }
    for (fee, totals) in spec.fees.iter().zip(fees) {
        let class = if fee.taxable {
            class_of(fee.tax_rate, fee.tax_rate_id)
        } else {
            None
        };
        add(class, totals.total);
    }
    // Shipping's `inherit` class counts under the first item's class.
    let first = spec
        .lines
        .first()
        .and_then(|l| class_of(l.tax_rate, l.tax_rate_id));
    for s in shipping {
        add(first, s.total);
    }
    costs.retain(|c| !c.cost.is_zero());
    costs
}
