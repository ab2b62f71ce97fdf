//! Which workers of a data directory are alive, so that a restart need not wait out a dead process's
//! leases.
//!
//! Each process serving from the directory holds an exclusive OS lock on
//! `DIR/workers/<worker_id>.lock` for its whole life ([`WorkerLock`]). The kernel drops the lock when
//! the process ends, however it ends (`kill -9` and aborts included), so a lock file another process
//! *can* lock names a dead worker. At start-up, [`recover_dead_workers`] lets go of everything such a
//! worker held: its claims in progress are made expired (the next claimer takes them over with
//! `recovered: true` and searches the backend before creating, as after a lease's end), its leases
//! are released and its messages in flight are handed out again; then its lock file is deleted. A
//! lock file that cannot be locked belongs to a live process (several may share a directory) and is
//! left alone.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use woosellsy_ports::{PortError, PortResult};

use crate::{SqliteQueue, SqliteStore};

/// The directory of the lock files, in the data directory.
pub const WORKERS_DIR: &str = "workers";

const LOCK_SUFFIX: &str = ".lock";
/// A lock file is created (and locked) under this name, then renamed: a file named `*.lock` is
/// always already locked by its live owner, never briefly free.
const NEW_SUFFIX: &str = ".lock.new";

/// This process's lock in `DIR/workers/`, held until dropped (the file is then deleted).
#[derive(Debug)]
pub struct WorkerLock {
    /// Holds the lock until closed.
    _file: File,
    path: PathBuf,
    worker_id: String,
}

impl WorkerLock {
    /// Creates and locks `dir/workers/<worker_id>.lock`. Blocking: call it at start-up. Refused when
    /// `worker_id` is not a plain file name (`A-Z a-z 0-9 - _ .`) or another live process holds it.
    pub fn acquire(dir: &Path, worker_id: &str) -> PortResult<Self> {
        let plain = !worker_id.is_empty()
            && !worker_id.starts_with('.')
            && worker_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain {
            return Err(PortError::permanent(format!(
                "worker id {worker_id:?} cannot name a lock file"
            )));
        }
        let workers = dir.join(WORKERS_DIR);
        std::fs::create_dir_all(&workers).map_err(|e| io("cannot create", &workers, &e))?;
        let path = workers.join(format!("{worker_id}{LOCK_SUFFIX}"));
        let new = workers.join(format!("{worker_id}{NEW_SUFFIX}"));
        let in_use = || {
            PortError::permanent(format!(
                "worker id {worker_id} is already in use by a live process"
            ))
        };
        // Ids are random enough never to meet; were one held, the rename below would hide its lock.
        if let Ok(existing) = File::open(&path)
            && let Err(TryLockError::WouldBlock) = existing.try_lock()
        {
            return Err(in_use());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&new)
            .map_err(|e| io("cannot create", &new, &e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(in_use()),
            Err(TryLockError::Error(e)) => return Err(io("cannot lock", &new, &e)),
        }
        // For an operator looking at the directory; nothing reads it back.
        file.set_len(0).map_err(|e| io("cannot write", &new, &e))?;
        writeln!(file, "pid {}", std::process::id()).map_err(|e| io("cannot write", &new, &e))?;
        // The lock belongs to the open file, not to its name: it survives the rename.
        std::fs::rename(&new, &path).map_err(|e| io("cannot rename", &new, &e))?;
        Ok(Self {
            _file: file,
            path,
            worker_id: worker_id.to_owned(),
        })
    }

    /// The worker id the lock is held for.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkerLock {
    fn drop(&mut self) {
        // Deleted while still locked (the file closes after this), so nobody finds it free meanwhile;
        // a process that opened it before still sees a free lock afterwards, and recovers nothing.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What was taken over from one dead worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadWorker {
    pub worker_id: String,
    /// Claims in progress made expired.
    pub claims: usize,
    /// Leases released.
    pub leases: usize,
    /// Messages it held in flight, visible again.
    pub messages: usize,
}

/// Finds the lock files of dead workers beside `own` (those it can lock), lets go of everything
/// those workers held in `store` and `queue` ([`SqliteStore::release_owner`],
/// [`SqliteQueue::release_receiver`]), logs it and deletes their lock files. Call it at start-up,
/// before this process's worker starts. A failure for one dead worker is logged and its lock file
/// kept (the next start tries again; meanwhile its claims end with their leases, as before).
pub async fn recover_dead_workers(
    own: &WorkerLock,
    store: &SqliteStore,
    queue: &SqliteQueue,
) -> PortResult<Vec<DeadWorker>> {
    let workers = own
        .path
        .parent()
        .ok_or_else(|| PortError::permanent("a worker lock file has no directory"))?;
    let entries = std::fs::read_dir(workers).map_err(|e| io("cannot list", workers, &e))?;
    let mut recovered = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io("cannot list", workers, &e))?;
        let path = entry.path();
        if path == own.path {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // `*.lock.new` files are skipped: their process had not started its worker yet, and one
        // being created is not locked for an instant.
        let Some(worker_id) = name.strip_suffix(LOCK_SUFFIX).filter(|id| !id.is_empty()) else {
            continue;
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            // Deleted meanwhile: its owner stopped cleanly, or another process recovered it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot open a worker lock file");
                continue;
            }
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue, // a live process
            Err(TryLockError::Error(e)) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot test a worker lock file");
                continue;
            }
        }
        // Dead, and ours to recover while we hold its lock.
        let released = async {
            let (claims, leases) = store.release_owner(worker_id).await?;
            let messages = queue.release_receiver(worker_id).await?;
            PortResult::Ok(DeadWorker {
                worker_id: worker_id.to_owned(),
                claims,
                leases,
                messages,
            })
        }
        .await;
        match released {
            Ok(dead) => {
                tracing::warn!(
                    dead_worker = %dead.worker_id,
                    claims = dead.claims,
                    leases = dead.leases,
                    messages = dead.messages,
                    "a worker of this data directory died: taking over its claims and leases now"
                );
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(file = %path.display(), error = %e, "cannot delete a dead worker's lock file");
                }
                recovered.push(dead);
            }
            Err(e) => {
                tracing::warn!(dead_worker = %worker_id, error = %e,
                    "cannot take over a dead worker's claims; they end with their leases");
            }
        }
        drop(file);
    }
    Ok(recovered)
}

fn io(what: &str, path: &Path, e: &std::io::Error) -> PortError {
    PortError::transient(format!("{what} {}: {e}", path.display()))
}
