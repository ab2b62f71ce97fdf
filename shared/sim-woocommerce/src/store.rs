//! The store's state: orders and products as REST JSON, webhooks, the Action Scheduler queue of pending
//! deliveries, and the logs tests read. Everything here is synchronous and runs under one mutex; the
//! HTTP sides (REST server, delivery worker) live elsewhere.
//!
//! Writes follow WooCommerce's data layer rather than a generic JSON merge: meta upserts by key and
//! collapses duplicates, every save moves `date_modified`, status transitions set `date_paid` /
//! `date_completed`, and each save fires the WordPress hooks webhooks listen to.

use std::collections::{BTreeMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use crate::auth::NonceStore;
use crate::hooks;
use crate::model::{DeliveryRecord, HttpRequest, RestWrite, WebhookInfo, WebhookStatus};
use crate::php::meta_value_as_stored;

/// The store's fixed UTC offset in seconds (Europe/Paris in summer, `gmt_offset = 2`): site-local
/// dates (`date_created`, …) differ from their `_gmt` twins, so mixing them up shows in tests.
pub const SITE_UTC_OFFSET_SECS: i64 = 2 * 3600;

const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// Statuses whose orders never reach a webhook (`WC_Webhook::is_valid_resource`).
const SKIPPED_ORDER_STATUSES: [&str; 3] = ["draft", "auto-draft", "new"];
/// Statuses for which `woocommerce_new_order` is held back until the order leaves them.
const DRAFT_ORDER_STATUSES: [&str; 4] = ["draft", "auto-draft", "new", "checkout-draft"];
/// The REST enum for order `status` (`auto-draft` + `wc_get_order_statuses()` without `wc-`).
pub const ORDER_STATUSES: [&str; 9] = [
    "auto-draft",
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
];
/// Order fields the REST schema marks read-only; a PUT silently ignores them.
const ORDER_READONLY: [&str; 27] = [
    "id",
    "number",
    "order_key",
    "version",
    "date_created",
    "date_created_gmt",
    "date_modified",
    "date_modified_gmt",
    "discount_total",
    "discount_tax",
    "shipping_total",
    "shipping_tax",
    "cart_tax",
    "total",
    "total_tax",
    "prices_include_tax",
    "customer_ip_address",
    "customer_user_agent",
    "date_paid",
    "date_paid_gmt",
    "date_completed",
    "date_completed_gmt",
    "cart_hash",
    "refunds",
    "payment_url",
    "currency_symbol",
    "_links",
];
const PRODUCT_READONLY: [&str; 10] = [
    "id",
    "type",
    "parent_id",
    "date_created",
    "date_created_gmt",
    "date_modified",
    "date_modified_gmt",
    "permalink",
    "variations",
    "_links",
];
const ITEM_LISTS: [&str; 4] = ["line_items", "shipping_lines", "fee_lines", "coupon_lines"];

/// A WordPress hook call: `do_action($hook, $arg)`.
pub type HookCall = (String, u64);

pub struct Webhook {
    pub id: u64,
    pub name: String,
    pub status: WebhookStatus,
    pub topic: String,
    pub delivery_url: String,
    pub secret: String,
    pub failure_count: u32,
    pub pending_delivery: bool,
    pub date_created_gmt: NaiveDateTime,
    pub date_modified_gmt: NaiveDateTime,
}

impl Webhook {
    pub fn info(&self) -> WebhookInfo {
        WebhookInfo {
            id: self.id,
            name: self.name.clone(),
            topic: self.topic.clone(),
            status: self.status,
            failure_count: self.failure_count,
            pending_delivery: self.pending_delivery,
            delivery_url: self.delivery_url.clone(),
        }
    }

    /// The REST representation (context `edit`, which still never includes the secret).
    pub fn to_rest(&self, home: &str) -> Value {
        let base = format!("{home}/wp-json/wc/v3/webhooks");
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status.as_str(),
            "topic": self.topic,
            "resource": hooks::resource(&self.topic),
            "event": hooks::event(&self.topic),
            "hooks": hooks::hooks_for_topic(&self.topic),
            "delivery_url": self.delivery_url,
            "date_created": local_string(self.date_created_gmt),
            "date_created_gmt": gmt_string(self.date_created_gmt),
            "date_modified": local_string(self.date_modified_gmt),
            "date_modified_gmt": gmt_string(self.date_modified_gmt),
            "_links": links(&format!("{base}/{}", self.id), &base, None),
        })
    }
}

/// An Action Scheduler action `woocommerce_deliver_webhook_async` with args `{webhook_id, arg}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub webhook_id: u64,
    pub arg: u64,
}

