//! The lenient order decoder (`serde_json::from_slice::<woocommerce::Order>`) and the mapping behind it
//! (`plan_document`, `eligibility`), plus `php_json::encode` on whatever parses as JSON. Input starting
//! with `{` or `[` is decoded as is (seed the corpus with `tests/fixtures/woocommerce/*order*.json`);
//! other input describes a structure-aware generated body (see `shared/engine/examples/fuzz.rs`).
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../shared/engine/examples/fuzz.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;

thread_local! {
    static HARNESS: harness::Harness = harness::Harness::new();
}

fuzz_target!(|data: &[u8]| {
    HARNESS.with(|h| {
        if let Err(finding) = h.decoder_case(data) {
            panic!("{finding}");
        }
    });
});
