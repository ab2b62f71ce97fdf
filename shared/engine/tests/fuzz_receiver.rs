//! The fuzz loop of `examples/fuzz.rs`, for a fixed number of cases on every test run: generated
//! deliveries (mutated real payloads, computed orders, arbitrary bytes; right, wrong and missing
//! signatures; odd headers) through the receiver, and their bodies through the order decoder and the
//! mapping. The long runs are `cargo run --release -p woosellsy-engine --example fuzz`.

#[path = "../examples/fuzz.rs"]
mod fuzz;

use fuzz::{Config, Harness};

#[test]
fn generated_deliveries_keep_the_receiver_and_decoder_invariants() {
    let report = fuzz::run(&Config {
        iterations: 2_000,
        seed: 0x5eed_2026,
        threads: 2,
        max_time: None,
        findings_dir: None,
        progress: false,
    });
    report.print();
    let unknown: Vec<_> = report
        .findings
        .values()
        .map(|f| {
            let replay = Harness::new().delivery(&f.inputs[0]).render();
            format!(
                "{} ({} inputs)\n{}\n{replay}",
                f.signature, f.count, f.detail
            )
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "fuzz findings:\n{}",
        unknown.join("\n\n")
    );

    // The generator reaches every branch that matters, so a passing run means something.
    assert_eq!(report.executions, 2_000);
    let answers = |what: &str| report.answers.get(what).copied().unwrap_or(0);
    for (what, at_least) in [
        ("queued", 50),
        ("ignored", 50),
        ("invalid_signature", 50),
        ("missing_signature", 20),
        ("invalid_body", 20),
        ("payload_too_large", 10),
        ("method_not_allowed", 20),
        ("unknown_connector", 20),
        ("unavailable", 1),
    ] {
        assert!(
            answers(what) >= at_least,
            "only {} `{what}` answers in {:?}",
            answers(what),
            report.answers
        );
    }
    assert!(report.decoded >= 500, "{} bodies decoded", report.decoded);
    assert!(report.planned >= 200, "{} plans", report.planned);
}

#[test]
fn the_signed_fixture_delivery_is_queued_once() {
    // Out of input bytes every decision is the ordinary one: the first fixture order, signed with the
    // right secret, POSTed to a known connector on `order.updated`.
    let harness = Harness::new();
    let delivery = harness.delivery(&[]);
    assert_eq!(delivery.method, http::Method::POST);
    assert_eq!(delivery.path, "/webhooks/shop");
    let outcome = harness.check_receiver(&delivery).unwrap();
    assert_eq!((outcome.status, outcome.answer), (200, "queued"));
}
