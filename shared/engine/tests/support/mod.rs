//! In-memory fakes of the converter's outside world: a shop, an accounting backend, and the factories
//! that build them from a connector's keys (so a test can rotate the keys and refuse the old ones).

// Each test binary uses a part of the support.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal_macros::dec;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use woo_calc::{LineSpec, OrderSpec, build_order};
use woocommerce::{Order, Product};
use woosellsy_domain::{ConnectorId, ConnectorSecrets, ConnectorSettings, DocumentPlan, OrderId};
use woosellsy_engine::{Converter, ConverterDeps, ConverterSettings, MemorySecrets};
use woosellsy_ports::{
    AccountingBackend, BackendFactory, DocumentRef, IdCache, MemoryStore, PortError, PortResult,
    QueuedEvent, Shop, ShopFactory, Store,
};

pub const CONNECTOR: &str = "shop";

pub fn connector() -> ConnectorId {
    ConnectorId::parse(CONNECTOR).unwrap()
}

pub fn settings() -> ConnectorSettings {
    serde_json::from_value(json!({
        "id": CONNECTOR,
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": "https://api.sellsy.example/v2",
        "sellsy_token_url": "https://login.sellsy.example/oauth2/access-tokens",
    }))
    .unwrap()
}

pub fn secrets(woo_key: &str, sellsy_secret: &str) -> ConnectorSecrets {
    serde_json::from_value(json!({
        "woocommerce_consumer_key": woo_key,
        "woocommerce_consumer_secret": "cs_secret",
        "webhook_secret": "whsec",
        "sellsy_client_id": "client",
        "sellsy_client_secret": sellsy_secret,
    }))
    .unwrap()
}

pub fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(h, m, s)
        .unwrap()
}

/// A paid order of 2 × 10.00 € at 20 %, as WooCommerce computes it, with `status` and `paid`.
pub fn order(id: u64, status: &str, paid: bool, modified: NaiveDateTime) -> Order {
    let mut spec = OrderSpec::paid(
        vec![LineSpec {
            product_id: 10,
            variation_id: 0,
            sku: Some("MUG".to_owned()),
            name: "Mug".to_owned(),
            quantity: dec!(2),
            unit_price: dec!(10.00),
            tax_rate: dec!(20),
            tax_rate_id: 1,
        }],
        at(9, 0, 0),
    );
    spec.status = status.to_owned();
    spec.paid = paid;
    let mut value = build_order(id, &spec);
    let modified = modified.format("%Y-%m-%dT%H:%M:%S").to_string();
    value["date_modified_gmt"] = json!(modified);
    value["date_modified"] = json!(modified);
    serde_json::from_value(value).unwrap()
}

/// What the fake systems saw and hold.
#[derive(Default)]
pub struct World {
    pub orders: HashMap<u64, Order>,
    /// The WooCommerce consumer key the shop accepts (any, when `None`).
    pub woo_key: Option<String>,
    /// The Sellsy client secret the backend accepts (any, when `None`).
    pub sellsy_secret: Option<String>,
    /// Meta written to each order, in order.
    pub meta_writes: Vec<(u64, Vec<(String, Value)>)>,
    pub order_reads: usize,
    /// Documents that exist in the backend, by order reference.
    pub documents: HashMap<String, DocumentRef>,
    pub creates: usize,
    pub searches: usize,
    /// The next create fails this way (once).
    pub create_fails: Option<PortError>,
    /// Every create panics (a bug met on some external data).
    pub create_panics: bool,
    /// Creates answer 504 but Sellsy commits the document later: it becomes visible to searches only
    /// when the test moves `late_documents` into `documents`.
    pub create_commits_late: bool,
    pub late_documents: HashMap<String, DocumentRef>,
    /// The create of this order waits for `release` (a slow Sellsy call).
    pub hold_order: Option<u64>,
    pub release: Arc<tokio::sync::Notify>,
    /// Keys each built shop and backend were given.
    pub built_with: Vec<String>,
}

pub type Shared = Arc<Mutex<World>>;

struct FakeShop {
    world: Shared,
    key: String,
}

