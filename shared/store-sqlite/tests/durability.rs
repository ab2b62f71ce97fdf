//! What the single-machine deployment relies on beyond the port contract: data and in-flight state
//! survive a crash and a reopen, two handles (two processes) on one file never both win a claim, a
//! damaged row is reported or moved aside instead of wedging the worker, and operators can see and
//! replay dead letters.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentKind, OrderId};
use woosellsy_ports::{
    ClaimOutcome, DEFAULT_ID_TTL, DocumentRef, IdKind, PullQueue, Queue, QueuedEvent, Store,
};
use woosellsy_store_sqlite::{DB_FILE_NAME, SqliteQueue, SqliteStore};

fn connector(raw: &str) -> ConnectorId {
    ConnectorId::parse(raw).expect("valid connector id")
}

fn event(order: u64, seq: u32) -> QueuedEvent {
    QueuedEvent {
        connector: connector("boutique"),
        topic: "order.updated".to_owned(),
        order: OrderId(order),
        delivery_id: Some(format!("{order}-{seq}")),
        webhook_id: Some(3),
        body: Some(format!(
            r#"{{"id":{order},"status":"completed","seq":{seq}}}"#
        )),
        received_at: DateTime::from_timestamp(1_717_000_000, 0).expect("timestamp"),
    }
}

fn delivery(r: &woosellsy_ports::Received) -> &str {
    r.event.delivery_id.as_deref().unwrap_or_default()
}

fn raw_connection(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE_NAME)).expect("raw open");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_and_their_visibility_survive_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let q = SqliteQueue::open(dir.path()).expect("open");
        q.enqueue(&event(1, 1)).await.expect("enqueue a1");
        q.enqueue(&event(2, 1)).await.expect("enqueue b1");
        q.enqueue(&event(1, 2)).await.expect("enqueue a2");
        // The worker takes a1 for an hour and b1 for a second, then the process dies: no ack, no
        // release, the handle simply goes away.
        let a = q
            .receive(1, Duration::from_secs(3600))
            .await
            .expect("receive a1");
        assert_eq!(a.iter().map(delivery).collect::<Vec<_>>(), ["1-1"]);
        let b = q
            .receive(1, Duration::from_secs(1))
            .await
            .expect("receive b1");
        assert_eq!(b.iter().map(delivery).collect::<Vec<_>>(), ["2-1"]);
    }

    let q = SqliteQueue::open(dir.path()).expect("reopen");
    assert_eq!(
        q.depth().await.expect("depth"),
        3,
        "nothing enqueued is lost in a crash"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive after reopen");
    assert_eq!(
        again.iter().map(delivery).collect::<Vec<_>>(),
        ["2-1"],
        "b1's visibility ended: it is delivered again; a1 is still hidden for the hour, so a2 waits behind it"
    );
    assert_eq!(again[0].attempts, 2, "the delivery before the crash counts");
    assert_eq!(again[0].event, event(2, 1), "the event comes back intact");
    q.ack(&again[0].receipt).await.expect("ack b1");
    assert_eq!(q.depth().await.expect("depth"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_never_both_win_a_claim() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handles: [Arc<dyn Store>; 2] = [
        Arc::new(SqliteStore::open(dir.path()).expect("open first")),
        Arc::new(SqliteStore::open(dir.path()).expect("open second")),
    ];
    let now = Utc::now();
    for order in 1..=20u64 {
        let key = ClaimKey {
            connector: connector("boutique"),
            order: OrderId(order),
            kind: DocumentKind::Invoice,
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8usize {
            let store = Arc::clone(&handles[i % 2]);
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .claim(&key, &format!("worker-{i}"), now, Duration::from_secs(60))
                    .await
            }));
        }
        let mut acquired = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(ClaimOutcome::Acquired { recovered }) => {
                    assert!(!recovered, "order {order}: a fresh claim is not a recovery");
                    acquired += 1;
                }
                Ok(ClaimOutcome::Busy { .. }) => {}
                other => panic!("order {order}: unexpected outcome {other:?}"),
            }
        }
        assert_eq!(
            acquired, 1,
            "order {order}: exactly one of eight claims across two handles wins"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_and_queue_share_the_file_and_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = ClaimKey {
        connector: connector("boutique"),
        order: OrderId(1042),
        kind: DocumentKind::Invoice,
    };
    let doc = DocumentRef {
        kind: DocumentKind::Invoice,
        id: "5501".to_owned(),
        number: Some("F-2024-00031".to_owned()),
        url: None,
        warning: None,
    };
    let now = Utc::now();
    {
        let store = SqliteStore::open(dir.path()).expect("open store");
        let queue = SqliteQueue::open(dir.path()).expect("open queue on the same file");
        assert_eq!(store.path(), queue.path());
        queue.enqueue(&event(1042, 1)).await.expect("enqueue");
        assert_eq!(
            store
                .claim(&key, "worker-a", now, Duration::from_secs(60))
                .await
                .expect("claim"),
            ClaimOutcome::Acquired { recovered: false }
        );
        store
            .complete_claim(&key, "worker-a", &doc)
            .await
            .expect("complete");
        // A retried completion that had in fact committed is accepted.
        store
            .complete_claim(&key, "worker-a", &doc)
            .await
            .expect("complete again");
    }
    let store = SqliteStore::open(dir.path()).expect("reopen store");
    assert_eq!(
        store
            .claim(
                &key,
                "worker-b",
                now + TimeDelta::days(30),
                Duration::from_secs(60)
            )
            .await
            .expect("claim"),
        ClaimOutcome::Done(doc),
        "a created document is remembered across restarts: never a second invoice"
    );
    let queue = SqliteQueue::open(dir.path()).expect("reopen queue");
    assert_eq!(queue.depth().await.expect("depth"), 1);
}

