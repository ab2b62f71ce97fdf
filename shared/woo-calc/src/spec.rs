//! What a shopper put in the cart: the input of the calculation, as a merchant configures WooCommerce
//! (prices with or without tax, rounding at subtotal or per line) and a customer fills a cart.
//!
//! Tax classes are simplified to "one class = one rate": a line, a taxable fee or a shipping line names its
//! rate by id and percent (`tax_rate` 0 means the product is not taxable at all).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One order to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSpec {
    /// ISO 4217 code; amounts are computed with 2 decimals (`wc_get_price_decimals()` = 2).
    pub currency: String,
    /// WooCommerce "Prices entered with tax": unit prices and coupon amounts include tax.
    pub prices_include_tax: bool,
    /// WooCommerce "Round tax at subtotal level, instead of rounding per line".
    pub round_at_subtotal: bool,
    pub customer: CustomerSpec,
    pub lines: Vec<LineSpec>,
    pub coupons: Vec<CouponSpec>,
    pub fees: Vec<FeeSpec>,
    pub shipping: Vec<ShippingSpec>,
    /// REST status without the `wc-` prefix (`processing`, `completed`, `pending`, …).
    pub status: String,
    /// Whether the order was paid (`date_paid` is then set to `date_created`).
    pub paid: bool,
    /// Store-local creation time.
    pub date_created: NaiveDateTime,
}

impl OrderSpec {
    /// A paid (`processing`) guest order in EUR of `lines` alone, created at `date_created`: prices excl.
    /// tax, tax rounded per line, no coupon, fee or shipping. The base that tests vary field by field.
    pub fn paid(lines: Vec<LineSpec>, date_created: NaiveDateTime) -> OrderSpec {
        OrderSpec {
            currency: "EUR".to_owned(),
            prices_include_tax: false,
            round_at_subtotal: false,
            customer: CustomerSpec::default(),
            lines,
            coupons: vec![],
            fees: vec![],
            shipping: vec![],
            status: "processing".to_owned(),
            paid: true,
            date_created,
        }
    }
}

/// The buyer (billing address; the shipping address is the same unless `ship_elsewhere`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSpec {
    /// 0 for a guest.
    pub customer_id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Empty for a private person.
    pub company: String,
    pub address_1: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: String,
    /// Stored in the order meta under `_billing_vat_number` when set (as EU VAT plugins do).
    pub vat_number: Option<String>,
    /// `false` for virtual goods: the order then has an empty shipping address.
    pub has_shipping_address: bool,
}

impl Default for CustomerSpec {
    fn default() -> Self {
        Self {
            customer_id: 0,
            email: "client@example.fr".to_owned(),
            first_name: "Camille".to_owned(),
            last_name: "Martin".to_owned(),
            company: String::new(),
            address_1: "12 rue des Lilas".to_owned(),
            postcode: "69003".to_owned(),
            city: "Lyon".to_owned(),
            country: "FR".to_owned(),
            phone: String::new(),
            vat_number: None,
            has_shipping_address: true,
        }
    }
}

/// A product line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineSpec {
    pub product_id: u64,
    /// 0 when the product is not a variation.
    pub variation_id: u64,
    pub sku: Option<String>,
    pub name: String,
    /// Usually whole; plugins allow fractions.
    pub quantity: Decimal,
    /// The unit price as entered in the shop (including tax when `prices_include_tax`).
    pub unit_price: Decimal,
    /// Percent; 0 means the product is not taxable.
    pub tax_rate: Decimal,
    /// WooCommerce tax rate id (`tax_lines[].rate_id`); also stands for the product's tax class.
    pub tax_rate_id: u64,
}

/// A coupon applied to every line (no product restrictions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponSpec {
    /// `percent`: a percentage off each line.
    Percent { code: String, percent: Decimal },
    /// `fixed_cart`: an amount off the cart, spread over the lines in cents.
    FixedCart { code: String, amount: Decimal },
    /// `fixed_product`: an amount off each unit.
    FixedProduct { code: String, amount: Decimal },
}

impl CouponSpec {
    pub fn code(&self) -> &str {
        match self {
            CouponSpec::Percent { code, .. }
            | CouponSpec::FixedCart { code, .. }
            | CouponSpec::FixedProduct { code, .. } => code,
        }
    }

    pub fn amount(&self) -> Decimal {
        match self {
            CouponSpec::Percent { percent, .. } => *percent,
            CouponSpec::FixedCart { amount, .. } | CouponSpec::FixedProduct { amount, .. } => {
                *amount
            }
        }
    }

    /// The REST `discount_type`.
    pub fn discount_type(&self) -> &'static str {
        match self {
            CouponSpec::Percent { .. } => "percent",
            CouponSpec::FixedCart { .. } => "fixed_cart",
            CouponSpec::FixedProduct { .. } => "fixed_product",
        }
    }

    /// WooCommerce applies fixed-product coupons first, then percent, then fixed-cart
    /// (`WC_Cart_Totals::get_coupons_from_cart`).
    pub(crate) fn sort_key(&self) -> u8 {
        match self {
            CouponSpec::FixedProduct { .. } => 1,
            CouponSpec::Percent { .. } => 2,
            CouponSpec::FixedCart { .. } => 3,
        }
    }
}

/// A cart fee (`WC_Cart::add_fee`). Fee amounts are always excluding tax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeSpec {
    pub name: String,
    /// May be negative (a discount as a fee); WooCommerce then spreads its tax over the cart's classes.
    pub amount: Decimal,
    /// Whether a positive fee is taxed (at `tax_rate`); negative fees are always taxed proportionally.
    pub taxable: bool,
    pub tax_rate: Decimal,
    pub tax_rate_id: u64,
}

/// A chosen shipping rate. The cost is excluding tax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingSpec {
    pub method_id: String,
    pub title: String,
    pub cost: Decimal,
    /// Percent; 0 for untaxed shipping.
    pub tax_rate: Decimal,
    pub tax_rate_id: u64,
}