pub struct StoredOrder {
    pub data: Map<String, Value>,
    /// `_wp_trash_meta_status`: what an untrash restores.
    pub pre_trash_status: Option<String>,
}

/// How many requests [`State::requests`] keeps (the demo store runs for long).
pub const MAX_LOGGED_REQUESTS: usize = 10_000;

pub struct State {
    pub home: String,
    pub wc_version: String,
    pub orders: BTreeMap<u64, StoredOrder>,
    pub products: BTreeMap<u64, Map<String, Value>>,
    pub webhooks: BTreeMap<u64, Webhook>,
    pub queue: VecDeque<Job>,
    /// Queued plus in-flight jobs; `settle()` waits for zero.
    pub outstanding: u64,
    pub deliveries: Vec<DeliveryRecord>,
    pub rest_writes: Vec<RestWrite>,
    /// The latest requests received ([`MAX_LOGGED_REQUESTS`] at most).
    pub requests: VecDeque<HttpRequest>,
    pub nonces: NonceStore,
    pub delivery_counter: u64,
    next_post_id: u64,
    next_meta_id: u64,
    next_item_id: u64,
    next_webhook_id: u64,
}

/// Why a REST write was refused, before it reaches the HTTP layer's error format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub param: String,
    pub message: String,
    pub detail_code: &'static str,
}

impl State {
    pub fn new(home: String, wc_version: String) -> Self {
        State {
            home,
            wc_version,
            orders: BTreeMap::new(),
            products: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            queue: VecDeque::new(),
            outstanding: 0,
            deliveries: Vec::new(),
            rest_writes: Vec::new(),
            requests: VecDeque::new(),
            nonces: NonceStore::new(),
            delivery_counter: 0,
            next_post_id: 100,
            next_meta_id: 1000,
            next_item_id: 1,
            next_webhook_id: 1,
        }
    }

    // ---------------------------------------------------------------- orders