#[tokio::test]
async fn receive_hands_out_oldest_groups_first_up_to_max() {
    let dir = tempfile::tempdir().expect("temp dir");
    let q = SqliteQueue::open(dir.path()).expect("open");
    assert_eq!(q.depth().await.expect("depth"), 0);
    for order in [5, 3, 9, 1, 7] {
        q.enqueue(&event(order, 1)).await.expect("enqueue");
    }
    assert!(
        q.receive(0, Duration::from_secs(60))
            .await
            .expect("receive 0")
            .is_empty()
    );
    let first = q
        .receive(2, Duration::from_secs(60))
        .await
        .expect("receive 2");
    assert_eq!(
        first.iter().map(delivery).collect::<Vec<_>>(),
        ["5-1", "3-1"],
        "oldest first"
    );
    let rest = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive rest");
    assert_eq!(
        rest.iter().map(delivery).collect::<Vec<_>>(),
        ["9-1", "1-1", "7-1"]
    );
    assert_eq!(
        q.depth().await.expect("depth"),
        5,
        "in-flight messages still count"
    );
}

#[tokio::test]
async fn dead_letters_are_listed_and_can_be_replayed_or_discarded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let q = SqliteQueue::open(dir.path()).expect("open");
    q.enqueue(&event(1, 1)).await.expect("enqueue");
    q.enqueue(&event(2, 1)).await.expect("enqueue");
    for _ in 0..2 {
        let got = q
            .receive(10, Duration::from_secs(60))
            .await
            .expect("receive");
        for r in got {
            q.retry_later(&r.receipt, Duration::ZERO)
                .await
                .expect("retry");
        }
    }
    let got = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.attempts, 3);
        q.dead_letter(&r.receipt, "Sellsy answered 500 three times")
            .await
            .expect("dead letter");
    }
    assert_eq!(q.depth().await.expect("depth"), 0);

    let dead = q.dead_letters().await.expect("list");
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].event().expect("decode"), event(1, 1));
    assert_eq!(dead[0].group_key, "boutique:1");
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].reason, "Sellsy answered 500 three times");
    assert!(dead[0].dead_lettered_at >= dead[0].enqueued_at);

    // Replay the first behind a newer event of the same order: it goes to the back of its group.
    q.enqueue(&event(1, 2)).await.expect("enqueue newer");
    assert!(q.requeue_dead_letter(dead[0].id).await.expect("requeue"));
    assert!(
        !q.requeue_dead_letter(dead[0].id)
            .await
            .expect("requeue twice"),
        "already requeued"
    );
    let got = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(got.iter().map(delivery).collect::<Vec<_>>(), ["1-2"]);
    q.ack(&got[0].receipt).await.expect("ack");
    let got = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(got.iter().map(delivery).collect::<Vec<_>>(), ["1-1"]);
    assert_eq!(
        got[0].attempts, 1,
        "a replayed message starts its count again"
    );

    assert!(q.discard_dead_letter(dead[1].id).await.expect("discard"));
    assert!(
        !q.discard_dead_letter(dead[1].id)
            .await
            .expect("discard twice")
    );
    assert!(q.dead_letters().await.expect("list").is_empty());
}

