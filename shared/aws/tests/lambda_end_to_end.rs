//! The two Lambda functions end to end, on moto_server (DynamoDB, SQS FIFO + DLQ, Secrets Manager) and
//! the WooCommerce and Sellsy simulators, driven with real event JSON: API Gateway HTTP API v2 requests
//! into the receiver, SQS batches (built the way Lambda's event source builds them) into the converter.
//!
//! webhook → queue → converter → exactly one Sellsy invoice per order, duplicates and a poison message
//! included: the poison message ends in the dead-letter queue while the other orders go through.

use woosellsy_aws::testkit as common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use base64::Engine;
use common::{Moto, create_fifo_queue};
use rust_decimal::Decimal;
use sellsy::backend::SellsyBackendFactory;
use serde_json::{Value, json};
use sim_sellsy::{SellsySim, SimConfig};
use sim_woocommerce::{WooSim, WooSimConfig};
use woosellsy_aws::env::names;
use woosellsy_aws::functions::{ConverterFunction, WebhookFunction};
use woosellsy_aws::{DeploymentNames, DynamoStore, FunctionEnv, register_connector};
use woosellsy_domain::{ConnectorId, ConnectorSecrets, ConnectorSettings, OrderId};
use woosellsy_ports::{OrderState, Store};

const CONNECTOR: &str = "shop-1";
const DOWN: &str = "shop-down";
const WEBHOOK_SECRET: &str = "s3cr&amp;t-webhook";
const STACK: &str = "woosellsy-e2e";
const MAX_RECEIVES: u32 = 3;

/// A paid French order: 2 × T-shirt at 25.00 € HT (20 %), 1 book at 10.00 € HT (5.5 %), shipping
/// 5.00 € HT (20 %): 76.55 € TTC.
fn french_order(email: &str) -> Value {
    json!({
        "status": "processing", "currency": "EUR", "prices_include_tax": false, "customer_id": 0,
        "date_paid_gmt": "2026-11-20T10:00:00", "date_paid": "2026-11-20T11:00:00",
        "billing": {"first_name": "Camille", "last_name": "Durand", "company": "", "address_1": "12 rue des Lilas",
                    "address_2": "", "city": "Lyon", "state": "", "postcode": "69003", "country": "FR",
                    "email": email, "phone": "+33 4 00 00 00 00"},
        "shipping": {"first_name": "Camille", "last_name": "Durand", "company": "", "address_1": "12 rue des Lilas",
                     "address_2": "", "city": "Lyon", "state": "", "postcode": "69003", "country": "FR", "phone": ""},
        "payment_method": "stripe", "payment_method_title": "Carte bancaire",
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "5.00", "shipping_tax": "1.00",
        "cart_tax": "10.55", "total_tax": "11.55", "total": "76.55", "meta_data": [],
        "line_items": [
            {"id": 1, "name": "T-shirt bio", "product_id": 11, "variation_id": 0, "quantity": 2, "tax_class": "",
             "subtotal": "50.00", "subtotal_tax": "10.00", "total": "50.00", "total_tax": "10.00",
             "taxes": [{"id": 1, "total": "10", "subtotal": "10"}], "meta_data": [], "sku": "TSHIRT-BIO", "price": 25},
            {"id": 2, "name": "Livre de recettes", "product_id": 12, "variation_id": 0, "quantity": 1,
             "tax_class": "reduced-rate", "subtotal": "10.00", "subtotal_tax": "0.55", "total": "10.00",
             "total_tax": "0.55", "taxes": [{"id": 2, "total": "0.55", "subtotal": "0.55"}], "meta_data": [],
             "sku": "BOOK-42", "price": 10}
        ],
        "tax_lines": [
            {"id": 10, "rate_code": "FR-TVA-1", "rate_id": 1, "label": "TVA", "compound": false,
             "tax_total": "10.00", "shipping_tax_total": "1.00", "rate_percent": 20, "meta_data": []},
            {"id": 11, "rate_code": "FR-TVA REDUITE-2", "rate_id": 2, "label": "TVA réduite", "compound": false,
             "tax_total": "0.55", "shipping_tax_total": "0.00", "rate_percent": 5.5, "meta_data": []}
        ],
        "shipping_lines": [
            {"id": 20, "method_title": "Colissimo", "method_id": "flat_rate", "instance_id": "1", "total": "5.00",
             "total_tax": "1.00", "taxes": [{"id": 1, "total": "1", "subtotal": ""}], "meta_data": []}
        ],
        "fee_lines": [], "coupon_lines": [], "refunds": []
    })
}

