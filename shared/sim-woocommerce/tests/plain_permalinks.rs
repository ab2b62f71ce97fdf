//! Stores with WordPress's plain permalinks: `/wp-json/…` is a web server 404 page and the REST API is
//! only reachable as `index.php?rest_route=/wc/v3/…`. The simulator's behaviour (raw HTTP, OAuth signed
//! the way WooCommerce verifies it), then the connector's REST client against it: it falls back once,
//! remembers the form, and keeps WordPress's own JSON 404s as typed not-found errors.

mod common;

use common::{SigMethod, client, nonce, oauth_params, percent_encode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sim_woocommerce::{HttpRequest, WooSim, WooSimConfig};
use woocommerce_client::{AuthMode, Client, Error, OrderQuery, UrlForm};

async fn plain(is_ssl: bool) -> WooSim {
    WooSim::start(WooSimConfig {
        plain_permalinks: true,
        is_ssl,
        ..WooSimConfig::default()
    })
    .await
    .unwrap()
}

fn woo_client(sim: &WooSim, auth: AuthMode) -> Client {
    Client::new(
        &sim.url(),
        SecretString::from("ck_sim"),
        SecretString::from("cs_sim"),
        auth,
    )
    .unwrap()
}

/// `GET {request_url}?{query}&oauth_*`, signed over `signed_url` with `query` among the parameters.
fn oauth_get(request_url: &str, signed_url: &str, query: &[(&str, &str)]) -> String {
    let oauth = oauth_params(
        "GET",
        signed_url,
        query,
        ("ck_sim", "cs_sim"),
        &nonce(),
        chrono::Utc::now().timestamp(),
        SigMethod::Sha256,
    );
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(oauth)
        .map(|(k, v)| format!("{}={}", percent_encode(&k), percent_encode(&v)))
        .collect();
    format!("{request_url}?{}", pairs.join("&"))
}

fn requests_since(sim: &WooSim, seen: usize) -> Vec<HttpRequest> {
    sim.requests().into_iter().skip(seen).collect()
}

#[tokio::test]
async fn plain_permalinks_answer_wp_json_with_an_html_404_and_serve_rest_route() {
    let sim = plain(false).await;
    let id = sim.create_order(json!({"status": "processing"}));
    let http = client();
    let home = sim.url();

    // `/wp-json/…`: the web server's page, not WordPress.
    let r = http
        .get(format!("{home}/wp-json/wc/v3/orders/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<title>404 Not Found</title>")
    );

    // `index.php?rest_route=`: signed over `{home}/index.php`, `rest_route` being a signed parameter.
    let route = format!("/wc/v3/orders/{id}");
    let url = oauth_get(
        &format!("{home}/index.php"),
        &format!("{home}/index.php"),
        &[("rest_route", &route)],
    );
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let order: Value = r.json().await.unwrap();
    assert_eq!(order["id"], json!(id));

    // `/?rest_route=`: WooCommerce re-absolutises the empty relative path as `{home}`, no slash.
    let url = oauth_get(&format!("{home}/"), &home, &[("rest_route", &route)]);
    assert_eq!(http.get(url).send().await.unwrap().status(), 200);
    let url = oauth_get(
        &format!("{home}/"),
        &format!("{home}/"),
        &[("rest_route", &route)],
    );
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Invalid signature - provided signature does not match."
    );

    // Leaving `rest_route` out of the signed parameters is refused too.
    let signed = oauth_get(
        &format!("{home}/index.php"),
        &format!("{home}/index.php"),
        &[],
    );
    let r = http
        .get(format!("{signed}&rest_route={}", percent_encode(&route)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // WordPress's own 404s stay JSON in that form.
    let url = oauth_get(
        &format!("{home}/index.php"),
        &format!("{home}/index.php"),
        &[("rest_route", "/wc/v3/orders/999999")],
    );
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "woocommerce_rest_shop_order_invalid_id");

    // Pagination links use the form that works on this store.
    for _ in 0..2 {
        sim.create_order(json!({"status": "processing"}));
    }
    let url = oauth_get(
        &format!("{home}/index.php"),
        &format!("{home}/index.php"),
        &[("rest_route", "/wc/v3/orders"), ("per_page", "1")],
    );
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!(
            "<{home}/index.php?rest_route=%2Fwc%2Fv3%2Forders&"
        )) && link.contains("page=2")
            && link.ends_with("rel=\"next\""),
        "{link}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn pretty_permalinks_serve_both_forms() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let id = sim.create_order(json!({"status": "processing"}));
    let home = sim.url();
    let http = client();
    let route = format!("/wc/v3/orders/{id}");
    let url = oauth_get(
        &format!("{home}/index.php"),
        &format!("{home}/index.php"),
        &[("rest_route", &route)],
    );
    assert_eq!(http.get(url).send().await.unwrap().status(), 200);
    let url = oauth_get(
        &format!("{home}/wp-json/wc/v3/orders/{id}"),
        &format!("{home}/wp-json/wc/v3/orders/{id}"),
        &[],
    );
    assert_eq!(http.get(url).send().await.unwrap().status(), 200);
    sim.shutdown().await;
}

