//! The converter's decisions, as pure functions of what the store recorded and what WooCommerce says:
//! whether an event needs work, which documents are still to create, and what a claim's outcome asks
//! of the creator. No I/O here, so every rule is a row of a table test.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use woocommerce::Order;
use woosellsy_domain::DocumentKind;
use woosellsy_mapping::Eligibility;
use woosellsy_ports::{ClaimOutcome, DocumentRef, OrderRecord, OrderState};

/// What an event asks of the converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every configured document exists and its links are in the order.
    AlreadyHandled(String),
    /// This version of the order (or a newer one) was already processed to a final state.
    Stale(String),
    /// The order gets no document in its current state (not paid, cancelled…).
    NotEligible(String),
    /// Create the `missing` documents (none when only the links are still to write), then link them.
    Convert { missing: Vec<DocumentKind> },
}

/// Why the event needs no work whatever the order says, if so: every configured document exists and
/// is linked. Decided from the record alone, so our own write-back's `order.updated` costs no fetch.
pub fn already_done(record: Option<&OrderRecord>, wanted: &[DocumentKind]) -> Option<String> {
    let record = record?;
    (has_all(record, wanted) && record.links_written)
        .then(|| "documents already created and linked".to_owned())
}

/// Decides on `order` as fetched from WooCommerce — never on a webhook payload, which may be stale,
/// replayed or forged — given the order's `record` and the documents the connector creates.
///
/// `date_modified_gmt` has a one-second resolution, so a version is never a reason to skip an order
/// that was only *skipped* before (a payment in the same second as the creation would be lost): the
/// order's current state decides. Only a permanent *error* on the same version is not retried, since
/// it would fail the same way.
pub fn decide(record: Option<&OrderRecord>, order: &Order, wanted: &[DocumentKind]) -> Decision {
    if let Some(reason) = already_done(record, wanted) {
        return Decision::AlreadyHandled(reason);
    }
    if let Some(reason) = same_version_failed(record, order.date_modified_gmt, wanted) {
        return Decision::Stale(reason);
    }
    if let Eligibility::Skip { reason } = woosellsy_mapping::eligibility(order) {
        return Decision::NotEligible(reason);
    }
    let missing = wanted
        .iter()
        .copied()
        .filter(|kind| !record.is_some_and(|r| r.documents.contains_key(kind)))
        .collect();
    Decision::Convert { missing }
}

fn has_all(record: &OrderRecord, wanted: &[DocumentKind]) -> bool {
    wanted.iter().all(|k| record.documents.contains_key(k))
}

/// The reason when this version (or a newer one) of the order already ended in a permanent error.
fn same_version_failed(
    record: Option<&OrderRecord>,
    version: Option<NaiveDateTime>,
    wanted: &[DocumentKind],
) -> Option<String> {
    let record = record?;
    if has_all(record, wanted) || !matches!(record.state, OrderState::Error { .. }) {
        return None;
    }
    match (record.last_modified_gmt, version) {
        (Some(seen), Some(this)) if this <= seen => Some(format!(
            "stale event: order version {this} is not newer than {seen}, already processed"
        )),
        _ => None,
    }
}

/// What the creator does once it has asked for the claim on one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimStep {
    /// The document exists already (another attempt created it): use it.
    Adopt(DocumentRef),
    /// Another worker holds a live claim: try again after this long.
    Wait { retry_after: Duration },
    /// The claim is ours and nobody tried before: create.
    Create,
    /// The claim is ours, taken over from a holder whose lease ran out without an outcome: it may have
    /// created the document before dying, so search the backend first and create only if absent.
    SearchThenCreate,
}

