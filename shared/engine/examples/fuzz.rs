//! Fuzzing on the stable toolchain: the webhook receiver (headers + body) and the order decoder, with the
//! pure mapping behind it.
//!
//! ```text
//! cargo run --release -p woosellsy-engine --example fuzz -- --iterations 1000000 --seed 1
//! cargo run --release -p woosellsy-engine --example fuzz -- --secs 300 --threads 2
//! cargo run --release -p woosellsy-engine --example fuzz -- --replay target/fuzz-findings/<file>.bin
//! ```
//!
//! Every case is derived from a string of bytes (a seeded PRNG gives them here; libFuzzer gives them to
//! the cargo-fuzz targets in `fuzz/`, which include this file). The bytes drive a structure-aware
//! generator: a real payload from `tests/fixtures/woocommerce` or an order computed by `woo-calc`,
//! mutated in its JSON (numbers as strings, floats, `[]` for objects, huge or tiny numbers, deep nesting,
//! removed and duplicated keys…) or in its bytes (flips, truncation, splices, invalid UTF-8), or plain
//! arbitrary bytes; signed with the right secret about half of the time, otherwise with a wrong, expired,
//! malformed, duplicated or missing signature; with odd topics and lying `Content-Length`s.
//!
//! For every case the invariants below are checked ([`Harness::check_receiver`], [`Harness::check_decoder`]);
//! a panic is caught, so one finding does not stop the run. Findings are written to
//! `target/fuzz-findings/` (`.bin`: the input bytes, for `--replay`; `.txt`: the request, readable).
//!
//! The test `tests/fuzz_receiver.rs` and the cargo-fuzz targets include this file as a module, each
//! using a part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{NaiveDate, Utc};
use http::{HeaderName, HeaderValue, Method, Request, Uri, header};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use woo_calc::{CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec, build_order};
use woocommerce::{Order, php_json, webhook};
use woosellsy_domain::{
    ConnectorId, ConnectorSecrets, ConnectorSettings, DocumentKind, WebhookSecrets,
};
use woosellsy_engine::receiver::HANDLED_TOPICS;
use woosellsy_engine::{MemorySecrets, Receiver, ReceiverLimits};
use woosellsy_ports::{MemoryStore, PortError, PortResult, Queue, QueuedEvent, Store};

/// Largest body the harness's receiver accepts (small, so 413 is cheap to reach).
pub const LIMIT: usize = 24 * 1024;
/// Statuses the receiver may answer.
pub const ALLOWED_STATUSES: [u16; 8] = [200, 400, 401, 404, 405, 413, 500, 503];

/// `shop`: current secret and a previous one still accepted (rotation under way).
const SHOP_SECRET: &str = "whsec";
const SHOP_PREVIOUS: &str = "old-secret";
/// `rotated`: a secret with an HTML entity (WooCommerce decodes it before the HMAC), its previous one expired.
const ROTATED_SECRET: &str = "abc&amp;def";
const ROTATED_EXPIRED: &str = "expired-secret";

// ---------------------------------------------------------------------------------------------------
// Input bytes → decisions
// ---------------------------------------------------------------------------------------------------

/// Reads decisions from fuzz input bytes. Once the bytes run out every decision is 0, so option 0 of
/// every choice is the ordinary one (POST, a known connector, the right signature…).
pub struct Source<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Source<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = (self.pos + 1).min(self.data.len());
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        match n {
            0 | 1 => 0,
            2..=256 => usize::from(self.byte()) % n,
            _ => self.u32() as usize % n,
        }
    }

    /// True `num` times out of `den`.
    fn ratio(&mut self, num: usize, den: usize) -> bool {
        // Once the input is exhausted, the rare branch is never taken.
        self.below(den) >= den - num
    }

    fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.below(items.len())]
    }

    /// Up to `max` bytes of the input.
    fn take(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max + 1).min(self.data.len() - self.pos);
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        out
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) << 32 | u64::from(self.u32())
    }
}

// ---------------------------------------------------------------------------------------------------
// Seeds: real payloads
// ---------------------------------------------------------------------------------------------------

const FIXTURE_ORDERS: [&str; 7] = [
    include_str!("../../../tests/fixtures/woocommerce/ios-order-MOCK-coupon-fee-shipping-tax.json"),
    include_str!("../../../tests/fixtures/woocommerce/ios-order-wc3.1-fully-refunded.json"),
    include_str!(
        "../../../tests/fixtures/woocommerce/ios-order-wc4.7-variation-line-item-attributes.json"
    ),
    include_str!("../../../tests/fixtures/woocommerce/ios-order-wc4.7-with-refunds.json"),
    include_str!("../../../tests/fixtures/woocommerce/docs-order-create-response.json"),
    include_str!("../../../tests/fixtures/woocommerce/docs-order-update-response.json"),
    include_str!("../../../tests/fixtures/woocommerce/docs-order-create-request.json"),
];
const FIXTURE_OTHERS: [&str; 3] = [
    include_str!("../../../tests/fixtures/woocommerce/ios-error-rest-forbidden.json"),
    include_str!("../../../tests/fixtures/woocommerce/docs-order-refund-create-response.json"),
    include_str!("../../../tests/fixtures/woocommerce/ios-refund-single.json"),
];
const FIXTURE_LISTS: [&str; 2] = [
    include_str!("../../../tests/fixtures/woocommerce/docs-orders-list-response.json"),
    include_str!("../../../tests/fixtures/woocommerce/ios-orders-list-mixed.json"),
];
const WEBHOOK_VECTORS: &str =
    include_str!("../../../tests/fixtures/woocommerce/constructed-webhook-test-vectors.json");

/// The payloads mutations start from.
pub struct Seeds {
    /// JSON payloads (orders first).
    json: Vec<Value>,
    /// Payloads as bytes, exactly as delivered (including the ping).
    raw: Vec<Vec<u8>>,
}

impl Seeds {
    pub fn load() -> Self {
        let mut json = Vec::new();
        for text in FIXTURE_ORDERS.iter().chain(&FIXTURE_OTHERS) {
            json.push(serde_json::from_str(text).expect("fixture is JSON"));
        }
        for text in FIXTURE_LISTS {
            let list: Vec<Value> = serde_json::from_str(text).expect("fixture is a JSON list");
            json.extend(list.into_iter().take(12));
        }
        let mut raw: Vec<Vec<u8>> = Vec::new();
        let vectors: Vec<Value> = serde_json::from_str(WEBHOOK_VECTORS).expect("vectors are JSON");
        for v in &vectors {
            for body in [&v["request"]["body"], &v["body"]] {
                if let Some(b) = body.as_str() {
                    raw.push(b.as_bytes().to_vec());
                    if let Ok(parsed) = serde_json::from_str::<Value>(b) {
                        json.push(parsed);
                    }
                }
            }
        }
        for extra in [
            r#"{"id":42,"status":"processing"}"#,
            r#"{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot view this resource.","data":{"status":401}}"#,
            "webhook_id=1",
            "",
        ] {
            raw.push(extra.as_bytes().to_vec());
        }
        json.push(json!({"id": 42, "status": "processing"}));
        raw.extend(json.iter().map(|v| php_json::encode(v).into_bytes()));
        Self { json, raw }
    }
}

