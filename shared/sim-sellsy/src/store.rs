//! In-memory state of one simulated Sellsy account: reference data (taxes, currencies), CRM objects, catalog,
//! invoices, plus the traffic bookkeeping (OAuth tokens, quota windows, injected failures, call log).
//!
//! Objects are kept as the JSON Sellsy returns (so `GET` answers are byte-for-byte what was stored), with typed
//! side fields only where the simulator needs to compute with them (prices, tax rates, owners of addresses).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::CallRecord;
use crate::compute::{RoundingMode, round2};
use crate::validate::{Obj, to_obj};

/// Staff member owning everything created through the API (the personal OAuth client's owner).
pub(crate) const STAFF_ID: u64 = 1;

/// Id ranges are disjoint per object kind so that a client mixing up e.g. an individual id and a company id
/// gets a "not found" instead of silently hitting another object.
#[derive(Clone, Copy)]
pub(crate) enum Seq {
    Tax,
    Item,
    Declination,
    Individual,
    Company,
    Contact,
    Address,
    Invoice,
    Row,
    InvoiceNumber,
}

impl Seq {
    fn base(self) -> u64 {
        match self {
            Seq::Tax => 100,
            Seq::Item => 1_000,
            Seq::Declination => 2_000,
            Seq::Individual => 10_000,
            Seq::Company => 20_000,
            Seq::Contact => 30_000,
            Seq::Address => 40_000,
            Seq::Invoice => 50_000,
            Seq::Row => 900_000,
            Seq::InvoiceNumber => 0,
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Tax {
    pub id: u64,
    pub rate: Decimal,
    pub label: String,
    pub is_active: bool,
    pub category: &'static str,
    pub vatex: Option<&'static str>,
    pub compliant: bool,
    pub system_label: String,
}

impl Tax {
    pub fn to_json(&self) -> Value {
        // `GET /taxes` is the one place where a rate is a JSON number (spec `tax.rate: number`).
        // Integral rates print as integers (`20`), others as floats (`5.5`), like the spec examples.
        let rate = if self.rate.fract().is_zero() {
            self.rate
                .to_string()
                .split('.')
                .next()
                .and_then(|i| i.parse::<i64>().ok())
                .map(Value::from)
        } else {
            self.rate
                .to_string()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }
        .unwrap_or(Value::Null);
        json!({
            "id": self.id,
            "rate": rate,
            "label": self.label,
            "is_active": self.is_active,
            "is_ecotax": false,
            "category": self.category,
            "vatex": self.vatex,
            "is_einvoicing_compliant": self.compliant,
            "system_label": self.system_label,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartyKind {
    Individual,
    Company,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Individual => "individual",
            PartyKind::Company => "company",
        }
    }
}

pub(crate) struct Address {
    pub owner: (PartyKind, u64),
    pub json: Obj,
}

pub(crate) struct Item {
    /// `product`, `service`, `shipping` or `packaging`.
    pub kind: String,
    pub price_excl: Decimal,
    pub tax_id: Option<u64>,
    pub json: Obj,
}

pub(crate) struct Declination {
    pub item_id: u64,
    pub price_excl: Decimal,
    pub tax_id: Option<u64>,
    pub json: Obj,
}

/// One quota window (per second / minute / day / month). `limit: None` = never exhausted.
pub(crate) struct Window {
    len: Duration,
    limit: Option<u32>,
    /// What the `X-Quota-Remaining-*` header starts from when unlimited.
    nominal: i64,
    start: Option<Instant>,
    used: i64,
}

impl Window {
    fn new(len: Duration, limit: Option<u32>, nominal: i64) -> Window {
        Window {
            len,
            limit,
            nominal,
            start: None,
            used: 0,
        }
    }

    /// Counts one request; windows start at their first request and last `len`.
    fn hit(&mut self, now: Instant) {
        match self.start {
            Some(s) if now.duration_since(s) < self.len => {}
            _ => {
                self.start = Some(now);
                self.used = 0;
            }
        }
        self.used += 1;
    }

    fn exceeded(&self) -> bool {
        self.limit.is_some_and(|l| self.used > i64::from(l))
    }

    pub fn remaining(&self) -> i64 {
        let cap = self.limit.map_or(self.nominal, i64::from);
        (cap - self.used).max(0)
    }

    fn retry_after(&self, now: Instant) -> u64 {
        let left = self.start.map_or(Duration::ZERO, |s| {
            (s + self.len).saturating_duration_since(now)
        });
        (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)
    }
}

pub(crate) struct Quotas {
    pub second: Window,
    pub minute: Window,
    pub day: Window,
    pub month: Window,
}

impl Quotas {
    fn new(per_second: Option<u32>, per_minute: Option<u32>) -> Quotas {
        Quotas {
            second: Window::new(Duration::from_secs(1), per_second, 1_000),
            minute: Window::new(Duration::from_secs(60), per_minute, 60_000),
            day: Window::new(Duration::from_secs(86_400), None, 432_000),
            month: Window::new(Duration::from_secs(31 * 86_400), None, 13_392_000),
        }
    }

    /// Counts the request in every window (errors count too). `Some(retry_after_secs)` when a window is empty.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        let windows = [
            &mut self.second,
            &mut self.minute,
            &mut self.day,
            &mut self.month,
        ];
        let mut retry = None;
        for w in windows {
            w.hit(now);
            if w.exceeded() {
                retry = Some(retry.unwrap_or(0).max(w.retry_after(now)));
            }
        }
        retry
    }

    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "x-quota-remaining-by-second",
                self.second.remaining().to_string(),
            ),
            (
                "x-quota-remaining-by-minute",
                self.minute.remaining().to_string(),
            ),
            ("x-quota-remaining-by-day", self.day.remaining().to_string()),
            (
                "x-quota-remaining-by-month",
                self.month.remaining().to_string(),
            ),
        ]
    }
}

