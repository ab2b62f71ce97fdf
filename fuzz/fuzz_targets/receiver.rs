//! The webhook receiver, headers and body: the input bytes describe a delivery (see
//! `shared/engine/examples/fuzz.rs`, shared with the stable loop), and every invariant the stable loop
//! checks is checked here; a broken one is a crash.
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
        if let Err(finding) = h.receiver_case(data) {
            panic!("{finding}");
        }
    });
});
