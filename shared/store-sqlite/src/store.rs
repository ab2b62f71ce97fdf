//! [`SqliteStore`]: the [`Store`] port on the data directory's SQLite file.
//!
//! Records (connector settings, order records, claimed documents) are JSON columns next to their key
//! columns. Claims are decided in `BEGIN IMMEDIATE` transactions: the write lock is taken before the
//! claim row is read, so two connections (or two processes) can never both see "free" and both take it.
//!
//! Cached ids carry their expiry (`expires_at`, written as now + the handle's TTL,
//! [`DEFAULT_ID_TTL`] unless [`SqliteStore::with_id_ttl`]): a read ignores a row past it and the next
//! put overwrites it, the same contract as DynamoDB's TTL'd items.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use woosellsy_domain::{ClaimKey, ConnectorId, ConnectorSettings, OrderId};
use woosellsy_ports::{
    ClaimOutcome, DEFAULT_ID_TTL, DocumentRef, IdKind, LeaseOutcome, OrderRecord, PortError,
    PortResult, Store,
};

use crate::db::{Db, from_json, from_micros, micros, micros_after, order_column, sql, to_json};

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// The [`Store`] of the single-machine connector. Cheap to clone (clones share one connection); open
/// one per process, or several on the same directory: they coordinate through SQLite's locks.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    id_ttl: Duration,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/woosellsy.db`, in WAL mode with `synchronous=FULL`, and migrates
    /// its schema. Blocking: call it at start-up.
    pub fn open(dir: &Path) -> PortResult<Self> {
        Ok(Self {
            db: Db::open(dir)?,
            id_ttl: DEFAULT_ID_TTL,
        })
    }

    /// How long an id this handle caches is trusted ([`DEFAULT_ID_TTL`], 30 days, otherwise). The
    /// expiry is written with the id, so it is the writer's TTL that counts.
    pub fn with_id_ttl(mut self, ttl: Duration) -> Self {
        self.id_ttl = ttl;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Lets go of everything `owner` holds, for an owner known to be dead (its process lock in the
    /// data directory's `workers/` is free, see [`crate::recover_dead_workers`]): each of its claims
    /// in progress is made expired, so that the next claimer takes it over with `recovered: true` and
    /// searches the backend before creating, exactly as after the lease's end; each of its leases is
    /// deleted. Done claims and other owners' rows are left alone. One transaction; returns
    /// `(claims expired, leases released)`.
    pub async fn release_owner(&self, owner: &str) -> PortResult<(usize, usize)> {
        let owner = owner.to_owned();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("cannot start release transaction"))?;
                // 0: expired for every clock; the row (and its owner, for the log of the taker) stays.
                let claims = tx
                    .execute(
                        "UPDATE claims SET lease_until = 0 WHERE owner = ?1 AND status = ?2",
                        params![owner, IN_PROGRESS],
                    )
                    .map_err(sql("cannot expire claims"))?;
                let leases = tx
                    .execute("DELETE FROM leases WHERE owner = ?1", params![owner])
                    .map_err(sql("cannot release leases"))?;
                tx.commit().map_err(sql("cannot commit release"))?;
                Ok((claims, leases))
            })
            .await
    }

    /// Every order record of `connector`, by order id (for operators: `woosellsy orders`).
    pub async fn list_orders(&self, connector: &ConnectorId) -> PortResult<Vec<OrderRecord>> {
        let connector = connector.as_str().to_owned();
        self.db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare("SELECT record FROM orders WHERE connector = ?1 ORDER BY order_id")
                    .map_err(sql("cannot list order records"))?;
                let rows = stmt
                    .query_map(params![connector], |r| r.get::<_, String>(0))
                    .map_err(sql("cannot list order records"))?;
                let mut out = Vec::new();
                for text in rows {
                    let text = text.map_err(sql("cannot list order records"))?;
                    out.push(from_json("order record", &text)?);
                }
                Ok(out)
            })
            .await
    }
}

