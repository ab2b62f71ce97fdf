//! Store checks on plain records: connector settings, order records and the cache of ids in the
//! accounting system. Claims and leases have their own files.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use woosellsy_domain::{ConnectorId, ConnectorSettings, DocumentKind, Exemption, OrderId};

use super::{document, now_ms, ok, secs, unique_connector};
use crate::{IdKind, OrderRecord, OrderState, Store};

/// Settings built from JSON, so that fields the domain adds later (with serde defaults) need no change here.
fn settings(id: &ConnectorId, shop: &str) -> ConnectorSettings {
    let json = serde_json::json!({
        "id": id.as_str(),
        "woocommerce_url": format!("https://{shop}.example.fr"),
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
        "documents": ["invoice", "order"],
        "zero_rate_exemption": "intra-eu",
        "vat_meta_keys": ["_billing_vat_number", "vat_number"],
        "order_reference_prefix": "WC-",
        "sellsy_requests_per_second": 3,
    });
    match serde_json::from_value(json) {
        Ok(settings) => settings,
        Err(e) => panic!("conformance helper built invalid connector settings: {e}"),
    }
}

/// Connector settings are stored, read back identically, updated in place and listed.
pub async fn store_connectors_round_trip(store: Arc<dyn Store>) {
    let a = unique_connector("conn");
    let b = unique_connector("conn");
    let missing = unique_connector("conn");

    assert_eq!(
        ok(
            store.get_connector(&missing).await,
            "get_connector(unknown)"
        ),
        None,
        "an unknown connector must read as None"
    );

    let sa = settings(&a, "boutique-a");
    let sb = settings(&b, "boutique-b");
    ok(store.put_connector(&sa).await, "put_connector(a)");
    ok(store.put_connector(&sb).await, "put_connector(b)");
    assert_eq!(
        ok(store.get_connector(&a).await, "get_connector(a)").as_ref(),
        Some(&sa),
        "connector settings must read back exactly as written"
    );

    let mut updated = sa.clone();
    updated.documents = vec![DocumentKind::Invoice];
    updated.zero_rate_exemption = Exemption::Export;
    updated.order_reference_prefix = "CMD-".to_owned();
    updated.sellsy_requests_per_second = Some(5);
    ok(
        store.put_connector(&updated).await,
        "put_connector(a, updated)",
    );
    assert_eq!(
        ok(
            store.get_connector(&a).await,
            "get_connector(a) after update"
        )
        .as_ref(),
        Some(&updated),
        "put_connector on an existing id must replace the settings"
    );
    assert_eq!(
        ok(store.get_connector(&b).await, "get_connector(b)").as_ref(),
        Some(&sb),
        "updating one connector must not touch another"
    );

    let listed = ok(store.list_connectors().await, "list_connectors");
    let mine: Vec<&ConnectorSettings> = listed.iter().filter(|s| s.id == a || s.id == b).collect();
    assert_eq!(
        mine.len(),
        2,
        "list_connectors must list each connector once, got {mine:?}"
    );
    assert!(
        listed.contains(&updated),
        "list_connectors must return the updated settings"
    );
    assert!(
        listed.contains(&sb),
        "list_connectors must return every connector"
    );
}

/// Order records are stored per (connector, order), read back identically and replaced on update.
pub async fn store_orders_round_trip(store: Arc<dyn Store>) {
    let c = unique_connector("orders");
    let other = unique_connector("orders");
    let order = OrderId(1042);

    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order(unknown)"),
        None,
        "an order never seen must read as None"
    );

    let modified = NaiveDateTime::parse_from_str("2024-03-05T10:11:12", "%Y-%m-%dT%H:%M:%S")
        .unwrap_or_else(|e| panic!("bad test timestamp: {e}"));
    let mut documents = BTreeMap::new();
    documents.insert(
        DocumentKind::Invoice,
        document(DocumentKind::Invoice, "9001"),
    );
    let record = OrderRecord {
        connector: c.clone(),
        order,
        last_modified_gmt: Some(modified),
        state: OrderState::Error {
            reason: "Taux de TVA 7 % inconnu dans Sellsy — « créez-le » puis relancez".to_owned(),
        },
        documents,
        links_written: false,
        updated_at: now_ms(),
    };
    ok(store.put_order(&record).await, "put_order");
    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order").as_ref(),
        Some(&record),
        "an order record must read back exactly as written (state, documents, timestamps, accents)"
    );
    assert_eq!(
        ok(
            store.get_order(&other, order).await,
            "get_order(other connector)"
        ),
        None,
        "order records are per connector: the same order id under another connector is a different order"
    );
    assert_eq!(
        ok(
            store.get_order(&c, OrderId(1043)).await,
            "get_order(other order)"
        ),
        None,
        "order records are per order id"
    );

    let mut done = record.clone();
    done.state = OrderState::Done;
    done.links_written = true;
    done.documents
        .insert(DocumentKind::Order, document(DocumentKind::Order, "9002"));
    done.updated_at = now_ms() + secs(1);
    ok(store.put_order(&done).await, "put_order(update)");
    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order after update").as_ref(),
        Some(&done),
        "put_order must replace the record"
    );

    let skipped = OrderRecord {
        connector: other.clone(),
        order,
        last_modified_gmt: None,
        state: OrderState::Skipped {
            reason: "status pending".to_owned(),
        },
        documents: BTreeMap::new(),
        links_written: false,
        updated_at: now_ms(),
    };
    ok(
        store.put_order(&skipped).await,
        "put_order(other connector)",
    );
    assert_eq!(
        ok(
            store.get_order(&c, order).await,
            "get_order after other connector's put"
        )
        .as_ref(),
        Some(&done),
        "writing another connector's order must not touch this one"
    );
    assert_eq!(
        ok(
            store.get_order(&other, order).await,
            "get_order(other connector)"
        )
        .as_ref(),
        Some(&skipped)
    );
}