/// Every client operation the connector uses, on a plain-permalink store; the fallback is taken on
/// the first request only.
async fn exercise(sim: &WooSim, c: &Client) {
    let ids: Vec<u64> = (0..5)
        .map(|i| sim.create_order(json!({"status": "processing", "total": format!("{i}0.00")})))
        .collect();
    let pid = sim.add_product(json!({"name": "Mug", "sku": "MUG-1", "regular_price": "9.00"}));

    // First request: `/wp-json` misses, the same request goes to `index.php?rest_route=` and works.
    let seen = sim.requests().len();
    assert!(!c.uses_rest_route());
    let order = c.get_order(ids[0]).await.unwrap();
    assert_eq!(order.id, ids[0]);
    assert!(c.uses_rest_route());
    let first = requests_since(sim, seen);
    assert_eq!(first.len(), 2, "{first:#?}");
    assert_eq!(first[0].path, format!("/wp-json/wc/v3/orders/{}", ids[0]));
    assert_eq!(first[0].status, 404);
    assert_eq!(first[1].path, "/index.php");
    assert!(
        first[1]
            .query
            .starts_with(&format!("rest_route=%2Fwc%2Fv3%2Forders%2F{}", ids[0])),
        "{}",
        first[1].query
    );
    assert_eq!(first[1].status, 200);

    // From then on one request each, straight to the working form — clones included.
    let seen = sim.requests().len();
    let clone = c.clone();
    assert_eq!(clone.get_order(ids[1]).await.unwrap().id, ids[1]);
    let second = requests_since(sim, seen);
    assert_eq!(second.len(), 1, "{second:#?}");
    assert_eq!(second[0].path, "/index.php");

    // Pagination: 5 orders, 2 a page → 3 requests.
    let seen = sim.requests().len();
    let query = OrderQuery {
        per_page: Some(2),
        ..OrderQuery::default()
    };
    let page = c.list_orders(&query).await.unwrap();
    assert_eq!((page.total, page.total_pages), (Some(5), Some(3)));
    let all = c.list_all_orders(&query).await.unwrap();
    let mut got: Vec<u64> = all.iter().map(|o| o.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids);
    let listed = requests_since(sim, seen);
    assert_eq!(listed.len(), 4, "{listed:#?}");
    assert!(
        listed
            .iter()
            .all(|r| r.path == "/index.php" && r.status == 200)
    );

    // Meta write-back.
    let written = c
        .update_order_meta(ids[0], &[("woosellsy.invoice_id", json!("42"))])
        .await
        .unwrap();
    assert_eq!(written.id, ids[0]);
    let stored = sim.order(ids[0]).unwrap();
    assert!(
        stored["meta_data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["key"] == "woosellsy.invoice_id" && m["value"] == "42"),
        "{stored:#}"
    );
    let writes = sim.rest_writes();
    let put = writes.last().unwrap();
    assert_eq!(
        (put.method.as_str(), put.path.as_str(), put.status),
        (
            "PUT",
            format!("/wp-json/wc/v3/orders/{}", ids[0]).as_str(),
            200
        )
    );
    assert!(put.query.contains("rest_route="), "{}", put.query);

    // Products by SKU.
    let found = c.get_products_by_sku("MUG-1").await.unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![pid]);

    // A WordPress JSON 404 in that form is a typed not-found error.
    let err = c.get_order(999_999).await.unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 404, code, .. } if code == "woocommerce_rest_shop_order_invalid_id"),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert!(c.uses_rest_route());
}

#[tokio::test]
async fn oauth_client_falls_back_to_rest_route_once_on_a_plain_permalink_store() {
    let sim = plain(false).await;
    let c = woo_client(&sim, AuthMode::Auto);
    assert!(c.uses_oauth());
    exercise(&sim, &c).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn basic_client_falls_back_to_rest_route_once_on_a_plain_permalink_store() {
    // Behind HTTPS as far as WordPress knows (a TLS-terminating proxy), so Basic is honoured.
    let sim = plain(true).await;
    let c = woo_client(&sim, AuthMode::Basic);
    assert!(!c.uses_oauth());
    exercise(&sim, &c).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wordpress_json_404_on_wp_json_is_not_found_and_keeps_the_form() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let c = woo_client(&sim, AuthMode::Auto);
    let seen = sim.requests().len();
    let err = c.get_order(999_999).await.unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 404, code, .. } if code == "woocommerce_rest_shop_order_invalid_id"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(404));
    // `rest_no_route` (the REST API is there, the route is not) is no reason to switch either.
    let err = c.get_product(0).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert!(!c.uses_rest_route());
    let sent = requests_since(&sim, seen);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(sent.iter().all(|r| r.path.starts_with("/wp-json/wc/v3/")));

    let id = sim.create_order(json!({"status": "processing"}));
    assert_eq!(c.get_order(id).await.unwrap().id, id);
    assert!(!c.uses_rest_route());
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_order_as_first_request_on_a_plain_store_is_still_not_found() {
    let sim = plain(false).await;
    let c = woo_client(&sim, AuthMode::Auto);
    let err = c.get_order(999_999).await.unwrap_err();
    assert_eq!(err.code(), Some("woocommerce_rest_shop_order_invalid_id"));
    // The REST API answered in the other form: that form is adopted.
    assert!(c.uses_rest_route());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_url_form_can_be_forced() {
    let pretty = WooSim::start(WooSimConfig::default()).await.unwrap();
    let id = pretty.create_order(json!({"status": "processing"}));
    let c = woo_client(&pretty, AuthMode::Auto).with_url_form(UrlForm::RestRoute);
    assert!(c.uses_rest_route());
    assert_eq!(c.get_order(id).await.unwrap().id, id);
    let sent = pretty.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/index.php");

    let sim = plain(false).await;
    let id = sim.create_order(json!({"status": "processing"}));
    let c = woo_client(&sim, AuthMode::Auto).with_url_form(UrlForm::WpJson);
    let err = c.get_order(id).await.unwrap_err();
    assert!(matches!(err, Error::Http(404, _)), "{err:?}");
    assert!(!c.uses_rest_route());
    assert_eq!(sim.requests().len(), 1);
    pretty.shutdown().await;
    sim.shutdown().await;
}