/// A claim row as the decision needs it.
struct ClaimRow {
    status: String,
    owner: String,
    lease_until: i64,
    document: Option<String>,
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_connector(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSettings>> {
        let id = id.as_str().to_owned();
        self.db
            .call(move |conn| {
                let text: Option<String> = conn
                    .query_row(
                        "SELECT settings FROM connectors WHERE id = ?1",
                        [&id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql("cannot read connector"))?;
                text.map(|t| from_json(&format!("settings of connector {id}"), &t))
                    .transpose()
            })
            .await
    }

    async fn put_connector(&self, settings: &ConnectorSettings) -> PortResult<()> {
        let id = settings.id.as_str().to_owned();
        let text = to_json("connector settings", settings)?;
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO connectors (id, settings) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings",
                    params![id, text],
                )
                .map_err(sql("cannot write connector"))?;
                Ok(())
            })
            .await
    }

    async fn list_connectors(&self) -> PortResult<Vec<ConnectorSettings>> {
        self.db
            .call(|conn| {
                let mut stmt = conn
                    .prepare("SELECT id, settings FROM connectors ORDER BY id")
                    .map_err(sql("cannot list connectors"))?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(sql("cannot list connectors"))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, text) = row.map_err(sql("cannot list connectors"))?;
                    out.push(from_json(&format!("settings of connector {id}"), &text)?);
                }
                Ok(out)
            })
            .await
    }

    async fn get_order(
        &self,
        connector: &ConnectorId,
        order: OrderId,
    ) -> PortResult<Option<OrderRecord>> {
        let connector = connector.as_str().to_owned();
        let order_id = order_column(order)?;
        self.db
            .call(move |conn| {
                let text: Option<String> = conn
                    .query_row(
                        "SELECT record FROM orders WHERE connector = ?1 AND order_id = ?2",
                        params![connector, order_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql("cannot read order record"))?;
                text.map(|t| from_json(&format!("record of order {connector}/{order_id}"), &t))
                    .transpose()
            })
            .await
    }

    async fn put_order(&self, record: &OrderRecord) -> PortResult<()> {
        let connector = record.connector.as_str().to_owned();
        let order_id = order_column(record.order)?;
        let text = to_json("order record", record)?;
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO orders (connector, order_id, record) VALUES (?1, ?2, ?3)
                     ON CONFLICT (connector, order_id) DO UPDATE SET record = excluded.record",
                    params![connector, order_id, text],
                )
                .map_err(sql("cannot write order record"))?;
                Ok(())
            })
            .await
    }

    async fn claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<ClaimOutcome> {
        let (connector, order_id, kind) = claim_columns(key)?;
        let owner = owner.to_owned();
        let now_us = crate::db::micros(now);
        let lease_until = micros_after(now, lease);
        let label = key.to_string();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("cannot start claim transaction"))?;
                let row = read_claim(&tx, &connector, order_id, &kind)?;
                let outcome = match row {
                    None => {
                        tx.execute(
                            "INSERT INTO claims (connector, order_id, kind, status, owner, lease_until)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![connector, order_id, kind, IN_PROGRESS, owner, lease_until],
                        )
                        .map_err(sql("cannot write claim"))?;
                        ClaimOutcome::Acquired { recovered: false }
                    }
                    Some(row) if row.status == DONE => {
                        let text = row.document.ok_or_else(|| {
                            PortError::permanent(format!("claim {label} is done but holds no document"))
                        })?;
                        ClaimOutcome::Done(from_json(&format!("document of claim {label}"), &text)?)
                    }
                    // Live: Busy for everyone, its holder included (an uncertain create may still
                    // commit; nobody creates again before the lease ends).
                    Some(row) if row.lease_until > now_us => {
                        ClaimOutcome::Busy {
                            until: from_micros(row.lease_until),
                        }
                    }
                    Some(row) => {
                        // Expired: the earlier holder may have created the document before it stopped.
                        tx.execute(
                            "UPDATE claims SET owner = ?4, lease_until = ?5
                             WHERE connector = ?1 AND order_id = ?2 AND kind = ?3",
                            params![connector, order_id, kind, owner, lease_until],
                        )
                        .map_err(sql("cannot write claim"))?;
                        if row.owner != owner {
                            tracing::warn!(claim = %label, previous_owner = %row.owner, new_owner = %owner,
                                "taking over an expired claim");
                        }
                        ClaimOutcome::Acquired { recovered: true }
                    }
                };
                tx.commit().map_err(sql("cannot commit claim"))?;
                Ok(outcome)
            })
            .await
    }

    async fn complete_claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        document: &DocumentRef,
    ) -> PortResult<()> {
        let (connector, order_id, kind) = claim_columns(key)?;
        let owner = owner.to_owned();
        let text = to_json("document reference", document)?;
        let label = key.to_string();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("cannot start claim transaction"))?;
                let row = read_claim(&tx, &connector, order_id, &kind)?;
                match row {
                    Some(row) if row.owner == owner && row.status == IN_PROGRESS => {
                        tx.execute(
                            "UPDATE claims SET status = ?4, document = ?5
                             WHERE connector = ?1 AND order_id = ?2 AND kind = ?3",
                            params![connector, order_id, kind, DONE, text],
                        )
                        .map_err(sql("cannot complete claim"))?;
                    }
                    // A retry of a completion that did commit: same owner, same document.
                    Some(row)
                        if row.owner == owner && row.document.as_deref() == Some(text.as_str()) => {
                    }
                    _ => {
                        return Err(PortError::transient(format!(
                            "claim lost: {label} is no longer held by {owner}"
                        )));
                    }
                }
                tx.commit().map_err(sql("cannot commit claim"))
            })
            .await
    }

    async fn release_claim(&self, key: &ClaimKey, owner: &str) -> PortResult<()> {
        let (connector, order_id, kind) = claim_columns(key)?;
        let owner = owner.to_owned();
        self.db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM claims
                     WHERE connector = ?1 AND order_id = ?2 AND kind = ?3 AND status = ?4 AND owner = ?5",
                    params![connector, order_id, kind, IN_PROGRESS, owner],
                )
                .map_err(sql("cannot release claim"))?;
                Ok(())
            })
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
        let (connector, name, owner) = (
            connector.as_str().to_owned(),
            name.to_owned(),
            owner.to_owned(),
        );
        let now_us = crate::db::micros(now);
        let lease_until = micros_after(now, lease);
        self.db
            .call(move |conn| {
                // One statement: SQLite applies the upsert's condition and the write under one lock.
                let taken = conn
                    .execute(
                        "INSERT INTO leases (connector, name, owner, lease_until) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (connector, name) DO UPDATE
                         SET owner = excluded.owner, lease_until = excluded.lease_until
                         WHERE leases.lease_until <= ?5 OR leases.owner = excluded.owner",
                        params![connector, name, owner, lease_until, now_us],
                    )
                    .map_err(sql("cannot take lease"))?;
                if taken == 1 {
                    return Ok(LeaseOutcome::Acquired);
                }
                let until: i64 = conn
                    .query_row(
                        "SELECT lease_until FROM leases WHERE connector = ?1 AND name = ?2",
                        params![connector, name],
                        |r| r.get(0),
                    )
                    .map_err(sql("cannot read lease"))?;
                Ok(LeaseOutcome::Held {
                    until: from_micros(until),
                })
            })
            .await
    }

    async fn release_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
    ) -> PortResult<()> {
        let (connector, name, owner) = (
            connector.as_str().to_owned(),
            name.to_owned(),
            owner.to_owned(),
        );
        self.db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM leases WHERE connector = ?1 AND name = ?2 AND owner = ?3",
                    params![connector, name, owner],
                )
                .map_err(sql("cannot release lease"))?;
                Ok(())
            })
            .await
    }

    async fn get_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
    ) -> PortResult<Option<String>> {
        let connector = connector.as_str().to_owned();
        let key = key.to_owned();
        let now = micros(Utc::now());
        self.db
            .call(move |conn| {
                // An expired row is absent; the next put replaces it.
                conn.query_row(
                    "SELECT value FROM mappings
                     WHERE connector = ?1 AND kind = ?2 AND key = ?3 AND expires_at > ?4",
                    params![connector, kind.as_str(), key, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("cannot read mapping"))
            })
            .await
    }

    async fn put_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
        value: &str,
    ) -> PortResult<()> {
        let connector = connector.as_str().to_owned();
        let key = key.to_owned();
        let value = value.to_owned();
        let expires_at = micros_after(Utc::now(), self.id_ttl);
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO mappings (connector, kind, key, value, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (connector, kind, key)
                     DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                    params![connector, kind.as_str(), key, value, expires_at],
                )
                .map_err(sql("cannot write mapping"))?;
                Ok(())
            })
            .await
    }
}

fn claim_columns(key: &ClaimKey) -> PortResult<(String, i64, String)> {
    Ok((
        key.connector.as_str().to_owned(),
        order_column(key.order)?,
        key.kind.as_str().to_owned(),
    ))
}

fn read_claim(
    tx: &rusqlite::Transaction<'_>,
    connector: &str,
    order_id: i64,
    kind: &str,
) -> PortResult<Option<ClaimRow>> {
    tx.query_row(
        "SELECT status, owner, lease_until, document FROM claims
         WHERE connector = ?1 AND order_id = ?2 AND kind = ?3",
        params![connector, order_id, kind],
        |r| {
            Ok(ClaimRow {
                status: r.get(0)?,
                owner: r.get(1)?,
                lease_until: r.get(2)?,
                document: r.get(3)?,
            })
        },
    )
    .optional()
    .map_err(sql("cannot read claim"))
}