// ---------------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------------

/// Keys WooCommerce orders have, to insert where they do not belong.
const KEYS: [&str; 40] = [
    "id",
    "parent_id",
    "number",
    "status",
    "currency",
    "total",
    "total_tax",
    "line_items",
    "tax_lines",
    "shipping_lines",
    "fee_lines",
    "coupon_lines",
    "refunds",
    "meta_data",
    "billing",
    "shipping",
    "quantity",
    "price",
    "subtotal",
    "subtotal_tax",
    "taxes",
    "rate_id",
    "rate_percent",
    "compound",
    "tax_total",
    "shipping_tax_total",
    "date_paid",
    "date_created",
    "date_created_gmt",
    "date_paid_gmt",
    "prices_include_tax",
    "sku",
    "name",
    "code",
    "message",
    "data",
    "discount",
    "country",
    "company",
    "customer_note",
];

/// Raw JSON text no `Value` can hold: it replaces a placeholder in the serialized payload.
const RAW_TOKENS: [&str; 34] = [
    "1e999",
    "-1e999",
    "1e-999",
    "-0",
    "-0.0",
    "0.0000000000000000000000000001",
    "0.00000000000000000000000000000001",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890.123456789",
    "1.7976931348623157e308",
    "4.9e-324",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\u0000\"",
    "\"1e400\"",
    "\"1e-28\"",
    "\"1E+27\"",
    "\"0x1A\"",
    "\"  12.50  \"",
    "\"12,50\"",
    "\"-0\"",
    "\"Infinity\"",
    "\"NaN\"",
    "\"9999999999999999999999999999.99\"",
    "\"0.0000000000000000000000000000001\"",
    "\"79228162514264337593543950336\"",
    "{\"id\":1,\"id\":2}",
    "[1,\"2\",3.0,null,{}]",
    "01",
    "\"2017-03-22T19:28:08.123456789+14:00\"",
];

const PLACEHOLDER: &str = "\u{1}RAW\u{1}";
const PLACEHOLDER_JSON: &str = "\"\\u0001RAW\\u0001\"";

fn deep(depth: usize, leaf: Value, object: bool) -> Value {
    (0..depth).fold(leaf, |inner, _| {
        if object {
            json!({ "a": inner })
        } else {
            json!([inner])
        }
    })
}

/// An odd value to put where WooCommerce puts something else; `near` is the value it replaces.
fn odd_value(s: &mut Source, near: &Value) -> Value {
    match s.below(48) {
        0 => match near {
            Value::Number(n) => Value::String(n.to_string()),
            Value::String(t) => serde_json::from_str::<serde_json::Number>(t.trim())
                .map(Value::Number)
                .unwrap_or_else(|_| json!(t.len())),
            other => Value::String(other.to_string()),
        },
        1 => match near.as_f64() {
            Some(f) => json!(f + 0.5),
            None => json!(0.1),
        },
        2 => match near.as_i64() {
            Some(i) => json!(i.wrapping_neg()),
            None => json!(-1),
        },
        3 => json!([]),
        4 => json!({}),
        5 => Value::Null,
        6 => json!(true),
        7 => json!(false),
        8 => json!(""),
        9 => json!(" "),
        10 => json!(0),
        11 => json!(-1),
        12 => json!(1.5),
        13 => json!(1e300),
        14 => json!(-1e-300),
        15 => json!(u64::MAX),
        16 => json!(i64::MIN),
        17 => json!("abc"),
        18 => json!("1e5"),
        19 => json!("-12.5"),
        20 => json!("0.0000000000000000000000000001"),
        21 => json!("1000000000000.01"),
        22 => json!("999999999999"),
        23 => json!([1, 2]),
        24 => json!({"a": 1}),
        25 => json!("2017-02-30T00:00:00"),
        26 => json!("0000-00-00 00:00:00"),
        27 => json!("2017-03-22T19:28:08.5+02:00"),
        28 => json!("+275760-09-13T00:00:00Z"),
        29 => json!("wc-completed"),
        30 => json!("refunded"),
        31 => json!("&amp;&lt;script&gt; &ndash; &#8211;"),
        32 => json!("é€😀\u{202e}"),
        33 => json!("\u{0}\u{1f}"),
        34 => Value::String("x".repeat(s.below(20_000))),
        35 => json!("yes"),
        36 => deep(s.below(160), json!(1), false),
        37 => deep(s.below(160), json!({}), true),
        38 => json!(0.1 + 0.2),
        39 => json!(3.3333333333333335),
        40 => json!("1e-28"),
        41 => json!(1e-28),
        42 => json!("12.345678901234567890123456789"),
        43 => json!(s.u64()),
        44 => json!(f64::from_bits(s.u64()).clamp(-1e300, 1e300)),
        45 => json!(PLACEHOLDER),
        46 => match near {
            Value::Object(_) | Value::Array(_) => near.clone(),
            _ => json!([near.clone()]),
        },
        _ => json!(s.pick(&[
            "processing",
            "completed",
            "on-hold",
            "pending",
            "EUR",
            "FR",
            ""
        ])),
    }
}

/// One structural mutation somewhere in `v` (a random walk picks where).
fn mutate_json(s: &mut Source, v: &mut Value, depth: usize) {
    let descend = depth < 12 && s.below(3) != 0;
    match v {
        Value::Object(map) if !map.is_empty() && descend => {
            let i = s.below(map.len());
            if let Some((_, child)) = map.iter_mut().nth(i) {
                mutate_json(s, child, depth + 1);
            }
        }
        Value::Array(items) if !items.is_empty() && descend => {
            let i = s.below(items.len());
            mutate_json(s, &mut items[i], depth + 1);
        }
        Value::Object(map) => match s.below(6) {
            0 | 1 if !map.is_empty() => {
                let i = s.below(map.len());
                if let Some((_, child)) = map.iter_mut().nth(i) {
                    let new = odd_value(s, child);
                    *child = new;
                }
            }
            2 if !map.is_empty() => {
                let i = s.below(map.len());
                if let Some(key) = map.keys().nth(i).cloned() {
                    map.shift_remove(&key);
                }
            }
            3 => {
                let key = (*s.pick(&KEYS)).to_owned();
                let new = odd_value(s, &Value::Null);
                map.insert(key, new);
            }
            4 => {
                let key = (*s.pick(&KEYS)).to_owned();
                let copy = map.values().next().cloned().unwrap_or(Value::Null);
                map.insert(key, copy);
            }
            _ => {
                *v = if s.ratio(1, 2) {
                    json!([])
                } else {
                    Value::Array(map.values().cloned().collect())
                }
            }
        },
        Value::Array(items) => match s.below(6) {
            0 if !items.is_empty() => {
                let i = s.below(items.len());
                items.remove(i);
            }
            1 if !items.is_empty() => {
                let i = s.below(items.len());
                let copy = items[i].clone();
                let most = if s.ratio(1, 8) { 300 } else { 3 };
                for _ in 0..=s.below(most) {
                    items.push(copy.clone());
                }
            }
            2 => {
                let object: Map<String, Value> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (i.to_string(), item.clone()))
                    .collect();
                *v = Value::Object(object);
            }
            3 => items.clear(),
            _ => {
                let new = odd_value(s, v);
                *v = new;
            }
        },
        _ => {
            let new = odd_value(s, v);
            *v = new;
        }
    }
}

