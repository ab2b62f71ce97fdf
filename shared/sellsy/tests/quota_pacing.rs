//! The client paces itself by the account's quota, as Sellsy reports it on every answer: a burst of
//! requests from one connector stays within its share of the quota and meets no 429, whatever the
//! (hard cap) `requests_per_second` allows.

use std::sync::Arc;

use secrecy::SecretString;
use sellsy::client::{Client, ClientConfig};
use sim_sellsy::{SellsySim, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_stays_within_the_share_of_the_accounts_quota() {
    let config = SimConfig {
        quota_per_second: Some(10),
        quota_per_minute: Some(600),
        ..SimConfig::default()
    };
    let sim = SellsySim::start(config.clone()).await.unwrap();
    let mut client_config = ClientConfig::new(
        sim.api_url(),
        sim.token_url(),
        config.client_id.clone(),
        SecretString::from(config.client_secret.clone()),
    );
    // The cap alone would let 1,000 requests a second through: the account allows 10.
    client_config.requests_per_second = 1_000;
    client_config.quota_share = 0.8;
    let client = Arc::new(Client::new(client_config).unwrap());

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let client = Arc::clone(&client);
        tasks.spawn(async move { client.list_currencies().await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }

    let refused = sim.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(refused, 0, "no request met the quota");
    assert_eq!(sim.calls().len(), 30, "each request sent once");
}