    /// Inserts an order, filling what WooCommerce would have set; returns its id and the hooks fired.
    pub fn create_order(&mut self, order: Value) -> (u64, Vec<HookCall>) {
        let mut data = match order {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        data.remove("_links");
        let id = match data.get("id").and_then(Value::as_u64).filter(|&id| id > 0) {
            Some(id) => id,
            None => self.next_post_id,
        };
        self.next_post_id = self.next_post_id.max(id + 1);
        data.insert("id".into(), json!(id));
        let now = now_utc();
        let defaults = [
            ("parent_id", json!(0)),
            ("number", json!(id.to_string())),
            ("order_key", json!(format!("wc_order_{}", random_alnum(13)))),
            ("created_via", json!("rest-api")),
            ("version", json!(self.wc_version)),
            ("status", json!("pending")),
            ("currency", json!("EUR")),
            ("prices_include_tax", json!(false)),
            ("customer_id", json!(0)),
            ("customer_note", json!("")),
            ("meta_data", json!([])),
            ("line_items", json!([])),
            ("tax_lines", json!([])),
            ("shipping_lines", json!([])),
            ("fee_lines", json!([])),
            ("coupon_lines", json!([])),
            ("refunds", json!([])),
        ];
        for (key, value) in defaults {
            data.entry(key).or_insert(value);
        }
        for base in ["date_paid", "date_completed"] {
            fill_date_pair(&mut data, base);
        }
        fill_date_pair(&mut data, "date_created");
        if date_of(&data, "date_created").is_none() {
            set_date_pair(&mut data, "date_created", now);
        }
        set_date_pair(&mut data, "date_modified", now);
        self.assign_meta_ids(&mut data);
        for list in ITEM_LISTS.iter().chain(&["tax_lines"]) {
            self.assign_item_ids(&mut data, list);
        }
        let data = canonical_order_keys(data);
        let status = str_field(&data, "status");
        let mut calls = Vec::new();
        if !DRAFT_ORDER_STATUSES.contains(&status.as_str()) {
            calls.push(("woocommerce_new_order".to_owned(), id));
            // A new order object starts as `pending`: any other initial status is a transition.
            calls.extend(status_hooks("pending", &status, id));
        }
        self.orders.insert(
            id,
            StoredOrder {
                data,
                pre_trash_status: None,
            },
        );
        (id, calls)
    }

    /// The test harness's backdoor: merges `patch` without REST's read-only filter, then saves.
    pub fn update_order(&mut self, id: u64, patch: Value) -> Option<Vec<HookCall>> {
        let patch = match patch {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let mut stored = self.orders.remove(&id)?;
        let old_status = str_field(&stored.data, "status");
        for (key, value) in patch {
            match key.as_str() {
                "meta_data" => {
                    let rows = value.as_array().cloned().unwrap_or_default();
                    self.upsert_meta(&mut stored.data, rows, false);
                }
                "billing" | "shipping" => merge_object(&mut stored.data, &key, value),
                "id" | "_links" => {}
                _ => {
                    stored.data.insert(key, value);
                }
            }
        }
        for list in ITEM_LISTS.iter().chain(&["tax_lines"]) {
            self.assign_item_ids(&mut stored.data, list);
        }
        let calls = self.save_order(&mut stored, &old_status, true);
        self.orders.insert(id, stored);
        Some(calls)
    }

    /// `PUT /orders/{id}`: only writable properties; `set_paid` completes payment.
    pub fn rest_update_order(
        &mut self,
        id: u64,
        patch: Map<String, Value>,
    ) -> Result<Option<(Value, Vec<HookCall>)>, Invalid> {
        validate_order_patch(&patch)?;
        let Some(mut stored) = self.orders.remove(&id) else {
            return Ok(None);
        };
        let old_status = str_field(&stored.data, "status");
        let mut new_status = None;
        let mut set_paid = false;
        for (key, value) in patch {
            if ORDER_READONLY.contains(&key.as_str()) {
                continue;
            }
            match key.as_str() {
                "meta_data" => {
                    let rows = value.as_array().cloned().unwrap_or_default();
                    self.upsert_meta(&mut stored.data, rows, true);
                }
                "billing" | "shipping" => merge_object(&mut stored.data, &key, value),
                "status" => new_status = value.as_str().map(str::to_owned),
                "set_paid" => set_paid = value.as_bool() == Some(true),
                "manual_update" => {}
                list if ITEM_LISTS.contains(&list) => {
                    self.merge_items(&mut stored.data, list, value);
                }
                _ => {
                    stored.data.insert(key, value);
                }
            }
        }
        // `status` is applied last, after everything else, as the V3 controller does.
        if set_paid {
            if date_of(&stored.data, "date_paid").is_none() {
                set_date_pair(&mut stored.data, "date_paid", now_utc());
            }
            if matches!(
                old_status.as_str(),
                "pending" | "on-hold" | "failed" | "checkout-draft"
            ) {
                stored.data.insert("status".into(), json!("processing"));
            }
        }
        if let Some(status) = new_status {
            stored.data.insert("status".into(), json!(status));
        }
        let calls = self.save_order(&mut stored, &old_status, false);
        let view = self.render_order_data(&stored.data);
        self.orders.insert(id, stored);
        Ok(Some((view, calls)))
    }

    /// `$order->save()`: bump `date_modified`, stamp the version, set paid/completed dates on status
    /// changes and return the hooks in the order WooCommerce fires them.
    fn save_order(
        &mut self,
        stored: &mut StoredOrder,
        old_status: &str,
        keep_version: bool,
    ) -> Vec<HookCall> {
        let id = stored.data.get("id").and_then(Value::as_u64).unwrap_or(0);
        let status = str_field(&stored.data, "status");
        if status != old_status {
            let now = now_utc();
            if matches!(status.as_str(), "processing" | "completed")
                && date_of(&stored.data, "date_paid").is_none()
            {
                set_date_pair(&mut stored.data, "date_paid", now);
            }
            if status == "completed" && date_of(&stored.data, "date_completed").is_none() {
                set_date_pair(&mut stored.data, "date_completed", now);
            }
        }
        if !keep_version {
            stored.data.insert("version".into(), json!(self.wc_version));
        }
        bump_modified(&mut stored.data);
        let mut calls = Vec::new();
        if DRAFT_ORDER_STATUSES.contains(&old_status)
            && !DRAFT_ORDER_STATUSES.contains(&status.as_str())
        {
            // Since WC 9.0 `woocommerce_new_order` waits until an order leaves its draft status.
            calls.push(("woocommerce_new_order".to_owned(), id));
        }
        calls.push(("woocommerce_update_order".to_owned(), id));
        if status != old_status {
            calls.extend(status_hooks(old_status, &status, id));
        }
        calls
    }

    /// Moves an order to the trash (`order.deleted` with `{"id":N}`); `None` if unknown or already there.
    pub fn trash_order(&mut self, id: u64) -> Option<Vec<HookCall>> {
        let stored = self.orders.get_mut(&id)?;
        let status = str_field(&stored.data, "status");
        if status == "trash" {
            return None;
        }
        stored.pre_trash_status = Some(status);
        stored.data.insert("status".into(), json!("trash"));
        bump_modified(&mut stored.data);
        Some(vec![("woocommerce_trash_order".to_owned(), id)])
    }

    /// Restores a trashed order to its previous status (`order.restored`).
    pub fn restore_order(&mut self, id: u64) -> Option<Vec<HookCall>> {
        let stored = self.orders.get_mut(&id)?;
        if str_field(&stored.data, "status") != "trash" {
            return None;
        }
        let previous = stored
            .pre_trash_status
            .take()
            .unwrap_or_else(|| "pending".into());
        stored.data.insert("status".into(), json!(previous));
        bump_modified(&mut stored.data);
        Some(vec![("woocommerce_untrash_order".to_owned(), id)])
    }

    pub fn render_order(&self, id: u64) -> Option<Value> {
        self.orders
            .get(&id)
            .map(|o| self.render_order_data(&o.data))
    }

    fn render_order_data(&self, data: &Map<String, Value>) -> Value {
        let mut out = data.clone();
        let id = data.get("id").and_then(Value::as_u64).unwrap_or(0);
        let base = format!("{}/wp-json/wc/v3/orders", self.home);
        let mut extra = Vec::new();
        if let Some(customer) = data
            .get("customer_id")
            .and_then(Value::as_u64)
            .filter(|&c| c != 0)
        {
            extra.push((
                "customer",
                format!("{}/wp-json/wc/v3/customers/{customer}", self.home),
            ));
        }
        if let Some(parent) = data
            .get("parent_id")
            .and_then(Value::as_u64)
            .filter(|&p| p != 0)
        {
            extra.push(("up", format!("{base}/{parent}")));
        }
        let mut l = links(&format!("{base}/{id}"), &base, None);
        if let Value::Object(map) = &mut l {
            for (rel, href) in extra {
                map.insert(rel.into(), json!([{ "href": href }]));
            }
        }
        out.insert("_links".into(), l);
        Value::Object(out)
    }

    // ---------------------------------------------------------------- products

    pub fn add_product(&mut self, product: Value) -> (u64, Vec<HookCall>) {
        let mut data = match product {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        data.remove("_links");
        let id = match data.get("id").and_then(Value::as_u64).filter(|&id| id > 0) {
            Some(id) => id,
            None => self.next_post_id,
        };
        self.next_post_id = self.next_post_id.max(id + 1);
        data.insert("id".into(), json!(id));
        let defaults = [
            ("name", json!("")),
            ("type", json!("simple")),
            ("status", json!("publish")),
            ("sku", json!("")),
            ("price", json!("")),
            ("regular_price", json!("")),
            ("sale_price", json!("")),
            ("tax_status", json!("taxable")),
            ("tax_class", json!("")),
            ("manage_stock", json!(false)),
            ("stock_quantity", Value::Null),
            ("stock_status", json!("instock")),
            ("backorders", json!("no")),
            ("parent_id", json!(0)),
            ("meta_data", json!([])),
        ];
        for (key, value) in defaults {
            data.entry(key).or_insert(value);
        }
        let now = now_utc();
        fill_date_pair(&mut data, "date_created");
        if date_of(&data, "date_created").is_none() {
            set_date_pair(&mut data, "date_created", now);
        }
        set_date_pair(&mut data, "date_modified", now);
        self.assign_meta_ids(&mut data);
        let is_variation = str_field(&data, "type") == "variation";
        let parent_id = data.get("parent_id").and_then(Value::as_u64).unwrap_or(0);
        if is_variation && let Some(parent) = self.products.get_mut(&parent_id) {
            let variations = parent.entry("variations").or_insert_with(|| json!([]));
            if let Value::Array(ids) = variations
                && !ids.contains(&json!(id))
            {
                ids.push(json!(id));
            }
        }
        self.products.insert(id, data);
        let hook = if is_variation {
            "woocommerce_new_product_variation"
        } else {
            "woocommerce_new_product"
        };
        (id, vec![(hook.to_owned(), id)])
    }

    /// `PUT /products/{id}` (and the variations route): stock rules of `WC_Product::validate_props`
    /// with "Enable stock management" on.
    pub fn rest_update_product(
        &mut self,
        id: u64,
        patch: Map<String, Value>,
    ) -> Result<Option<(Value, Vec<HookCall>)>, Invalid> {
        if let Some(q) = patch.get("stock_quantity")
            && !q.is_null()
            && as_stock_amount(q).is_none()
        {
            return Err(Invalid {
                param: "stock_quantity".into(),
                message: "stock_quantity is not of type integer.".into(),
                detail_code: "rest_invalid_type",
            });
        }
        let Some(mut data) = self.products.remove(&id) else {
            return Ok(None);
        };
        for (key, value) in patch {
            if PRODUCT_READONLY.contains(&key.as_str()) {
                continue;
            }
            match key.as_str() {
                "meta_data" => {
                    let rows = value.as_array().cloned().unwrap_or_default();
                    self.upsert_meta(&mut data, rows, true);
                }
                "stock_quantity" => {
                    let q = as_stock_amount(&value).map_or(Value::Null, |q| json!(q));
                    data.insert(key, q);
                }
                "inventory_delta" => {
                    let current = data
                        .get("stock_quantity")
                        .and_then(as_stock_amount)
                        .unwrap_or(0);
                    if let Some(delta) = as_stock_amount(&value) {
                        data.insert("stock_quantity".into(), json!(current + delta));
                    }
                }
                _ => {
                    data.insert(key, value);
                }
            }
        }
        if data.get("manage_stock") == Some(&Value::Bool(true)) {
            let qty = data
                .get("stock_quantity")
                .and_then(as_stock_amount)
                .unwrap_or(0);
            let backorders = str_field(&data, "backorders");
            let status = if qty > 0 {
                "instock"
            } else if backorders == "no" || backorders.is_empty() {
                "outofstock"
            } else {
                "onbackorder"
            };
            data.insert("stock_status".into(), json!(status));
        } else {
            data.insert("stock_quantity".into(), Value::Null);
        }
        bump_modified(&mut data);
        let hook = if str_field(&data, "type") == "variation" {
            "woocommerce_update_product_variation"
        } else {
            "woocommerce_update_product"
        };
        let view = self.render_product_data(&data, false);
        self.products.insert(id, data);
        Ok(Some((view, vec![(hook.to_owned(), id)])))
    }

    /// A product as `GET /products/{id}` shows it (a variation keeps `type: variation` and gets `up`),
    /// or as `GET /products/{parent}/variations/{id}` when `as_variation`.
    pub fn render_product(&self, id: u64, as_variation: bool) -> Option<Value> {
        self.products
            .get(&id)
            .map(|p| self.render_product_data(p, as_variation))
    }

    fn render_product_data(&self, data: &Map<String, Value>, as_variation: bool) -> Value {
        let mut out = data.clone();
        let id = data.get("id").and_then(Value::as_u64).unwrap_or(0);
        let parent = data.get("parent_id").and_then(Value::as_u64).unwrap_or(0);
        let products = format!("{}/wp-json/wc/v3/products", self.home);
        let up = (parent != 0).then(|| format!("{products}/{parent}"));
        let l = if as_variation {
            let base = format!("{products}/{parent}/variations");
            links(&format!("{base}/{id}"), &base, up.as_deref())
        } else {
            links(&format!("{products}/{id}"), &products, up.as_deref())
        };
        out.insert("_links".into(), l);
        Value::Object(out)
    }

    /// `GET /products?sku=`: exact match over products and variations; a comma list is split, and the
    /// whole string is tried as one SKU too.
    pub fn products_by_sku(&self, sku: &str) -> Vec<u64> {
        let mut wanted: Vec<&str> = sku
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        wanted.push(sku);
        self.products
            .iter()
            .filter(|(_, p)| {
                let own = str_field(p, "sku");
                !own.is_empty() && wanted.contains(&own.as_str())
            })
            .map(|(id, _)| *id)
            .collect()
    }

    // ---------------------------------------------------------------- webhooks

    pub fn create_webhook(
        &mut self,
        name: &str,
        topic: &str,
        delivery_url: &str,
        secret: &str,
    ) -> u64 {
        let id = self.next_webhook_id;
        self.next_webhook_id += 1;
        let now = now_utc();
        let name = if name.is_empty() {
            format!(
                "Webhook created on {}",
                now.format("%B %-d, %Y @ %-I:%M %p")
            )
        } else {
            name.to_owned()
        };
        self.webhooks.insert(
            id,
            Webhook {
                id,
                name,
                status: WebhookStatus::Active,
                topic: topic.to_owned(),
                delivery_url: delivery_url.to_owned(),
                secret: secret.to_owned(),
                failure_count: 0,
                pending_delivery: true,
                date_created_gmt: now.naive_utc(),
                date_modified_gmt: now.naive_utc(),
            },
        );
        id
    }

    /// Turns hook calls into queued deliveries the way `WC_Webhook::process()` and
    /// `wc_webhook_execute_queue()` do; returns how many jobs were added.
    pub fn enqueue(&mut self, calls: &[HookCall]) -> u64 {
        let mut processed: HashSet<(u64, u64)> = HashSet::new();
        let mut added = 0;
        let listeners: Vec<(u64, String)> = self
            .webhooks
            .values()
            .filter(|w| w.status == WebhookStatus::Active && hooks::is_valid_topic(&w.topic))
            .map(|w| (w.id, w.topic.clone()))
            .collect();
        for (hook, arg) in calls {
            for (webhook_id, topic) in &listeners {
                if !hooks::hooks_for_topic(topic).iter().any(|h| h == hook) {
                    continue;
                }
                if !self.is_valid_resource(topic, *arg) || !processed.insert((*webhook_id, *arg)) {
                    continue;
                }
                let job = Job {
                    webhook_id: *webhook_id,
                    arg: *arg,
                };
                // Action Scheduler: one pending action per identical args.
                if self.queue.contains(&job) {
                    continue;
                }
                self.queue.push_back(job);
                self.outstanding += 1;
                added += 1;
            }
        }
        added
    }

    fn is_valid_resource(&self, topic: &str, arg: u64) -> bool {
        match hooks::resource(topic) {
            "order" => self.orders.get(&arg).is_some_and(|o| {
                !SKIPPED_ORDER_STATUSES.contains(&str_field(&o.data, "status").as_str())
            }),
            "product" | "coupon" => self
                .products
                .get(&arg)
                .is_none_or(|p| !matches!(str_field(p, "status").as_str(), "auto-draft" | "new")),
            _ => true,
        }
    }

    /// The body WooCommerce builds at delivery time from the resource's current state.
    pub fn build_payload(&self, topic: &str, arg: u64) -> Value {
        let resource = hooks::resource(topic);
        let event = hooks::event(topic);
        if resource == "action" {
            return json!({ "action": event, "arg": arg });
        }
        if event == "deleted" {
            return json!({ "id": arg });
        }
        let found = match resource {
            "order" => self.render_order(arg),
            "product" => self.render_product(arg, false),
            _ => None,
        };
        found.unwrap_or_else(|| {
            let code = match resource {
                "order" => "woocommerce_rest_shop_order_invalid_id",
                "product" => "woocommerce_rest_product_invalid_id",
                "coupon" => "woocommerce_rest_shop_coupon_invalid_id",
                _ => "woocommerce_rest_invalid_id",
            };
            json!({ "code": code, "message": "Invalid ID.", "data": { "status": 404 } })
        })
    }

    // ---------------------------------------------------------------- meta & items

    /// `WC_Data::update_meta_data()` for each row, then `save_meta_data()`.
    fn upsert_meta(&mut self, data: &mut Map<String, Value>, rows: Vec<Value>, from_rest: bool) {
        let mut meta: Vec<Map<String, Value>> = data
            .get("meta_data")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|m| m.as_object().cloned()).collect())
            .unwrap_or_default();
        for row in rows {
            let Value::Object(row) = row else { continue };
            let Some(key) = row.get("key").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let mut value = row.get("value").cloned().unwrap_or(Value::Null);
            if from_rest {
                value = meta_value_as_stored(value);
            }
            // A meta id only matches a stored id of the same JSON type (PHP strict comparison).
            let by_id = row
                .get("id")
                .filter(|v| v.as_u64().is_some_and(|n| n > 0))
                .map(|id| meta.iter().position(|m| m.get("id") == Some(id)));
            let target = match by_id {
                Some(found) => found,
                None => {
                    let matches: Vec<usize> = meta
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.get("key").and_then(Value::as_str) == Some(key.as_str()))
                        .map(|(i, _)| i)
                        .collect();
                    for &i in &matches {
                        meta[i].insert("value".into(), Value::Null);
                    }
                    matches.first().copied()
                }
            };
            match target {
                Some(i) => {
                    meta[i].insert("key".into(), json!(key));
                    meta[i].insert("value".into(), value);
                }
                None => {
                    // `add_meta_data($key, $value, true)`: unique, so older rows with the key go.
                    for m in meta.iter_mut() {
                        if m.get("key").and_then(Value::as_str) == Some(key.as_str()) {
                            m.insert("value".into(), Value::Null);
                        }
                    }
                    let mut new_row = Map::new();
                    new_row.insert("key".into(), json!(key));
                    new_row.insert("value".into(), value);
                    meta.push(new_row);
                }
            }
        }
        meta.retain(|m| !m.get("value").is_none_or(Value::is_null));
        let rows: Vec<Value> = meta
            .into_iter()
            .map(|mut m| {
                if m.get("id").and_then(Value::as_u64).is_none() {
                    let id = self.next_meta_id;
                    self.next_meta_id += 1;
                    // `{id, key, value}` is the key order WooCommerce returns.
                    let mut ordered = Map::new();
                    ordered.insert("id".into(), json!(id));
                    m.remove("id");
                    ordered.extend(m);
                    m = ordered;
                }
                Value::Object(m)
            })
            .collect();
        data.insert("meta_data".into(), Value::Array(rows));
    }

