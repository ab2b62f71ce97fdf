//! The storm, shared by `examples/storm` (the benchmark) and `tests/api/storm.rs` (its small version in the
//! test command): the shop's orders, computed the way WooCommerce does (`woo_calc`); their webhooks delivered
//! several times each, shuffled, by concurrent senders; and the count of what Sellsy ended up with.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::Value;
use sim_sellsy::{CallRecord, Duplicates, SellsySim};
use sim_woocommerce::WooSim;
use woo_calc::{CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec};

/// What to generate.
#[derive(Clone, Debug)]
pub struct ShopSpec {
    pub orders: usize,
    pub customers: usize,
    pub skus: usize,
    /// Share of orders left unpaid (`pending`): they must get no invoice.
    pub unpaid_ratio: f64,
    pub seed: u64,
}

/// One generated order, as inserted into the WooCommerce simulator.
#[derive(Clone, Debug)]
pub struct StormOrder {
    pub id: u64,
    pub paid: bool,
    pub json: Value,
}

/// French rates (rate id, percent in tenths): standard, reduced, intermediate.
const RATES: [(u64, i64); 3] = [(1, 200), (2, 55), (3, 100)];
const FIRST: [&str; 12] = [
    "Camille", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Manon", "Arthur", "Zoé", "Noé",
    "Émile",
];
const LAST: [&str; 12] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Lefèvre",
];
const CITIES: [(&str, &str); 6] = [
    ("Lyon", "69003"),
    ("Paris", "75011"),
    ("Nantes", "44000"),
    ("Lille", "59000"),
    ("Bordeaux", "33000"),
    ("Grenoble", "38000"),
];
const GOODS: [&str; 10] = [
    "T-shirt bio",
    "Tasse émaillée",
    "Carnet A5",
    "Savon d'Alep",
    "Livre de recettes",
    "Bougie cire",
    "Sac en lin",
    "Thé vert",
    "Affiche 50×70",
    "Chaussettes laine",
];

struct Sku {
    reference: String,
    name: String,
    price: Decimal,
    rate: (u64, Decimal),
}

fn customer(i: usize, rng: &mut StdRng) -> CustomerSpec {
    let (city, postcode) = CITIES[i % CITIES.len()];
    let mut c = CustomerSpec {
        customer_id: if i.is_multiple_of(3) {
            0
        } else {
            100 + i as u64
        },
        email: format!("client{i:03}@example.fr"),
        first_name: FIRST[i % FIRST.len()].to_owned(),
        last_name: LAST[(i / FIRST.len()) % LAST.len()].to_owned(),
        address_1: format!("{} rue des Lilas", 1 + i % 90),
        postcode: postcode.to_owned(),
        city: city.to_owned(),
        phone: format!("+33 6 00 00 {:02} {:02}", i / 100 % 100, i % 100),
        ..CustomerSpec::default()
    };
    // One customer in six is a company (with its VAT number), some buy only virtual goods.
    if i % 6 == 5 {
        c.company = format!("Atelier {} SARL", c.last_name);
        c.vat_number = Some(format!("FR{:02}{:09}", i % 97, 100_000_000 + i));
    }
    c.has_shipping_address = rng.random_bool(0.9);
    c
}