/// (rate, label, active, category, vatex, compliant) of a seeded tax.
type SeedTax = (
    &'static str,
    &'static str,
    bool,
    &'static str,
    Option<&'static str>,
    bool,
);

pub(crate) struct Store {
    pub rounding: RoundingMode,
    pub currencies: Vec<String>,
    pub taxes: BTreeMap<u64, Tax>,
    pub individuals: BTreeMap<u64, Obj>,
    pub companies: BTreeMap<u64, Obj>,
    pub contacts: BTreeMap<u64, Obj>,
    pub addresses: BTreeMap<u64, Address>,
    /// (company id, contact id) → roles.
    pub company_contacts: BTreeMap<(u64, u64), Vec<String>>,
    pub items: BTreeMap<u64, Item>,
    pub declinations: BTreeMap<u64, Declination>,
    pub invoices: BTreeMap<u64, Obj>,
    seqs: [u64; 10],
    // Traffic bookkeeping.
    pub calls: Vec<CallRecord>,
    pub token_calls: usize,
    pub tokens: HashMap<String, Instant>,
    pub token_counter: u64,
    pub fail_queue: VecDeque<u16>,
    pub quotas: Quotas,
}

impl Store {
    pub fn new(config: &crate::SimConfig) -> Store {
        let mut st = Store {
            rounding: config.rounding,
            currencies: config
                .currencies
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            taxes: BTreeMap::new(),
            individuals: BTreeMap::new(),
            companies: BTreeMap::new(),
            contacts: BTreeMap::new(),
            addresses: BTreeMap::new(),
            company_contacts: BTreeMap::new(),
            items: BTreeMap::new(),
            declinations: BTreeMap::new(),
            invoices: BTreeMap::new(),
            seqs: [0; 10],
            calls: Vec::new(),
            token_calls: 0,
            tokens: HashMap::new(),
            token_counter: 0,
            fail_queue: VecDeque::new(),
            quotas: Quotas::new(config.quota_per_second, config.quota_per_minute),
        };
        st.seed_taxes();
        st
    }

    pub fn next_id(&mut self, seq: Seq) -> u64 {
        let slot = &mut self.seqs[seq.index()];
        *slot += 1;
        seq.base() + *slot
    }