#[tokio::test]
async fn an_unreadable_queued_event_is_moved_aside_instead_of_blocking_its_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let q = SqliteQueue::open(dir.path()).expect("open");
    raw_connection(dir.path())
        .execute(
            "INSERT INTO queue (group_key, event, enqueued_at, visible_at, attempts)
             VALUES ('boutique:1', '{\"not\": \"an event\"}', 0, 0, 0)",
            [],
        )
        .expect("insert damaged row");
    q.enqueue(&event(1, 2)).await.expect("enqueue");

    let got = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive skips the damaged row");
    assert!(
        got.is_empty(),
        "the damaged head is moved aside during this receive"
    );
    let got = q
        .receive(10, Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(
        got.iter().map(delivery).collect::<Vec<_>>(),
        ["1-2"],
        "the group goes on"
    );

    let dead = q.dead_letters().await.expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].event_json, r#"{"not": "an event"}"#,
        "kept verbatim for the operator"
    );
    assert!(dead[0].event().is_err());
    assert!(
        dead[0].reason.contains("unreadable"),
        "reason: {}",
        dead[0].reason
    );
}

#[tokio::test]
async fn bad_receipts_are_errors_without_effect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let q = SqliteQueue::open(dir.path()).expect("open");
    q.enqueue(&event(1, 1)).await.expect("enqueue");
    for bad in ["", "abc", "1", "1.x", "x.1", "1.1.1"] {
        let err = q.ack(bad).await.expect_err("malformed receipt");
        assert!(
            !err.is_transient(),
            "{bad:?}: a malformed receipt is a permanent error"
        );
    }
    let got = q
        .receive(1, Duration::from_secs(60))
        .await
        .expect("receive");
    let unknown = q.ack("999.1").await.expect_err("unknown message");
    assert!(unknown.is_transient());
    q.ack(&got[0].receipt).await.expect("ack");
    let twice = q.ack(&got[0].receipt).await.expect_err("ack twice");
    assert!(twice.is_transient(), "a spent receipt is stale");
    assert_eq!(q.depth().await.expect("depth"), 0);
}

#[tokio::test]
async fn damaged_records_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let raw = raw_connection(dir.path());
    raw.execute(
        "INSERT INTO connectors (id, settings) VALUES ('boutique', '{\"id\": 12}')",
        [],
    )
    .expect("insert");
    raw.execute(
        "INSERT INTO orders (connector, order_id, record) VALUES ('boutique', 7, 'not json')",
        [],
    )
    .expect("insert");
    let err = store
        .get_connector(&connector("boutique"))
        .await
        .expect_err("damaged settings");
    assert!(!err.is_transient());
    assert!(
        err.to_string().contains("boutique"),
        "the error names the connector: {err}"
    );
    assert!(store.list_connectors().await.is_err());
    let err = store
        .get_order(&connector("boutique"), OrderId(7))
        .await
        .expect_err("damaged record");
    assert!(!err.is_transient());

    let huge = store
        .get_order(&connector("boutique"), OrderId(u64::MAX))
        .await
        .expect_err("huge id");
    assert!(
        !huge.is_transient(),
        "an order id past i64 is refused, not wrapped onto another order"
    );
}

