//! Webhook deliveries as `WC_Webhook::deliver()` / `deliver_ping()` send them, and the background worker
//! standing in for Action Scheduler: it takes queued jobs in order, builds each payload from the
//! resource's state at that moment, and applies WooCommerce's failure counting (no retries).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::{DeliveryRecord, WebhookStatus};
use crate::php::empty_objects_to_arrays;
use crate::store::Job;
use crate::{Inner, hooks};

/// `MINUTE_IN_SECONDS`: WooCommerce's delivery timeout.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// WordPress's default `wp_remote_*` timeout, which the ping keeps.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The delivery client: no redirects followed (`redirection => 0`), 60 s timeout.
pub fn delivery_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DELIVERY_TIMEOUT)
        .build()
}

/// The ping client: WordPress defaults, 5 s timeout and up to 5 redirects.
pub fn ping_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .timeout(PING_TIMEOUT)
        .build()
}

/// Runs queued jobs one at a time, in the order they were scheduled, forever.
pub async fn worker(inner: Arc<Inner>) {
    loop {
        let job = inner.lock().queue.pop_front();
        match job {
            Some(job) => {
                // `wc_deliver_webhook_async()` returns early when the webhook is gone.
                deliver(&inner, job, false).await;
                let mut st = inner.lock();
                st.outstanding = st.outstanding.saturating_sub(1);
                if st.outstanding == 0 {
                    inner.idle.notify_waiters();
                }
            }
            None => inner.wake.notified().await,
        }
    }
}

/// One delivery now, then the failure bookkeeping and, for a webhook still waiting for a good ping,
/// another ping (the data store pings whenever an active webhook with `pending_delivery` is saved).
/// `None` only when the webhook does not exist and `report_missing` is false.
pub async fn deliver(inner: &Arc<Inner>, job: Job, report_missing: bool) -> Option<DeliveryRecord> {
    let prepared = {
        let mut st = inner.lock();
        let counter = st.next_delivery_counter();
        match st.webhooks.get(&job.webhook_id) {
            None => None,
            Some(w) => {
                let mut payload = st.build_payload(&w.topic, job.arg);
                empty_objects_to_arrays(&mut payload);
                let body = woocommerce::php_json::encode(&payload).trim().to_owned();
                let signature = woocommerce::webhook::signature(body.as_bytes(), &w.secret);
                let delivery_id = delivery_id(&inner.salt, job.webhook_id, counter);
                Some((
                    w.topic.clone(),
                    w.delivery_url.clone(),
                    body,
                    signature,
                    delivery_id,
                ))
            }
        }
    };
    let Some((topic, url, body, signature, delivery_id)) = prepared else {
        return report_missing.then(|| DeliveryRecord {
            webhook_id: job.webhook_id,
            topic: String::new(),
            ping: false,
            resource_id: Some(job.arg),
            delivery_id: String::new(),
            status: 0,
            ok: false,
            body: String::new(),
            signature: None,
            error: Some(format!("webhook {} does not exist", job.webhook_id)),
        });
    };

    let request = inner
        .http
        .post(&url)
        .version(http::Version::HTTP_10)
        .header("User-Agent", inner.user_agent())
        .header("Content-Type", "application/json")
        .header("X-WC-Webhook-Source", format!("{}/", inner.home))
        .header("X-WC-Webhook-Topic", topic.as_str())
        .header("X-WC-Webhook-Resource", hooks::resource(&topic))
        .header("X-WC-Webhook-Event", hooks::event(&topic))
        .header("X-WC-Webhook-Signature", signature.as_str())
        .header("X-WC-Webhook-ID", job.webhook_id.to_string())
        .header("X-WC-Webhook-Delivery-ID", delivery_id.as_str())
        .body(body.clone());
    let (status, error) = send(request).await;
    let ok = (200..303).contains(&status);
    let record = DeliveryRecord {
        webhook_id: job.webhook_id,
        topic,
        ping: false,
        resource_id: Some(job.arg),
        delivery_id,
        status,
        ok,
        body,
        signature: Some(signature),
        error,
    };

    let ping_again = {
        let mut st = inner.lock();
        st.deliveries.push(record.clone());
        let max = inner.config.max_delivery_failures;
        match st.webhooks.get_mut(&job.webhook_id) {
            Some(w) => {
                if ok {
                    w.failure_count = 0;
                } else if w.failure_count > max {
                    w.status = WebhookStatus::Disabled;
                    tracing::warn!(
                        webhook_id = w.id,
                        "webhook disabled after consecutive delivery failures"
                    );
                } else {
                    w.failure_count += 1;
                }
                w.status == WebhookStatus::Active && w.pending_delivery
            }
            None => false,
        }
    };
    if ping_again {
        ping(inner, job.webhook_id).await;
    }
    Some(record)
}

/// `deliver_ping()`: unsigned `webhook_id=N`, only a User-Agent; exactly 200 clears `pending_delivery`.
pub async fn ping(inner: &Arc<Inner>, webhook_id: u64) -> Option<DeliveryRecord> {
    let url = inner.lock().webhooks.get(&webhook_id)?.delivery_url.clone();
    let body = format!("webhook_id={webhook_id}");
    let request = inner
        .ping_http
        .post(&url)
        .version(http::Version::HTTP_10)
        .header("User-Agent", inner.user_agent())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.clone());
    let (status, error) = send(request).await;
    let ok = status == 200;
    let record = DeliveryRecord {
        webhook_id,
        topic: "ping".to_owned(),
        ping: true,
        resource_id: None,
        delivery_id: String::new(),
        status,
        ok,
        body,
        signature: None,
        error,
    };
    let mut st = inner.lock();
    st.deliveries.push(record.clone());
    if ok && let Some(w) = st.webhooks.get_mut(&webhook_id) {
        w.pending_delivery = false;
    }
    Some(record)
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Option<String>) {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the body so the connection closes cleanly; WooCommerce only logs it.
            let _ = response.bytes().await;
            (status, None)
        }
        Err(e) => (0, Some(e.to_string())),
    }
}

/// `wp_hash($webhook_id . strtotime('now'))` is an HMAC-MD5 with the site salt; the per-store counter
/// added here keeps ids distinct even within one second, which WooCommerce does not promise.
fn delivery_id(salt: &[u8; 32], webhook_id: u64, counter: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(salt) {
        Ok(mac) => mac,
        Err(_) => {
            return format!(
                "{:032x}",
                u128::from(counter) ^ u128::from(webhook_id) << 64
            );
        }
    };
    mac.update(format!("{webhook_id}{now}:{counter}").as_bytes());
    let digest = mac.finalize().into_bytes();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
