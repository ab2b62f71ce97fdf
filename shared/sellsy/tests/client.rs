//! The Sellsy client against a local stub: tokens, retries, errors, quota headers, pagination.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sellsy::client::{Error, QuotaSnapshot};
use serde_json::json;
use support::{Reply, Stub, currencies};

#[tokio::test]
async fn the_token_is_minted_once_cached_and_reminted_after_a_401() {
    let stub = Stub::start(|r| {
        if r.is("GET", "/currencies") {
            Reply::page(currencies())
        } else {
            Reply::not_found()
        }
    })
    .await;
    let client = stub.client();

    client.list_currencies().await.unwrap();
    client.list_currencies().await.unwrap();
    assert_eq!(stub.tokens_issued(), 1, "the cached token must be reused");
    assert_eq!(client.token_requests(), 1);

    // Sellsy forgets the token (expired early, revoked): one 401, one new token, the call succeeds.
    stub.revoke_tokens();
    let list = client.list_currencies().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(stub.tokens_issued(), 2);
    let bearers: Vec<String> = stub.requests().iter().map(|r| r.bearer.clone()).collect();
    assert_eq!(bearers, ["token-1", "token-1", "token-1", "token-2"]);
    assert_eq!(client.calls_made(), 4, "the refused call counts too");

    let form = &stub.token_bodies()[0];
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("client_id=client-42"), "{form}");
    assert!(form.contains("client_secret=s3cret"), "{form}");
}

#[tokio::test]
async fn concurrent_requests_share_one_mint() {
    let stub = Stub::start(|r| {
        if r.is("GET", "/currencies") {
            Reply::page(currencies())
        } else {
            Reply::not_found()
        }
    })
    .await;
    let client = stub.client();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_currencies().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(stub.tokens_issued(), 1);
    assert_eq!(client.calls_made(), 8);
}

#[tokio::test]
async fn a_token_endpoint_that_wants_json_gets_json_and_it_is_remembered() {
    let stub = Stub::start(|r| {
        if r.is("GET", "/currencies") {
            Reply::page(currencies())
        } else {
            Reply::not_found()
        }
    })
    .await;
    stub.accept_json_tokens_only();
    let client = stub.client();

    client.list_currencies().await.unwrap();
    let bodies = stub.token_bodies();
    assert_eq!(bodies.len(), 2, "one form attempt, then JSON: {bodies:?}");
    let json: serde_json::Value = serde_json::from_str(&bodies[1]).expect("JSON body");
    assert_eq!(json["grant_type"], "client_credentials");
    assert_eq!(json["client_id"], "client-42");

    // The next mint goes straight to JSON.
    stub.revoke_tokens();
    client.list_currencies().await.unwrap();
    let bodies = stub.token_bodies();
    assert_eq!(bodies.len(), 3);
    assert!(serde_json::from_str::<serde_json::Value>(&bodies[2]).is_ok());
}

#[tokio::test]
async fn a_token_refused_twice_is_an_auth_error_not_a_loop() {
    let stub = Stub::start(|_| Reply::error(401, "Invalid token", json!({}))).await;
    let client = stub.client();
    let err = client.list_taxes().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(client.calls_made(), 2);
    assert_eq!(stub.tokens_issued(), 2);
}

#[tokio::test]
async fn refused_client_credentials_are_reported_without_calling_the_api() {
    let stub = Stub::start(|_| Reply::page(json!([]))).await;
    stub.refuse_credentials();
    let client = stub.client();
    let err = client.list_taxes().await.unwrap_err();
    let Error::Auth { message } = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("Client authentication failed"),
        "{message}"
    );
    assert!(!message.contains("s3cret"));
    assert_eq!(client.calls_made(), 0);
}

#[tokio::test]
async fn a_429_is_waited_out_and_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let stub = Stub::start(move |r| {
        if !r.is("GET", "/taxes") {
            return Reply::not_found();
        }
        if h.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::error(429, "Quota exceeded", json!({})).header("retry-after", "0")
        } else {
            Reply::page(support::taxes())
        }
    })
    .await;
    let client = stub.client();
    let taxes = client.list_taxes().await.unwrap();
    assert_eq!(taxes.len(), 5);
    assert_eq!(client.calls_made(), 3);
}

