//! The SQLite file both adapters live in: opening it (WAL, `synchronous=FULL`, busy timeout), the
//! schema migrations, running blocking calls off the async runtime, and mapping SQLite errors to
//! [`PortError`]s.
//!
//! One [`Db`] is one connection behind a mutex; calls run on tokio's blocking pool. A pool would buy
//! little: SQLite serialises writers anyway and every call here is a few indexed statements, while two
//! handles (a store and a queue, or two processes) each get their own connection and meet in SQLite's
//! own locking, which the busy timeout turns into short waits instead of errors.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use woosellsy_ports::{PortError, PortResult};

/// The database file created in the data directory.
pub const DB_FILE_NAME: &str = "woosellsy.db";

/// How long a statement waits for another connection's write lock before failing with a transient error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema versions, applied in order; `PRAGMA user_version` records how many have run. Append only:
/// a released entry is never edited, a change is a new entry.
const MIGRATIONS: &[&str] = &[
    // 1: store and queue.
    r#"
    CREATE TABLE connectors (
        id          TEXT PRIMARY KEY NOT NULL,
        settings    TEXT NOT NULL
    ) STRICT;

    CREATE TABLE orders (
        connector   TEXT NOT NULL,
        order_id    INTEGER NOT NULL,
        record      TEXT NOT NULL,
        PRIMARY KEY (connector, order_id)
    ) STRICT;

    -- One row per (connector, order, document kind): the only place idempotency is decided.
    -- lease_until is in microseconds since the Unix epoch.
    CREATE TABLE claims (
        connector   TEXT NOT NULL,
        order_id    INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
        owner       TEXT NOT NULL,
        lease_until INTEGER NOT NULL,
        document    TEXT,
        PRIMARY KEY (connector, order_id, kind)
    ) STRICT;

    CREATE TABLE mappings (
        connector   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        PRIMARY KEY (connector, kind, key)
    ) STRICT;

    -- AUTOINCREMENT: ids are never reused, so a receipt (id + delivery count) can never name a
    -- later message. Times are microseconds since the Unix epoch.
    CREATE TABLE queue (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        group_key   TEXT NOT NULL,
        event       TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        visible_at  INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX queue_by_group ON queue (group_key, id);

    CREATE TABLE dead_letters (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id       INTEGER NOT NULL,
        group_key        TEXT NOT NULL,
        event            TEXT NOT NULL,
        attempts         INTEGER NOT NULL,
        reason           TEXT NOT NULL,
        enqueued_at      INTEGER NOT NULL,
        dead_lettered_at INTEGER NOT NULL
    ) STRICT;
    "#,
    // 2: connector-wide leases (e.g. one worker at a time creates customers and items in Sellsy).
    r#"
    CREATE TABLE leases (
        connector   TEXT NOT NULL,
        name        TEXT NOT NULL,
        owner       TEXT NOT NULL,
        lease_until INTEGER NOT NULL,
        PRIMARY KEY (connector, name)
    ) STRICT;
    "#,
    // 3: cached ids expire, as on DynamoDB (`expires_at`, microseconds since the Unix epoch; a read
    // ignores a row past it and the next put replaces it). Ids cached before this version are
    // treated as fresh: they expire `DEFAULT_ID_TTL` (30 days) after the migration rather than all
    // being looked up in the accounting system again at once.
    r#"
    ALTER TABLE mappings ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
    UPDATE mappings SET expires_at = (CAST(strftime('%s', 'now') AS INTEGER) + 2592000) * 1000000;
    "#,
    // 4: which worker holds a message in flight (`receiver`, NULL when none), so that a process
    // that finds a dead worker's lock in `workers/` can hand that worker's messages out again at
    // once instead of after their visibility timeout.
    r#"
    ALTER TABLE queue ADD COLUMN receiver TEXT;
    "#,
];

/// One connection to the data directory's database, shareable across tasks.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl Db {
    /// Opens (creating if needed) `dir/woosellsy.db` and brings its schema up to date.
    pub(crate) fn open(dir: &Path) -> PortResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            PortError::permanent(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DB_FILE_NAME);
        let mut conn = Connection::open(&path)
            .map_err(|e| classify(&format!("cannot open database {}", path.display()), e))?;
        configure(&conn).map_err(|e| classify("cannot configure database", e))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no open transaction behind (rusqlite rolls back
            // on drop), so the connection is still sound.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| PortError::transient(format!("database task failed: {e}")))?
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // First, so that the journal-mode switch below also waits for a concurrent opener.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; concurrent readers will wait on writers");
    }
    // FULL: a commit (an enqueue the receiver is about to answer 200 for) survives a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> PortResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| classify("cannot start schema migration", e))?;
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| classify("cannot read schema version", e))?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(PortError::permanent(format!(
            "database schema version {current} is newer than this woosellsy knows ({known}); upgrade woosellsy"
        )));
    }
    let start = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)
            .map_err(|e| classify(&format!("schema migration {} failed", index + 1), e))?;
        tracing::info!(version = index + 1, "applied database schema migration");
    }
    // PRAGMA takes no bound parameters; `known` is our own integer.
    tx.execute_batch(&format!("PRAGMA user_version = {known}"))
        .map_err(|e| classify("cannot record schema version", e))?;
    tx.commit()
        .map_err(|e| classify("cannot commit schema migration", e))
}

/// Maps a SQLite error: contention and I/O trouble are worth retrying, the rest is not.
pub(crate) fn classify(context: &str, error: rusqlite::Error) -> PortError {
    let transient = match &error {
        rusqlite::Error::SqliteFailure(e, _) => matches!(
            e.code,
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
        ),
        _ => false,
    };
    let message = format!("{context}: {error}");
    if transient {
        PortError::transient(message)
    } else {
        PortError::permanent(message)
    }
}

/// Shorthand for `map_err(|e| classify(context, e))`.
pub(crate) fn sql(context: &'static str) -> impl Fn(rusqlite::Error) -> PortError {
    move |e| classify(context, e)
}

pub(crate) fn to_json<T: serde::Serialize>(what: &str, value: &T) -> PortResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PortError::permanent(format!("cannot encode {what}: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PortResult<T> {
    serde_json::from_str(text)
        .map_err(|e| PortError::permanent(format!("stored {what} is unreadable: {e}")))
}

/// Microseconds since the Unix epoch: the resolution of every stored instant.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at + span` in microseconds, saturating instead of overflowing on absurd spans.
pub(crate) fn micros_after(at: DateTime<Utc>, span: Duration) -> i64 {
    micros(at).saturating_add(i64::try_from(span.as_micros()).unwrap_or(i64::MAX))
}

/// Order ids are `u64`; SQLite integers are `i64`. WooCommerce ids never come near the limit, but
/// an id that does is refused rather than wrapped onto another order.
pub(crate) fn order_column(order: woosellsy_domain::OrderId) -> PortResult<i64> {
    i64::try_from(order.0)
        .map_err(|_| PortError::permanent(format!("order id {order} is too large to store")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_3_gives_ids_cached_before_it_the_shared_ttl() {
        let ttl = woosellsy_ports::DEFAULT_ID_TTL.as_secs();
        assert!(
            MIGRATIONS[2].contains(&format!("+ {ttl})")),
            "migration 3 must spell DEFAULT_ID_TTL ({ttl} s)"
        );
    }
}