    fn seed_taxes(&mut self) {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        // (rate, label, active, category, vatex, compliant)
        let seed: [SeedTax; 11] = [
            ("20", "TVA 20%", true, "S", None, true),
            ("10", "TVA 10%", true, "S", None, true),
            ("5.5", "TVA 5,5%", true, "S", None, true),
            ("2.1", "TVA 2,1%", true, "S", None, true),
            // Legacy 0 % rate: still listed as active but refused on document rows since the e-invoicing
            // reform — the trap a client falls into when it maps by rate and `is_active` only.
            ("0", "Taux 0% (ancien)", true, "Z", None, false),
            (
                "0",
                "Exonération de TVA (art. 293 B du CGI)",
                true,
                "E",
                Some("VATEX-FR-FRANCHISE"),
                true,
            ),
            (
                "0",
                "Autoliquidation intracommunautaire",
                true,
                "K",
                Some("VATEX-EU-IC"),
                true,
            ),
            (
                "0",
                "Exportation hors UE",
                true,
                "G",
                Some("VATEX-EU-G"),
                true,
            ),
            (
                "0",
                "Autoliquidation",
                true,
                "AE",
                Some("VATEX-EU-AE"),
                true,
            ),
            (
                "0",
                "Hors champ d'application de la TVA",
                true,
                "O",
                Some("VATEX-EU-O"),
                true,
            ),
            ("19.6", "TVA 19,6% (ancien taux)", false, "S", None, true),
        ];
        for (rate, label, active, category, vatex, compliant) in seed {
            self.insert_tax(d(rate), label, active, category, vatex, compliant);
        }
    }

    pub fn insert_tax(
        &mut self,
        rate: Decimal,
        label: &str,
        is_active: bool,
        category: &'static str,
        vatex: Option<&'static str>,
        compliant: bool,
    ) -> u64 {
        let id = self.next_id(Seq::Tax);
        let system_label = match vatex {
            Some(v) => v.to_string(),
            None => format!("TVA{}", rate.normalize()),
        };
        self.taxes.insert(
            id,
            Tax {
                id,
                rate,
                label: label.to_string(),
                is_active,
                category,
                vatex,
                compliant,
                system_label,
            },
        );
        id
    }

    /// The tax used when a row or item names none: the account's standard 20 % rate.
    pub fn default_tax_id(&self) -> Option<u64> {
        self.taxes
            .values()
            .find(|t| {
                t.is_active && t.compliant && t.category == "S" && t.rate == Decimal::from(20)
            })
            .map(|t| t.id)
    }

    /// An active, compliant tax with this rate (standard category for non-zero rates), created if missing.
    pub fn tax_for_rate(&mut self, rate: Decimal) -> u64 {
        let wanted = if rate.is_zero() { "E" } else { "S" };
        if let Some(t) = self
            .taxes
            .values()
            .find(|t| t.is_active && t.compliant && t.category == wanted && t.rate == rate)
        {
            return t.id;
        }
        let label = format!("TVA {}%", rate.normalize());
        self.insert_tax(rate, &label, true, wanted, None, true)
    }

    pub fn party(&self, kind: PartyKind, id: u64) -> Option<&Obj> {
        match kind {
            PartyKind::Individual => self.individuals.get(&id),
            PartyKind::Company => self.companies.get(&id),
        }
    }

    pub fn party_mut(&mut self, kind: PartyKind, id: u64) -> Option<&mut Obj> {
        match kind {
            PartyKind::Individual => self.individuals.get_mut(&id),
            PartyKind::Company => self.companies.get_mut(&id),
        }
    }

    pub fn default_currency(&self) -> String {
        if self.currencies.iter().any(|c| c == "EUR") {
            "EUR".to_string()
        } else {
            self.currencies
                .first()
                .cloned()
                .unwrap_or_else(|| "EUR".to_string())
        }
    }

