//! A restarted process takes over what a dead worker of the same data directory held at once, instead
//! of waiting out its leases: `release_owner` (claims and leases), `release_receiver` (messages in
//! flight), and the lock files in `workers/` that tell a dead worker from a live one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentKind, OrderId};
use woosellsy_ports::{
    ClaimOutcome, DocumentRef, LeaseOutcome, PullQueue, Queue, QueuedEvent, Store,
};
use woosellsy_store_sqlite::{
    DeadWorker, SqliteQueue, SqliteStore, WORKERS_DIR, WorkerLock, recover_dead_workers,
};

const LEASE: Duration = Duration::from_secs(120);

fn connector() -> ConnectorId {
    ConnectorId::parse("boutique").expect("valid connector id")
}

fn key(order: u64) -> ClaimKey {
    ClaimKey {
        connector: connector(),
        order: OrderId(order),
        kind: DocumentKind::Invoice,
    }
}

fn document(id: &str) -> DocumentRef {
    DocumentRef {
        kind: DocumentKind::Invoice,
        id: id.to_owned(),
        number: None,
        url: None,
        warning: None,
    }
}

fn event(order: u64) -> QueuedEvent {
    QueuedEvent {
        connector: connector(),
        topic: "order.updated".to_owned(),
        order: OrderId(order),
        delivery_id: Some(format!("{order}")),
        webhook_id: Some(3),
        body: None,
        received_at: DateTime::from_timestamp(1_717_000_000, 0).expect("timestamp"),
    }
}

async fn claim(store: &SqliteStore, order: u64, owner: &str) -> ClaimOutcome {
    store
        .claim(&key(order), owner, Utc::now(), LEASE)
        .await
        .expect("claim")
}

