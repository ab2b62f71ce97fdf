//! DynamoStore against moto_server: the ports' conformance suite, plus what is specific to DynamoDB
//! (key design, TTL'd mappings read as absent once expired, keys too long for a sort key).

use woosellsy_aws::testkit as common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use common::Moto;
use woosellsy_aws::DynamoStore;
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentKind, OrderId};
use woosellsy_ports::{ClaimOutcome, DocumentRef, IdKind, Store, conformance};

async fn store(moto: &Moto, table: &str) -> (DynamoStore, aws_sdk_dynamodb::Client) {
    let client = aws_sdk_dynamodb::Client::new(&moto.config().await);
    DynamoStore::create_table(&client, table)
        .await
        .expect("create table");
    (DynamoStore::new(client.clone(), table), client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_store_passes_the_store_conformance_suite() {
    let Some(moto) = Moto::start() else { return };
    let (store, _) = store(&moto, "conformance").await;
    conformance::run_store_suite(Arc::new(store)).await;
}

/// Expiry is wall-clock time in the store, so this check needs a store with a short TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_store_cached_ids_expire() {
    let Some(moto) = Moto::start() else { return };
    let (store, _) = store(&moto, "expiry").await;
    let store = store.with_id_ttl(conformance::SHORT_ID_TTL);
    conformance::cached_ids_expire(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_racing_workers_create_one_claim_and_all_see_the_document() {
    let Some(moto) = Moto::start() else { return };
    let (store, _) = store(&moto, "race").await;
    let store = Arc::new(store);
    let key = ClaimKey {
        connector: ConnectorId::parse("shop").unwrap(),
        order: OrderId(77),
        kind: DocumentKind::Invoice,
    };
    let now = Utc::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (store, key, barrier) = (store.clone(), key.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let owner = format!("w{i}");
                let outcome = store
                    .claim(&key, &owner, now, Duration::from_secs(60))
                    .await
                    .unwrap();
                (owner, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (owner, outcome) = t.await.unwrap();
        match outcome {
            ClaimOutcome::Acquired { recovered } => {
                assert!(!recovered);
                winners.push(owner);
            }
            ClaimOutcome::Busy { until } => {
                assert_eq!(
                    until.timestamp_millis(),
                    (now + chrono::Duration::seconds(60)).timestamp_millis()
                )
            }
            ClaimOutcome::Done(d) => panic!("nothing was completed yet, got Done({d:?})"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one worker may create the invoice: {winners:?}"
    );
    let doc = DocumentRef {
        kind: DocumentKind::Invoice,
        id: "9001".into(),
        number: Some("F-2026-0001".into()),
        url: None,
        warning: None,
    };
    store.complete_claim(&key, &winners[0], &doc).await.unwrap();
    // A retried UpdateItem (the SDK retries a request whose answer was lost) must not turn into an error.
    store.complete_claim(&key, &winners[0], &doc).await.unwrap();
    for i in 0..4 {
        let later = store
            .claim(
                &key,
                &format!("late{i}"),
                now + chrono::Duration::days(400),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(later, ClaimOutcome::Done(doc.clone()));
    }
}

#[tokio::test]
async fn items_follow_the_documented_key_design() {
    let Some(moto) = Moto::start() else { return };
    let (store, client) = store(&moto, "keys").await;
    let c = ConnectorId::parse("shop-1").unwrap();
    let key = ClaimKey {
        connector: c.clone(),
        order: OrderId(1042),
        kind: DocumentKind::Invoice,
    };
    store
        .claim(&key, "w", Utc::now(), Duration::from_secs(60))
        .await
        .unwrap();
    store
        .put_cached_id(&c, IdKind::Customer, "jean@example.fr", "individual:42")
        .await
        .unwrap();
    let claim = client
        .get_item()
        .table_name("keys")
        .key("pk", AttributeValue::S("C#shop-1#O#1042".into()))
        .key("sk", AttributeValue::S("CLAIM#invoice".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("claim item under the documented key");
    assert_eq!(claim.get("owner"), Some(&AttributeValue::S("w".into())));
    assert!(matches!(
        claim.get("lease_until"),
        Some(AttributeValue::N(_))
    ));
    assert!(!claim.contains_key("expires_at"), "claims never expire");
    let mapping = client
        .get_item()
        .table_name("keys")
        .key("pk", AttributeValue::S("C#shop-1#MAP#customer".into()))
        .key("sk", AttributeValue::S("K#jean@example.fr".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("mapping item under the documented key");
    let Some(AttributeValue::N(expires)) = mapping.get("expires_at") else {
        panic!("mappings carry the TTL attribute as a number: {mapping:?}")
    };
    let expires: i64 = expires.parse().unwrap();
    let in_30_days = Utc::now().timestamp() + 30 * 86_400;
    assert!((in_30_days - 60..=in_30_days + 60).contains(&expires));
    let ttl = client
        .describe_time_to_live()
        .table_name("keys")
        .send()
        .await
        .unwrap();
    let spec = ttl.time_to_live_description.unwrap();
    assert_eq!(spec.attribute_name.as_deref(), Some("expires_at"));
}

#[tokio::test]
async fn expired_mappings_read_as_absent_even_before_dynamodb_deletes_them() {
    let Some(moto) = Moto::start() else { return };
    let (store, _) = store(&moto, "ttl").await;
    let c = ConnectorId::parse("shop").unwrap();
    // moto, like DynamoDB within its deletion delay, still returns the item: the store must not use it.
    let expired = store.clone().with_id_ttl(Duration::ZERO);
    expired
        .put_cached_id(&c, IdKind::Tax, "rate:20", "7")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_cached_id(&c, IdKind::Tax, "rate:20")
            .await
            .unwrap(),
        None
    );
    store
        .put_cached_id(&c, IdKind::Tax, "rate:20", "8")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_cached_id(&c, IdKind::Tax, "rate:20")
            .await
            .unwrap()
            .as_deref(),
        Some("8")
    );
}

#[tokio::test]
async fn mapping_keys_longer_than_a_sort_key_still_work() {
    let Some(moto) = Moto::start() else { return };
    let (store, _) = store(&moto, "long").await;
    let c = ConnectorId::parse("shop").unwrap();
    let a = format!("company:7|{}|75002", "Rue très longue ".repeat(100));
    let b = format!("company:7|{}|75003", "Rue très longue ".repeat(100));
    assert!(a.len() > 1024);
    store
        .put_cached_id(&c, IdKind::Address, &a, "301")
        .await
        .unwrap();
    store
        .put_cached_id(&c, IdKind::Address, &b, "302")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_cached_id(&c, IdKind::Address, &a)
            .await
            .unwrap()
            .as_deref(),
        Some("301")
    );
    assert_eq!(
        store
            .get_cached_id(&c, IdKind::Address, &b)
            .await
            .unwrap()
            .as_deref(),
        Some("302")
    );
}

#[tokio::test]
async fn a_missing_table_is_a_permanent_error_not_a_panic() {
    let Some(moto) = Moto::start() else { return };
    let client = aws_sdk_dynamodb::Client::new(&moto.config().await);
    let store = DynamoStore::new(client, "no-such-table");
    let err = store
        .get_connector(&ConnectorId::parse("shop").unwrap())
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("connector shop"), "{err}");
}
