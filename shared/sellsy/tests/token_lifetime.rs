//! A token endpoint's `expires_in` is external data: an absurd one (here the largest integer) must be
//! taken with a grain of salt, not overflow the clock and panic the converter on every order.

use secrecy::SecretString;
use sellsy::client::{Client, ClientConfig};
use sim_sellsy::{SellsySim, SimConfig};

#[tokio::test]
async fn a_huge_expires_in_is_capped_not_a_panic() {
    let config = SimConfig {
        token_ttl_secs: u64::MAX,
        ..SimConfig::default()
    };
    let sim = SellsySim::start(config.clone()).await.unwrap();
    let client = Client::new(ClientConfig::new(
        sim.api_url(),
        sim.token_url(),
        config.client_id.clone(),
        SecretString::from(config.client_secret.clone()),
    ))
    .unwrap();
    let currencies = client.list_currencies().await.unwrap();
    assert!(!currencies.is_empty());
    client.list_currencies().await.unwrap();
    assert_eq!(sim.token_calls(), 1, "the token is still cached and reused");
}