/// A random JSON value (most keys and numbers taken from the interesting ones).
fn random_value(s: &mut Source, depth: usize) -> Value {
    match s.below(if depth > 6 { 5 } else { 8 }) {
        0 => odd_value(s, &Value::Null),
        1 => json!(s.u32()),
        2 => Value::String(String::from_utf8_lossy(s.take(24)).into_owned()),
        3 => json!(s.ratio(1, 2)),
        4 => Value::Null,
        5 | 6 => {
            let mut map = Map::new();
            for _ in 0..s.below(8) {
                let key = (*s.pick(&KEYS)).to_owned();
                map.insert(key, random_value(s, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..s.below(6))
                .map(|_| random_value(s, depth + 1))
                .collect(),
        ),
    }
}

fn serialize(s: &mut Source, v: &Value) -> Vec<u8> {
    let mut text = match s.below(6) {
        // What WooCommerce signs.
        0..=2 => php_json::encode(v),
        3 | 4 => serde_json::to_string(v).unwrap_or_default(),
        _ => serde_json::to_string_pretty(v).unwrap_or_default(),
    };
    while let Some(at) = text.find(PLACEHOLDER_JSON) {
        let token = *s.pick(&RAW_TOKENS);
        text.replace_range(at..at + PLACEHOLDER_JSON.len(), token);
    }
    text.into_bytes()
}

/// Byte-level mutations: flips, truncation, insertion, deletion, splices, invalid UTF-8.
fn mutate_bytes(s: &mut Source, body: &mut Vec<u8>, seeds: &Seeds) {
    const INSERTS: [&[u8]; 16] = [
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\x00",
        b"\"",
        b"\\",
        b"\\u",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"1e999",
        b"\xef\xbb\xbf",
    ];
    for _ in 0..=s.below(8) {
        let len = body.len();
        match s.below(9) {
            0 if len > 0 => {
                let i = s.below(len);
                body[i] ^= 1 << s.below(8);
            }
            1 if len > 0 => {
                let i = s.below(len);
                body[i] = s.byte();
            }
            2 => body.truncate(s.below(len + 1)),
            3 => {
                let i = s.below(len + 1);
                let insert = *s.pick(&INSERTS);
                body.splice(i..i, insert.iter().copied());
            }
            4 if len > 0 => {
                let from = s.below(len);
                let to = (from + 1 + s.below(32)).min(len);
                body.drain(from..to);
            }
            5 if len > 0 => {
                let from = s.below(len);
                let to = (from + 1 + s.below(64)).min(len);
                let copy = body[from..to].to_vec();
                let at = s.below(len + 1);
                body.splice(at..at, copy);
            }
            6 => {
                let other = s.pick(&seeds.raw);
                let cut = s.below(other.len() + 1);
                let at = s.below(len + 1);
                body.truncate(at);
                body.extend_from_slice(&other[cut..]);
            }
            7 => {
                // A digit elsewhere: ids, quantities and amounts change.
                if let Some(i) = (0..4)
                    .map(|_| s.below(len.max(1)))
                    .find(|&i| body.get(i).is_some_and(u8::is_ascii_digit))
                {
                    body[i] = b'0' + s.below(10) as u8;
                }
            }
            _ => {
                let i = s.below(len + 1);
                let bytes = s.take(16).to_vec();
                body.splice(i..i, bytes);
            }
        }
    }
}

fn decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// An order as WooCommerce computes it (`woo-calc`): gets through the decoder and, mostly, the mapping.
fn computed_order(s: &mut Source) -> Value {
    const RATES: [(i64, u64); 7] = [
        (20, 1),
        (10, 2),
        (0, 0),
        (55, 3),
        (21, 4),
        (196, 5),
        (85, 6),
    ];
    let rate = |s: &mut Source| {
        let (r, id) = *s.pick(&RATES);
        // 55 → 5.5 %, 21 → 2.1 %, 196 → 19.6 %, 85 → 8.5 %.
        let percent = if r > 20 || r == 55 {
            Decimal::new(r, 1)
        } else {
            Decimal::from(r)
        };
        (percent, id)
    };
    let lines = (0..=s.below(5))
        .map(|i| {
            let (tax_rate, tax_rate_id) = rate(s);
            LineSpec {
                product_id: 10 + i as u64,
                variation_id: if s.ratio(1, 4) { 100 + i as u64 } else { 0 },
                sku: match s.below(3) {
                    0 => Some(format!("SKU-{i}")),
                    1 => None,
                    _ => Some(String::new()),
                },
                name: (*s.pick(&["Mug", "T-shirt &ndash; Noir", "Café 1kg", "", "   "])).to_owned(),
                quantity: *s.pick(&[
                    Decimal::ONE,
                    Decimal::from(2),
                    Decimal::from(3),
                    Decimal::new(5, 1),
                    Decimal::from(12),
                    Decimal::from(999),
                ]),
                unit_price: if s.ratio(1, 6) {
                    Decimal::new(s.below(1_000_000) as i64, 4)
                } else {
                    decimal(s.below(100_000) as i64)
                },
                tax_rate,
                tax_rate_id,
            }
        })
        .collect();
    let date = NaiveDate::from_ymd_opt(2026, 1 + s.below(12) as u32, 1 + s.below(28) as u32)
        .and_then(|d| d.and_hms_opt(s.below(24) as u32, 0, 0))
        .unwrap_or_default();
    let mut spec = OrderSpec::paid(lines, date);
    spec.prices_include_tax = s.ratio(1, 2);
    spec.round_at_subtotal = s.ratio(1, 2);
    spec.currency = (*s.pick(&["EUR", "USD", "eur", "CHF"])).to_owned();
    spec.status =
        (*s.pick(&["processing", "completed", "pending", "on-hold", "refunded"])).to_owned();
    spec.paid = !s.ratio(1, 5);
    spec.customer = CustomerSpec {
        company: if s.ratio(1, 3) {
            "ACME SAS".to_owned()
        } else {
            String::new()
        },
        vat_number: s.ratio(1, 4).then(|| "FR40303265045".to_owned()),
        has_shipping_address: !s.ratio(1, 4),
        country: (*s.pick(&["FR", "BE", "DE", "US", "CH"])).to_owned(),
        ..CustomerSpec::default()
    };
    if s.ratio(1, 3) {
        spec.coupons.push(match s.below(3) {
            0 => CouponSpec::Percent {
                code: "promo10".to_owned(),
                percent: Decimal::from(1 + s.below(50) as i64),
            },
            1 => CouponSpec::FixedCart {
                code: "moins5".to_owned(),
                amount: decimal(1 + s.below(2_000) as i64),
            },
            _ => CouponSpec::FixedProduct {
                code: "unit1".to_owned(),
                amount: decimal(1 + s.below(500) as i64),
            },
        });
    }
    if s.ratio(1, 3) {
        let (tax_rate, tax_rate_id) = rate(s);
        spec.fees.push(FeeSpec {
            name: "Frais".to_owned(),
            amount: decimal(s.below(4_000) as i64 - 1_000),
            taxable: s.ratio(1, 2),
            tax_rate,
            tax_rate_id,
        });
    }
    if s.ratio(1, 2) {
        let (tax_rate, tax_rate_id) = rate(s);
        spec.shipping.push(ShippingSpec {
            method_id: "flat_rate".to_owned(),
            title: "Colissimo".to_owned(),
            cost: decimal(s.below(3_000) as i64),
            tax_rate,
            tax_rate_id,
        });
    }
    build_order(1 + s.below(100_000) as u64, &spec)
}

/// A body: a mutated real or computed payload, a ping, or arbitrary bytes.
fn gen_body(s: &mut Source, seeds: &Seeds) -> Vec<u8> {
    match s.below(16) {
        0..=3 => {
            let mut v = s.pick(&seeds.json).clone();
            for _ in 0..s.below(6) {
                mutate_json(s, &mut v, 0);
            }
            serialize(s, &v)
        }
        4..=6 => {
            let mut body = s.pick(&seeds.raw).clone();
            mutate_bytes(s, &mut body, seeds);
            body
        }
        7..=9 => {
            let mut v = computed_order(s);
            for _ in 0..s.below(3) {
                mutate_json(s, &mut v, 0);
            }
            serialize(s, &v)
        }
        10 | 11 => s.take(2048).to_vec(),
        12 => {
            let v = random_value(s, 0);
            serialize(s, &v)
        }
        13 => {
            let digits = match s.below(5) {
                0 => "142".to_owned(),
                1 => String::new(),
                2 => "99999999999999999999999".to_owned(),
                3 => "-1".to_owned(),
                _ => String::from_utf8_lossy(s.take(12)).into_owned(),
            };
            format!("webhook_id={digits}").into_bytes()
        }
        14 => {
            let mut v = json!({"id": 42, "status": "processing", "total": "10.00"});
            let id = odd_value(s, &json!(42));
            v["id"] = id;
            serialize(s, &v)
        }
        _ => {
            let mut v = s.pick(&seeds.json).clone();
            mutate_json(s, &mut v, 0);
            let mut body = serialize(s, &v);
            mutate_bytes(s, &mut body, seeds);
            body
        }
    }
}

/// One generated delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub method: Method,
    pub path: String,
    /// In order, duplicates included (`HeaderMap::append`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
    /// The queue refuses the event (the receiver must then answer 503 and never 200).
    pub queue_refuses: bool,
}

impl Delivery {
    pub fn render(&self) -> String {
        let mut out = format!("{} {}\n", self.method, self.path);
        for (name, value) in &self.headers {
            out.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        out.push_str(&format!("(queue refuses: {})\n\n", self.queue_refuses));
        match std::str::from_utf8(&self.body) {
            Ok(text) => out.push_str(text),
            Err(_) => {
                out.push_str("(body is not UTF-8; lossy text, then hex)\n");
                out.push_str(&String::from_utf8_lossy(&self.body));
                out.push('\n');
                for b in &self.body {
                    out.push_str(&format!("{b:02x}"));
                }
            }
        }
        out.push('\n');
        out
    }
}

fn secrets_for(connector: &str) -> Vec<&'static str> {
    match connector {
        "shop" => vec![SHOP_SECRET, SHOP_PREVIOUS],
        "rotated" => vec![ROTATED_SECRET],
        _ => vec![],
    }
}

fn gen_delivery(s: &mut Source, seeds: &Seeds) -> Delivery {
    let queue_refuses = s.ratio(1, 20);
    let method = match s.below(16) {
        0..=12 => Method::POST,
        13 => Method::GET,
        14 => Method::PUT,
        _ => s
            .pick(&[Method::HEAD, Method::DELETE, Method::PATCH, Method::OPTIONS])
            .clone(),
    };
    let path = match s.below(32) {
        0..=17 => "/webhooks/shop".to_owned(),
        18..=22 => "/webhooks/rotated".to_owned(),
        23 => "/webhooks/nosecret".to_owned(),
        24 => "/webhooks/ghost".to_owned(),
        25 => "/webhooks/shop/".to_owned(),
        26 => "/webhooks/SHOP".to_owned(),
        27 => "/webhooks/".to_owned(),
        28 => "/webhook/shop".to_owned(),
        29 => "/webhooks/shop/extra".to_owned(),
        30 => "/webhooks/shop?topic=order.updated".to_owned(),
        _ => (*s.pick(&[
            "/",
            "/webhooks//shop",
            "/webhooks/%73hop",
            "/webhooks/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "/webhooks/shop//",
            "/health",
        ]))
        .to_owned(),
    };
    let connector = path
        .split('?')
        .next()
        .and_then(|p| p.strip_prefix("/webhooks/"))
        .map(|r| r.trim_end_matches('/'))
        .unwrap_or("")
        .to_owned();
    let mut body = gen_body(s, seeds);
    if s.ratio(1, 64) {
        // Over the limit.
        body.resize(LIMIT + 1 + s.below(64), b' ');
    }

    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut add = |name: &str, value: &[u8]| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.push((n, v));
        }
    };

    // Signature: the right one about half of the time.
    let accepted = secrets_for(&connector);
    let current = accepted.first().copied().unwrap_or(SHOP_SECRET);
    let sign = |secret: &str| webhook::signature(&body, secret);
    let name = *s.pick(&["X-WC-Webhook-Signature", "x-wc-webhook-signature"]);
    match s.below(24) {
        0..=9 => add(name, sign(current).as_bytes()),
        10 | 11 => {
            let previous = if connector == "rotated" {
                ROTATED_EXPIRED
            } else {
                SHOP_PREVIOUS
            };
            add(name, sign(previous).as_bytes());
        }
        12 => add(name, format!(" \t{} ", sign(current)).as_bytes()),
        13 => {}
        14 => add(name, b""),
        15 => {
            let wrong = *s.pick(&[
                "whsec2",
                "",
                "WHSEC",
                "abc&def",
                "whsec&amp;",
                "abc&amp;amp;def",
            ]);
            add(name, sign(wrong).as_bytes());
        }
        16 => {
            let mut fake = [0u8; 32];
            fake.iter_mut().for_each(|b| *b = s.byte());
            use base64_like::encode;
            add(name, encode(&fake).as_bytes());
        }
        17 => {
            let text = s.take(64).to_vec();
            add(name, &text);
        }
        18 => {
            // Signed, then changed on the way.
            let mut other = body.clone();
            if other.pop().is_none() {
                other.push(b' ');
            }
            add(name, webhook::signature(&other, current).as_bytes());
        }
        19 => {
            let good = sign(current);
            let bad = match s.below(3) {
                0 => good.trim_end_matches('=').to_owned(),
                1 => good[..good.len() / 2].to_owned(),
                _ => good.to_lowercase(),
            };
            add(name, bad.as_bytes());
        }
        20 => {
            add(name, sign(current).as_bytes());
            add(name, sign("wrong").as_bytes());
        }
        21 => {
            add(name, sign("wrong").as_bytes());
            add(name, sign(current).as_bytes());
        }
        22 => add(name, format!("{}\u{e9}", sign(current)).as_bytes()),
        _ => {
            let other_connector = if connector == "shop" {
                ROTATED_SECRET
            } else {
                SHOP_SECRET
            };
            add(name, sign(other_connector).as_bytes());
        }
    }

    let topic = "X-WC-Webhook-Topic";
    match s.below(20) {
        0..=5 => add(topic, b"order.updated"),
        6..=8 => add(topic, b"order.created"),
        9 => add(topic, b"order.restored"),
        10 => {}
        11 => add(topic, b"order.deleted"),
        12 => add(topic, b"action.woocommerce_order_status_completed"),
        13 => add(topic, b"product.updated"),
        14 => add(topic, b" order.updated\t"),
        15 => add(topic, b"ORDER.UPDATED"),
        16 => add(topic, b""),
        17 => {
            let (a, b): (&[u8], &[u8]) = if s.ratio(1, 2) {
                (b"order.deleted", b"order.updated")
            } else {
                (b"order.updated", b"order.deleted")
            };
            add(topic, a);
            add(topic, b);
        }
        18 => {
            let text = s.take(24).to_vec();
            add(topic, &text);
        }
        _ => add(topic, b"order.updated\x80"),
    }

    match s.below(6) {
        0 | 1 => add("X-WC-Webhook-ID", b"142"),
        2 => {}
        3 => add("X-WC-Webhook-ID", b"abc"),
        4 => add("X-WC-Webhook-ID", b"99999999999999999999999"),
        _ => add("X-WC-Webhook-ID", b"-1"),
    }
    match s.below(4) {
        0 | 1 => add(
            "X-WC-Webhook-Delivery-ID",
            b"039f3155b209b1c591c26f60004d889f",
        ),
        2 => {}
        _ => {
            let text = s.take(40).to_vec();
            add("X-WC-Webhook-Delivery-ID", &text);
        }
    }
    if s.ratio(1, 3) {
        add("X-WC-Webhook-Resource", b"order");
        add("X-WC-Webhook-Event", b"updated");
        add("X-WC-Webhook-Source", b"https://example.com/");
    }

    let len = body.len();
    match s.below(12) {
        0..=5 => {}
        6 | 7 => add("Content-Length", len.to_string().as_bytes()),
        8 => add(
            "Content-Length",
            len.saturating_sub(1).to_string().as_bytes(),
        ),
        9 => add("Content-Length", (len + 7).to_string().as_bytes()),
        10 => add(
            "Content-Length",
            (LIMIT + 1 + s.below(1 << 20)).to_string().as_bytes(),
        ),
        _ => {
            let lie = *s.pick(&["abc", "-1", "1e9", " 5", "18446744073709551616", "", "0"]);
            add("Content-Length", lie.as_bytes());
            if s.ratio(1, 2) {
                add("Content-Length", b"99999999");
            }
        }
    }
    for _ in 0..s.below(3) {
        let name = *s.pick(&[
            "content-type",
            "user-agent",
            "x-forwarded-for",
            "x-wc-webhook-x",
            "accept",
        ]);
        let value = s.take(24).to_vec();
        add(name, &value);
    }

    Delivery {
        method,
        path,
        headers,
        body,
        queue_refuses,
    }
}

