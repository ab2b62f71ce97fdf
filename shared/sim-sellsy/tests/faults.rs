//! Fault injection over HTTP: creates answered 503 after they were committed, latency drawn from a range,
//! and the duplicate report a storm test reads.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};
use sim_sellsy::{SellsySim, SimConfig};

async fn token(http: &Client, sim: &SellsySim) -> String {
    let resp = http
        .post(sim.token_url())
        .json(&json!({"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}))
        .send()
        .await
        .unwrap();
    resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn post(
    http: &Client,
    sim: &SellsySim,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http
        .post(format!("{}{path}", sim.api_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

#[tokio::test]
async fn an_invoice_create_answered_503_after_committing_exists_all_the_same() {
    let sim = SellsySim::start(SimConfig {
        create_commit_then_fail: 1.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = client();
    let token = token(&http, &sim).await;
    // Other creates are not affected by the invoice ratio.
    let (s, who) = post(
        &http,
        &sim,
        &token,
        "/individuals",
        json!({"type": "client", "last_name": "Martin", "email": "m@example.fr"}),
    )
    .await;
    assert_eq!(s, 201, "{who}");
    let invoice = json!({"related": [{"type": "individual", "id": who["id"]}], "order_reference": "WC-7",
        "rows": [{"type": "comment", "text": "Merci"}]});
    for _ in 0..2 {
        let (s, v) = post(&http, &sim, &token, "/invoices", invoice.clone()).await;
        assert_eq!(s, 503, "{v}");
        assert_eq!(v["error"]["context"], "simulated", "{v}");
    }
    // A refused create (validation) is not committed, so not turned into a 503 either.
    let (s, _) = post(&http, &sim, &token, "/invoices", json!({"rows": []})).await;
    assert_eq!(s, 400);
    assert_eq!(sim.invoices().len(), 2, "both creates were committed");
    assert_eq!(
        sim.commit_then_fail_injected(),
        vec!["/v2/invoices".to_string(), "/v2/invoices".to_string()]
    );
    assert_eq!(sim.calls().iter().filter(|c| c.status == 503).count(), 2);
    let dup = sim.duplicates();
    assert_eq!(dup.invoices, vec![("WC-7".to_string(), 2)]);
    assert!(dup.customers.is_empty() && dup.items.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn other_creates_fail_after_committing_with_their_own_ratio() {
    let sim = SellsySim::start(SimConfig {
        other_create_commit_then_fail: 1.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = client();
    let token = token(&http, &sim).await;
    for email in ["A@example.fr", "a@example.fr"] {
        let (s, _) = post(
            &http,
            &sim,
            &token,
            "/individuals",
            json!({"type": "client", "last_name": "A", "email": email}),
        )
        .await;
        assert_eq!(s, 503);
    }
    assert_eq!(sim.individuals().len(), 2);
    assert_eq!(
        sim.duplicates().customers,
        vec![("a@example.fr".to_string(), 2)]
    );
    assert_eq!(sim.commit_then_fail_injected().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_request_takes_a_latency_from_the_range() {
    let sim = SellsySim::start(SimConfig {
        latency_range: Some((Duration::from_millis(40), Duration::from_millis(60))),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = client();
    let token = token(&http, &sim).await;
    for _ in 0..5 {
        let started = Instant::now();
        let resp = http
            .get(format!("{}/currencies", sim.api_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
    assert!(sim.commit_then_fail_injected().is_empty());
    sim.shutdown().await;
}
