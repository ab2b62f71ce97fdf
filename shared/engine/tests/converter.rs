//! The converter's decisions, end to end through its ports but with nothing real behind them: an
//! in-memory store, shop and backend. Each row of the table is a situation a webhook can meet; the
//! row says what the merchant ends up with (documents created, links written, the order's state).

mod support;

use std::time::Duration;

use chrono::Utc;
use support::*;
use woosellsy_domain::{ClaimKey, DocumentKind, OrderId};
use woosellsy_engine::Outcome;
use woosellsy_ports::{ClaimOutcome, DocumentRef, OrderRecord, OrderState, PortError, Store};

/// What a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Done,
    Skipped,
    Retry,
    Refused,
    Failed,
}

fn kind_of(outcome: &Outcome) -> Expect {
    match outcome {
        Outcome::Done { .. } => Expect::Done,
        Outcome::Skipped { .. } => Expect::Skipped,
        Outcome::Retry { .. } => Expect::Retry,
        Outcome::Refused { .. } => Expect::Refused,
        Outcome::Failed { .. } => Expect::Failed,
    }
}

fn invoice(id: &str) -> DocumentRef {
    DocumentRef {
        kind: DocumentKind::Invoice,
        id: id.to_owned(),
        number: None,
        url: Some(format!("https://sellsy.example/doc/{id}")),
        warning: None,
    }
}

fn claim_key() -> ClaimKey {
    ClaimKey {
        connector: connector(),
        order: OrderId(42),
        kind: DocumentKind::Invoice,
    }
}

fn record(
    state: OrderState,
    seen: chrono::NaiveDateTime,
    invoiced: bool,
    linked: bool,
) -> OrderRecord {
    OrderRecord {
        connector: connector(),
        order: OrderId(42),
        last_modified_gmt: Some(seen),
        state,
        documents: if invoiced {
            [(DocumentKind::Invoice, invoice("900"))].into()
        } else {
            Default::default()
        },
        links_written: linked,
        updated_at: Utc::now(),
    }
}

/// How a row sets the world up before the event arrives.
#[derive(Clone, Copy)]
enum Given {
    Nothing,
    /// The order record, as an earlier event left it.
    Record(fn() -> OrderRecord),
    /// A claim left in progress by a worker that died (its lease over), and whether that worker got
    /// as far as creating the document in the backend.
    DeadClaim {
        document_exists: bool,
    },
    /// A claim held right now by another live worker.
    LiveClaim,
    /// The backend's next create fails.
    CreateFails(fn() -> PortError),
    /// WooCommerce accepts only another key.
    ShopRefusesKeys,
    /// The event carries a forged or replayed body: the order pending, dated 2099.
    ForgedPayload,
    /// Sellsy accepts only another secret.
    BackendRefusesKeys,
}

struct Row {
    case: &'static str,
    given: Given,
    status: &'static str,
    paid: bool,
    expect: Expect,
    creates: usize,
    searches: usize,
    /// The keys written to the order's meta, all writes together.
    meta: &'static [&'static str],
    /// The order's state in the store afterwards.
    state: Option<&'static str>,
}

const LINKS: &[&str] = &[
    "woosellsy.invoice_id",
    "woosellsy.invoice_url",
    "woosellsy.warning",
    "woosellsy.error",
];

fn skipped_at_ten() -> OrderRecord {
    record(
        OrderState::Skipped {
            reason: "not paid".into(),
        },
        at(10, 0, 0),
        false,
        false,
    )
}
fn error_at_eleven() -> OrderRecord {
    record(
        OrderState::Error {
            reason: "no tax at 5.5 %".into(),
        },
        at(11, 0, 0),
        false,
        false,
    )
}
/// An error recorded for the very version the rows' event carries (10:30).
fn error_at_half_past_ten() -> OrderRecord {
    record(
        OrderState::Error {
            reason: "no tax at 5.5 %".into(),
        },
        at(10, 30, 0),
        false,
        false,
    )
}
/// Skipped (pending at `order.created`) in the very second the rows' event carries (10:30).
fn skipped_at_half_past_ten() -> OrderRecord {
    record(
        OrderState::Skipped {
            reason: "not paid".into(),
        },
        at(10, 30, 0),
        false,
        false,
    )
}
fn done_and_linked() -> OrderRecord {
    record(OrderState::Done, at(10, 0, 0), true, true)
}
fn done_not_linked() -> OrderRecord {
    record(OrderState::Done, at(10, 0, 0), true, false)
}

fn state_name(r: Option<&OrderRecord>) -> Option<&'static str> {
    r.map(|r| match r.state {
        OrderState::Done => "done",
        OrderState::Skipped { .. } => "skipped",
        OrderState::Error { .. } => "error",
    })
}

