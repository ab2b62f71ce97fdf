//! `woosellsy`: the connector on one machine.
//!
//! `serve` runs the webhook receiver, the worker and the embedded store in one process; `demo` runs it
//! against the bundled WooCommerce and Sellsy simulators and prints what it did. Behaviour lives in the
//! `shared/` crates; this binary only wires them.

mod app;
mod aws;
mod config;
mod demo;
mod http;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "woosellsy",
    version,
    about = "WooCommerce orders → Sellsy documents, exactly once"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the webhook receiver and the worker on the embedded store.
    Serve {
        /// Configuration file.
        #[arg(
            long,
            short,
            default_value = "woosellsy.toml",
            env = "WOOSELLSY_CONFIG"
        )]
        config: PathBuf,
        /// Only receive and queue webhooks (another process runs the worker on the same data_dir).
        #[arg(long)]
        receiver_only: bool,
    },
    /// Start both simulators, serve against them, push sample orders through signed webhooks and print
    /// the documents created.
    Demo {
        /// Keep the demo's data here instead of a fresh temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Show the state of every order the connectors have seen.
    Orders {
        #[arg(
            long,
            short,
            default_value = "woosellsy.toml",
            env = "WOOSELLSY_CONFIG"
        )]
        config: PathBuf,
    },
    /// Operate a deployment on AWS.
    Aws {
        #[command(subcommand)]
        command: AwsCommand,
    },
}

#[derive(Subcommand)]
enum AwsCommand {
    /// Write the connectors of a config file into a deployed stack (DynamoDB settings, Secrets
    /// Manager keys). AWS credentials and region as usual (environment, profile, SSO…).
    Register {
        /// Connectors to register (the `[[connector]]` blocks; `listen`/`data_dir` are ignored).
        #[arg(long, short)]
        config: PathBuf,
        /// The SAM stack name: the table and secret names follow from it.
        #[arg(long)]
        stack: Option<String>,
        /// Explicit table name (overrides the stack's).
        #[arg(long)]
        table: Option<String>,
        /// Explicit secret name prefix, e.g. `woosellsy/prod/connectors/`.
        #[arg(long)]
        secret_prefix: Option<String>,
        /// Explicit webhook secret name prefix, e.g. `woosellsy/prod/webhooks/` (default: the stack's,
        /// or `--secret-prefix` with `connectors/` replaced by `webhooks/`).
        #[arg(long)]
        webhook_secret_prefix: Option<String>,
        /// When the webhook secret changes, hours the previous one stays accepted (0: refused at once),
        /// so that deliveries signed before the merchant saves the new one in WooCommerce still pass.
        #[arg(long, default_value_t = 24)]
        webhook_secret_overlap_hours: u32,
        /// Only this connector of the file.
        #[arg(long)]
        connector: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Demo { .. }));
    // reqwest is built without a default TLS provider (one TLS stack: rustls + ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("woosellsy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                config,
                receiver_only,
            } => app::serve_command(&config, receiver_only).await,
            Command::Demo { data_dir } => demo::run(data_dir).await,
            Command::Orders { config } => app::orders_command(&config).await,
            Command::Aws {
                command:
                    AwsCommand::Register {
                        config,
                        stack,
                        table,
                        secret_prefix,
                        webhook_secret_prefix,
                        webhook_secret_overlap_hours,
                        connector,
                    },
            } => {
                aws::register(aws::RegisterArgs {
                    config: &config,
                    stack: stack.as_deref(),
                    table: table.as_deref(),
                    secret_prefix: secret_prefix.as_deref(),
                    webhook_secret_prefix: webhook_secret_prefix.as_deref(),
                    connector: connector.as_deref(),
                    webhook_secret_overlap: Some(std::time::Duration::from_secs(
                        u64::from(webhook_secret_overlap_hours) * 3600,
                    )),
                })
                .await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("woosellsy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// JSON logs (one object per line, with the span fields: connector, order, delivery) on stderr; the
/// demo keeps quiet unless RUST_LOG asks, so its table stays readable.
fn init_tracing(demo: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if demo { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