/// The shop's orders: each a random customer (returning ones included) buying 1–4 of the SKUs, with
/// prices entered with tax, shipping most of the time, sometimes a coupon or a gift-wrap fee. Orders
/// WooCommerce would cap (a total below zero) are drawn again.
pub fn generate(spec: &ShopSpec) -> Vec<StormOrder> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let skus: Vec<Sku> = (0..spec.skus.max(1))
        .map(|i| {
            let r = rng.random_range(0..10);
            let (rate_id, tenths) = RATES[if r < 7 {
                0
            } else if r < 9 {
                1
            } else {
                2
            }];
            Sku {
                reference: format!("WS-{i:03}"),
                name: format!("{} n°{}", GOODS[i % GOODS.len()], i + 1),
                price: Decimal::new(rng.random_range(150..=12_000), 2),
                rate: (rate_id, Decimal::new(tenths, 1)),
            }
        })
        .collect();
    let customers: Vec<CustomerSpec> = (0..spec.customers.max(1))
        .map(|i| customer(i, &mut rng))
        .collect();
    let base = NaiveDate::from_ymd_opt(2025, 6, 2)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .unwrap_or_default();
    (0..spec.orders)
        .map(|k| {
            let id = 10_001 + k as u64;
            loop {
                let mut c = customers[rng.random_range(0..customers.len())].clone();
                // Some shoppers type their email with capitals: still the same customer.
                if rng.random_bool(0.1) {
                    c.email = c.email.to_uppercase();
                }
                let mut picked: Vec<usize> = (0..skus.len()).collect();
                picked.shuffle(&mut rng);
                picked.truncate(rng.random_range(1..=4usize.min(skus.len())));
                let lines = picked
                    .iter()
                    .map(|&s| {
                        let sku = &skus[s];
                        LineSpec {
                            product_id: 500 + s as u64,
                            variation_id: 0,
                            sku: Some(sku.reference.clone()),
                            name: sku.name.clone(),
                            quantity: Decimal::from(if rng.random_bool(0.85) {
                                rng.random_range(1..=3)
                            } else {
                                rng.random_range(4..=12)
                            }),
                            unit_price: sku.price,
                            tax_rate: sku.rate.1,
                            tax_rate_id: sku.rate.0,
                        }
                    })
                    .collect();
                let date = base + chrono::Duration::minutes(7 * k as i64);
                let mut o = OrderSpec::paid(lines, date);
                o.prices_include_tax = true;
                o.customer = c;
                if o.customer.has_shipping_address && rng.random_bool(0.85) {
                    o.shipping.push(ShippingSpec {
                        method_id: "flat_rate".into(),
                        title: "Colissimo".into(),
                        cost: Decimal::new(if rng.random_bool(0.5) { 490 } else { 690 }, 2),
                        tax_rate: Decimal::new(200, 1),
                        tax_rate_id: 1,
                    });
                }
                match rng.random_range(0..20) {
                    0 | 1 => o.coupons.push(CouponSpec::Percent {
                        code: "BIENVENUE10".into(),
                        percent: Decimal::from(10),
                    }),
                    2 => o.coupons.push(CouponSpec::FixedCart {
                        code: "MOINS5".into(),
                        amount: Decimal::from(5),
                    }),
                    _ => {}
                }
                if rng.random_bool(0.05) {
                    o.fees.push(FeeSpec {
                        name: "Emballage cadeau".into(),
                        amount: Decimal::new(250, 2),
                        taxable: true,
                        tax_rate: Decimal::new(200, 1),
                        tax_rate_id: 1,
                    });
                }
                let paid = !rng.random_bool(spec.unpaid_ratio.clamp(0.0, 1.0));
                if !paid {
                    o.paid = false;
                    o.status = "pending".into();
                }
                let calc = woo_calc::calculate(&o);
                if calc.total != calc.uncapped_total {
                    continue;
                }
                break StormOrder {
                    id,
                    paid,
                    json: woo_calc::build_order(id, &o),
                };
            }
        })
        .collect()
}

/// What the senders did.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Deliveries acknowledged (2xx).
    pub acknowledged: usize,
    /// Attempts not acknowledged and sent again (the process down or restarting, a 5xx).
    pub retried: usize,
    /// Deliveries refused for good (4xx) or never acknowledged within the bounds.
    pub failed: Vec<String>,
}

