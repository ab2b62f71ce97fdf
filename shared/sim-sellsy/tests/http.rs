//! Black-box tests of the simulator over HTTP: what a Sellsy client would see (token flow, quotas, strict
//! validation of invoices, totals in both rounding modes, pagination).

use reqwest::{Client, Method};
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sim_sellsy::compute::RoundingMode;
use sim_sellsy::{SellsySim, SimConfig};

struct Api {
    sim: SellsySim,
    http: Client,
    token: String,
}

fn client() -> Client {
    // reqwest is built without a default TLS provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("http client")
}

async fn token(http: &Client, sim: &SellsySim) -> String {
    let resp = http
        .post(sim.token_url())
        .json(&json!({"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

impl Api {
    async fn start(config: SimConfig) -> Api {
        let sim = SellsySim::start(config).await.unwrap();
        let http = client();
        let token = token(&http, &sim).await;
        Api { sim, http, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.sim.api_url()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn client_individual(&self, email: &str) -> u64 {
        let (s, v) = self
            .post(
                "/individuals",
                json!({"type": "client", "last_name": "Martin", "email": email}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_u64().unwrap()
    }

    /// Id of the first tax matching a predicate in `GET /taxes?limit=100`.
    async fn tax_where(&self, pred: impl Fn(&Value) -> bool) -> u64 {
        let (_, v) = self.get("/taxes?limit=100").await;
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| pred(t))
            .expect("seeded tax")["id"]
            .as_u64()
            .unwrap()
    }

    async fn vat(&self, rate: f64) -> u64 {
        self.tax_where(|t| {
            t["rate"].as_f64() == Some(rate)
                && t["is_active"] == true
                && t["is_einvoicing_compliant"] == true
        })
        .await
    }
}

fn details(v: &Value) -> Vec<String> {
    v["error"]["details"]
        .as_object()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn token_flow_accepts_json_and_form_and_rejects_bad_clients() {
    let sim = SellsySim::start(SimConfig::default()).await.unwrap();
    let http = client();

    let form = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let body: Value = form.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let form_token = body["access_token"].as_str().unwrap().to_string();

    let bad = http
        .post(sim.token_url())
        .json(&json!({"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let grant = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let json_token = token(&http, &sim).await;
    assert_eq!(sim.token_calls(), 4);

    // No bearer → 401 in the Sellsy envelope, still with quota headers.
    let anon = http
        .get(format!("{}/taxes", sim.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    assert!(anon.headers().contains_key("x-quota-remaining-by-minute"));
    assert_eq!(anon.json::<Value>().await.unwrap()["error"]["code"], 401);

    for t in [&form_token, &json_token] {
        let ok = http
            .get(format!("{}/taxes", sim.api_url()))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }

    sim.expire_tokens();
    let expired = http
        .get(format!("{}/taxes", sim.api_url()))
        .bearer_auth(&json_token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    let fresh = token(&http, &sim).await;
    let ok = http
        .get(format!("{}/taxes", sim.api_url()))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let calls = sim.calls();
    assert_eq!(calls.len(), 5, "token requests are not API calls");
    assert_eq!(calls[0].path, "/v2/taxes");
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![401, 200, 200, 401, 200]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn quota_exhaustion_answers_429_and_errors_count_too() {
    let api = Api::start(SimConfig {
        quota_per_minute: Some(3),
        ..SimConfig::default()
    })
    .await;
    let url = format!("{}/taxes", api.sim.api_url());
    let mut remaining = Vec::new();
    // The second call fails (404) but still consumes quota.
    for path in ["/taxes", "/nope", "/taxes"] {
        let resp = api
            .http
            .get(format!("{}{path}", api.sim.api_url()))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        remaining.push(
            resp.headers()["x-quota-remaining-by-minute"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        for h in ["second", "day", "month"] {
            assert!(
                resp.headers()
                    .contains_key(format!("x-quota-remaining-by-{h}").as_str())
            );
        }
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let resp = api
        .http
        .get(&url)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429);
}

#[tokio::test]
async fn injected_failures_use_the_error_envelope() {
    let api = Api::start(SimConfig::default()).await;
    api.sim.fail_next(1, 429);
    api.sim.fail_next(1, 503);
    let resp = api
        .http
        .get(format!("{}/taxes", api.sim.api_url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let (s, v) = api.get("/taxes").await;
    assert_eq!((s, v["error"]["code"].as_u64()), (503, Some(503)));
    assert_eq!(api.get("/taxes").await.0, 200);
}

#[tokio::test]
async fn decimals_sent_as_json_numbers_are_rejected_by_name() {
    let api = Api::start(SimConfig::default()).await;
    let who = api.client_individual("jean@example.fr").await;
    let body = json!({
        "related": [{"type": "individual", "id": who}],
        "rows": [{"type": "single", "unit_amount": "10.00", "quantity": 2}],
        "discount": {"type": "percent", "value": 5},
    });
    let (s, v) = api.post("/invoices", body).await;
    assert_eq!(s, 400);
    let d = details(&v);
    assert!(d.contains(&"rows[0].quantity".to_string()), "{v}");
    assert!(d.contains(&"discount.value".to_string()), "{v}");
    assert!(api.sim.invoices().is_empty());
}

#[tokio::test]
async fn prospects_must_be_converted_before_invoicing() {
    let api = Api::start(SimConfig::default()).await;
    let (_, p) = api
        .post(
            "/individuals",
            json!({"type": "prospect", "last_name": "Durand"}),
        )
        .await;
    let id = p["id"].as_u64().unwrap();
    let body = json!({"related": [{"type": "individual", "id": id}],
        "rows": [{"type": "single", "unit_amount": "10.00", "quantity": "1"}]});
    let (s, v) = api.post("/invoices", body.clone()).await;
    assert_eq!(s, 400);
    assert!(details(&v).contains(&"related[0]".to_string()), "{v}");

    // The wrong id space is a "not found", not a silent match.
    let (s, v) = api
        .post(
            "/invoices",
            json!({"related": [{"type": "company", "id": id}]}),
        )
        .await;
    assert_eq!(s, 400, "{v}");

    let (s, v) = api
        .post(
            &format!("/individuals/{id}/convert"),
            json!({"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}}),
        )
        .await;
    assert_eq!((s, v["type"].as_str()), (200, Some("client")));
    let (s, v) = api.post("/invoices", body).await;
    assert_eq!(s, 201, "{v}");
    // Converting a client again is refused.
    let (s, _) = api
        .post(
            &format!("/individuals/{id}/convert"),
            json!({"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn only_active_compliant_taxes_are_accepted_on_rows() {
    let api = Api::start(SimConfig::default()).await;
    let who = api.client_individual("a@example.fr").await;
    let legacy_zero = api
        .tax_where(|t| t["rate"].as_f64() == Some(0.0) && t["is_einvoicing_compliant"] == false)
        .await;
    let inactive = api.tax_where(|t| t["is_active"] == false).await;
    let export = api
        .tax_where(|t| t["category"] == "G" && t["vatex"] == "VATEX-EU-G")
        .await;
    let invoice = |tax: u64| {
        json!({"related": [{"type": "individual", "id": who}],
               "rows": [{"type": "single", "unit_amount": "10.00", "quantity": "1", "tax_id": tax}]})
    };
    for bad in [legacy_zero, inactive, 999_999] {
        let (s, v) = api.post("/invoices", invoice(bad)).await;
        assert_eq!(s, 400, "tax {bad}: {v}");
        assert_eq!(details(&v), vec!["rows[0].tax_id".to_string()]);
    }
    let (s, v) = api.post("/invoices", invoice(export)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["amounts"]["total_incl_tax"], "10.00");
}

#[tokio::test]
async fn invoice_totals_follow_the_configured_rounding_and_validation_numbers_them() {
    let api = Api::start(SimConfig::default()).await;
    let who = api.client_individual("b@example.fr").await;
    let tva55 = api.vat(5.5).await;
    let row = json!({"type": "single", "unit_amount": "1.05", "quantity": "1", "tax_id": tva55});
    let body = json!({"related": [{"type": "individual", "id": who}], "order_reference": "WC-1042",
        "public_link_enabled": true, "rows": [row, row, row, {"type": "comment", "text": "Merci"}]});

    let (s, per_row) = api.post("/invoices", body.clone()).await;
    assert_eq!(s, 201, "{per_row}");
    assert_eq!(per_row["status"], "draft");
    assert_eq!(per_row["amounts"]["total_excl_tax"], "3.15");
    assert_eq!(per_row["taxes"][0]["amount"], "0.18");
    assert_eq!(per_row["taxes"][0]["rate"], "5.50");
    assert_eq!(per_row["amounts"]["total_incl_tax"], "3.33");
    assert_eq!(per_row["rows"][0]["tax_amount"], "0.06");
    assert_eq!(per_row["rows"][3]["text"], "Merci");
    assert_eq!(per_row["order_reference"], "WC-1042");
    assert_eq!(per_row["public_link"]["enabled"], true);

    api.sim.set_rounding(RoundingMode::PerRate);
    let (_, computed) = api.post("/invoices/compute", body.clone()).await;
    assert_eq!(computed["amounts"]["total_incl_tax"], "3.32");
    assert_eq!(api.sim.invoices().len(), 1, "compute stores nothing");
    let (_, per_rate) = api.post("/invoices", body).await;
    assert_eq!(per_rate["taxes"][0]["amount"], "0.17");
    assert_eq!(per_rate["amounts"]["total_incl_tax"], "3.32");

    // GET answers exactly what was stored, and the public link serves the document.
    let id = per_row["id"].as_u64().unwrap();
    let (_, fetched) = api.get(&format!("/invoices/{id}")).await;
    assert_eq!(fetched, per_row);
    assert_eq!(api.sim.invoices()[0], per_row);
    let page = api
        .http
        .get(per_row["public_link"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("3.33"));

    let (s, validated) = api
        .post(&format!("/invoices/{id}/validate"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(validated["status"], "due");
    assert!(
        validated["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("FAC-"))
    );
    assert_eq!(
        api.post(&format!("/invoices/{id}/validate"), json!({}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn catalog_declination_shipping_and_discounts_add_up() {
    let api = Api::start(SimConfig::default()).await;
    let who = api.client_individual("c@example.fr").await;
    let shirt = api.sim.add_item("TSHIRT", "T-shirt", dec!(20.00), dec!(20));
    let blue_m = api
        .sim
        .add_declination(shirt, "TSHIRT-BLUE-M", "T-shirt bleu M");
    let ship = api
        .sim
        .add_shipping_item("COLISSIMO", "Colissimo", dec!(5.00), dec!(20));
    let body = json!({
        "related": [{"type": "individual", "id": who}],
        "discount": {"type": "percent", "value": "10"},
        "rows": [
            {"type": "catalog", "related": {"type": "product", "id": shirt, "declination_id": blue_m}, "quantity": "2",
             "discount": {"type": "amount", "value": "4.00"}},
            {"type": "shipping", "related": {"type": "shipping", "id": ship}, "quantity": "1"},
        ],
    });
    let (s, v) = api.post("/invoices", body).await;
    assert_eq!(s, 201, "{v}");
    // 2 × 20 − 4 = 36; global 10 % → 32.40; shipping 5; VAT 20 % of 37.40 = 7.48.
    assert_eq!(v["rows"][0]["amount_tax_exc"], "36.00");
    assert_eq!(v["rows"][0]["reference"], "TSHIRT-BLUE-M");
    assert_eq!(v["rows"][0]["discount"]["total"], "4.00");
    assert_eq!(v["amounts"]["total_raw_excl_tax"], "36.00");
    assert_eq!(v["amounts"]["total_after_discount_excl_tax"], "32.40");
    assert_eq!(v["amounts"]["total_shipping"], "5.00");
    assert_eq!(v["amounts"]["total_excl_tax"], "37.40");
    assert_eq!(v["amounts"]["total_incl_tax"], "44.88");
    assert_eq!(v["discount"]["amount"], "3.60");

    // A product id used as a service, or a declination of another item, is refused.
    let wrong = json!({"related": [{"type": "individual", "id": who}],
        "rows": [{"type": "catalog", "related": {"type": "service", "id": shirt}, "quantity": "1"},
                 {"type": "catalog", "related": {"type": "product", "id": ship}, "quantity": "1"},
                 {"type": "single", "unit_amount": "1", "quantity": "1", "unknown": true}]});
    let (s, v) = api.post("/invoices", wrong).await;
    assert_eq!(s, 400);
    let d = details(&v);
    for key in [
        "rows[0].related.id",
        "rows[1].related.id",
        "rows[2].unknown",
    ] {
        assert!(d.contains(&key.to_string()), "{key} missing in {v}");
    }
}

#[tokio::test]
async fn item_reference_search_is_partial() {
    let api = Api::start(SimConfig::default()).await;
    api.sim.add_item("SKU-1", "One", dec!(1), dec!(20));
    api.sim.add_item("SKU-10", "Ten", dec!(10), dec!(20));
    let (s, v) = api
        .post("/items/search", json!({"filters": {"reference": "SKU-1"}}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["pagination"]["total"], 2,
        "a client must re-check equality: {v}"
    );
    let (s, _) = api
        .post("/items", json!({"type": "shipping", "reference": "X"}))
        .await;
    assert_eq!(s, 400, "API v2 cannot create shipping items");
    let (s, v) = api
        .post(
            "/items",
            json!({"type": "product", "reference": "NEW", "reference_price": "12.50"}),
        )
        .await;
    assert_eq!(
        (s, v["reference_price_taxes_exc"].as_str()),
        (201, Some("12.50"))
    );
    assert_eq!(api.sim.items().len(), 3);
}

#[tokio::test]
async fn search_pagination_walks_cursors_and_caps_limit() {
    let api = Api::start(SimConfig::default()).await;
    let (s, v) = api
        .post("/individuals/search?limit=101", json!({"filters": {}}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(details(&v), vec!["limit".to_string()]);
    assert_eq!(
        api.post("/individuals/search", json!({})).await.0,
        400,
        "filters is required"
    );

    let mut created = Vec::new();
    for i in 0..23 {
        created.push(api.client_individual(&format!("user{i}@example.fr")).await);
    }
    let mut seen = Vec::new();
    let mut path = "/individuals/search?limit=10".to_string();
    loop {
        let (s, v) = api
            .post(&path, json!({"filters": {"type": "client"}}))
            .await;
        assert_eq!(s, 200);
        assert_eq!(v["pagination"]["total"], 23);
        let data = v["data"].as_array().unwrap();
        seen.extend(data.iter().map(|d| d["id"].as_u64().unwrap()));
        if data.len() < 10 {
            break;
        }
        path = format!(
            "/individuals/search?limit=10&offset={}",
            v["pagination"]["offset"].as_str().unwrap()
        );
    }
    assert_eq!(seen, created);

    let (_, page2) = api
        .post(
            "/individuals/search?limit=10&offset=2",
            json!({"filters": {}}),
        )
        .await;
    assert_eq!(page2["pagination"]["count"], 3);
    assert_eq!(page2["pagination"]["offset"], 2);

    // Email filter: exact, case-insensitive.
    let (_, v) = api
        .post(
            "/individuals/search",
            json!({"filters": {"email": "USER7@Example.fr"}}),
        )
        .await;
    assert_eq!(v["pagination"]["total"], 1);
    let (_, v) = api
        .post(
            "/individuals/search",
            json!({"filters": {"email": "user7@example"}}),
        )
        .await;
    assert_eq!(v["pagination"]["total"], 0);
    let (s, _) = api
        .post("/individuals/search", json!({"filters": {"mail": "x"}}))
        .await;
    assert_eq!(
        s, 400,
        "unknown filters are refused (additionalProperties: false)"
    );
}

#[tokio::test]
async fn addresses_and_company_contacts_are_checked() {
    let api = Api::start(SimConfig::default()).await;
    let (s, co) = api
        .post(
            "/companies",
            json!({"type": "client", "name": "ACME", "email": "compta@acme.fr"}),
        )
        .await;
    assert_eq!(s, 201);
    let co = co["id"].as_u64().unwrap();
    let (s, _) = api
        .post(
            "/companies",
            json!({"type": "client", "name": "X", "address": "nope"}),
        )
        .await;
    assert_eq!(s, 400, "company create has additionalProperties: false");
    let (s, _) = api
        .post(
            "/individuals",
            json!({"type": "client", "last_name": "Y", "email": "not-an-email"}),
        )
        .await;
    assert_eq!(s, 400);

    let addr = json!({"name": "Siège", "address_line_1": "1 rue X", "postal_code": "75001", "city": "Paris", "country_code": "FRA"});
    let (s, v) = api.post(&format!("/companies/{co}/addresses"), addr).await;
    assert_eq!(s, 400);
    assert_eq!(details(&v), vec!["country_code".to_string()]);
    let addr = json!({"name": "Siège", "address_line_1": "1 rue X", "postal_code": "75001", "city": "Paris", "country_code": "FR"});
    let (s, a) = api.post(&format!("/companies/{co}/addresses"), addr).await;
    assert_eq!(
        (
            s,
            a["is_invoicing_address"].as_bool(),
            a["country"].as_str()
        ),
        (201, Some(true), Some("France"))
    );
    let (_, company) = api.get(&format!("/companies/{co}")).await;
    assert_eq!(company["invoicing_address_id"], a["id"]);

    let (_, contact) = api.post("/contacts", json!({"last_name": "Dupont"})).await;
    let ct = contact["id"].as_u64().unwrap();
    let link = format!("/companies/{co}/contacts/{ct}");
    assert_eq!(
        api.post(&link, json!({"roles": ["invoicing"]})).await.0,
        201
    );
    assert_eq!(
        api.post(&link, json!({"roles": ["invoicing"]})).await.0,
        200
    );

    // Another third party's address is refused on the invoice; the company's own contact is fine.
    let other = api.client_individual("z@example.fr").await;
    let (_, other_addr) = api
        .post(&format!("/individuals/{other}/addresses"),
            json!({"name": "Maison", "address_line_1": "2 rue Y", "postal_code": "69001", "city": "Lyon", "country_code": "FR"}))
        .await;
    let bad = json!({"related": [{"type": "company", "id": co}], "invoicing_address_id": other_addr["id"]});
    let (s, v) = api.post("/invoices", bad).await;
    assert_eq!(s, 400);
    assert_eq!(details(&v), vec!["invoicing_address_id".to_string()]);
    let good = json!({"related": [{"type": "company", "id": co}, {"type": "contact", "id": ct}], "currency": "EUR"});
    let (s, v) = api.post("/invoices", good).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["invoicing_address_id"], a["id"]);
    assert_eq!(v["contact_id"], ct);
    let (s, _) = api
        .post(
            "/invoices",
            json!({"related": [{"type": "company", "id": co}], "currency": "JPY"}),
        )
        .await;
    assert_eq!(s, 400, "currency must be enabled");
}

#[tokio::test]
async fn invoice_search_filters_by_related_object_and_ignores_order_reference() {
    let api = Api::start(SimConfig::default()).await;
    let a = api.client_individual("a@example.fr").await;
    let b = api.client_individual("b@example.fr").await;
    for (who, reference) in [(a, "WC-1"), (b, "WC-2")] {
        let (s, _) = api.post("/invoices", json!({"related": [{"type": "individual", "id": who}], "order_reference": reference})).await;
        assert_eq!(s, 201);
    }
    let (_, v) = api
        .post(
            "/invoices/search",
            json!({"filters": {"related_objects": [{"type": "individual", "id": b}]}}),
        )
        .await;
    assert_eq!(v["pagination"]["total"], 1);
    assert_eq!(v["data"][0]["order_reference"], "WC-2");
    assert!(
        v["data"][0].get("rows").is_none(),
        "list items carry no rows"
    );
    // There is no order_reference filter in the spec: it is ignored, so both invoices come back.
    let (_, v) = api
        .post(
            "/invoices/search",
            json!({"filters": {"order_reference": "WC-1"}}),
        )
        .await;
    assert_eq!(v["pagination"]["total"], 2);
    let (_, v) = api.get("/invoices?limit=1&offset=1").await;
    assert_eq!(v["data"][0]["order_reference"], "WC-2");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_envelopes() {
    let api = Api::start(SimConfig::default()).await;
    let (s, v) = api.get("/nothing/here").await;
    assert_eq!((s, v["error"]["code"].as_u64()), (404, Some(404)));
    let (s, v) = api.call(Method::DELETE, "/invoices", None).await;
    assert_eq!((s, v["error"]["code"].as_u64()), (405, Some(405)));
    let (s, _) = api.get("/invoices/123456").await;
    assert_eq!(s, 404);
    let (s, v) = api.get("/currencies").await;
    assert_eq!(s, 200);
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
    let (_, tax) = api.get("/taxes?limit=100").await;
    assert!(
        tax["data"][0]["rate"].is_number(),
        "GET /taxes rates are JSON numbers"
    );
}
