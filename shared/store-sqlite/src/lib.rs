//! The single-machine adapters of woosellsy, on one SQLite file in a data directory
//! (`DIR/woosellsy.db`):
//!
//! * [`SqliteStore`]: the [`woosellsy_ports::Store`] (connector settings, order records, claims,
//!   leases, cached ids, which expire after [`woosellsy_ports::DEFAULT_ID_TTL`] as on DynamoDB);
//! * [`SqliteQueue`]: the durable FIFO [`woosellsy_ports::PullQueue`] between the receiver and the
//!   worker, with a dead-letter table ([`SqliteQueue::dead_letters`]).
//!
//! The file is in WAL mode with `synchronous=FULL` and a busy timeout, so a receiver-only process and a
//! worker process can share it; every decision (a claim, a receive) is one `BEGIN IMMEDIATE`
//! transaction. The schema is created and migrated when either adapter opens the file.
//!
//! Each serving process holds a lock file in `DIR/workers/` ([`WorkerLock`]); a restarted process
//! takes over what a dead one held at once ([`recover_dead_workers`]) instead of waiting out its
//! leases.

mod db;
mod queue;
mod store;
mod workers;

pub use db::DB_FILE_NAME;
pub use queue::{DeadLetter, SqliteQueue};
pub use store::SqliteStore;
pub use workers::{DeadWorker, WORKERS_DIR, WorkerLock, recover_dead_workers};