/// Delivers every order's webhook `deliveries` times (the first `order.created`, the others
/// `order.updated`), all shuffled together, from `senders` concurrent senders. A delivery that is not
/// acknowledged (connection refused while the process restarts, 5xx) is sent again every 100 ms, up to
/// `deadline`; a 4xx is a failure and is not repeated.
pub async fn deliver_storm(
    woo: &WooSim,
    hooks: (u64, u64),
    orders: &[StormOrder],
    deliveries: usize,
    senders: usize,
    seed: u64,
    deadline: Instant,
) -> Sent {
    let mut plan: Vec<(u64, u64)> = orders
        .iter()
        .flat_map(|o| (0..deliveries).map(move |j| (if j == 0 { hooks.0 } else { hooks.1 }, o.id)))
        .collect();
    plan.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5EED));
    let results: Vec<(usize, Option<String>)> = futures::stream::iter(plan)
        .map(|(hook, order)| async move {
            let mut retried = 0;
            loop {
                let d = woo.deliver(hook, order).await;
                if d.ok {
                    return (retried, None);
                }
                let for_good = (400..500).contains(&d.status) && d.status != 408 && d.status != 429;
                if for_good || Instant::now() >= deadline {
                    return (
                        retried,
                        Some(format!(
                            "order {order} webhook {hook}: status {} {}",
                            d.status,
                            d.error.unwrap_or_default()
                        )),
                    );
                }
                retried += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .buffer_unordered(senders.max(1))
        .collect()
        .await;
    let mut sent = Sent::default();
    for (retried, failed) in results {
        sent.retried += retried;
        match failed {
            None => sent.acknowledged += 1,
            Some(f) => sent.failed.push(f),
        }
    }
    sent
}

/// `GET /health` with the status token: the queue depth, `None` when the process does not answer.
pub async fn queue_depth(http: &reqwest::Client, port: u16, token: &str) -> Option<u64> {
    let r = http
        .get(format!("http://127.0.0.1:{port}/health"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["queue_depth"].as_u64()
}

/// Waits until WooCommerce has sent its own queued deliveries (the write-backs' `order.updated`) and the
/// connector's queue has been empty for 1 s (5 looks 200 ms apart), or `deadline`. True when drained.
pub async fn wait_drained(woo: &WooSim, port: u16, token: &str, deadline: Instant) -> bool {
    let http = reqwest::Client::new();
    let mut empty = 0;
    while Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_secs(10), woo.settle()).await;
        empty = match queue_depth(&http, port, token).await {
            Some(0) => empty + 1,
            _ => 0,
        };
        if empty >= 5 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// What Sellsy ended up with.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub orders: usize,
    pub paid: usize,
    /// Invoices carrying one of the storm's order references.
    pub invoices: usize,
    /// Paid orders without an invoice, with the order's `woosellsy.error` when it has one.
    pub missing: Vec<String>,
    /// Unpaid orders that got an invoice.
    pub unpaid_invoiced: Vec<String>,
    pub duplicates: Duplicates,
    pub individuals: usize,
    pub companies: usize,
    pub items: usize,
    /// Sellsy API calls, total and by `METHOD /path` (ids replaced by `{id}`).
    pub calls: usize,
    pub calls_by_endpoint: BTreeMap<String, usize>,
    pub token_calls: usize,
    /// Creates answered 503 after committing: invoices, others.
    pub injected: (usize, usize),
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.missing.is_empty()
            && self.unpaid_invoiced.is_empty()
            && self.duplicates.is_empty()
            && self.invoices == self.paid
    }
}

fn endpoint(c: &CallRecord) -> String {
    let path: Vec<String> = c
        .path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("{} {}", c.method, path.join("/"))
}

pub fn outcome(woo: &WooSim, sellsy: &SellsySim, orders: &[StormOrder]) -> Outcome {
    let mut per_reference: BTreeMap<String, usize> = BTreeMap::new();
    for inv in sellsy.invoices() {
        if let Some(r) = inv["order_reference"].as_str() {
            *per_reference.entry(r.to_string()).or_default() += 1;
        }
    }
    let mut out = Outcome {
        orders: orders.len(),
        ..Outcome::default()
    };
    for o in orders {
        let current = woo.order(o.id).unwrap_or_default();
        let reference = format!("WC-{}", current["number"].as_str().unwrap_or_default());
        let n = per_reference.get(&reference).copied().unwrap_or(0);
        out.invoices += n;
        if o.paid {
            out.paid += 1;
            if n == 0 {
                let error = current["meta_data"]
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["key"] == "woosellsy.error"))
                    .map(|m| m["value"].to_string())
                    .unwrap_or_else(|| "no error recorded".into());
                out.missing.push(format!("{reference}: {error}"));
            }
        } else if n > 0 {
            out.unpaid_invoiced.push(reference);
        }
    }
    out.duplicates = sellsy.duplicates();
    out.individuals = sellsy.individuals().len();
    out.companies = sellsy.companies().len();
    out.items = sellsy.items().len();
    let calls = sellsy.calls();
    out.calls = calls.len();
    for c in &calls {
        *out.calls_by_endpoint.entry(endpoint(c)).or_default() += 1;
    }
    out.token_calls = sellsy.token_calls();
    let injected = sellsy.commit_then_fail_injected();
    let invoices = injected.iter().filter(|p| *p == "/v2/invoices").count();
    out.injected = (invoices, injected.len() - invoices);
    out
}
