//! Crash points for black-box tests.
//!
//! The exactly-once promise is only worth something if it holds when the process dies between two
//! steps (after Sellsy created the document, before the claim recorded it). The tests prove it by
//! running the real binary with `WOOSELLSY_CRASH_AT=<point>`: reaching that point aborts the process
//! on the spot, as a kill -9 or a Lambda timeout would. Unset (always, in production) it costs one
//! environment lookup per document.

/// The environment variable naming the crash point to trigger.
pub const CRASH_ENV: &str = "WOOSELLSY_CRASH_AT";

/// Just after the accounting backend created a document, before the claim records it.
pub const AFTER_DOCUMENT_CREATE: &str = "after-document-create";

/// Aborts the process if `point` is the configured crash point.
pub fn crash_point(point: &str) {
    if std::env::var(CRASH_ENV).is_ok_and(|v| v == point) {
        eprintln!("woosellsy: crash point {point} reached ({CRASH_ENV}), aborting");
        std::process::abort();
    }
}