/// Base64 (standard alphabet, padded) for random signatures, without a dependency for it.
mod base64_like {
    pub fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------
// The system under test, in memory
// ---------------------------------------------------------------------------------------------------

/// A queue that keeps what it accepted, and refuses when told to.
#[derive(Default)]
pub struct RecordingQueue {
    accepted: Mutex<Vec<QueuedEvent>>,
    attempts: AtomicU64,
    refuse: AtomicBool,
}

#[async_trait]
impl Queue for RecordingQueue {
    async fn enqueue(&self, event: &QueuedEvent) -> PortResult<()> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if self.refuse.load(Ordering::Relaxed) {
            return Err(PortError::transient("queue refused (fuzz harness)"));
        }
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
        Ok(())
    }
}

fn settings_json(id: &str, extra: Value) -> ConnectorSettings {
    let mut v = json!({
        "id": id,
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.example/v2",
        "sellsy_token_url": "https://login.sellsy.example/oauth2/access-tokens",
    });
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    serde_json::from_value(v).expect("connector settings")
}

/// What one case did.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaseOutcome {
    pub status: u16,
    /// `queued`, `ignored`, `pong` or the error code.
    pub answer: &'static str,
    pub decoded: bool,
    pub planned: bool,
    /// The receiver queued an id the decoder reads differently (or the decoder refused what was queued).
    pub id_disagreement: bool,
}