    fn assign_meta_ids(&mut self, data: &mut Map<String, Value>) {
        let rows = data
            .get("meta_data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if rows
            .iter()
            .any(|r| r.get("id").and_then(Value::as_u64).is_none())
        {
            let mut fixed = Vec::with_capacity(rows.len());
            for row in rows {
                match row {
                    Value::Object(m) if m.get("id").and_then(Value::as_u64).is_none() => {
                        let mut ordered = Map::new();
                        ordered.insert("id".into(), json!(self.next_meta_id));
                        self.next_meta_id += 1;
                        ordered.extend(m.into_iter().filter(|(k, _)| k != "id"));
                        fixed.push(Value::Object(ordered));
                    }
                    other => fixed.push(other),
                }
            }
            data.insert("meta_data".into(), Value::Array(fixed));
        }
    }

    fn assign_item_ids(&mut self, data: &mut Map<String, Value>, list: &str) {
        let Some(Value::Array(items)) = data.get_mut(list) else {
            return;
        };
        for item in items.iter_mut() {
            if let Value::Object(m) = item {
                let id = m.get("id").and_then(Value::as_u64).filter(|&id| id > 0);
                match id {
                    Some(id) => self.next_item_id = self.next_item_id.max(id + 1),
                    None => {
                        let mut ordered = Map::new();
                        ordered.insert("id".into(), json!(self.next_item_id));
                        self.next_item_id += 1;
                        ordered.extend(std::mem::take(m).into_iter().filter(|(k, _)| k != "id"));
                        *m = ordered;
                    }
                }
            }
        }
    }

    /// Line-type updates: a row with a known `id` is merged into it (a line item with quantity 0 is
    /// removed), a row without one is added. Totals are not recalculated.
    fn merge_items(&mut self, data: &mut Map<String, Value>, list: &str, value: Value) {
        let Value::Array(rows) = value else { return };
        let mut items = data
            .get(list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for row in rows {
            let Value::Object(row) = row else { continue };
            let existing = row.get("id").and_then(Value::as_u64).and_then(|id| {
                items
                    .iter()
                    .position(|i| i.get("id").and_then(Value::as_u64) == Some(id))
            });
            match existing {
                Some(pos) => {
                    let remove = list == "line_items"
                        && row.get("quantity").and_then(Value::as_f64) == Some(0.0);
                    if remove {
                        items.remove(pos);
                    } else if let Some(Value::Object(item)) = items.get_mut(pos) {
                        item.extend(row);
                    }
                }
                None => {
                    let mut row = row;
                    row.remove("id");
                    items.push(Value::Object(row));
                }
            }
        }
        data.insert(list.to_owned(), Value::Array(items));
        self.assign_item_ids(data, list);
    }

    // ---------------------------------------------------------------- ids

    pub fn next_delivery_counter(&mut self) -> u64 {
        self.delivery_counter += 1;
        self.delivery_counter
    }
}

// -------------------------------------------------------------------- helpers

/// The argument validation WordPress runs on `PUT /orders/{id}` before any permission check.
pub fn validate_order_patch(patch: &Map<String, Value>) -> Result<(), Invalid> {
    if let Some(status) = patch.get("status") {
        let ok = status.as_str().is_some_and(|s| ORDER_STATUSES.contains(&s));
        if !ok {
            return Err(Invalid {
                param: "status".into(),
                message: format!("status is not one of {}.", php_list(&ORDER_STATUSES)),
                detail_code: "rest_not_in_enum",
            });
        }
    }
    if let Some(meta) = patch.get("meta_data")
        && !meta.is_array()
    {
        return Err(Invalid {
            param: "meta_data".into(),
            message: "meta_data is not of type array.".into(),
            detail_code: "rest_invalid_type",
        });
    }
    Ok(())
}

/// Known order fields in the order a modern WooCommerce writes them; unknown (extension) fields follow
/// in their given order. Consumers must not depend on it, but a faithful shape catches those who do.
const ORDER_KEY_ORDER: &[&str] = &[
    "id",
    "parent_id",
    "status",
    "currency",
    "version",
    "prices_include_tax",
    "date_created",
    "date_modified",
    "discount_total",
    "discount_tax",
    "shipping_total",
    "shipping_tax",
    "cart_tax",
    "total",
    "total_tax",
    "customer_id",
    "order_key",
    "billing",
    "shipping",
    "payment_method",
    "payment_method_title",
    "transaction_id",
    "customer_ip_address",
    "customer_user_agent",
    "created_via",
    "customer_note",
    "date_completed",
    "date_paid",
    "cart_hash",
    "number",
    "meta_data",
    "line_items",
    "tax_lines",
    "shipping_lines",
    "fee_lines",
    "coupon_lines",
    "refunds",
    "payment_url",
    "is_editable",
    "needs_payment",
    "needs_processing",
    "date_created_gmt",
    "date_modified_gmt",
    "date_completed_gmt",
    "date_paid_gmt",
    "currency_symbol",
    "cost_of_goods_sold",
];

fn canonical_order_keys(mut data: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ORDER_KEY_ORDER {
        if let Some(v) = data.remove(*key) {
            out.insert((*key).to_owned(), v);
        }
    }
    out.extend(data);
    out
}

/// `woocommerce_order_status_{to}`, `…_{from}_to_{to}`, `woocommerce_order_status_changed`.
fn status_hooks(from: &str, to: &str, id: u64) -> Vec<HookCall> {
    let mut calls = vec![(format!("woocommerce_order_status_{to}"), id)];
    if from != to {
        calls.push((format!("woocommerce_order_status_{from}_to_{to}"), id));
        calls.push(("woocommerce_order_status_changed".to_owned(), id));
    }
    calls
}

fn links(self_href: &str, collection: &str, up: Option<&str>) -> Value {
    // WordPress 6.7+ adds `targetHints` to the self link.
    let mut map = Map::new();
    map.insert(
        "self".into(),
        json!([{ "href": self_href, "targetHints": { "allow": ["GET", "POST", "PUT", "PATCH", "DELETE"] } }]),
    );
    map.insert("collection".into(), json!([{ "href": collection }]));
    if let Some(up) = up {
        map.insert("up".into(), json!([{ "href": up }]));
    }
    Value::Object(map)
}

fn merge_object(data: &mut Map<String, Value>, key: &str, value: Value) {
    match (data.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(patch)) => existing.extend(patch),
        (_, value) => {
            data.insert(key.to_owned(), value);
        }
    }
}

pub fn str_field(data: &Map<String, Value>, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `wc_stock_amount()`: intval of a number or numeric string.
fn as_stock_amount(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            })
        }
        _ => None,
    }
}