struct Stack {
    moto: Moto,
    woo: WooSim,
    sellsy: SellsySim,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dlq_url: String,
    store: DynamoStore,
    receiver: WebhookFunction,
    converter: ConverterFunction,
    /// What the operator registered, to register it again with other keys.
    config: aws_config::SdkConfig,
    names: DeploymentNames,
    settings: ConnectorSettings,
    secrets: ConnectorSecrets,
}

impl Stack {
    async fn start() -> Option<Stack> {
        // Shown only when the test fails.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info,aws_smithy_runtime=warn,aws_config=warn")
            .try_init();
        let moto = Moto::start()?;
        let config = moto.config().await;
        // As behind HTTPS (Basic auth), like a real shop; OAuth over plain http is the REST client's business.
        let woo = WooSim::start(WooSimConfig {
            is_ssl: true,
            ..WooSimConfig::default()
        })
        .await
        .expect("woo sim");
        let sellsy = SellsySim::start(SimConfig::default())
            .await
            .expect("sellsy sim");

        // What `sam deploy` creates…
        let names_ = DeploymentNames::for_stack(STACK);
        let ddb = aws_sdk_dynamodb::Client::new(&config);
        DynamoStore::create_table(&ddb, &names_.table_name)
            .await
            .expect("table");
        let sqs = aws_sdk_sqs::Client::new(&config);
        let (queue_url, dlq_url) =
            create_fifo_queue(&sqs, &format!("{STACK}-events"), 360, MAX_RECEIVES).await;

        // …then the operator registers the connector.
        let woo_defaults = WooSimConfig::default();
        let sellsy_defaults = SimConfig::default();
        let settings: ConnectorSettings = serde_json::from_value(json!({
            "id": CONNECTOR,
            "woocommerce_url": woo.url(),
            "woocommerce_auth": "basic",
            "sellsy_api_url": sellsy.api_url(),
            "sellsy_token_url": sellsy.token_url(),
            "sellsy_requests_per_second": 50,
        }))
        .expect("settings");
        let secrets: ConnectorSecrets = serde_json::from_value(json!({
            "woocommerce_consumer_key": woo_defaults.consumer_key,
            "woocommerce_consumer_secret": woo_defaults.consumer_secret,
            "webhook_secret": WEBHOOK_SECRET,
            "sellsy_client_id": sellsy_defaults.client_id,
            "sellsy_client_secret": sellsy_defaults.client_secret,
        }))
        .expect("secrets");
        register_connector(&config, &names_, &settings, &secrets)
            .await
            .expect("register");
        // A second shop whose WooCommerce is down (nothing listens on its port): every conversion of
        // its orders fails transiently.
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut down = settings.clone();
        down.id = ConnectorId::parse(DOWN).expect("id");
        down.woocommerce_url = format!("http://127.0.0.1:{closed_port}");
        register_connector(&config, &names_, &down, &secrets)
            .await
            .expect("register");

        // The functions' environment, as template.yaml sets it.
        let vars: HashMap<&str, String> = HashMap::from([
            (names::TABLE_NAME, names_.table_name.clone()),
            (names::SECRET_PREFIX, names_.secret_prefix.clone()),
            (
                names::WEBHOOK_SECRET_PREFIX,
                names_.webhook_secret_prefix.clone(),
            ),
            (names::QUEUE_URL, queue_url.clone()),
            (names::SELLSY_MAX_RPS, "50".to_owned()),
            (names::MAX_RECEIVES, MAX_RECEIVES.to_string()),
            // Retries become visible at once, so the test needs no waiting.
            (names::RETRY_BASE_SECONDS, "0".to_owned()),
            // Keys re-read on every event, so a rotation is seen without waiting out a cache.
            (names::SECRETS_CACHE_SECONDS, "0".to_owned()),
        ]);
        let env = FunctionEnv::from_lookup(|k| vars.get(k).cloned()).expect("env");
        let receiver = WebhookFunction::from_env(&config, &env).expect("receiver");
        let converter = ConverterFunction::from_env(
            &config,
            &env,
            Arc::new(woocommerce_client::WooShopFactory),
            Arc::new(SellsyBackendFactory::new()),
        );
        Some(Stack {
            store: DynamoStore::new(ddb, names_.table_name.clone()),
            config,
            names: names_,
            settings,
            secrets,
            moto,
            woo,
            sellsy,
            sqs,
            queue_url,
            dlq_url,
            receiver,
            converter,
        })
    }