/// The receiver over in-memory ports, the mapping settings, the seeds.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    receiver: Receiver,
    queue: Arc<RecordingQueue>,
    settings: Vec<ConnectorSettings>,
    seeds: Seeds,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
        let store = Arc::new(MemoryStore::new());
        let secrets = Arc::new(MemorySecrets::new());
        let queue = Arc::new(RecordingQueue::default());
        rt.block_on(async {
            for id in ["shop", "rotated", "nosecret"] {
                store
                    .put_connector(&settings_json(id, json!({})))
                    .await
                    .expect("memory store");
            }
        });
        let bundle: ConnectorSecrets = serde_json::from_value(json!({
            "woocommerce_consumer_key": "ck", "woocommerce_consumer_secret": "cs",
            "webhook_secret": SHOP_SECRET, "sellsy_client_id": "c", "sellsy_client_secret": "x",
        }))
        .expect("secrets");
        let shop = ConnectorId::parse("shop").expect("id");
        secrets.insert(shop.clone(), bundle);
        secrets.insert_webhook_secrets(
            shop,
            WebhookSecrets {
                current: SHOP_SECRET.to_owned().into(),
                previous: Some(SHOP_PREVIOUS.to_owned().into()),
                previous_until: Some(Utc::now() + chrono::Duration::days(30)),
            },
        );
        secrets.insert_webhook_secrets(
            ConnectorId::parse("rotated").expect("id"),
            WebhookSecrets {
                current: ROTATED_SECRET.to_owned().into(),
                previous: Some(ROTATED_EXPIRED.to_owned().into()),
                previous_until: Some(Utc::now() - chrono::Duration::hours(1)),
            },
        );
        let receiver = Receiver::new(
            store,
            secrets,
            queue.clone(),
            ReceiverLimits {
                max_body_bytes: LIMIT,
            },
        );
        let settings = vec![
            settings_json("shop", json!({})),
            settings_json(
                "shop",
                json!({"sellsy_tax_rounding": "per-row", "zero_rate_exemption": "intra-eu"}),
            ),
            settings_json(
                "shop",
                json!({"sellsy_tax_rounding": "per-rate", "order_reference_prefix": ""}),
            ),
            settings_json(
                "shop",
                json!({"zero_rate_exemption": "reverse-charge", "vat_meta_keys": ["", "_billing_vat_number", "vat"],
                       "order_reference_prefix": "&amp;<script>é"}),
            ),
        ];
        Self {
            rt,
            receiver,
            queue,
            settings,
            seeds: Seeds::load(),
        }
    }

    /// The delivery `data` describes.
    pub fn delivery(&self, data: &[u8]) -> Delivery {
        gen_delivery(&mut Source::new(data), &self.seeds)
    }

    /// A full case: the delivery through the receiver, then its body through the decoder and the mapping.
    pub fn run_case(&self, data: &[u8]) -> Result<CaseOutcome, String> {
        let mut s = Source::new(data);
        let delivery = gen_delivery(&mut s, &self.seeds);
        let mut outcome = self.check_receiver(&delivery)?;
        let (decoded, planned) = self.check_decoder(&delivery.body, &mut s)?;
        outcome.decoded = decoded.is_some();
        outcome.planned = planned;
        if outcome.answer == "queued" {
            let queued = order_id_of(&delivery.body);
            outcome.id_disagreement = decoded != queued;
        }
        Ok(outcome)
    }

    /// The cargo-fuzz `receiver` target.
    pub fn receiver_case(&self, data: &[u8]) -> Result<CaseOutcome, String> {
        let delivery = self.delivery(data);
        self.check_receiver(&delivery)
    }

    /// The cargo-fuzz `order_decoder` target: JSON-looking input is decoded as is, anything else
    /// describes a generated body.
    pub fn decoder_case(&self, data: &[u8]) -> Result<bool, String> {
        let mut s = Source::new(data);
        let body = match data.first() {
            Some(b'{' | b'[') => data.to_vec(),
            _ => gen_body(&mut s, &self.seeds),
        };
        self.check_decoder(&body, &mut s)
            .map(|(_, planned)| planned)
    }

    /// Sends `d` to the receiver and checks what it answered and queued.
    pub fn check_receiver(&self, d: &Delivery) -> Result<CaseOutcome, String> {
        let Ok(uri) = Uri::from_str(&d.path) else {
            return Err(format!("harness: invalid path {:?}", d.path));
        };
        let mut req = Request::new(Bytes::from(d.body.clone()));
        *req.method_mut() = d.method.clone();
        *req.uri_mut() = uri;
        for (name, value) in &d.headers {
            req.headers_mut().append(name.clone(), value.clone());
        }
        self.queue
            .accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.queue.refuse.store(d.queue_refuses, Ordering::Relaxed);
        let headers = req.headers().clone();

        let resp = self.rt.block_on(self.receiver.handle(req));

        let events = std::mem::take(
            &mut *self
                .queue
                .accepted
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let status = resp.status().as_u16();
        let fail = |what: &str, detail: String| {
            Err(format!(
                "{what}: {detail} (status {status}, body {})",
                String::from_utf8_lossy(resp.body())
            ))
        };

        // The request as the receiver should see it, computed apart.
        let route = d
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .strip_prefix("/webhooks/");
        let connector = route.map(|r| r.trim_end_matches('/')).unwrap_or("");
        let known = matches!(connector, "shop" | "rotated" | "nosecret");
        let signature = header_text(&headers, webhook::HEADER_SIGNATURE);
        let topic = header_text(&headers, webhook::HEADER_TOPIC).unwrap_or("");
        let validly_signed = signature.is_some_and(|sig| {
            secrets_for(connector)
                .iter()
                .any(|secret| webhook::signature(&d.body, secret) == sig)
        });
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let oversize = d.body.len() > LIMIT || declared.is_some_and(|n| n > LIMIT);
        let is_ping = d
            .body
            .strip_prefix(b"webhook_id=")
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .is_some_and(|digits| {
                !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && digits.parse::<u64>().is_ok()
            });
        let utf8 = std::str::from_utf8(&d.body).ok();
        let order = order_id_of(&d.body);

        // Every answer is JSON with an expected status.
        if !ALLOWED_STATUSES.contains(&status) {
            return fail("unexpected status", String::new());
        }
        if resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            != Some("application/json")
        {
            return fail(
                "not a JSON content type",
                format!("{:?}", resp.headers().get(header::CONTENT_TYPE)),
            );
        }
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(resp.body()) else {
            return fail("body is not a JSON object", String::new());
        };
        let answer_kind: &'static str = if status == 200 {
            match answer.get("status").and_then(Value::as_str) {
                Some("queued") => "queued",
                Some("ignored") => "ignored",
                Some("pong") => "pong",
                other => return fail("200 without a known status", format!("{other:?}")),
            }
        } else {
            let (Some(code), Some(_)) = (
                answer.get("error").and_then(Value::as_str),
                answer.get("message").and_then(Value::as_str),
            ) else {
                return fail("error without code and message", String::new());
            };
            intern(code)
        };

        // Exactly one event for a queued answer, none otherwise.
        if answer_kind == "queued" {
            let [event] = events.as_slice() else {
                return fail("queued answer", format!("{} events enqueued", events.len()));
            };
            if d.queue_refuses {
                return fail("queued answer although the queue refused", String::new());
            }
            if Some(event.order.0) != order {
                return fail(
                    "queued order id differs from the body's",
                    format!("{} vs {order:?}", event.order.0),
                );
            }
            if answer.get("order_id").and_then(Value::as_u64) != Some(event.order.0) {
                return fail(
                    "answered order id differs from the queued one",
                    format!("{:?}", answer.get("order_id")),
                );
            }
            if event.connector.as_str() != connector {
                return fail(
                    "queued for another connector",
                    event.connector.as_str().to_owned(),
                );
            }
            if event.body.as_deref() != utf8 {
                return fail("queued body differs from the body received", String::new());
            }
            if event.topic != topic || !HANDLED_TOPICS.contains(&topic) {
                return fail("queued with an unhandled topic", event.topic.clone());
            }
            if !validly_signed {
                return fail("queued without a valid signature", format!("{signature:?}"));
            }
            if oversize || d.method != Method::POST {
                return fail("queued an oversize or non-POST request", String::new());
            }
        } else if !events.is_empty() {
            return fail(
                "event enqueued without a queued answer",
                format!("{} events", events.len()),
            );
        }

        // A bad or missing signature never gets anything queued, nor a 200 unless it is the ping.
        if !validly_signed
            && status == 200
            && !(answer_kind == "pong" && signature.is_none() && is_ping)
        {
            return fail("200 for an invalid signature", format!("{signature:?}"));
        }
        if answer_kind == "pong" && (signature.is_some() || !is_ping) {
            return fail(
                "pong for something else than an unsigned ping",
                String::new(),
            );
        }
        if route.is_some() && d.method != Method::POST && status != 405 {
            return fail("non-POST not answered 405", d.method.to_string());
        }
        if status == 405 && d.method == Method::POST {
            return fail("405 for a POST", String::new());
        }
        if status == 413 && !oversize {
            return fail(
                "413 for a body within the limit",
                format!("{} bytes, declared {declared:?}", d.body.len()),
            );
        }
        let deliverable = validly_signed
            && known
            && connector != "nosecret"
            && d.method == Method::POST
            && !oversize;
        if deliverable && matches!(status, 401 | 404) {
            return fail("a valid delivery refused", String::new());
        }
        // A signed order on a handled topic is never lost: queued, or refused so WooCommerce retries… no, so
        // the failure shows (WooCommerce does not retry); never acknowledged and dropped.
        if deliverable && utf8.is_some() && HANDLED_TOPICS.contains(&topic) && order.is_some() {
            let expected = if d.queue_refuses {
                "unavailable"
            } else {
                "queued"
            };
            if answer_kind != expected {
                return fail(
                    "a signed order was not queued",
                    format!("answered {answer_kind}, expected {expected}"),
                );
            }
        }

        Ok(CaseOutcome {
            status,
            answer: answer_kind,
            ..CaseOutcome::default()
        })
    }

    /// Decodes `body` as an order and maps it: no panic; `php_json` re-encodes what was parsed.
    /// Returns the decoded order's id and whether a plan came out.
    pub fn check_decoder(
        &self,
        body: &[u8],
        s: &mut Source,
    ) -> Result<(Option<u64>, bool), String> {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            let encoded = php_json::encode(&value);
            match serde_json::from_str::<Value>(&encoded) {
                Ok(back) if same_json(&value, &back) => {}
                Ok(_) => return Err(format!("php_json changed the value: {encoded}")),
                Err(e) => return Err(format!("php_json wrote invalid JSON ({e}): {encoded}")),
            }
            floats_round_trip(&value)?;
        }
        let Ok(order) = serde_json::from_slice::<Order>(body) else {
            return Ok((None, false));
        };
        let _ = woosellsy_mapping::eligibility(&order);
        let invoice =
            woosellsy_mapping::plan_document(&order, &self.settings[0], DocumentKind::Invoice);
        let kind = *s.pick(&[
            DocumentKind::Invoice,
            DocumentKind::Order,
            DocumentKind::Estimate,
            DocumentKind::Delivery,
            DocumentKind::Proforma,
            DocumentKind::CreditNote,
        ]);
        let settings = s.pick(&self.settings);
        let other = woosellsy_mapping::plan_document(&order, settings, kind);
        if let Ok(planned) = &invoice {
            let totals = &planned.plan.totals;
            if totals.excl_tax + totals.tax != totals.incl_tax || totals.incl_tax != order.total {
                return Err(format!(
                    "plan totals do not add up: {totals:?} for a total of {}",
                    order.total
                ));
            }
        }
        Ok((Some(order.id), invoice.is_ok() || other.is_ok()))
    }
}