#[tokio::test]
async fn each_situation_ends_as_the_merchant_expects() {
    use Expect::*;
    #[rustfmt::skip]
    let table = [
        Row { case: "a new paid order is invoiced and linked", given: Given::Nothing, status: "processing", paid: true, expect: Done, creates: 1, searches: 0, meta: LINKS, state: Some("done") },
        Row { case: "a pending order is noted, nothing created", given: Given::Nothing, status: "pending", paid: false, expect: Skipped, creates: 0, searches: 0, meta: &[], state: Some("skipped") },
        Row { case: "an order already invoiced and linked is left alone", given: Given::Record(done_and_linked), status: "completed", paid: true, expect: Skipped, creates: 0, searches: 0, meta: &[], state: Some("done") },
        Row { case: "an invoice whose links were not written gets its links only", given: Given::Record(done_not_linked), status: "processing", paid: true, expect: Done, creates: 0, searches: 0, meta: LINKS, state: Some("done") },
        Row { case: "an order older than the version that ended in an error is stale", given: Given::Record(error_at_eleven), status: "processing", paid: true, expect: Skipped, creates: 0, searches: 0, meta: &[], state: Some("error") },
        Row { case: "the same version as an error is not retried", given: Given::Record(error_at_half_past_ten), status: "processing", paid: true, expect: Skipped, creates: 0, searches: 0, meta: &[], state: Some("error") },
        Row { case: "a newer version of a skipped order, now paid, is invoiced", given: Given::Record(skipped_at_ten), status: "processing", paid: true, expect: Done, creates: 1, searches: 0, meta: LINKS, state: Some("done") },
        Row { case: "paid in the same second as the skipped creation: invoiced", given: Given::Record(skipped_at_half_past_ten), status: "processing", paid: true, expect: Done, creates: 1, searches: 0, meta: LINKS, state: Some("done") },
        Row { case: "a payload forged or replayed with a date in 2099 decides nothing: the shop's order does", given: Given::ForgedPayload, status: "processing", paid: true, expect: Done, creates: 1, searches: 0, meta: LINKS, state: Some("done") },
        Row { case: "a dead worker's invoice is adopted, not created again", given: Given::DeadClaim { document_exists: true }, status: "processing", paid: true, expect: Done, creates: 0, searches: 1, meta: LINKS, state: Some("done") },
        Row { case: "a dead worker that created nothing: search, then create", given: Given::DeadClaim { document_exists: false }, status: "processing", paid: true, expect: Done, creates: 1, searches: 1, meta: LINKS, state: Some("done") },
        Row { case: "another worker creating it now: retry later", given: Given::LiveClaim, status: "processing", paid: true, expect: Retry, creates: 0, searches: 0, meta: &[], state: None },
        Row { case: "Sellsy refuses the document: the reason is on the order", given: Given::CreateFails(|| PortError::permanent("Sellsy answered 400: rows.0.tax_id: unknown tax")), status: "processing", paid: true, expect: Failed, creates: 0, searches: 0, meta: &["woosellsy.warning", "woosellsy.error"], state: Some("error") },
        Row { case: "Sellsy unavailable: retry, nothing recorded", given: Given::CreateFails(|| PortError::transient("Sellsy answered 503")), status: "processing", paid: true, expect: Retry, creates: 0, searches: 0, meta: &[], state: None },
        Row { case: "WooCommerce refuses the keys: retry later, the order is not in error", given: Given::ShopRefusesKeys, status: "processing", paid: true, expect: Refused, creates: 0, searches: 0, meta: &[], state: None },
        Row { case: "Sellsy refuses the keys: retry later, the order is not in error", given: Given::BackendRefusesKeys, status: "processing", paid: true, expect: Refused, creates: 0, searches: 0, meta: &[], state: None },
    ];
    for row in table {
        let h = Harness::new().await;
        let order = order(42, row.status, row.paid, at(10, 30, 0));
        // Every row's event carries the version of 10:30 (but the forged one).
        let mut event = event(&order);
        h.put_order(order.clone());
        match row.given {
            Given::Nothing => {}
            Given::Record(make) => h.store.put_order(&make()).await.unwrap(),
            Given::DeadClaim { document_exists } => {
                let long_ago = Utc::now() - chrono::Duration::minutes(10);
                let c = h
                    .store
                    .claim(
                        &claim_key(),
                        "dead-worker",
                        long_ago,
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                assert_eq!(c, ClaimOutcome::Acquired { recovered: false });
                if document_exists {
                    h.world()
                        .documents
                        .insert("WC-42".to_owned(), invoice("777"));
                }
            }
            Given::LiveClaim => {
                h.store
                    .claim(
                        &claim_key(),
                        "other-worker",
                        Utc::now(),
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
            }
            Given::CreateFails(e) => h.world().create_fails = Some(e()),
            Given::ShopRefusesKeys => h.world().woo_key = Some("woo-new".to_owned()),
            Given::ForgedPayload => {
                let in_2099 = chrono::NaiveDate::from_ymd_opt(2099, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap();
                event = support::event(&support::order(42, "pending", false, in_2099));
            }
            Given::BackendRefusesKeys => h.world().sellsy_secret = Some("sellsy-new".to_owned()),
        }

        let outcome = h.converter.process(&event).await;

        assert_eq!(kind_of(&outcome), row.expect, "{}: {outcome:?}", row.case);
        {
            let w = h.world();
            assert_eq!(w.creates, row.creates, "{}: documents created", row.case);
            assert_eq!(w.searches, row.searches, "{}: searches", row.case);
            let written: Vec<&str> = w
                .meta_writes
                .iter()
                .flat_map(|(_, m)| m.iter().map(|(k, _)| k.as_str()))
                .collect();
            assert_eq!(written, row.meta, "{}: order meta written", row.case);
        }
        let stored = h.store.get_order(&connector(), OrderId(42)).await.unwrap();
        assert_eq!(
            state_name(stored.as_ref()),
            row.state,
            "{}: order state",
            row.case
        );
        if let Outcome::Retry { after, .. } = &outcome
            && matches!(row.given, Given::LiveClaim)
        {
            let after = after.expect("a live claim says how long to wait");
            assert!(
                after > Duration::from_secs(55) && after <= Duration::from_secs(61),
                "{}: waits for the holder's lease, not a guess: {after:?}",
                row.case
            );
        }
    }
}

#[tokio::test]
async fn a_created_invoice_is_recorded_on_its_claim_and_never_created_twice() {
    let h = Harness::new().await;
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());
    let first = h.converter.process(&event(&order)).await;
    let Outcome::Done { documents } = first else {
        panic!("{first:?}")
    };
    // Links not recorded (say the record write was lost): the claim still answers with the document.
    h.store
        .put_order(&record(
            OrderState::Skipped {
                reason: "lost".into(),
            },
            at(9, 0, 0),
            false,
            false,
        ))
        .await
        .unwrap();
    let again = h.converter.process(&event(&order)).await;
    assert_eq!(again, Outcome::Done { documents });
    assert_eq!(h.world().creates, 1);
}

/// Keys rotated while the converter is warm: the next order uses the new keys, and orders that met
/// the refused old keys in between are invoiced once the new keys are read, never left in error.
#[tokio::test]
async fn rotated_keys_reach_a_warm_converter() {
    let h = Harness::new().await;
    let first = order(41, "processing", true, at(10, 0, 0));
    h.put_order(first.clone());
    assert!(matches!(
        h.converter.process(&event(&first)).await,
        Outcome::Done { .. }
    ));

    // The merchant revokes the old keys in WooCommerce and Sellsy before the secret store has the new ones.
    {
        let mut w = h.world();
        w.woo_key = Some("woo-new".to_owned());
        w.sellsy_secret = Some("sellsy-new".to_owned());
    }
    let during = order(42, "processing", true, at(10, 1, 0));
    h.put_order(during.clone());
    let refused = h.converter.process(&event(&during)).await;
    assert!(matches!(refused, Outcome::Refused { .. }), "{refused:?}");
    let stored = h.store.get_order(&connector(), OrderId(42)).await.unwrap();
    assert!(
        !matches!(stored.map(|r| r.state), Some(OrderState::Error { .. })),
        "a refused key is the connector's condition, not the order's error"
    );

    // The new keys land in the secret store (`woosellsy aws register`): the same event, retried, invoices.
    h.secrets
        .insert(connector(), secrets("woo-new", "sellsy-new"));
    let retried = h.converter.process(&event(&during)).await;
    assert!(matches!(retried, Outcome::Done { .. }), "{retried:?}");
    let next = order(43, "processing", true, at(10, 2, 0));
    h.put_order(next.clone());
    assert!(matches!(
        h.converter.process(&event(&next)).await,
        Outcome::Done { .. }
    ));

    let w = h.world();
    assert_eq!(w.creates, 3, "one invoice per order");
    assert_eq!(
        w.built_with,
        [
            "shop:woo-old",
            "backend:sellsy-old",
            "shop:woo-new",
            "backend:sellsy-new"
        ],
        "clients are rebuilt once for the new keys, and reused while they are unchanged"
    );
}

/// A replayed payload dated 2099 must not leave a version behind that makes the real events stale.
#[tokio::test]
async fn a_forged_future_payload_does_not_block_the_orders_later_events() {
    let h = Harness::new().await;
    let in_2099 = chrono::NaiveDate::from_ymd_opt(2099, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    // The shop has the order pending; a forged body says the same, dated 2099.
    h.put_order(order(42, "pending", false, at(10, 0, 0)));
    let forged = event(&order(42, "pending", false, in_2099));
    assert!(matches!(
        h.converter.process(&forged).await,
        Outcome::Skipped { .. }
    ));
    // The customer pays: the real event is converted.
    let paid = order(42, "processing", true, at(10, 5, 0));
    h.put_order(paid.clone());
    let outcome = h.converter.process(&event(&paid)).await;
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!(h.world().creates, 1);
}
