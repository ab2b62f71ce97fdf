//! Maps a corpus of generated WooCommerce orders (the property tests' generator, computed with `woo-calc`)
//! and prints how often each rounding correction fires, per shop setting.
//!
//! `cargo run -p woosellsy-mapping --example corpus -- [N] [COPIES]` (default 20,000 orders, fixed seed;
//! `COPIES` > 1 repeats each cart's lines up to that many times, the hard case for rounding). The first
//! refused orders are printed in full.

#[path = "../tests/support/carts.rs"]
mod carts;

use std::collections::BTreeMap;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use woocommerce::Order;
use woosellsy_domain::{ConnectorSettings, DocumentKind};
use woosellsy_mapping::{CorrectionKind, plan_document};

#[derive(Default)]
struct Tally {
    orders: usize,
    corrected: usize,
    rows: BTreeMap<CorrectionKind, usize>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let settings: ConnectorSettings = serde_json::from_value(serde_json::json!({
        "id": "corpus",
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
    }))?;
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = carts::order_spec();

    let mut by_setting: BTreeMap<(bool, bool), Tally> = BTreeMap::new();
    let mut per_order: BTreeMap<usize, usize> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..n {
        let spec = strategy
            .new_tree(&mut runner)
            .map_err(|e| e.to_string())?
            .current();
        let order: Order = serde_json::from_value(woo_calc::build_order(i as u64 + 1, &spec))?;
        let tally = by_setting
            .entry((spec.prices_include_tax, spec.round_at_subtotal))
            .or_default();
        tally.orders += 1;
        match plan_document(&order, &settings, DocumentKind::Invoice) {
            Ok(planned) => {
                *per_order.entry(planned.corrections.len()).or_default() += 1;
                if !planned.corrections.is_empty() {
                    tally.corrected += 1;
                }
                for c in &planned.corrections {
                    *tally.rows.entry(c.kind).or_default() += 1;
                }
            }
            Err(e) => {
                if errors.values().sum::<usize>() < 3 {
                    eprintln!("refused: {e}\n{spec:#?}");
                }
                let key = format!("{e:?}");
                *errors
                    .entry(
                        key.split([' ', '{', '('])
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                    .or_default() += 1;
            }
        }
    }

    println!("{n} generated orders (fixed seed)\n");
    println!(
        "{:<34} {:>7} {:>18} {:>14} {:>15}",
        "setting", "orders", "orders corrected", "tax rounding", "total rounding"
    );
    for ((pit, ras), t) in &by_setting {
        let setting = format!(
            "{} / {}",
            if *pit {
                "prices incl. tax"
            } else {
                "prices excl. tax"
            },
            if *ras {
                "round at subtotal"
            } else {
                "round per line"
            }
        );
        println!(
            "{setting:<34} {:>7} {:>10} ({:>4.1} %) {:>14} {:>15}",
            t.orders,
            t.corrected,
            100.0 * t.corrected as f64 / t.orders.max(1) as f64,
            t.rows
                .get(&CorrectionKind::TaxRounding)
                .copied()
                .unwrap_or(0),
            t.rows
                .get(&CorrectionKind::TotalRounding)
                .copied()
                .unwrap_or(0),
        );
    }
    println!("\nrounding rows per order:");
    for (rows, count) in &per_order {
        println!(
            "  {rows:>2} rows: {count:>6} orders ({:.2} %)",
            100.0 * *count as f64 / n as f64
        );
    }
    if errors.is_empty() {
        println!("\nno order refused");
    } else {
        println!("\nrefused orders:");
        for (kind, count) in &errors {
            println!("  {kind}: {count}");
        }
    }
    Ok(())
}
