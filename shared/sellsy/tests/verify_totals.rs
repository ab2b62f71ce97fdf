//! The optional extra check (`verify_totals_with_sellsy`): Sellsy's own `POST /invoices/compute` must
//! agree with WooCommerce before the invoice is created. Run against the spec-faithful simulator.

mod support;

use rust_decimal_macros::dec;
use secrecy::SecretString;
use sellsy::backend::SellsyBackend;
use sellsy::client::{Client, ClientConfig};
use sim_sellsy::{SellsySim, SimConfig};
use support::{MemCache, plan};
use woosellsy_ports::{AccountingBackend, PortError};

async fn backend(sim: &SellsySim) -> SellsyBackend {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let defaults = SimConfig::default();
    let mut config = ClientConfig::new(
        sim.api_url(),
        sim.token_url(),
        defaults.client_id.clone(),
        SecretString::from(defaults.client_secret.clone()),
    );
    config.requests_per_second = 100;
    SellsyBackend::new(Client::new(config).expect("client")).verifying_totals(true)
}

#[tokio::test]
async fn an_invoice_sellsy_computes_like_woocommerce_is_created_after_the_check() {
    let sim = SellsySim::start(SimConfig::default()).await.unwrap();
    let backend = backend(&sim).await;
    backend
        .create_document(&plan(), &MemCache::default())
        .await
        .expect("created");
    let paths: Vec<String> = sim
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    let compute = paths
        .iter()
        .position(|p| p == "POST /v2/invoices/compute")
        .expect("compute called");
    let create = paths
        .iter()
        .position(|p| p == "POST /v2/invoices")
        .expect("invoice created");
    assert!(compute < create, "{paths:?}");
    assert_eq!(sim.invoices().len(), 1);
}

#[tokio::test]
async fn a_total_sellsy_would_compute_differently_is_refused_and_nothing_is_created() {
    let sim = SellsySim::start(SimConfig::default()).await.unwrap();
    let backend = backend(&sim).await;
    let mut wrong = plan();
    wrong.totals.incl_tax = dec!(65.81);
    let err = backend
        .create_document(&wrong, &MemCache::default())
        .await
        .unwrap_err();
    match err {
        PortError::Permanent { message } => {
            assert!(
                message.contains("65.80") && message.contains("65.81"),
                "{message}"
            )
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert!(sim.invoices().is_empty());
}