pub fn after_claim(outcome: ClaimOutcome, now: DateTime<Utc>) -> ClaimStep {
    match outcome {
        ClaimOutcome::Done(doc) => ClaimStep::Adopt(doc),
        ClaimOutcome::Busy { until } => ClaimStep::Wait {
            // A second past the lease, so the retry finds it ended rather than about to.
            retry_after: (until - now).to_std().unwrap_or_default() + Duration::from_secs(1),
        },
        ClaimOutcome::Acquired { recovered: false } => ClaimStep::Create,
        ClaimOutcome::Acquired { recovered: true } => ClaimStep::SearchThenCreate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;
    use woosellsy_domain::{ConnectorId, OrderId};

    const INVOICE: DocumentKind = DocumentKind::Invoice;

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap()
    }

    fn order(status: &str, paid: bool, modified: NaiveDateTime) -> Order {
        serde_json::from_value(json!({
            "id": 42,
            "status": status,
            "currency": "EUR",
            "date_paid_gmt": if paid { json!("2026-11-27T09:00:00") } else { json!(null) },
            "date_modified_gmt": modified.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "total": "12.00",
            "billing": {"email": "a@example.fr"},
        }))
        .unwrap()
    }

    fn doc() -> DocumentRef {
        DocumentRef {
            kind: INVOICE,
            id: "501".to_owned(),
            number: None,
            url: None,
            warning: None,
        }
    }

    fn record(state: OrderState, seen: NaiveDateTime, invoiced: bool, linked: bool) -> OrderRecord {
        OrderRecord {
            connector: ConnectorId::parse("shop").unwrap(),
            order: OrderId(42),
            last_modified_gmt: Some(seen),
            state,
            documents: if invoiced {
                [(INVOICE, doc())].into()
            } else {
                Default::default()
            },
            links_written: linked,
            updated_at: Utc::now(),
        }
    }

    fn skipped() -> OrderState {
        OrderState::Skipped {
            reason: "not paid".to_owned(),
        }
    }

    fn error() -> OrderState {
        OrderState::Error {
            reason: "no tax".to_owned(),
        }
    }

    #[test]
    fn each_event_gets_the_decision_its_order_and_record_ask_for() {
        use Decision as D;
        let t = at(10, 0, 0);
        let before = at(9, 59, 59);
        let after = at(10, 0, 1);
        let convert = |missing: &[DocumentKind]| D::Convert {
            missing: missing.to_vec(),
        };
        #[rustfmt::skip]
        let table: Vec<(&str, Option<OrderRecord>, Order, Decision)> = vec![
            ("new paid order", None, order("processing", true, t), convert(&[INVOICE])),
            ("new pending order", None, order("pending", false, t), D::NotEligible(String::new())),
            ("invoiced and linked: any version", Some(record(OrderState::Done, t, true, true)), order("completed", true, after), D::AlreadyHandled(String::new())),
            ("invoiced, links not written yet", Some(record(OrderState::Done, t, true, false)), order("processing", true, t), convert(&[])),
            ("skipped version seen again, still pending", Some(record(skipped(), t, false, false)), order("pending", false, t), D::NotEligible(String::new())),
            ("paid in the same second as the skipped version", Some(record(skipped(), t, false, false)), order("processing", true, t), convert(&[INVOICE])),
            ("an older version than an error", Some(record(error(), t, false, false)), order("processing", true, before), D::Stale(String::new())),
            ("newer version of a skipped order, now paid", Some(record(skipped(), t, false, false)), order("processing", true, after), convert(&[INVOICE])),
            ("same version as an error", Some(record(error(), t, false, false)), order("processing", true, t), D::Stale(String::new())),
            ("newer version after an error", Some(record(error(), t, false, false)), order("processing", true, after), convert(&[INVOICE])),
            ("paid then cancelled, never invoiced", Some(record(skipped(), before, false, false)), order("cancelled", true, after), D::NotEligible(String::new())),
        ];
        for (case, record, order, expected) in table {
            let got = decide(record.as_ref(), &order, &[INVOICE]);
            // Reasons are for people; the table checks the kind of decision and the documents.
            let blank = |d: Decision| match d {
                D::AlreadyHandled(_) => D::AlreadyHandled(String::new()),
                D::Stale(_) => D::Stale(String::new()),
                D::NotEligible(_) => D::NotEligible(String::new()),
                d => d,
            };
            assert_eq!(blank(got), expected, "{case}");
        }
    }

    #[test]
    fn a_stale_reason_names_both_versions() {
        let t = at(10, 0, 0);
        let got = decide(
            Some(&record(error(), t, false, false)),
            &order("processing", true, at(9, 0, 0)),
            &[INVOICE],
        );
        assert_eq!(
            got,
            Decision::Stale(
                "stale event: order version 2026-11-27 09:00:00 is not newer than 2026-11-27 10:00:00, already processed".to_owned()
            )
        );
    }

    #[test]
    fn each_claim_outcome_asks_for_its_step() {
        let now = Utc::now();
        assert_eq!(
            after_claim(ClaimOutcome::Done(doc()), now),
            ClaimStep::Adopt(doc())
        );
        assert_eq!(
            after_claim(ClaimOutcome::Acquired { recovered: false }, now),
            ClaimStep::Create
        );
        assert_eq!(
            after_claim(ClaimOutcome::Acquired { recovered: true }, now),
            ClaimStep::SearchThenCreate
        );
        assert_eq!(
            after_claim(
                ClaimOutcome::Busy {
                    until: now + chrono::Duration::seconds(30)
                },
                now
            ),
            ClaimStep::Wait {
                retry_after: Duration::from_secs(31)
            }
        );
        // A lease that ended while we asked: retry at once (plus the margin), never a negative wait.
        assert_eq!(
            after_claim(
                ClaimOutcome::Busy {
                    until: now - chrono::Duration::seconds(5)
                },
                now
            ),
            ClaimStep::Wait {
                retry_after: Duration::from_secs(1)
            }
        );
    }
}