async fn lease(store: &SqliteStore, name: &str, owner: &str) -> LeaseOutcome {
    store
        .take_lease(&connector(), name, owner, Utc::now(), LEASE)
        .await
        .expect("take lease")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_owner_expires_that_owners_claims_in_progress_and_releases_its_leases_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let acquired = ClaimOutcome::Acquired { recovered: false };
    // The dead worker: two creates in progress, one done, a customer lease.
    assert_eq!(claim(&store, 1, "dead").await, acquired);
    assert_eq!(claim(&store, 2, "dead").await, acquired);
    assert_eq!(claim(&store, 3, "dead").await, acquired);
    store
        .complete_claim(&key(3), "dead", &document("30"))
        .await
        .expect("complete");
    assert_eq!(
        lease(&store, "create:customer:a@example.fr", "dead").await,
        LeaseOutcome::Acquired
    );
    // A live worker: a create in progress and an item lease.
    assert_eq!(claim(&store, 4, "live").await, acquired);
    assert_eq!(
        lease(&store, "create:item:SKU-1", "live").await,
        LeaseOutcome::Acquired
    );

    assert_eq!(store.release_owner("dead").await.expect("release"), (2, 1));

    // Its creates in progress are taken over at once, as after a lease's end: searched for first.
    for order in [1, 2] {
        assert_eq!(
            claim(&store, order, "restarted").await,
            ClaimOutcome::Acquired { recovered: true },
            "order {order}"
        );
    }
    assert_eq!(
        claim(&store, 3, "restarted").await,
        ClaimOutcome::Done(document("30")),
        "a done claim is left alone"
    );
    assert!(
        matches!(
            claim(&store, 4, "restarted").await,
            ClaimOutcome::Busy { .. }
        ),
        "another owner's claim is left alone"
    );
    assert_eq!(
        lease(&store, "create:customer:a@example.fr", "restarted").await,
        LeaseOutcome::Acquired
    );
    assert!(
        matches!(
            lease(&store, "create:item:SKU-1", "restarted").await,
            LeaseOutcome::Held { .. }
        ),
        "another owner's lease is left alone"
    );
    // Nothing left to release, the second time.
    assert_eq!(store.release_owner("dead").await.expect("release"), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_receiver_hands_out_that_receivers_messages_in_flight_again_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let queue = SqliteQueue::open(dir.path()).expect("open");
    for order in 1..=3 {
        queue.enqueue(&event(order)).await.expect("enqueue");
    }
    let hour = Duration::from_secs(3600);
    let dead = queue.clone().with_receiver("dead");
    let live = queue.clone().with_receiver("live");
    let in_flight = dead.receive(1, hour).await.expect("receive");
    let delayed = dead.receive(1, hour).await.expect("receive");
    dead.retry_later(&delayed[0].receipt, hour)
        .await
        .expect("retry later");
    assert_eq!(live.receive(1, hour).await.expect("receive").len(), 1);
    assert!(live.receive(10, hour).await.expect("receive").is_empty());

    assert_eq!(dead.release_receiver("dead").await.expect("release"), 1);

    let again = live.receive(10, hour).await.expect("receive");
    assert_eq!(
        again.iter().map(|r| r.event.order).collect::<Vec<_>>(),
        [in_flight[0].event.order],
        "only the dead receiver's message in flight; a delay asked for is kept"
    );
    assert_eq!(again[0].attempts, 2);
    assert_eq!(queue.release_receiver("dead").await.expect("release"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_lock_is_recovered_and_a_live_ones_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let queue = SqliteQueue::open(dir.path()).expect("open");
    let workers = dir.path().join(WORKERS_DIR);

    // A live process, and one that died (its lock file is left, unlocked: the kernel dropped the lock).
    let live = WorkerLock::acquire(dir.path(), "worker-live").expect("lock");
    let dead = WorkerLock::acquire(dir.path(), "worker-dead").expect("lock");
    assert!(
        WorkerLock::acquire(dir.path(), "worker-live").is_err(),
        "a worker id held by a live process"
    );
    assert!(WorkerLock::acquire(dir.path(), "../escape").is_err());
    let dead_path = dead.path().to_owned();
    let dead_file = std::fs::read(&dead_path).expect("lock file");
    drop(dead);
    std::fs::write(&dead_path, dead_file).expect("leave the dead worker's file behind");

    for (order, owner) in [(1, "worker-dead"), (2, "worker-live")] {
        assert_eq!(
            claim(&store, order, owner).await,
            ClaimOutcome::Acquired { recovered: false }
        );
    }
    assert_eq!(
        lease(&store, "create:customer:a@example.fr", "worker-dead").await,
        LeaseOutcome::Acquired
    );
    queue.enqueue(&event(1)).await.expect("enqueue");
    let dead_queue = queue.clone().with_receiver("worker-dead");
    assert_eq!(
        dead_queue
            .receive(1, Duration::from_secs(3600))
            .await
            .expect("receive")
            .len(),
        1
    );

    let me = WorkerLock::acquire(dir.path(), "worker-restarted").expect("lock");
    let recovered = recover_dead_workers(&me, &store, &queue)
        .await
        .expect("recover");
    assert_eq!(
        recovered,
        [DeadWorker {
            worker_id: "worker-dead".to_owned(),
            claims: 1,
            leases: 1,
            messages: 1,
        }]
    );
    assert!(
        !dead_path.exists(),
        "the dead worker's lock file is deleted"
    );
    assert!(live.path().exists() && me.path().exists());
    assert_eq!(
        claim(&store, 1, "worker-restarted").await,
        ClaimOutcome::Acquired { recovered: true }
    );
    assert!(matches!(
        claim(&store, 2, "worker-restarted").await,
        ClaimOutcome::Busy { .. }
    ));
    assert_eq!(
        queue
            .receive(1, Duration::from_secs(60))
            .await
            .expect("receive")
            .len(),
        1,
        "the dead worker's message is handed out again"
    );

    // Nothing more to recover; a worker stopping cleanly deletes its own file.
    assert!(
        recover_dead_workers(&me, &store, &queue)
            .await
            .expect("recover")
            .is_empty()
    );
    let live_path = live.path().to_owned();
    drop(live);
    assert!(!live_path.exists());
    let mut left: Vec<_> = std::fs::read_dir(&workers)
        .expect("workers dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["worker-restarted.lock"]);
}
