//! Wiring of the single-machine product: embedded store and queue, in-memory secrets, the receiver
//! behind an HTTP server, and the worker.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;
use woosellsy_engine::{Converter, ConverterDeps, MemorySecrets, Receiver, ReceiverLimits, Worker};
use woosellsy_ports::{PullQueue, Store};
use woosellsy_store_sqlite::{SqliteQueue, SqliteStore, WorkerLock, recover_dead_workers};

use crate::config::Config;
use crate::http::{EdgeLimits, LimitedListener, router};

pub type AppError = Box<dyn std::error::Error + Send + Sync>;

/// Everything one process needs, built from a [`Config`].
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn PullQueue>,
    pub converter: Arc<Converter>,
    pub receiver: Arc<Receiver>,
    pub edge: EdgeLimits,
    pub worker_settings: woosellsy_engine::WorkerSettings,
    /// This process's lock in `data_dir/workers/`, held for its whole life: how the next process on
    /// the directory tells that it died.
    pub worker_lock: WorkerLock,
}

impl App {
    pub async fn build(config: &Config) -> Result<App, AppError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
        let converter_settings = config.worker.converter_settings();
        converter_settings
            .check()
            .map_err(|e| format!("[worker] claim_lease_secs: {e}"))?;
        let sqlite_store = SqliteStore::open(&config.data_dir)?;
        let sqlite_queue =
            SqliteQueue::open(&config.data_dir)?.with_receiver(&converter_settings.worker_id);
        // Before the worker starts: a process of this directory that died (kill -9, crash) holds no
        // lock any more; what it held is taken over now (recovered by search, as after its leases).
        let worker_lock = WorkerLock::acquire(&config.data_dir, &converter_settings.worker_id)?;
        recover_dead_workers(&worker_lock, &sqlite_store, &sqlite_queue).await?;
        let store: Arc<dyn Store> = Arc::new(sqlite_store);
        let queue: Arc<dyn PullQueue> = Arc::new(sqlite_queue);
        let secrets = Arc::new(MemorySecrets::new());
        let env = |k: &str| std::env::var(k).ok();
        for c in &config.connectors {
            // The file is the source of truth for connectors on one machine.
            store.put_connector(&c.settings()).await?;
            secrets.insert(c.id.clone(), c.secrets(&env)?);
        }
        let limits = ReceiverLimits::default();
        let receiver = Arc::new(Receiver::new(
            store.clone(),
            secrets.clone(),
            queue.clone(),
            limits,
        ));
        let converter = Arc::new(Converter::new(ConverterDeps {
            store: store.clone(),
            secrets,
            shops: Arc::new(woocommerce_client::WooShopFactory),
            backends: Arc::new(sellsy::backend::SellsyBackendFactory::new()),
            settings: converter_settings,
        }));
        Ok(App {
            store,
            queue,
            converter,
            receiver,
            edge: config.edge_limits(limits),
            worker_settings: config.worker.worker_settings(),
            worker_lock,
        })
    }

    /// Serves webhooks on `listener` (and runs the worker unless `receiver_only`) until `shutdown`.
    pub async fn run(
        &self,
        listener: TcpListener,
        receiver_only: bool,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), AppError> {
        let worker = (!receiver_only).then(|| {
            let worker = Worker::new(
                self.queue.clone(),
                self.converter.clone(),
                self.worker_settings.clone(),
            );
            let rx = shutdown.clone();
            tokio::spawn(async move { worker.run(rx).await })
        });
        let router = router(self.receiver.clone(), self.queue.clone(), self.edge.clone());
        let listener = LimitedListener::new(listener, self.edge.max_connections);
        let mut rx = shutdown.clone();
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await?;
        if let Some(w) = worker {
            let _ = w.await;
        }
        Ok(())
    }
}

pub async fn serve_command(config_path: &Path, receiver_only: bool) -> Result<(), AppError> {
    let config = Config::load(config_path)?;
    let app = App::build(&config).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    info!(%addr, receiver_only, connectors = config.connectors.len(),
        worker = app.worker_lock.worker_id(), "woosellsy serving");
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        info!("shutting down");
        let _ = tx.send(true);
    });
    app.run(listener, receiver_only, rx).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

pub async fn orders_command(config_path: &Path) -> Result<(), AppError> {
    let config = Config::load(config_path)?;
    let store = SqliteStore::open(&config.data_dir)?;
    for c in &config.connectors {
        for record in store.list_orders(&c.id).await? {
            println!("{}", serde_json::to_string(&record)?);
        }
    }
    Ok(())
}