#[test]
fn reopening_migrates_once_and_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    drop(SqliteQueue::open(dir.path()).expect("reopen: migrations already applied"));
    let raw = raw_connection(dir.path());
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 4);
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");

    raw.execute_batch("PRAGMA user_version = 99").expect("bump");
    drop(raw);
    let err = SqliteStore::open(dir.path())
        .err()
        .expect("a newer schema is refused");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn a_data_directory_of_the_first_schema_gains_leases_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    // As a data directory written before leases existed.
    let raw = raw_connection(dir.path());
    raw.execute_batch(
        "DROP TABLE leases; ALTER TABLE mappings DROP COLUMN expires_at;
         ALTER TABLE queue DROP COLUMN receiver; PRAGMA user_version = 1",
    )
    .expect("downgrade");
    drop(raw);

    let store = SqliteStore::open(dir.path()).expect("reopen migrates");
    let version: i64 = raw_connection(dir.path())
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 4);
    let now = chrono::Utc::now();
    let lease = std::time::Duration::from_secs(60);
    let shop = connector("boutique");
    assert_eq!(
        store
            .take_lease(&shop, "create", "a", now, lease)
            .await
            .expect("take"),
        woosellsy_ports::LeaseOutcome::Acquired
    );
    assert!(matches!(
        store
            .take_lease(&shop, "create", "b", now, lease)
            .await
            .expect("take"),
        woosellsy_ports::LeaseOutcome::Held { .. }
    ));
}

#[tokio::test]
async fn ids_cached_before_expiry_existed_are_kept_as_fresh_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    // As a data directory of schema 2, whose cached ids never expired.
    let raw = raw_connection(dir.path());
    raw.execute_batch(
        "ALTER TABLE mappings DROP COLUMN expires_at;
         ALTER TABLE queue DROP COLUMN receiver;
         INSERT INTO mappings (connector, kind, key, value)
             VALUES ('boutique', 'customer', 'jean@example.fr', 'individual:42');
         PRAGMA user_version = 2",
    )
    .expect("downgrade");
    drop(raw);

    let store = SqliteStore::open(dir.path()).expect("reopen migrates");
    let raw = raw_connection(dir.path());
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 4);
    let shop = connector("boutique");
    assert_eq!(
        store
            .get_cached_id(&shop, IdKind::Customer, "jean@example.fr")
            .await
            .expect("get")
            .as_deref(),
        Some("individual:42"),
        "an id cached before the migration is kept"
    );
    // ... for DEFAULT_ID_TTL from the migration, like an id cached then.
    let expires_at: i64 = raw
        .query_row("SELECT expires_at FROM mappings", [], |r| r.get(0))
        .expect("expires_at");
    let expected =
        (Utc::now() + TimeDelta::from_std(DEFAULT_ID_TTL).expect("ttl")).timestamp_micros();
    assert!(
        (expected - 60_000_000..=expected).contains(&expires_at),
        "expires_at {expires_at} should be about {expected}"
    );
}

#[tokio::test]
async fn an_expired_id_is_replaced_by_the_next_put() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shop = connector("boutique");
    let expired = SqliteStore::open(dir.path())
        .expect("open")
        .with_id_ttl(Duration::ZERO);
    expired
        .put_cached_id(&shop, IdKind::Tax, "rate:20", "7")
        .await
        .expect("put");
    let store = SqliteStore::open(dir.path()).expect("open");
    assert_eq!(
        store
            .get_cached_id(&shop, IdKind::Tax, "rate:20")
            .await
            .expect("get"),
        None,
        "the writer's TTL counts: a zero TTL is expired at once"
    );
    store
        .put_cached_id(&shop, IdKind::Tax, "rate:20", "8")
        .await
        .expect("put again");
    assert_eq!(
        store
            .get_cached_id(&shop, IdKind::Tax, "rate:20")
            .await
            .expect("get")
            .as_deref(),
        Some("8")
    );
    let rows: i64 = raw_connection(dir.path())
        .query_row("SELECT count(*) FROM mappings", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1, "the expired row was overwritten, not duplicated");
}

#[test]
fn open_creates_the_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("var").join("woosellsy");
    let store = SqliteStore::open(&nested).expect("open");
    assert_eq!(store.path(), nested.join(DB_FILE_NAME));
    assert!(store.path().exists());
}
