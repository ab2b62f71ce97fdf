//! `woosellsy aws register`: writes connectors from a config file into a deployed stack (settings into
//! its DynamoDB table, keys into Secrets Manager: the key bundle the converter reads, and apart the
//! webhook secrets the receiver reads), so no console clicking is needed.

use std::path::Path;
use std::time::Duration;

use woosellsy_aws::register::{
    DEFAULT_WEBHOOK_SECRET_OVERLAP, DeploymentNames, RegisterOptions, WebhookSecretChange,
    register_connector_with,
};

use crate::app::AppError;
use crate::config::Config;

pub struct RegisterArgs<'a> {
    pub config: &'a Path,
    pub stack: Option<&'a str>,
    pub table: Option<&'a str>,
    pub secret_prefix: Option<&'a str>,
    pub webhook_secret_prefix: Option<&'a str>,
    pub connector: Option<&'a str>,
    /// How long a replaced webhook secret stays accepted (`None`: 24 h).
    pub webhook_secret_overlap: Option<Duration>,
}

pub async fn register(args: RegisterArgs<'_>) -> Result<(), AppError> {
    let config = Config::load(args.config)?;
    let mut names = match (args.stack, args.table, args.secret_prefix) {
        (_, Some(table), Some(prefix)) => DeploymentNames {
            table_name: table.to_owned(),
            secret_prefix: prefix.to_owned(),
            webhook_secret_prefix: args
                .webhook_secret_prefix
                .map(str::to_owned)
                .or_else(|| DeploymentNames::webhook_prefix_for(prefix))
                .ok_or("give --webhook-secret-prefix too (the secret prefix does not end with `connectors/`)")?,
        },
        (Some(stack), table, prefix) => {
            let mut names = DeploymentNames::for_stack(stack);
            if let Some(t) = table {
                names.table_name = t.to_owned();
            }
            if let Some(p) = prefix {
                names.secret_prefix = p.to_owned();
            }
            names
        }
        _ => return Err("give --stack, or both --table and --secret-prefix".into()),
    };
    if let Some(p) = args.webhook_secret_prefix {
        names.webhook_secret_prefix = p.to_owned();
    }
    if names.webhook_secret_prefix == names.secret_prefix {
        return Err("the webhook secret prefix must differ from the key bundles' prefix: the receiver may read only webhook secrets".into());
    }
    let options = RegisterOptions {
        webhook_secret_overlap: args
            .webhook_secret_overlap
            .unwrap_or(DEFAULT_WEBHOOK_SECRET_OVERLAP),
    };
    let selected: Vec<_> = config
        .connectors
        .iter()
        .filter(|c| args.connector.is_none_or(|id| c.id.as_str() == id))
        .collect();
    if selected.is_empty() {
        return Err(format!("no connector to register in {}", args.config.display()).into());
    }
    let sdk = woosellsy_aws::load_sdk_config().await;
    let env = |k: &str| std::env::var(k).ok();
    for c in selected {
        let secrets = c.secrets(&env)?;
        let report =
            register_connector_with(&sdk, &names, &c.settings(), &secrets, &options).await?;
        println!(
            "connector {}: settings in table {}, keys in secret {} ({})",
            c.id,
            report.table_name,
            report.secret_name,
            if report.secret_created {
                "created"
            } else {
                "new version"
            }
        );
        let webhook = match report.webhook_secret {
            WebhookSecretChange::Created => "created".to_owned(),
            WebhookSecretChange::Unchanged => "unchanged".to_owned(),
            WebhookSecretChange::Rotated { previous_until } => format!(
                "changed; the previous one is accepted until {}",
                previous_until.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            WebhookSecretChange::Replaced => "changed; the previous one is refused now".to_owned(),
        };
        println!(
            "  webhook secret in {} ({webhook})",
            report.webhook_secret_name
        );
        println!("  point WooCommerce's webhooks at <WebhookBaseUrl>{}", c.id);
    }
    Ok(())
}