/// A header's first value as the receiver reads it: trimmed text, `None` when absent, empty or not ASCII.
fn header_text<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The order id the receiver must queue for `body`, computed apart: a JSON object with a positive integer
/// (or integer string) `id` that is not a WordPress error object.
fn order_id_of(body: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("code") && obj.contains_key("message") {
        return None;
    }
    let id = obj.get("id")?;
    let n = id
        .as_u64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))?;
    (n > 0).then_some(n)
}

/// JSON equality with numbers compared by value (PHP writes `10.0` as `10`).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return true;
            }
            // serde_json's default float parsing may be one ulp off: compare within a few ulps.
            match (x.as_f64(), y.as_f64()) {
                (Some(f), Some(g)) => {
                    f == g || (f - g).abs() <= 4.0 * f64::EPSILON * f.abs().max(g.abs())
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
        }
        _ => a == b,
    }
}

/// Every float `php_float` writes reads back as the same float (checked with the exact std parser).
fn floats_round_trip(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            let f = n.as_f64().unwrap_or_default();
            let text = php_json::php_float(f);
            match text.parse::<f64>() {
                Ok(back) if back == f || !f.is_finite() => Ok(()),
                other => Err(format!(
                    "php_float({f:?}) wrote {text:?}, which reads back as {other:?}"
                )),
            }
        }
        Value::Array(items) => items.iter().try_for_each(floats_round_trip),
        Value::Object(map) => map.values().try_for_each(floats_round_trip),
        _ => Ok(()),
    }
}

