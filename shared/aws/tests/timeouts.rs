//! The timeouts of the deployed stack agree with each other and with the code's defaults, so that a
//! claim never ends while the create it guards may still run, and a create always fits in an
//! invocation: the converter's Lambda timeout, the claim lease, the queue's visibility timeout and
//! the Sellsy client's longest waits. Read from `template.yaml`, not restated here.

use std::time::Duration;

use sellsy::CallRetries;
use woosellsy_aws::functions::{INVOCATION_RESERVE, MIN_RECORD_TIME};
use woosellsy_engine::ConverterSettings;
use woosellsy_engine::converter::LEASE_MARGIN;

fn template() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml")
}

/// The first `key: <seconds>` after the line `resource:` (the resource's own property).
fn seconds_in(template: &str, resource: &str, key: &str) -> Duration {
    let start = template
        .find(&format!("\n  {resource}:"))
        .unwrap_or_else(|| panic!("{resource} in template.yaml"));
    let value = template[start..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} of {resource}"))
        .trim();
    Duration::from_secs(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{key} of {resource}: {value}")),
    )
}

#[test]
fn the_stacks_timeouts_and_the_claim_lease_agree() {
    let t = template();
    let invocation = seconds_in(&t, "ConverterFunction", "Timeout");
    let visibility = seconds_in(&t, "EventsQueue", "VisibilityTimeout");
    let converter = ConverterSettings::default();
    converter.check().expect("the default converter settings");

    // A create started with MIN_RECORD_TIME left is cut to what remains; one started early may use
    // its whole budget: either way it ends inside the invocation.
    assert!(
        converter.create_budget + INVOCATION_RESERVE <= invocation,
        "create budget {:?} + reserve must fit the converter's timeout {invocation:?}",
        converter.create_budget
    );
    assert!(MIN_RECORD_TIME + INVOCATION_RESERVE < invocation);
    // A claim outlives the invocation holding it: no other worker takes it over while it may still
    // create (an invocation that timed out is dead by then).
    assert!(
        converter.lease >= invocation + LEASE_MARGIN,
        "lease {:?} must outlive the converter's timeout {invocation:?}",
        converter.lease
    );
    // AWS requires the visibility to cover an invocation; covering the lease too means a message
    // whose invocation died comes back once its claim is free to be recovered.
    assert!(visibility >= invocation && visibility >= converter.lease);
    // The Sellsy client's own waits fit the create budget: a 429's Retry-After slept on, or one request
    // timing out, leaves the create inside its budget.
    let calls = CallRetries::default();
    assert!(calls.max_wait < converter.create_budget, "{calls:?}");
    assert!(
        sellsy::client::DEFAULT_REQUEST_TIMEOUT < converter.create_budget,
        "a single Sellsy request must not outlast the create budget"
    );
}