#[tokio::test]
async fn a_429_that_persists_becomes_a_transient_error_after_bounded_retries() {
    let stub = Stub::start(|_| Reply::error(429, "Quota exceeded", json!({}))).await;
    let client = stub.client();
    let err = client.list_currencies().await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.status(), Some(429));
    assert_eq!(client.calls_made(), 4, "one try and three retries");
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back_instead_of_slept_on() {
    let stub = Stub::start(|_| {
        Reply::error(429, "Daily quota exceeded", json!({})).header("retry-after", "3600")
    })
    .await;
    let client = stub.client();
    let err = client.list_currencies().await.unwrap_err();
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_secs(3600))
    );
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn reads_are_retried_on_5xx_but_creates_are_never_replayed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let stub = Stub::start(move |r| {
        if r.is("GET", "/currencies") {
            if h.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::error(503, "Service unavailable", json!({}))
            } else {
                Reply::page(support::currencies())
            }
        } else if r.is("POST", "/invoices") {
            Reply::error(502, "Bad gateway", json!({}))
        } else {
            Reply::not_found()
        }
    })
    .await;
    let client = stub.client();
    assert_eq!(client.list_currencies().await.unwrap().len(), 2);
    assert_eq!(client.calls_made(), 2);

    let body = sellsy::client::NewInvoice {
        related: vec![sellsy::client::Related {
            kind: "individual".into(),
            id: 1,
        }],
        date: chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
        subject: "x".into(),
        currency: "EUR".into(),
        order_reference: "WC-1".into(),
        public_link_enabled: true,
        invoicing_address_id: None,
        delivery_address_id: None,
        rows: vec![],
        note: None,
    };
    let err = client.create_invoice(&body).await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(
        stub.requests_to("POST", "/invoices").len(),
        1,
        "a create that may have happened is not replayed"
    );
}

#[tokio::test]
async fn the_error_envelope_becomes_a_typed_error_with_field_details() {
    let stub = Stub::start(|_| {
        Reply::error(400, "Validation failed", json!({"rows[0].tax_id": "Tax is not e-invoicing compliant", "related": "Only client type is allowed"}))
    })
    .await;
    let client = stub.client();
    let err = client.search_items_by_reference("SKU").await.unwrap_err();
    let Error::Api {
        status,
        message,
        details,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 400);
    assert_eq!(message, "Validation failed");
    assert_eq!(
        details.get("rows[0].tax_id").map(String::as_str),
        Some("Tax is not e-invoicing compliant")
    );
    assert!(!err.is_transient());
    assert_eq!(client.calls_made(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn quota_headers_are_readable_after_a_call() {
    let stub = Stub::start(|_| Reply::page(support::currencies())).await;
    let client = stub.client();
    assert_eq!(client.quota(), QuotaSnapshot::default());
    client.list_currencies().await.unwrap();
    assert_eq!(
        client.quota(),
        QuotaSnapshot {
            by_second: Some(9),
            by_minute: Some(147),
            by_day: Some(431000),
            by_month: Some(-2)
        }
    );
}

#[tokio::test]
async fn lists_follow_seek_cursors_with_at_most_100_per_page() {
    let stub = Stub::start(|r| {
        if !r.is("GET", "/taxes") {
            return Reply::not_found();
        }
        // Sellsy caps this account's pages at 2: three pages, then a short one.
        let all = support::taxes();
        let all = all.as_array().unwrap();
        let (data, next) = match r.query.get("offset").map(String::as_str) {
            None => (&all[0..2], "c2"),
            Some("c2") => (&all[2..4], "c4"),
            Some("c4") => (&all[4..5], "c5"),
            other => panic!("unexpected offset {other:?}"),
        };
        Reply::ok(json!({"data": data, "pagination": {"limit": 2, "count": data.len(), "total": 5, "offset": next}}))
    })
    .await;
    let client = stub.client();
    let taxes = client.list_taxes().await.unwrap();
    assert_eq!(
        taxes.iter().map(|t| t.id).collect::<Vec<_>>(),
        [10, 11, 12, 13, 14]
    );
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter()
            .all(|r| r.query.get("limit").map(String::as_str) == Some("100"))
    );
}

/// The spec (2.264) declares no query parameter on the declination and address lists: the first request sends
/// none, and a later page only the cursor Sellsy returned.
#[tokio::test]
async fn lists_without_declared_paging_send_no_limit_and_page_only_when_told_to() {
    let stub = Stub::start(|r| {
        if !r.is("GET", "/items/7/declinations") {
            return Reply::not_found();
        }
        let decl = |id: u64| json!({"id": id, "item_id": 7, "reference": format!("D{id}")});
        let (data, next) = match r.query.get("offset").map(String::as_str) {
            None => ((1..=25).map(decl).collect::<Vec<_>>(), "c25"),
            Some("c25") => (vec![decl(26)], "c26"),
            other => panic!("unexpected offset {other:?}"),
        };
        Reply::ok(json!({"data": data, "pagination": {"limit": 25, "count": data.len(), "total": 26, "offset": next}}))
    })
    .await;
    let client = stub.client();
    let declinations = client.list_declinations(7).await.unwrap();
    assert_eq!(declinations.len(), 26);
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].query.is_empty(), "{:?}", reqs[0].query);
    assert!(reqs.iter().all(|r| !r.query.contains_key("limit")));
}

