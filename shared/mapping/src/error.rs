//! The one error type of the mapping. Its `Display` text is stored as the order's error state and shown to
//! the merchant, so each message says what is wrong with the order and what to do about it.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "the order has no billing email: add one to the order in WooCommerce so the customer can be matched in Sellsy"
    )]
    MissingEmail,
    #[error("the billing email {0:?} is not a valid address: correct it in WooCommerce")]
    InvalidEmail(String),
    #[error("the order has no currency")]
    MissingCurrency,
    #[error("the order has neither a payment date nor a creation date")]
    MissingDate,
    #[error(
        "the order has no product lines (WooCommerce sometimes sends an order before its items are saved): nothing was created, the order will be read again"
    )]
    NoLines,
    #[error("line {line:?} has quantity {quantity}: only positive quantities can be invoiced")]
    InvalidQuantity { line: String, quantity: Decimal },
    #[error(
        "tax {label:?} (rate id {rate_id}) is a compound tax (a tax on a tax), which Sellsy documents cannot carry: invoice this order by hand"
    )]
    CompoundTax { rate_id: u64, label: String },
    #[error(
        "line {line:?} is taxed with rate id {rate_id}, which is not among the order's taxes: recalculate the order's taxes in WooCommerce"
    )]
    UnknownTaxRate { rate_id: u64, line: String },
    #[error(
        "tax {label:?} (rate id {rate_id}) has no percentage (order saved before WooCommerce 3.7) and it cannot be deduced from the amounts: recalculate the order's taxes in WooCommerce"
    )]
    MissingRatePercent { rate_id: u64, label: String },
    #[error("tax {label:?} has a negative rate ({percent} %)")]
    NegativeRate { label: String, percent: Decimal },
    #[error(
        "line {line:?} is taxed by several rates at once (stacked taxes), which one Sellsy row cannot carry: invoice this order by hand"
    )]
    StackedTaxes { line: String },
    #[error(
        "tax {tax}: WooCommerce says {expected} but the order's lines come to {computed} (gap {gap}, more than the {bound} a rounding can explain): check the order's taxes in WooCommerce; nothing was created"
    )]
    TaxGap {
        tax: String,
        expected: Decimal,
        computed: Decimal,
        gap: Decimal,
        bound: Decimal,
    },
    #[error(
        "the order total is {expected} but its lines, shipping, fees and taxes come to {computed} (gap {gap}, more than the {bound} a rounding can explain): a discount or fee may be missing from the lines; nothing was created"
    )]
    TotalsGap {
        expected: Decimal,
        computed: Decimal,
        gap: Decimal,
        bound: Decimal,
    },
    #[error(
        "{what} holds the amount {amount}, beyond what an invoice can carry: check the order in WooCommerce"
    )]
    AmountOutOfRange { what: String, amount: Decimal },
    #[error(
        "WooCommerce capped this order's total at 0.00 although its lines and taxes come to {computed} (a negative fee larger than the order): a document with a zero total and negative taxes cannot be created; invoice this order by hand"
    )]
    CappedTotal { computed: Decimal },
    #[error(
        "the rounding difference on tax {tax} could not be reconciled with Sellsy's arithmetic: invoice this order by hand"
    )]
    RoundingUnresolved { tax: String },
}
