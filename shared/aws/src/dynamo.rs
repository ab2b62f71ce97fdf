//! [`DynamoStore`]: the [`Store`] port on one DynamoDB table.
//!
//! # Key design
//!
//! One table, string keys `pk` (partition) and `sk` (sort), on-demand capacity, TTL on `expires_at`
//! (epoch seconds). Items are (de)serialised with `serde_dynamo` from the structs below.
//!
//! | entity | `pk` | `sk` | TTL |
//! |---|---|---|---|
//! | connector settings | `CONNECTORS` | `C#{connector}` | no |
//! | order record | `C#{connector}#O#{order}` | `ORDER` | no |
//! | claim (one per document kind) | `C#{connector}#O#{order}` | `CLAIM#{kind}` | no |
//! | mapping (email → customer, SKU → item, rate → tax, …) | `C#{connector}#MAP#{kind}` | `K#{key}` (`H#{sha256}` for keys over 512 bytes) | `expires_at`, [`DEFAULT_ID_TTL`] (30 days) by default |
//! | connector-wide lease (e.g. `create`) | `C#{connector}#LEASE` | `LEASE#{name}` | `expires_at`, a day after the lease ends |
//!
//! Access patterns: get/put a connector and list all connectors (one Query on `CONNECTORS`: a handful
//! of items per deployment); get/put an order record; claim/complete/release a document claim
//! (conditional writes, below); get/put a mapping. An order's record and claims share a partition, so
//! one Query shows everything about an order when debugging.
//!
//! Claims are the one place where "exactly one Sellsy document" is decided, so every claim write is
//! conditional: `claim` is a PutItem that succeeds only if no claim exists, or the existing one is
//! unfinished and its lease ended (a crashed worker), or it is our own (a retry of the same worker, or
//! an SDK retry of a write that had in fact succeeded); replacing an unfinished claim is `recovered`.
//! A refused PutItem returns the current item, which tells `Busy` from `Done`. `complete_claim` and
//! `release_claim` are conditional on the owner. Done claims never expire: they are the proof that the
//! document exists.
//!
//! Mappings are a cache of ids in the accounting system: they carry a TTL so that an id deleted or merged
//! in Sellsy heals itself within a month. DynamoDB deletes expired items lazily (up to days later), so
//! reads also ignore an item whose `expires_at` has passed: the same contract as the SQLite store's
//! (the ports' `cached_ids_expire` conformance check runs on both). `expires_at` is in whole seconds,
//! rounded down, so an id may be looked up again up to a second early, never trusted late.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use woosellsy_domain::{ClaimKey, ConnectorId, ConnectorSettings, OrderId};
use woosellsy_ports::{
    ClaimOutcome, DEFAULT_ID_TTL, DocumentRef, IdKind, LeaseOutcome, OrderRecord, PortError,
    PortResult, Store,
};

use crate::error::from_sdk;

/// Name of the TTL attribute (epoch seconds), as declared in the template.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Mapping keys longer than this are stored by hash (a sort key holds at most 1024 bytes).
const MAX_PLAIN_KEY_BYTES: usize = 512;

const CONNECTORS_PK: &str = "CONNECTORS";

/// The [`Store`] on one DynamoDB table (see the module documentation for the key design).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    id_ttl: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct ConnectorItem {
    pk: String,
    sk: String,
    entity: String,
    settings: ConnectorSettings,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OrderItem {
    pk: String,
    sk: String,
    entity: String,
    record: OrderRecord,
}

#[derive(Debug, Serialize, Deserialize)]
struct LeaseItem {
    pk: String,
    sk: String,
    entity: String,
    owner: String,
    /// Epoch milliseconds, a number so that the condition can compare it.
    lease_until: i64,
    /// Only for DynamoDB's clean-up of leases nobody released (a crashed worker).
    expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ClaimItem {
    pk: String,
    sk: String,
    entity: String,
    owner: String,
    claimed_at: DateTime<Utc>,
    /// Epoch milliseconds; absent once the document exists. A number, so conditions can compare it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<i64>,
    /// Absent (not NULL: conditions test `attribute_not_exists`) until the document is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    document: Option<DocumentRef>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MappingItem {
    pk: String,
    sk: String,
    entity: String,
    /// The key as given (the sort key may be its hash).
    key: String,
    value: String,
    updated_at: DateTime<Utc>,
    expires_at: i64,
}

fn connector_sk(id: &ConnectorId) -> String {
    format!("C#{id}")
}

fn order_pk(connector: &ConnectorId, order: OrderId) -> String {
    format!("C#{connector}#O#{order}")
}

/// When a lease taken at `now` for `lease` ends.
fn lease_end(what: &str, now: DateTime<Utc>, lease: Duration) -> PortResult<DateTime<Utc>> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .ok_or_else(|| PortError::permanent(format!("{what}: lease {lease:?} is out of range")))
}