fn intern(code: &str) -> &'static str {
    const CODES: [&str; 12] = [
        "not_found",
        "method_not_allowed",
        "unknown_connector",
        "payload_too_large",
        "unavailable",
        "missing_signature",
        "connector_not_configured",
        "invalid_signature",
        "invalid_body",
        "queued",
        "ignored",
        "pong",
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("other_error")
}

// ---------------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------------

thread_local! {
    /// Set while a harness thread runs a case: its panics are recorded, not printed.
    static QUIET: RefCell<bool> = const { RefCell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the panics of harness threads instead of printing them.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| *q.borrow()) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                // The innermost project function on the stack names the finding.
                let trace = std::backtrace::Backtrace::force_capture().to_string();
                let frames: Vec<&str> = trace
                    .lines()
                    .map(str::trim)
                    .filter(|l| {
                        ["woosellsy_", "woocommerce::", "woo_calc::"]
                            .iter()
                            .any(|p| l.contains(p))
                            && !l.contains("fuzz")
                    })
                    .take(6)
                    .collect();
                let inner = frames
                    .first()
                    .map(|f| f.split_once(": ").map_or(*f, |(_, name)| name))
                    .unwrap_or("?");
                LAST_PANIC.with(|p| {
                    *p.borrow_mut() = Some(format!(
                        "panic in {inner}: {message} (at {location}; project frames: {})",
                        frames.join(" < ")
                    ))
                });
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs one case, catching a panic. `Err` describes the finding (its first line is its signature).
pub fn run_guarded(harness: &Harness, data: &[u8]) -> Result<CaseOutcome, String> {
    QUIET.with(|q| *q.borrow_mut() = true);
    let result = panic::catch_unwind(AssertUnwindSafe(|| harness.run_case(data)));
    QUIET.with(|q| *q.borrow_mut() = false);
    match result {
        Ok(r) => r,
        Err(_) => Err(LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".to_owned())),
    }
}

/// SplitMix64: the input bytes of the stable loop.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Fuzz input: mostly short (the decisions), sometimes long (raw bodies).
    pub fn input(&mut self, out: &mut Vec<u8>) {
        let len = match self.next_u64() % 10 {
            0..=4 => self.next_u64() % 512,
            5..=8 => 512 + self.next_u64() % 3584,
            _ => 4096 + self.next_u64() % 12288,
        } as usize;
        out.clear();
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub iterations: u64,
    pub seed: u64,
    pub threads: usize,
    /// Stop after this long even if `iterations` are not done.
    pub max_time: Option<Duration>,
    /// Where findings are written (`None`: not written).
    pub findings_dir: Option<PathBuf>,
    pub progress: bool,
}

/// A finding: its signature, one description, how many inputs hit it and the first inputs.
#[derive(Debug, Clone)]
pub struct Finding {
    pub signature: String,
    pub detail: String,
    pub count: u64,
    pub inputs: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub executions: u64,
    pub elapsed: Duration,
    pub statuses: BTreeMap<u16, u64>,
    pub answers: BTreeMap<&'static str, u64>,
    pub decoded: u64,
    pub planned: u64,
    pub id_disagreements: u64,
    pub findings: BTreeMap<String, Finding>,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.executions += other.executions;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.answers {
            *self.answers.entry(k).or_default() += v;
        }
        self.decoded += other.decoded;
        self.planned += other.planned;
        self.id_disagreements += other.id_disagreements;
        for (k, f) in other.findings {
            match self.findings.get_mut(&k) {
                Some(mine) => {
                    mine.count += f.count;
                    mine.inputs.extend(f.inputs);
                    mine.inputs.truncate(3);
                }
                None => {
                    self.findings.insert(k, f);
                }
            }
        }
    }

    pub fn print(&self) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "executions: {}  elapsed: {:.1} s  executions/s: {:.0}",
            self.executions,
            secs,
            self.executions as f64 / secs
        );
        println!("statuses: {:?}", self.statuses);
        println!("answers: {:?}", self.answers);
        println!(
            "bodies decoded as orders: {}  with a plan: {}  queued id read differently by the decoder: {}",
            self.decoded, self.planned, self.id_disagreements
        );
        if self.findings.is_empty() {
            println!("findings: none");
        }
        for f in self.findings.values() {
            println!(
                "FINDING ({} inputs): {}\n  {}",
                f.count, f.signature, f.detail
            );
        }
    }
}