    /// Adds a catalog item of any type (the API itself only creates products and services).
    pub fn add_item(
        &mut self,
        kind: &str,
        reference: &str,
        name: &str,
        price: Decimal,
        tax_rate: Decimal,
    ) -> u64 {
        let tax_id = self.tax_for_rate(tax_rate);
        let id = self.next_id(Seq::Item);
        let json = item_json(
            id,
            kind,
            reference,
            Some(name),
            price,
            None,
            true,
            Some(tax_rate),
            Some(tax_id),
            None,
            true,
            &self.default_currency(),
        );
        self.items.insert(
            id,
            Item {
                kind: kind.to_string(),
                price_excl: price,
                tax_id: Some(tax_id),
                json,
            },
        );
        id
    }
}

/// Formats a money amount the way Sellsy does: a string with exactly 2 decimals.
pub(crate) fn money(value: Decimal) -> String {
    let mut r = round2(value);
    r.rescale(2);
    r.to_string()
}

/// Formats an input decimal (unit price, quantity) keeping its precision, with at least 2 decimals.
pub(crate) fn decimal_min2(value: Decimal) -> String {
    let mut v = value.normalize();
    if v.scale() < 2 {
        v.rescale(2);
    }
    v.to_string()
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub(crate) fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// `ItemReadItem` JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn item_json(
    id: u64,
    kind: &str,
    reference: &str,
    name: Option<&str>,
    price: Decimal,
    purchase: Option<Decimal>,
    price_is_excl: bool,
    tax_rate: Option<Decimal>,
    tax_id: Option<u64>,
    description: Option<&str>,
    compliant: bool,
    currency: &str,
) -> Obj {
    let rate = tax_rate.unwrap_or_default();
    let factor = Decimal::ONE + rate / Decimal::ONE_HUNDRED;
    let (excl, incl) = if price_is_excl {
        (price, round2(price.saturating_mul(factor)))
    } else {
        (round2(price.checked_div(factor).unwrap_or(price)), price)
    };
    let v = json!({
        "id": id,
        "type": kind,
        "name": name,
        "reference": reference,
        "reference_price": money(price),
        "reference_price_taxes_exc": money(excl),
        "purchase_amount": purchase.map(money),
        "reference_price_taxes_inc": money(incl),
        "is_reference_price_taxes_free": price_is_excl,
        "tax_id": tax_id,
        "unit_id": null,
        "category_id": null,
        "price_excl_tax": money(excl),
        "currency": currency,
        "standard_quantity": "1.00",
        "description": description,
        "is_name_included_in_description": false,
        "accounting_code_id": null,
        "accounting_purchase_code_id": null,
        "is_archived": false,
        "is_declined": false,
        "is_einvoicing_compliant": compliant,
    });
    let mut o = to_obj(v);
    omit_nulls(&mut o, &["purchase_amount", "category_id"]);
    o
}

/// Leaves out `keys` whose value is null: the spec types these answer fields without `nullable`, so an answer
/// without a value omits them rather than sending `null` [SPEC response schemas, checked by the connector's
/// `tests/api/sellsy_spec.rs`].
pub(crate) fn omit_nulls(obj: &mut Obj, keys: &[&str]) {
    for key in keys {
        if obj.get(*key).is_some_and(Value::is_null) {
            obj.shift_remove(*key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_always_has_two_decimals() {
        assert_eq!(money(dec!(5)), "5.00");
        assert_eq!(money(dec!(5.5)), "5.50");
        assert_eq!(money(dec!(-0.125)), "-0.13");
        assert_eq!(decimal_min2(dec!(24.9167)), "24.9167");
        assert_eq!(decimal_min2(dec!(2)), "2.00");
    }

    #[test]
    fn quota_window_counts_and_resets() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(60), Some(2), 0);
        w.hit(t0);
        w.hit(t0);
        assert!(!w.exceeded());
        assert_eq!(w.remaining(), 0);
        w.hit(t0);
        assert!(w.exceeded());
        assert!(w.retry_after(t0) >= 1);
        w.hit(t0 + Duration::from_secs(61));
        assert!(!w.exceeded());
        assert_eq!(w.remaining(), 1);
    }
}