#[tokio::test]
async fn email_searches_match_case_insensitively_and_drop_near_misses() {
    let stub = Stub::start(|r| {
        if r.is("POST", "/individuals/search") {
            Reply::page(json!([
                {"id": 1, "type": "client", "last_name": "Martin", "email": "Jean.Martin@Example.com"},
                {"id": 2, "type": "client", "last_name": "Martine", "email": "jean.martine@example.com"}
            ]))
        } else {
            Reply::not_found()
        }
    })
    .await;
    let client = stub.client();
    let found = client
        .search_individuals_by_email("jean.martin@example.com")
        .await
        .unwrap();
    assert_eq!(found.iter().map(|i| i.id).collect::<Vec<_>>(), [1]);
    let req = &stub.requests()[0];
    assert_eq!(
        req.body,
        json!({"filters": {"email": "jean.martin@example.com"}})
    );
}

#[tokio::test]
async fn compute_and_get_read_amounts_sent_as_strings() {
    let stub = Stub::start(|r| {
        if r.is("POST", "/invoices/compute") {
            Reply::ok(json!({"amounts": {"total_excl_tax": "54.83", "total_incl_tax": "65.80"},
                "taxes": [{"id": 10, "label": "TVA 20%", "rate": "20.00", "amount": "10.97"}], "currency": "EUR"}))
        } else if r.is("GET", "/invoices/804") {
            Reply::ok(support::invoice(804, "WC-1042"))
        } else {
            Reply::not_found()
        }
    })
    .await;
    let client = stub.client();
    let body = sellsy::client::NewInvoice {
        related: vec![sellsy::client::Related {
            kind: "individual".into(),
            id: 1,
        }],
        date: chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
        subject: "x".into(),
        currency: "EUR".into(),
        order_reference: "WC-1042".into(),
        public_link_enabled: true,
        invoicing_address_id: None,
        delivery_address_id: None,
        rows: vec![],
        note: None,
    };
    let computed = client.compute_invoice(&body).await.unwrap();
    let amounts = computed.amounts.unwrap();
    assert_eq!(
        amounts.total_incl_tax,
        Some(rust_decimal_macros::dec!(65.80))
    );
    assert_eq!(
        computed.taxes[0].amount,
        Some(rust_decimal_macros::dec!(10.97))
    );
    let sent = &stub.requests_to("POST", "/invoices/compute")[0].body;
    assert_eq!(sent["date"], "2024-06-01");
    assert_eq!(sent["public_link_enabled"], true);

    let invoice = client.get_invoice(804).await.unwrap();
    assert_eq!(invoice.order_reference.as_deref(), Some("WC-1042"));
    assert_eq!(
        invoice.public_link.and_then(|l| l.url).as_deref(),
        Some("https://sellsy.example/pub/804")
    );
}