    /// Delivers `body` as WooCommerce would, through an API Gateway HTTP API v2 event.
    async fn webhook(&self, body: &str, signature: &str, base64_body: bool) -> (u16, String) {
        self.webhook_to(CONNECTOR, body, signature, base64_body)
            .await
    }

    async fn webhook_to(
        &self,
        connector: &str,
        body: &str,
        signature: &str,
        base64_body: bool,
    ) -> (u16, String) {
        let mut event: Value =
            serde_json::from_str(include_str!("fixtures/apigw-v2-webhook.json")).expect("fixture");
        let path = format!("/webhooks/{connector}");
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        event["pathParameters"]["connectorId"] = json!(connector);
        event["headers"]["x-wc-webhook-signature"] = json!(signature);
        event["headers"]["content-length"] = json!(body.len().to_string());
        if base64_body {
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
            event["isBase64Encoded"] = json!(true);
        } else {
            event["body"] = json!(body);
        }
        let req =
            lambda_http::request::from_str(&event.to_string()).expect("a valid HTTP API v2 event");
        let resp = self.receiver.handle(req).await;
        let status = resp.status().as_u16();
        let text = match resp.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        (status, text)
    }

    async fn deliver_order(&self, order_id: u64, base64_body: bool) -> (u16, String) {
        let order = self.woo.order(order_id).expect("order in the store");
        let body = order.to_string();
        let signature = woocommerce::webhook::signature(body.as_bytes(), WEBHOOK_SECRET);
        self.webhook(&body, &signature, base64_body).await
    }

    /// Plays Lambda's SQS event source: receive up to 10, hand the batch to the converter as an
    /// `SqsEvent`, delete what it acknowledged; until the queue is empty. Returns every response.
    async fn drain(&self) -> Vec<SqsBatchResponse> {
        self.drain_rounds(50).await
    }

    /// At most `rounds` receives (a Lambda invoked that many times).
    async fn drain_rounds(&self, rounds: usize) -> Vec<SqsBatchResponse> {
        self.drain_rounds_until(rounds, None).await
    }

    /// [`Self::drain_rounds`] with each invocation ending at `deadline`.
    async fn drain_rounds_until(
        &self,
        rounds: usize,
        deadline: Option<std::time::SystemTime>,
    ) -> Vec<SqsBatchResponse> {
        let template: Value =
            serde_json::from_str(include_str!("fixtures/sqs-fifo-batch.json")).expect("fixture");
        let mut responses = Vec::new();
        for _ in 0..rounds {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                break;
            }
            let records: Vec<Value> = received
                .iter()
                .map(|m| {
                    let mut r = template["Records"][0].clone();
                    r["messageId"] = json!(m.message_id());
                    r["receiptHandle"] = json!(m.receipt_handle());
                    r["body"] = json!(m.body());
                    r["md5OfBody"] = json!(m.md5_of_body());
                    let attrs: HashMap<String, String> = m
                        .attributes()
                        .map(|a| {
                            a.iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    r["attributes"] = json!(attrs);
                    r
                })
                .collect();
            let event: SqsEvent =
                serde_json::from_value(json!({ "Records": records })).expect("a valid SQS event");
            let response = self.converter.handle_until(&event, deadline).await;
            let failed: HashSet<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            for m in &received {
                if !failed.contains(m.message_id().unwrap_or("")) {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(m.receipt_handle().unwrap_or(""))
                        .send()
                        .await
                        .expect("delete");
                }
            }
            responses.push(response);
        }
        responses
    }

    async fn dlq_bodies(&self) -> Vec<String> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive dlq");
        out.messages
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect()
    }