/// `a, b, and c`, as WordPress's `%l` formats lists.
pub fn php_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

pub fn now_utc() -> DateTime<Utc> {
    Utc::now()
}

pub fn gmt_string(t: NaiveDateTime) -> String {
    t.format(DATE_FORMAT).to_string()
}

pub fn local_string(gmt: NaiveDateTime) -> String {
    (gmt + Duration::seconds(SITE_UTC_OFFSET_SECS))
        .format(DATE_FORMAT)
        .to_string()
}

pub fn parse_wc_date(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, DATE_FORMAT).ok()
}

/// The GMT time of a `base`/`base_gmt` pair, from `_gmt` or else from the local field.
pub fn date_of(data: &Map<String, Value>, base: &str) -> Option<NaiveDateTime> {
    let gmt = data
        .get(&format!("{base}_gmt"))
        .and_then(Value::as_str)
        .and_then(parse_wc_date);
    gmt.or_else(|| {
        data.get(base)
            .and_then(Value::as_str)
            .and_then(parse_wc_date)
            .map(|local| local - Duration::seconds(SITE_UTC_OFFSET_SECS))
    })
}

fn set_date_pair(data: &mut Map<String, Value>, base: &str, at: DateTime<Utc>) {
    let gmt = at.naive_utc().with_nanosecond_zero();
    data.insert(base.to_owned(), json!(local_string(gmt)));
    data.insert(format!("{base}_gmt"), json!(gmt_string(gmt)));
}

