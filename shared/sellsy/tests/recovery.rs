//! Crash recovery finds the connector's own invoice and no other, against the spec-faithful simulator:
//! the invoice carries its identity (connector + WooCommerce order id), and recovery matches that, not the
//! order's date, its customer or its order reference.

mod support;

use secrecy::SecretString;
use sellsy::backend::SellsyBackend;
use sellsy::client::{Client, ClientConfig};
use sim_sellsy::{SellsySim, SimConfig};
use support::{MemCache, plan};
use woosellsy_domain::{ConnectorId, DocumentPlan};
use woosellsy_ports::AccountingBackend;

/// A connector's backend on `sim`: every connector of these tests uses the same Sellsy account.
fn backend(sim: &SellsySim) -> SellsyBackend {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let defaults = SimConfig::default();
    let mut config = ClientConfig::new(
        sim.api_url(),
        sim.token_url(),
        defaults.client_id.clone(),
        SecretString::from(defaults.client_secret.clone()),
    );
    config.requests_per_second = 100;
    SellsyBackend::new(Client::new(config).expect("client"))
}

/// Order 1042 (number 1042, `WC-1042`, same customer and date) of connector `id`.
fn plan_of(id: &str) -> DocumentPlan {
    let mut p = plan();
    p.connector = Some(ConnectorId::parse(id).unwrap());
    p
}

fn invoice_ids(sim: &SellsySim) -> Vec<String> {
    sim.invoices().iter().map(|i| i["id"].to_string()).collect()
}

#[tokio::test]
async fn an_invoice_is_found_after_its_orders_email_and_date_changed() {
    // Failed before this change: the search was by the (new) customer and the (new) date, so recovery
    // found nothing and a second invoice was created.
    let sim = SellsySim::start(SimConfig::default()).await.unwrap();
    let shop = backend(&sim);
    let cache = MemCache::default();
    let created = shop.create_document(&plan(), &cache).await.unwrap();

    let mut changed = plan();
    changed.customer.email = "jean.martin@autre.example".into();
    changed.date = changed.date.succ_opt().unwrap();
    let found = shop.find_document(&changed, &cache).await.unwrap();
    assert_eq!(found, Some(created));
    assert_eq!(sim.invoices().len(), 1);
}

#[tokio::test]
async fn a_connector_never_adopts_another_connectors_invoice_of_the_same_order_number() {
    // Failed before this change: shop-a's recovery adopted shop-b's WC-1042 (same customer and date).
    let sim = SellsySim::start(SimConfig::default()).await.unwrap();
    let (a, b) = (backend(&sim), backend(&sim));
    let (cache_a, cache_b) = (MemCache::default(), MemCache::default());

    // shop-a tried (its attempt is recorded) and died before Sellsy had anything; then shop-b invoiced
    // its own order 1042.
    let mut unsent = plan_of("shop-a");
    unsent.currency = "XXX".into();
    assert!(a.create_document(&unsent, &cache_a).await.is_err());
    assert!(sim.invoices().is_empty());
    let theirs = b
        .create_document(&plan_of("shop-b"), &cache_b)
        .await
        .unwrap();

    // shop-a's recovery: with its attempt time, and without (the record expired).
    assert_eq!(
        a.find_document(&plan_of("shop-a"), &cache_a).await.unwrap(),
        None
    );
    assert_eq!(
        a.find_document(&plan_of("shop-a"), &MemCache::default())
            .await
            .unwrap(),
        None
    );
    // So shop-a creates its own, and each connector recovers its own.
    let ours = a
        .create_document(&plan_of("shop-a"), &cache_a)
        .await
        .unwrap();
    assert_ne!(ours.id, theirs.id);
    assert_eq!(invoice_ids(&sim).len(), 2);
    for cache in [&cache_a, &MemCache::default()] {
        assert_eq!(
            a.find_document(&plan_of("shop-a"), cache)
                .await
                .unwrap()
                .map(|d| d.id),
            Some(ours.id.clone())
        );
    }
    for cache in [&cache_b, &MemCache::default()] {
        assert_eq!(
            b.find_document(&plan_of("shop-b"), cache)
                .await
                .unwrap()
                .map(|d| d.id),
            Some(theirs.id.clone())
        );
    }
}