    fn invoices_for(&self, order_id: u64) -> Vec<Value> {
        let order = self.woo.order(order_id).expect("order");
        let reference = format!("WC-{}", order["number"].as_str().unwrap_or_default());
        self.sellsy
            .invoices()
            .into_iter()
            .filter(|i| i["order_reference"] == reference.as_str())
            .collect()
    }

    fn order_meta(&self, order_id: u64, key: &str) -> Option<Value> {
        let order = self.woo.order(order_id)?;
        order["meta_data"]
            .as_array()?
            .iter()
            .find(|m| m["key"] == key)
            .map(|m| m["value"].clone())
    }
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_become_exactly_one_invoice_each_and_a_poison_message_lands_in_the_dlq() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let a = stack
        .woo
        .create_order(french_order("Camille.Durand@Example.fr"));
    let b = stack
        .woo
        .create_order(french_order("jean.martin@example.fr"));

    // Order A arrives base64-encoded (API Gateway does that for some content types) and twice, as
    // WooCommerce re-sends it; order B as text. All accepted.
    for (order, b64) in [(a, true), (a, true), (b, false)] {
        let (status, body) = stack.deliver_order(order, b64).await;
        assert_eq!(status, 200, "order {order}: {body}");
    }
    // A forged delivery is refused and queues nothing.
    let forged = stack.woo.order(b).expect("order").to_string();
    let (status, _) = stack
        .webhook(&forged, "bm90IHRoZSBzaWduYXR1cmU=", false)
        .await;
    assert_eq!(status, 401);
    // A message no receiver would write (an operator's mistake, a bug): it must not block anything.
    stack
        .sqs
        .send_message()
        .queue_url(&stack.queue_url)
        .message_body("{\"not\":\"a queued event\"}")
        .message_group_id("poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .expect("send poison");

    let responses = stack.drain().await;

    for order in [a, b] {
        let invoices = stack.invoices_for(order);
        assert_eq!(
            invoices.len(),
            1,
            "order {order} must have exactly one invoice: {invoices:#?}"
        );
        assert_eq!(
            dec(&invoices[0]["amounts"]["total_incl_tax"]),
            "76.55".parse::<Decimal>().unwrap()
        );
        let link = stack
            .order_meta(order, "woosellsy.invoice_id")
            .unwrap_or_else(|| panic!("the invoice link is written back into order {order}"));
        let text = |v: &Value| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string())
        };
        assert_eq!(text(&link), text(&invoices[0]["id"]));
        let record = stack
            .store
            .get_order(&ConnectorId::parse(CONNECTOR).unwrap(), OrderId(order))
            .await
            .expect("store")
            .expect("order record");
        assert_eq!(record.state, OrderState::Done, "order {order}");
    }
    assert_eq!(
        stack.sellsy.invoices().len(),
        2,
        "no other invoice was created"
    );

    // The poison message was reported failed on each delivery, alone, then moved to the DLQ.
    let poison_failures = responses
        .iter()
        .filter(|r| !r.batch_item_failures.is_empty())
        .count();
    assert_eq!(poison_failures, MAX_RECEIVES as usize, "{responses:?}");
    assert!(
        responses.iter().all(|r| r.batch_item_failures.len() <= 1),
        "{responses:?}"
    );
    assert_eq!(stack.dlq_bodies().await, ["{\"not\":\"a queued event\"}"]);
    let left = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert!(left.is_empty(), "the queue is drained: {left:?}");
    drop(stack.moto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_that_keeps_failing_goes_to_the_dlq_with_the_reason_on_the_order() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let id = stack.woo.create_order(french_order("claire@example.fr"));
    let body = stack.woo.order(id).expect("order").to_string();
    let signature = woocommerce::webhook::signature(body.as_bytes(), WEBHOOK_SECRET);
    let (status, text) = stack.webhook_to(DOWN, &body, &signature, false).await;
    assert_eq!(status, 200, "{text}");

    let responses = stack.drain().await;

    // Reported failed on each of its MAX_RECEIVES deliveries, then moved aside by SQS.
    let failures: usize = responses.iter().map(|r| r.batch_item_failures.len()).sum();
    assert_eq!(failures, MAX_RECEIVES as usize, "{responses:?}");
    let dead = stack.dlq_bodies().await;
    assert_eq!(dead.len(), 1);
    let event: woosellsy_ports::QueuedEvent =
        serde_json::from_str(&dead[0]).expect("the event, intact");
    assert_eq!((event.connector.as_str(), event.order), (DOWN, OrderId(id)));
    // The merchant sees why, on the order.
    let record = stack
        .store
        .get_order(&ConnectorId::parse(DOWN).unwrap(), OrderId(id))
        .await
        .expect("store")
        .expect("the failure is recorded");
    match record.state {
        OrderState::Error { reason } => {
            assert!(reason.contains("gave up after 3 attempts"), "{reason}")
        }
        other => panic!("expected an error state, got {other:?}"),
    }
    assert!(stack.sellsy.invoices().is_empty());
    drop(stack.moto);
}