/// Mappings are kept per (connector, kind, key), overwritten on put, and keys are taken verbatim.
pub async fn mappings_round_trip(store: Arc<dyn Store>) {
    let c = unique_connector("map");
    let other = unique_connector("map");
    let email = "élodie.dupont+shop@exemple.fr";

    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id(unknown)"
        ),
        None,
        "an unknown mapping must read as None"
    );

    let entries = [
        (IdKind::Customer, email, "individual:42"),
        (IdKind::Item, "TSHIRT-BLEU-M", "product:12:declination:3"),
        (IdKind::Tax, "rate:5.5", "17"),
        (IdKind::Tax, "exempt:intra-eu", "23"),
        (IdKind::Address, "company:7|7 rue de la Paix|75002", "301"),
        (IdKind::Other, "currencies", "[\"EUR\",\"CHF\"]"),
    ];
    for (kind, k, v) in entries {
        ok(store.put_cached_id(&c, kind, k, v).await, "put_cached_id");
    }
    for (kind, k, v) in entries {
        assert_eq!(
            ok(store.get_cached_id(&c, kind, k).await, "get_cached_id").as_deref(),
            Some(v),
            "{kind:?} {k:?} must read back as written"
        );
    }

    // The same key under another kind or connector is a different mapping.
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Item, email).await,
            "get_cached_id(other kind)"
        ),
        None,
        "mappings are per kind"
    );
    assert_eq!(
        ok(
            store.get_cached_id(&other, IdKind::Customer, email).await,
            "get_cached_id(other connector)"
        ),
        None,
        "mappings are per connector"
    );

    ok(
        store
            .put_cached_id(&c, IdKind::Customer, email, "company:7")
            .await,
        "put_cached_id(overwrite)",
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id after overwrite"
        )
        .as_deref(),
        Some("company:7"),
        "put_cached_id must replace the value"
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Tax, "rate:5.5").await,
            "get_cached_id(untouched)"
        )
        .as_deref(),
        Some("17"),
        "overwriting one mapping must not touch another"
    );
}

/// The TTL to build a store with for [`cached_ids_expire`] (e.g. `SqliteStore::with_id_ttl`): two
/// seconds, because a store may keep expiry instants in whole seconds, rounded down, and the check
/// must still find the id right after putting it.
pub const SHORT_ID_TTL: Duration = Duration::from_secs(2);

/// A cached id is trusted for the store's TTL and no longer: it reads back at once, reads as None once
/// the TTL has passed since the put (even while the backend still holds it: DynamoDB deletes expired
/// items days late), and a put after that stores a fresh entry with a fresh TTL. Expiry is wall-clock
/// time, so this check sleeps [`SHORT_ID_TTL`] for real; `store` must be built with that TTL. A store
/// may let an id go up to a second early (an extra lookup), never late (a stale id).
pub async fn cached_ids_expire(store: Arc<dyn Store>) {
    let c = unique_connector("ttl");
    let email = "zoé.martin@exemple.fr";

    ok(
        store
            .put_cached_id(&c, IdKind::Customer, email, "individual:42")
            .await,
        "put_cached_id",
    );
    ok(
        store.put_cached_id(&c, IdKind::Tax, "rate:20", "7").await,
        "put_cached_id(tax)",
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id before the TTL"
        )
        .as_deref(),
        Some("individual:42"),
        "a cached id must read back within its TTL"
    );

    // A little over the TTL, for the wall clock the stores read versus tokio's monotonic one.
    tokio::time::sleep(SHORT_ID_TTL + Duration::from_millis(50)).await;
    for (kind, k) in [(IdKind::Customer, email), (IdKind::Tax, "rate:20")] {
        assert_eq!(
            ok(
                store.get_cached_id(&c, kind, k).await,
                "get_cached_id after the TTL"
            ),
            None,
            "{kind:?} {k:?}: a cached id past its TTL must read as None, even if the backend still holds it"
        );
    }

    ok(
        store
            .put_cached_id(&c, IdKind::Customer, email, "company:7")
            .await,
        "put_cached_id after expiry",
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id after a fresh put"
        )
        .as_deref(),
        Some("company:7"),
        "a put after expiry must store a fresh entry, with a fresh TTL"
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Tax, "rate:20").await,
            "get_cached_id(tax) after the customer's put"
        ),
        None,
        "re-putting one id must not revive another expired one"
    );
}