/// Makes both halves of a date pair present and consistent (`null` when unset).
fn fill_date_pair(data: &mut Map<String, Value>, base: &str) {
    match date_of(data, base) {
        Some(gmt) => {
            data.insert(base.to_owned(), json!(local_string(gmt)));
            data.insert(format!("{base}_gmt"), json!(gmt_string(gmt)));
        }
        None => {
            data.insert(base.to_owned(), Value::Null);
            data.insert(format!("{base}_gmt"), Value::Null);
        }
    }
}

/// Every save moves `date_modified` to now, and at least one second past its previous value so
/// that `modified_after` pollers (second granularity, strict `>`) always see the change.
fn bump_modified(data: &mut Map<String, Value>) {
    let now = now_utc().naive_utc().with_nanosecond_zero();
    let next = match date_of(data, "date_modified") {
        Some(prev) if prev + Duration::seconds(1) > now => prev + Duration::seconds(1),
        _ => now,
    };
    data.insert("date_modified".into(), json!(local_string(next)));
    data.insert("date_modified_gmt".into(), json!(gmt_string(next)));
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

fn random_alnum(len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// `wp_generate_password(50, true, true)`: the secret WooCommerce gives a webhook created without one.
pub fn generate_secret() -> String {
    use rand::Rng;
    const CHARS: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_ []{}<>~`+=,.;:/?|";
    let mut rng = rand::rng();
    (0..50)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}