fn lease_pk(connector: &ConnectorId) -> String {
    format!("C#{connector}#LEASE")
}

fn lease_sk(name: &str) -> String {
    format!("LEASE#{name}")
}

fn claim_sk(key: &ClaimKey) -> String {
    format!("CLAIM#{}", key.kind)
}

fn mapping_pk(connector: &ConnectorId, kind: IdKind) -> String {
    format!("C#{connector}#MAP#{}", kind.as_str())
}

fn mapping_sk(key: &str) -> String {
    if key.len() > MAX_PLAIN_KEY_BYTES {
        let digest = Sha256::digest(key.as_bytes());
        format!("H#{}", hex(&digest))
    } else {
        format!("K#{key}")
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn millis_to_datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn to_item<T: Serialize>(what: &str, value: &T) -> PortResult<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(value)
        .map_err(|e| PortError::permanent(format!("encoding {what} for DynamoDB: {e}")))
}

fn from_item<T: for<'de> Deserialize<'de>>(
    what: &str,
    item: HashMap<String, AttributeValue>,
) -> PortResult<T> {
    serde_dynamo::from_item(item)
        .map_err(|e| PortError::permanent(format!("decoding {what} from DynamoDB: {e}")))
}

fn to_value<T: Serialize>(what: &str, value: &T) -> PortResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| PortError::permanent(format!("encoding {what} for DynamoDB: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            id_ttl: DEFAULT_ID_TTL,
        }
    }

    /// How long an id this handle caches is trusted before the backend looks it up again
    /// ([`DEFAULT_ID_TTL`], 30 days, otherwise). The expiry is written with the item, so it is the
    /// writer's TTL that counts.
    pub fn with_id_ttl(mut self, ttl: Duration) -> Self {
        self.id_ttl = ttl;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates the table the way `template.yaml` declares it (keys, on-demand, TTL). For emulators,
    /// tests and hand-made deployments; a SAM deployment creates it itself.
    pub async fn create_table(client: &Client, table: &str) -> PortResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| PortError::permanent(format!("table definition: {e}")))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| PortError::permanent(format!("table definition: {e}")))
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("CreateTable {table}"), e))?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build()
            .map_err(|e| PortError::permanent(format!("table definition: {e}")))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("UpdateTimeToLive {table}"), e))?;
        Ok(())
    }

    /// The item that made a conditional PutItem fail: DynamoDB returns it (`ALL_OLD` on failure); an
    /// emulator that does not is answered by reading it. `None` if it is gone by then. Any other failure
    /// is returned as the error it is.
    async fn refusing_item(
        &self,
        what: &str,
        err: SdkError<PutItemError, HttpResponse>,
        pk: String,
        sk: String,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        let returned = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
            _ => return Err(from_sdk(&format!("PutItem {what}"), err)),
        };
        match returned {
            Some(item) if !item.is_empty() => Ok(Some(item)),
            _ => self.get(what, pk, sk).await,
        }
    }

    /// Deletes the item if `owner` holds it (and it has no `absent` attribute). A refused condition means
    /// the item is not ours any more (taken over, completed) or already gone: nothing left to give up.
    async fn delete_owned(
        &self,
        what: &str,
        pk: String,
        sk: String,
        owner: &str,
        absent: Option<&str>,
    ) -> PortResult<()> {
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression(match absent {
                Some(_) => "#owner = :owner AND attribute_not_exists(#absent)",
                None => "#owner = :owner",
            })
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner));
        if let Some(attribute) = absent {
            request = request.expression_attribute_names("#absent", attribute);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                tracing::debug!(
                    item = what,
                    owner,
                    "release of an item not held: nothing to do"
                );
                Ok(())
            }
            Err(err) => Err(from_sdk(&format!("DeleteItem {what}"), err)),
        }
    }

    async fn get(
        &self,
        what: &str,
        pk: String,
        sk: String,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("GetItem {what}"), e))?;
        Ok(out.item)
    }

    async fn put(&self, what: &str, item: HashMap<String, AttributeValue>) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| from_sdk(&format!("PutItem {what}"), e))?;
        Ok(())
    }

    async fn current_claim(&self, key: &ClaimKey) -> PortResult<Option<ClaimItem>> {
        let what = format!("claim {key}");
        match self
            .get(&what, order_pk(&key.connector, key.order), claim_sk(key))
            .await?
        {
            Some(item) => Ok(Some(from_item(&what, item)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get_connector(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSettings>> {
        let what = format!("connector {id}");
        match self
            .get(&what, CONNECTORS_PK.to_owned(), connector_sk(id))
            .await?
        {
            Some(item) => Ok(Some(from_item::<ConnectorItem>(&what, item)?.settings)),
            None => Ok(None),
        }
    }

    async fn put_connector(&self, settings: &ConnectorSettings) -> PortResult<()> {
        let what = format!("connector {}", settings.id);
        let item = ConnectorItem {
            pk: CONNECTORS_PK.to_owned(),
            sk: connector_sk(&settings.id),
            entity: "connector".to_owned(),
            settings: settings.clone(),
            updated_at: Utc::now(),
        };
        self.put(&what, to_item(&what, &item)?).await
    }

    async fn list_connectors(&self) -> PortResult<Vec<ConnectorSettings>> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", s(CONNECTORS_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| from_sdk("Query connectors", e))?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item::<ConnectorItem>("connector", item)?.settings);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn get_order(
        &self,
        connector: &ConnectorId,
        order: OrderId,
    ) -> PortResult<Option<OrderRecord>> {
        let what = format!("order {connector}/{order}");
        match self
            .get(&what, order_pk(connector, order), "ORDER".to_owned())
            .await?
        {
            Some(item) => Ok(Some(from_item::<OrderItem>(&what, item)?.record)),
            None => Ok(None),
        }
    }

    async fn put_order(&self, record: &OrderRecord) -> PortResult<()> {
        let what = format!("order {}/{}", record.connector, record.order);
        let item = OrderItem {
            pk: order_pk(&record.connector, record.order),
            sk: "ORDER".to_owned(),
            entity: "order".to_owned(),
            record: record.clone(),
        };
        self.put(&what, to_item(&what, &item)?).await
    }

    async fn claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<ClaimOutcome> {
        let what = format!("claim {key}");
        let until = lease_end(&what, now, lease)?;
        let item = ClaimItem {
            pk: order_pk(&key.connector, key.order),
            sk: claim_sk(key),
            entity: "claim".to_owned(),
            owner: owner.to_owned(),
            claimed_at: now,
            lease_until: Some(until.timestamp_millis()),
            document: None,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&what, &item)?))
            .condition_expression(
                "attribute_not_exists(#pk) OR (attribute_not_exists(#doc) AND #lease <= :now)",
            )
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#doc", "document")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                // Any unfinished claim we replaced (an expired one: a live one is Busy even to its
                // holder) may have created the document before stopping: the caller must look.
                let recovered = out.attributes.is_some_and(|old| !old.is_empty());
                Ok(ClaimOutcome::Acquired { recovered })
            }
            Err(err) => {
                let current = self
                    .refusing_item(
                        &what,
                        err,
                        order_pk(&key.connector, key.order),
                        claim_sk(key),
                    )
                    .await?
                    .map(|item| from_item::<ClaimItem>(&what, item))
                    .transpose()?;
                match current {
                    Some(ClaimItem {
                        document: Some(doc),
                        ..
                    }) => Ok(ClaimOutcome::Done(doc)),
                    Some(ClaimItem { lease_until, .. }) => Ok(ClaimOutcome::Busy {
                        until: millis_to_datetime(lease_until.unwrap_or_default()),
                    }),
                    // Released between our write and our read: the caller's retry will get it.
                    None => Err(PortError::transient(format!(
                        "{what}: released while being claimed"
                    ))),
                }
            }
        }
    }

    async fn complete_claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        document: &DocumentRef,
    ) -> PortResult<()> {
        let what = format!("claim {key}");
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(order_pk(&key.connector, key.order)))
            .key("sk", s(claim_sk(key)))
            .update_expression("SET #doc = :doc, completed_at = :at REMOVE #lease")
            .condition_expression("#owner = :owner AND attribute_not_exists(#doc)")
            .expression_attribute_names("#doc", "document")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":doc", to_value("document", document)?)
            .expression_attribute_values(":at", to_value("timestamp", &Utc::now())?)
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // An SDK retry of an update that had succeeded lands here too: that one is fine.
                match self.current_claim(key).await? {
                    Some(current)
                        if current.owner == owner
                            && current.document.as_ref() == Some(document) =>
                    {
                        Ok(())
                    }
                    // Transient, as the port says: the caller's retry claims again and then sees
                    // Done (someone else's document) or Busy.
                    Some(ClaimItem {
                        document: Some(existing),
                        ..
                    }) => Err(PortError::transient(format!(
                        "{what}: already completed with document {}",
                        existing.id
                    ))),
                    Some(_) | None => {
                        Err(PortError::transient(format!("{what}: not held by {owner}")))
                    }
                }
            }
            Err(err) => Err(from_sdk(&format!("UpdateItem {what}"), err)),
        }
    }

    async fn release_claim(&self, key: &ClaimKey, owner: &str) -> PortResult<()> {
        // Only an unfinished claim is given up: a completed one proves the document exists.
        self.delete_owned(
            &format!("claim {key}"),
            order_pk(&key.connector, key.order),
            claim_sk(key),
            owner,
            Some("document"),
        )
        .await
    }

    async fn take_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<LeaseOutcome> {
        let what = format!("lease {name} of {connector}");
        let until = lease_end(&what, now, lease)?;
        let item = LeaseItem {
            pk: lease_pk(connector),
            sk: lease_sk(name),
            entity: "lease".to_owned(),
            owner: owner.to_owned(),
            lease_until: until.timestamp_millis(),
            expires_at: until.timestamp().saturating_add(24 * 3600),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&what, &item)?))
            .condition_expression("attribute_not_exists(#pk) OR #lease <= :now OR #owner = :owner")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":owner", s(owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(LeaseOutcome::Acquired),
            Err(err) => err,
        };
        let current = self
            .refusing_item(&what, err, lease_pk(connector), lease_sk(name))
            .await?;
        match current {
            Some(item) => Ok(LeaseOutcome::Held {
                until: millis_to_datetime(from_item::<LeaseItem>(&what, item)?.lease_until),
            }),
            // Released between our write and our read: the caller's next try will get it.
            None => Ok(LeaseOutcome::Held { until: now }),
        }
    }

    async fn release_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
    ) -> PortResult<()> {
        self.delete_owned(
            &format!("lease {name} of {connector}"),
            lease_pk(connector),
            lease_sk(name),
            owner,
            None,
        )
        .await
    }

    async fn get_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
    ) -> PortResult<Option<String>> {
        let what = format!("{} mapping of {connector}", kind.as_str());
        let Some(item) = self
            .get(&what, mapping_pk(connector, kind), mapping_sk(key))
            .await?
        else {
            return Ok(None);
        };
        let item: MappingItem = from_item(&what, item)?;
        // Past its TTL but not yet deleted by DynamoDB (which can take days): absent all the same.
        if item.expires_at <= Utc::now().timestamp() || item.key != key {
            return Ok(None);
        }
        Ok(Some(item.value))
    }

    async fn put_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
        value: &str,
    ) -> PortResult<()> {
        let what = format!("{} mapping of {connector}", kind.as_str());
        let now = Utc::now();
        let ttl = i64::try_from(self.id_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let item = MappingItem {
            pk: mapping_pk(connector, kind),
            sk: mapping_sk(key),
            entity: "mapping".to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            updated_at: now,
            expires_at: now.timestamp().saturating_add(ttl),
        };
        self.put(&what, to_item(&what, &item)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_design() {
        let c = ConnectorId::parse("shop-1").unwrap();
        assert_eq!(connector_sk(&c), "C#shop-1");
        assert_eq!(order_pk(&c, OrderId(42)), "C#shop-1#O#42");
        let key = ClaimKey {
            connector: c.clone(),
            order: OrderId(42),
            kind: woosellsy_domain::DocumentKind::CreditNote,
        };
        assert_eq!(claim_sk(&key), "CLAIM#credit-note");
        assert_eq!(mapping_pk(&c, IdKind::Customer), "C#shop-1#MAP#customer");
        assert_eq!(mapping_sk("jean@example.fr"), "K#jean@example.fr");
        assert_eq!(mapping_sk(""), "K#");
    }

    #[test]
    fn long_mapping_keys_are_hashed_to_fit_a_sort_key() {
        let long = "x".repeat(2000);
        let sk = mapping_sk(&long);
        assert!(sk.starts_with("H#"));
        assert_eq!(sk.len(), 2 + 64);
        assert_ne!(mapping_sk(&"y".repeat(2000)), sk);
    }

    #[test]
    fn an_unfinished_claim_has_no_document_attribute_at_all() {
        // `attribute_not_exists(document)` must hold for a fresh claim: a NULL would defeat it.
        let item = ClaimItem {
            pk: "p".into(),
            sk: "s".into(),
            entity: "claim".into(),
            owner: "w".into(),
            claimed_at: Utc::now(),
            lease_until: Some(1),
            document: None,
        };
        let attrs = to_item("claim", &item).unwrap();
        assert!(!attrs.contains_key("document"));
        assert!(matches!(attrs.get("lease_until"), Some(AttributeValue::N(v)) if v == "1"));
    }
}
