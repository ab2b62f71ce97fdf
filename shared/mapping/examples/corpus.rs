//! Maps a corpus of generated WooCommerce orders (the property tests' generator, computed with `woo-calc`)
//! and prints how often rounding rows are added, for each Sellsy tax rounding setting (unknown, per row,
//! per rate) and per shop setting.
//!
//! `cargo run -p woosellsy-mapping --example corpus -- [N] [COPIES]` (default 20,000 orders, fixed seed;
//! `COPIES` > 1 repeats each cart's lines that many times, the hard case for rounding; carts WooCommerce would
//! cap are then skipped). The first refused orders are printed in full.

#[path = "../tests/support/carts.rs"]
mod carts;

use std::collections::BTreeMap;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use woocommerce::Order;
use woosellsy_domain::{ConnectorSettings, DocumentKind, TaxRounding};
use woosellsy_mapping::{CorrectionKind, plan_document};

const ROUNDINGS: [(TaxRounding, &str); 3] = [
    (TaxRounding::Unknown, "unknown (both)"),
    (TaxRounding::PerRow, "per row"),
    (TaxRounding::PerRate, "per rate"),
];

/// Outcomes under one Sellsy rounding setting.
#[derive(Default)]
struct Tally {
    /// Orders by number of rounding rows, 3 meaning "three or more".
    by_rows: [usize; 4],
    rows: BTreeMap<CorrectionKind, usize>,
    /// Corrected orders per shop setting (prices include tax, round at subtotal).
    corrected: BTreeMap<(bool, bool), usize>,
    errors: BTreeMap<String, usize>,
}

fn percent(count: usize, of: usize) -> f64 {
    100.0 * count as f64 / of.max(1) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let copies: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);
    let base: ConnectorSettings = serde_json::from_value(serde_json::json!({
        "id": "corpus",
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
    }))?;
    let settings: Vec<ConnectorSettings> = ROUNDINGS
        .iter()
        .map(|(r, _)| ConnectorSettings {
            sellsy_tax_rounding: *r,
            ..base.clone()
        })
        .collect();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = carts::order_spec();

    let mut tallies: Vec<Tally> = ROUNDINGS.iter().map(|_| Tally::default()).collect();
    let mut shops: BTreeMap<(bool, bool), usize> = BTreeMap::new();
    let mut orders = 0;
    let mut skipped = 0;
    let mut printed = 0;
    for i in 0..n {
        let mut spec = strategy
            .new_tree(&mut runner)
            .map_err(|e| e.to_string())?
            .current();
        let lines = spec.lines.clone();
        for _ in 1..copies {
            spec.lines.extend(lines.iter().cloned());
        }
        if copies > 1 && carts::woocommerce_capped(&spec) {
            skipped += 1;
            continue;
        }
        let order: Order = serde_json::from_value(woo_calc::build_order(i as u64 + 1, &spec))?;
        let shop = (spec.prices_include_tax, spec.round_at_subtotal);
        orders += 1;
        *shops.entry(shop).or_default() += 1;
        for (tally, settings) in tallies.iter_mut().zip(&settings) {
            match plan_document(&order, settings, DocumentKind::Invoice) {
                Ok(planned) => {
                    tally.by_rows[planned.corrections.len().min(3)] += 1;
                    if !planned.corrections.is_empty() {
                        *tally.corrected.entry(shop).or_default() += 1;
                    }
                    for c in &planned.corrections {
                        *tally.rows.entry(c.kind).or_default() += 1;
                    }
                }
                Err(e) => {
                    if printed < 3 {
                        printed += 1;
                        eprintln!(
                            "refused ({:?}): {e}\n{spec:#?}",
                            settings.sellsy_tax_rounding
                        );
                    }
                    let key = format!("{e:?}");
                    *tally
                        .errors
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
    }

    print!("{orders} generated orders (fixed seed)");
    if copies > 1 {
        print!(", lines repeated {copies} times, {skipped} capped carts skipped");
    }
    println!("\n\nrounding rows per order, by Sellsy tax rounding setting:");
    println!(
        "{:<16} {:>16} {:>16} {:>16} {:>16} {:>8} {:>8}",
        "setting", "no row", "one row", "two rows", "three+", "tax", "total"
    );
    for ((_, name), t) in ROUNDINGS.iter().zip(&tallies) {
        let cell = |k: usize| format!("{} ({:.1} %)", t.by_rows[k], percent(t.by_rows[k], orders));
        println!(
            "{name:<16} {:>16} {:>16} {:>16} {:>16} {:>8} {:>8}",
            cell(0),
            cell(1),
            cell(2),
            cell(3),
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
    println!("(tax / total: rounding rows added for a rate's tax / for the order total)");

    println!("\norders corrected, by shop setting:");
    print!("{:<34} {:>7}", "shop setting", "orders");
    for (_, name) in ROUNDINGS {
        print!(" {name:>16}");
    }
    println!();
    for (shop, count) in &shops {
        let (pit, ras) = *shop;
        let setting = format!(
            "{} / {}",
            if pit {
                "prices incl. tax"
            } else {
                "prices excl. tax"
            },
            if ras {
                "round at subtotal"
            } else {
                "round per line"
            }
        );
        print!("{setting:<34} {count:>7}");
        for t in &tallies {
            let c = t.corrected.get(shop).copied().unwrap_or(0);
            print!(" {:>16}", format!("{c} ({:.1} %)", percent(c, *count)));
        }
        println!();
    }

    for ((_, name), t) in ROUNDINGS.iter().zip(&tallies) {
        if t.errors.is_empty() {
            println!("\n{name}: no order refused");
        } else {
            println!("\n{name}: refused orders:");
            for (kind, count) in &t.errors {
                println!("  {kind}: {count}");
            }
        }
    }
    Ok(())
}