/// `woosellsy aws register` with new keys while the converter is warm: the orders that met the revoked
/// keys wait (not in error, not dead-lettered) and are invoiced once the new keys are in Secrets Manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_reach_a_warm_converter_and_no_order_is_left_in_error() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let connector = ConnectorId::parse(CONNECTOR).unwrap();
    let first = stack.woo.create_order(french_order("anne@example.fr"));
    assert_eq!(stack.deliver_order(first, false).await.0, 200);
    stack.drain().await;
    assert_eq!(
        stack.sellsy.invoices().len(),
        1,
        "warm: one order converted"
    );

    // The merchant regenerates the WooCommerce key: the one in Secrets Manager is now refused (401).
    let mut revoked = stack.secrets.clone();
    revoked.woocommerce_consumer_key = "ck_revoked".to_owned().into();
    register_connector(&stack.config, &stack.names, &stack.settings, &revoked)
        .await
        .expect("register");
    let during = stack.woo.create_order(french_order("bruno@example.fr"));
    assert_eq!(stack.deliver_order(during, false).await.0, 200);
    let responses = stack.drain_rounds(1).await;
    let failures: usize = responses.iter().map(|r| r.batch_item_failures.len()).sum();
    assert_eq!(
        failures, 1,
        "retried later, not acknowledged: {responses:?}"
    );
    let record = stack
        .store
        .get_order(&connector, OrderId(during))
        .await
        .expect("store");
    assert!(
        !matches!(record.map(|r| r.state), Some(OrderState::Error { .. })),
        "refused keys are not the order's error"
    );

    // The operator registers the new keys: the waiting order and the next one are invoiced.
    register_connector(&stack.config, &stack.names, &stack.settings, &stack.secrets)
        .await
        .expect("register");
    let after = stack.woo.create_order(french_order("chloe@example.fr"));
    assert_eq!(stack.deliver_order(after, false).await.0, 200);
    stack.drain().await;
    assert_eq!(stack.sellsy.invoices().len(), 3, "one invoice per order");
    for id in [during, after] {
        let record = stack
            .store
            .get_order(&connector, OrderId(id))
            .await
            .expect("store")
            .expect("recorded");
        assert_eq!(record.state, OrderState::Done, "order {id}");
    }
    assert!(stack.dlq_bodies().await.is_empty());
    drop(stack.moto);
}