fn finding_signature(detail: &str) -> String {
    // Panics by innermost project function and message, invariants by name.
    match detail.strip_prefix("panic in ") {
        Some(rest) => format!("panic in {}", rest.split(" (at ").next().unwrap_or(rest)),
        None => detail.split(": ").next().unwrap_or(detail).to_owned(),
    }
}

/// The loop of one thread.
fn run_thread(
    config: &Config,
    thread: usize,
    iterations: u64,
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Report {
    let mut harness = Harness::new();
    let mut rng = Rng::new(config.seed ^ (thread as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    let mut report = Report::default();
    let mut input = Vec::new();
    let started = Instant::now();
    for i in 0..iterations {
        if i % 256 == 0
            && (stop.load(Ordering::Relaxed)
                || config.max_time.is_some_and(|t| started.elapsed() >= t))
        {
            break;
        }
        rng.input(&mut input);
        match run_guarded(&harness, &input) {
            Ok(o) => {
                *report.statuses.entry(o.status).or_default() += 1;
                *report.answers.entry(o.answer).or_default() += 1;
                report.decoded += u64::from(o.decoded);
                report.planned += u64::from(o.planned);
                report.id_disagreements += u64::from(o.id_disagreement);
            }
            Err(detail) => {
                let panicked = detail.starts_with("panic");
                let signature = finding_signature(&detail);
                let f = report
                    .findings
                    .entry(signature.clone())
                    .or_insert_with(|| Finding {
                        signature,
                        detail: detail.chars().take(2000).collect(),
                        count: 0,
                        inputs: Vec::new(),
                    });
                f.count += 1;
                if f.inputs.len() < 3 {
                    f.inputs.push(input.clone());
                }
                if panicked {
                    // Whatever the panic left half-done, start again from a fresh receiver.
                    harness = Harness::new();
                }
            }
        }
        report.executions += 1;
        if i % 1024 == 1023 {
            done.fetch_add(1024, Ordering::Relaxed);
        }
    }
    report
}

/// Runs the loop on `config.threads` threads and merges their reports.
pub fn run(config: &Config) -> Report {
    install_panic_hook();
    let threads = config.threads.max(1);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut report = Report::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = config.iterations / threads as u64
                    + u64::from((t as u64) < config.iterations % threads as u64);
                let (done, stop) = (&done, &stop);
                scope.spawn(move || run_thread(config, t, share, done, stop))
            })
            .collect();
        let mut last = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
            if config.progress && last.elapsed() >= Duration::from_secs(10) {
                last = Instant::now();
                let n = done.load(Ordering::Relaxed);
                println!(
                    "… {n} executions, {:.0}/s",
                    n as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            match h.join() {
                Ok(r) => report.merge(r),
                Err(_) => eprintln!("a fuzz thread died outside a case"),
            }
        }
    });
    report.elapsed = started.elapsed();
    if let Some(dir) = &config.findings_dir {
        save_findings(dir, &report);
    }
    report
}

fn save_findings(dir: &std::path::Path, report: &Report) {
    if report.findings.is_empty() {
        return;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return;
    }
    let harness = Harness::new();
    for f in report.findings.values() {
        let slug: String = f
            .signature
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .take(10)
            .collect::<Vec<_>>()
            .join("-");
        for (i, input) in f.inputs.iter().enumerate() {
            let base = dir.join(format!("{slug}-{i}"));
            let text = format!(
                "{}\n\n{}\n\nreplay: cargo run --release -p woosellsy-engine --example fuzz -- --replay {}.bin\n\n{}",
                f.signature,
                f.detail,
                base.display(),
                harness.delivery(input).render()
            );
            let written = std::fs::write(base.with_extension("bin"), input)
                .and_then(|()| std::fs::write(base.with_extension("txt"), text));
            match written {
                Ok(()) => println!("saved {}.{{bin,txt}}", base.display()),
                Err(e) => eprintln!("cannot save {}: {e}", base.display()),
            }
        }
    }
}

fn default_findings_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("fuzz-findings")
}

fn usage() -> ! {
    eprintln!(
        "usage: fuzz [--iterations N] [--seed S] [--threads T] [--secs S] [--findings DIR] [--replay FILE]"
    );
    std::process::exit(2)
}

fn main() {
    let mut config = Config {
        iterations: 1_000_000,
        seed: 1,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_time: None,
        findings_dir: Some(default_findings_dir()),
        progress: true,
    };
    let mut replay = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--iterations" => config.iterations = value().parse().unwrap_or_else(|_| usage()),
            "--seed" => config.seed = value().parse().unwrap_or_else(|_| usage()),
            "--threads" => config.threads = value().parse().unwrap_or_else(|_| usage()),
            "--secs" => {
                config.max_time = Some(Duration::from_secs(
                    value().parse().unwrap_or_else(|_| usage()),
                ));
                if !std::env::args().any(|a| a == "--iterations") {
                    config.iterations = u64::MAX;
                }
            }
            "--findings" => config.findings_dir = Some(PathBuf::from(value())),
            "--replay" => replay = Some(PathBuf::from(value())),
            _ => usage(),
        }
    }

    if let Some(path) = replay {
        let input = std::fs::read(&path).unwrap_or_else(|e| {
            eprintln!("cannot read {}: {e}", path.display());
            std::process::exit(2)
        });
        install_panic_hook();
        let harness = Harness::new();
        println!("{}", harness.delivery(&input).render());
        match run_guarded(&harness, &input) {
            Ok(outcome) => println!("ok: {outcome:?}"),
            Err(finding) => {
                println!("FINDING: {finding}");
                std::process::exit(1);
            }
        }
        return;
    }

    println!(
        "fuzzing the receiver and the order decoder: {} iterations, seed {}, {} threads{}",
        if config.iterations == u64::MAX {
            "unbounded".to_owned()
        } else {
            config.iterations.to_string()
        },
        config.seed,
        config.threads,
        config
            .max_time
            .map(|t| format!(", at most {} s", t.as_secs()))
            .unwrap_or_default()
    );
    let report = run(&config);
    report.print();
    if !report.findings.is_empty() {
        std::process::exit(1);
    }
}