impl FakeShop {
    fn check(&self, w: &World) -> PortResult<()> {
        match &w.woo_key {
            Some(accepted) if *accepted != self.key => Err(PortError::unauthorized(
                "WooCommerce answered 401: woocommerce_rest_authentication_error",
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Shop for FakeShop {
    async fn order(&self, id: OrderId) -> PortResult<Order> {
        let mut w = self.world.lock().unwrap();
        self.check(&w)?;
        w.order_reads += 1;
        w.orders
            .get(&id.0)
            .cloned()
            .ok_or_else(|| PortError::permanent("WooCommerce answered 404: invalid order id"))
    }
    async fn orders_modified_since(&self, since: NaiveDateTime) -> PortResult<Vec<Order>> {
        let w = self.world.lock().unwrap();
        self.check(&w)?;
        Ok(w.orders
            .values()
            .filter(|o| o.date_modified_gmt.is_some_and(|d| d > since))
            .cloned()
            .collect())
    }
    async fn product(&self, _id: u64) -> PortResult<Option<Product>> {
        Ok(None)
    }
    async fn write_order_meta(&self, id: OrderId, meta: &[(String, Value)]) -> PortResult<Order> {
        let mut w = self.world.lock().unwrap();
        self.check(&w)?;
        w.meta_writes.push((id.0, meta.to_vec()));
        let order = w
            .orders
            .get_mut(&id.0)
            .ok_or_else(|| PortError::permanent("WooCommerce answered 404: invalid order id"))?;
        // Our own write makes a new version, one second later.
        order.date_modified_gmt = order
            .date_modified_gmt
            .map(|d| d + chrono::Duration::seconds(1));
        Ok(order.clone())
    }
}

struct FakeBackend {
    world: Shared,
    secret: String,
}

impl FakeBackend {
    fn check(&self, w: &World) -> PortResult<()> {
        match &w.sellsy_secret {
            Some(accepted) if *accepted != self.secret => Err(PortError::unauthorized(
                "Sellsy authentication failed: invalid_client",
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl AccountingBackend for FakeBackend {
    async fn create_document(
        &self,
        plan: &DocumentPlan,
        _cache: &dyn IdCache,
    ) -> PortResult<DocumentRef> {
        let held = {
            let w = self.world.lock().unwrap();
            (w.hold_order == Some(plan.order_id.0)).then(|| w.release.clone())
        };
        if let Some(release) = held {
            release.notified().await;
        }
        let mut w = self.world.lock().unwrap();
        self.check(&w)?;
        if w.create_panics {
            drop(w);
            panic!("attempt to add with overflow");
        }
        if let Some(e) = w.create_fails.take() {
            return Err(e);
        }
        w.creates += 1;
        if w.create_commits_late {
            let doc = DocumentRef {
                kind: plan.kind,
                id: format!("{}", 500 + w.creates),
                number: None,
                url: Some(format!("https://sellsy.example/doc/{}", 500 + w.creates)),
                warning: None,
            };
            w.late_documents.insert(plan.order_reference.clone(), doc);
            return Err(PortError::transient("Sellsy answered 504: Gateway Timeout"));
        }
        let doc = DocumentRef {
            kind: plan.kind,
            id: format!("{}", 500 + w.creates),
            number: None,
            url: Some(format!("https://sellsy.example/doc/{}", 500 + w.creates)),
            warning: None,
        };
        w.documents
            .insert(plan.order_reference.clone(), doc.clone());
        Ok(doc)
    }
    async fn find_document(
        &self,
        plan: &DocumentPlan,
        _cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>> {
        let mut w = self.world.lock().unwrap();
        self.check(&w)?;
        w.searches += 1;
        Ok(w.documents.get(&plan.order_reference).cloned())
    }
    fn calls_made(&self) -> u64 {
        let w = self.world.lock().unwrap();
        (w.creates + w.searches) as u64
    }
}

struct Factories(Shared);

impl ShopFactory for Factories {
    fn shop(&self, _: &ConnectorSettings, keys: &ConnectorSecrets) -> PortResult<Arc<dyn Shop>> {
        let key = keys.woocommerce_consumer_key.expose_secret().to_owned();
        self.0
            .lock()
            .unwrap()
            .built_with
            .push(format!("shop:{key}"));
        Ok(Arc::new(FakeShop {
            world: self.0.clone(),
            key,
        }))
    }
}

impl BackendFactory for Factories {
    fn backend(
        &self,
        _: &ConnectorSettings,
        keys: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn AccountingBackend>> {
        let secret = keys.sellsy_client_secret.expose_secret().to_owned();
        self.0
            .lock()
            .unwrap()
            .built_with
            .push(format!("backend:{secret}"));
        Ok(Arc::new(FakeBackend {
            world: self.0.clone(),
            secret,
        }))
    }
}

/// A converter on fakes, with the connector registered under the keys `woo-old` / `sellsy-old`.
pub struct Harness {
    pub converter: Arc<Converter>,
    pub world: Shared,
    pub store: Arc<MemoryStore>,
    pub secrets: Arc<MemorySecrets>,
}

pub const WORKER: &str = "worker-under-test";

impl Harness {
    pub async fn new() -> Harness {
        Self::with_settings(ConverterSettings {
            worker_id: WORKER.to_owned(),
            ..ConverterSettings::default()
        })
        .await
    }

    pub async fn with_settings(converter_settings: ConverterSettings) -> Harness {
        let world: Shared = Arc::default();
        let store = Arc::new(MemoryStore::new());
        store.put_connector(&settings()).await.unwrap();
        let secrets = Arc::new(MemorySecrets::new());
        secrets.insert(connector(), self::secrets("woo-old", "sellsy-old"));
        let factories = Arc::new(Factories(world.clone()));
        let converter = Arc::new(Converter::new(ConverterDeps {
            store: store.clone(),
            secrets: secrets.clone(),
            shops: factories.clone(),
            backends: factories,
            settings: converter_settings,
        }));
        Harness {
            converter,
            world,
            store,
            secrets,
        }
    }

    pub fn put_order(&self, order: Order) {
        self.world.lock().unwrap().orders.insert(order.id, order);
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }
}

/// A webhook event for `order` carrying its body (what the receiver enqueues).
pub fn event(order: &Order) -> QueuedEvent {
    QueuedEvent {
        connector: connector(),
        topic: "order.updated".to_owned(),
        order: OrderId(order.id),
        delivery_id: Some("d-1".to_owned()),
        webhook_id: Some(7),
        body: Some(serde_json::to_string(order).unwrap()),
        received_at: chrono::Utc::now(),
    }
}
