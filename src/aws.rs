//! `woosellsy aws register`: writes connectors from a config file into a deployed stack (settings into
//! its DynamoDB table, keys into Secrets Manager), so no console clicking is needed.

use std::path::Path;

use woosellsy_aws::register::{DeploymentNames, register_connector};

use crate::app::AppError;
use crate::config::Config;

pub struct RegisterArgs<'a> {
    pub config: &'a Path,
    pub stack: Option<&'a str>,
    pub table: Option<&'a str>,
    pub secret_prefix: Option<&'a str>,
    pub connector: Option<&'a str>,
}

pub async fn register(args: RegisterArgs<'_>) -> Result<(), AppError> {
    let config = Config::load(args.config)?;
    let names = match (args.stack, args.table, args.secret_prefix) {
        (_, Some(table), Some(prefix)) => DeploymentNames {
            table_name: table.to_owned(),
            secret_prefix: prefix.to_owned(),
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
        let report = register_connector(&sdk, &names, &c.settings(), &secrets).await?;
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
        println!("  point WooCommerce's webhooks at <WebhookBaseUrl>{}", c.id);
    }
    Ok(())
}