/// A record that fails holds back the later records of its order (FIFO group): they must come back
/// after the failed one's retry delay, not after the queue's full visibility timeout, and the group's
/// last receive records the failure whichever of its records failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_record_holds_its_group_only_for_the_retry_delay() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let id = stack.woo.create_order(french_order("denise@example.fr"));
    for note in ["first", "second"] {
        // Two versions of one order (one FIFO group), for the shop whose WooCommerce is down.
        stack.woo.update_order(id, json!({ "customer_note": note }));
        let body = stack.woo.order(id).expect("order").to_string();
        let signature = woocommerce::webhook::signature(body.as_bytes(), WEBHOOK_SECRET);
        let (status, text) = stack.webhook_to(DOWN, &body, &signature, false).await;
        assert_eq!(status, 200, "{text}");
    }

    stack.drain().await;

    // Each message was received MAX_RECEIVES times, then moved aside; none waits behind the
    // 360 s visibility timeout of the queue.
    assert_eq!(stack.dlq_bodies().await.len(), 2);
    let record = stack
        .store
        .get_order(&ConnectorId::parse(DOWN).unwrap(), OrderId(id))
        .await
        .expect("store")
        .expect("the failure is recorded");
    assert!(
        matches!(record.state, OrderState::Error { .. }),
        "{:?}",
        record.state
    );
    drop(stack.moto);
}

/// A batch handed over when the invocation has only a few seconds left is not started: every record
/// comes back at once for the next invocation, and nothing is half-created at the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_received_near_the_invocation_end_is_handed_back_untouched() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let id = stack.woo.create_order(french_order("elise@example.fr"));
    assert_eq!(stack.deliver_order(id, false).await.0, 200);
    let soon = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let responses = stack.drain_rounds_until(1, Some(soon)).await;
    let failures: usize = responses.iter().map(|r| r.batch_item_failures.len()).sum();
    assert_eq!(failures, 1, "{responses:?}");
    assert!(stack.sellsy.invoices().is_empty(), "nothing started");
    // The next invocation, with time to spare, converts it.
    stack.drain().await;
    assert_eq!(stack.sellsy.invoices().len(), 1);
    drop(stack.moto);
}

/// The receiver holds only what it needs: it works with the connector's key bundle gone (it reads the
/// webhook secrets alone), and while the webhook secret changes it accepts the previous one until its
/// end date, then refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_reads_only_webhook_secrets_and_honours_a_rotations_overlap() {
    let Some(stack) = Stack::start().await else {
        return;
    };
    let sm = aws_sdk_secretsmanager::Client::new(&stack.config);
    let id = ConnectorId::parse(CONNECTOR).unwrap();
    let order = stack.woo.create_order(french_order("emile@example.fr"));
    let body = stack.woo.order(order).expect("order").to_string();
    let signed = |secret: &str| woocommerce::webhook::signature(body.as_bytes(), secret);

    // The WooCommerce and Sellsy keys are not the receiver's business: without them it still works.
    let bundle = format!("{}{CONNECTOR}", stack.names.secret_prefix);
    sm.delete_secret()
        .secret_id(&bundle)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("delete the key bundle");
    let (status, text) = stack.webhook(&body, &signed(WEBHOOK_SECRET), false).await;
    assert_eq!(status, 200, "{text}");

    // The operator registers a new webhook secret: both are accepted during the overlap.
    let mut rotated = stack.secrets.clone();
    rotated.webhook_secret = "n3w-webhook-secret".to_owned().into();
    let report = register_connector(&stack.config, &stack.names, &stack.settings, &rotated)
        .await
        .expect("register");
    assert!(matches!(
        report.webhook_secret,
        woosellsy_aws::register::WebhookSecretChange::Rotated { .. }
    ));
    for secret in ["n3w-webhook-secret", WEBHOOK_SECRET] {
        let (status, text) = stack.webhook(&body, &signed(secret), false).await;
        assert_eq!(status, 200, "signed with {secret}: {text}");
    }

    // Once the overlap has ended, the previous secret is refused and the current one still passes.
    let ended = serde_json::json!({
        "current": "n3w-webhook-secret",
        "previous": WEBHOOK_SECRET,
        "previous_until": (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339(),
    });
    sm.put_secret_value()
        .secret_id(format!("{}{id}", stack.names.webhook_secret_prefix))
        .secret_string(ended.to_string())
        .send()
        .await
        .expect("end the overlap");
    let (status, _) = stack.webhook(&body, &signed(WEBHOOK_SECRET), false).await;
    assert_eq!(
        status, 401,
        "the previous secret is refused after its end date"
    );
    let (status, text) = stack
        .webhook(&body, &signed("n3w-webhook-secret"), false)
        .await;
    assert_eq!(status, 200, "{text}");
    drop(stack.moto);
}
