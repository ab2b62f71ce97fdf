//! The operator path: writing a connector's settings into a deployed stack's table and its secrets into
//! Secrets Manager, so that no console clicking is needed.
//!
//! Names are resolved without calling CloudFormation (which would add another SDK crate to every build):
//! `template.yaml` names the table `{stack}-state`, the key bundles `woosellsy/{stack}/connectors/{id}`
//! (read by the converter) and the webhook secrets `woosellsy/{stack}/webhooks/{id}` (the only secret
//! the internet-facing receiver may read), so the stack name is enough ([`DeploymentNames::for_stack`]);
//! explicit names work too.
//!
//! A changed webhook secret does not lock the shop out while the merchant saves it in WooCommerce: the
//! old one stays accepted as `previous` for [`RegisterOptions::webhook_secret_overlap`] (24 h unless
//! told otherwise). A stack deployed before webhook secrets were kept apart gets its webhook secret on
//! the next registration (the old bundle's webhook secret becomes the previous one if it changed).

use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, SubsecRound, Utc};
use secrecy::ExposeSecret;
use woosellsy_domain::{ConnectorSecrets, ConnectorSettings, WebhookSecrets};
use woosellsy_ports::{PortError, PortResult, Store};

use crate::dynamo::DynamoStore;
use crate::error::from_sdk;
use crate::secrets::{
    decode_secrets, decode_webhook_secrets, encode_secrets, encode_webhook_secrets, secret_name,
    secret_string,
};

/// How long a replaced webhook secret stays accepted, unless told otherwise.
pub const DEFAULT_WEBHOOK_SECRET_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Where a deployed stack keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentNames {
    pub table_name: String,
    /// Prefix of the per-connector key bundles (ends with `/`).
    pub secret_prefix: String,
    /// Prefix of the per-connector webhook secrets (ends with `/`).
    pub webhook_secret_prefix: String,
}

impl DeploymentNames {
    /// The names `template.yaml` gives a stack's resources (see its `Outputs` too).
    pub fn for_stack(stack_name: &str) -> Self {
        Self {
            table_name: format!("{stack_name}-state"),
            secret_prefix: format!("woosellsy/{stack_name}/connectors/"),
            webhook_secret_prefix: format!("woosellsy/{stack_name}/webhooks/"),
        }
    }

    /// The webhook prefix that goes with a bundle prefix `…/connectors/` (`…/webhooks/`), if it is one.
    pub fn webhook_prefix_for(secret_prefix: &str) -> Option<String> {
        secret_prefix
            .strip_suffix("connectors/")
            .map(|base| format!("{base}webhooks/"))
    }
}

/// How [`register_connector_with`] registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOptions {
    /// How long the replaced webhook secret stays accepted when the webhook secret changes (zero: the
    /// old one is refused at once).
    pub webhook_secret_overlap: Duration,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        Self {
            webhook_secret_overlap: DEFAULT_WEBHOOK_SECRET_OVERLAP,
        }
    }
}

/// What happened to a connector's webhook secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookSecretChange {
    /// Written for the first time.
    Created,
    /// The same secret as before: nothing written.
    Unchanged,
    /// A new secret; the previous one is accepted until then.
    Rotated { previous_until: DateTime<Utc> },
    /// A new secret; the previous one is refused at once (no overlap).
    Replaced,
}

/// What [`register_connector`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterReport {
    pub table_name: String,
    pub secret_name: String,
    /// `true` when the secret was created, `false` when a new version replaced the old value.
    pub secret_created: bool,
    pub webhook_secret_name: String,
    pub webhook_secret: WebhookSecretChange,
}

fn check(settings: &ConnectorSettings, secrets: &ConnectorSecrets) -> PortResult<()> {
    let empty = [
        (
            "woocommerce_consumer_key",
            secrets.woocommerce_consumer_key.expose_secret().is_empty(),
        ),
        (
            "woocommerce_consumer_secret",
            secrets
                .woocommerce_consumer_secret
                .expose_secret()
                .is_empty(),
        ),
        (
            "webhook_secret",
            secrets.webhook_secret.expose_secret().is_empty(),
        ),
        ("sellsy_client_id", secrets.sellsy_client_id.is_empty()),
        (
            "sellsy_client_secret",
            secrets.sellsy_client_secret.expose_secret().is_empty(),
        ),
    ];
    if let Some((field, _)) = empty.iter().find(|(_, is_empty)| *is_empty) {
        return Err(PortError::permanent(format!(
            "connector {}: secret field {field} is empty",
            settings.id
        )));
    }
    for (field, url) in [
        ("woocommerce_url", &settings.woocommerce_url),
        ("sellsy_api_url", &settings.sellsy_api_url),
        ("sellsy_token_url", &settings.sellsy_token_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(PortError::permanent(format!(
                "connector {}: {field} must be an http(s) URL, got {url:?}",
                settings.id
            )));
        }
    }
    Ok(())
}

/// [`register_connector_with`] with the default options (a replaced webhook secret stays accepted
/// for 24 h).
pub async fn register_connector(
    config: &SdkConfig,
    names: &DeploymentNames,
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
) -> PortResult<RegisterReport> {
    register_connector_with(
        config,
        names,
        settings,
        secrets,
        &RegisterOptions::default(),
    )
    .await
}

/// Writes `secrets` (the key bundle and the webhook secrets, creating each secret or adding a version)
/// and then `settings` into the stack. Secrets first: a connector whose settings exist is live, and must
/// find its keys.
pub async fn register_connector_with(
    config: &SdkConfig,
    names: &DeploymentNames,
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
    options: &RegisterOptions,
) -> PortResult<RegisterReport> {
    check(settings, secrets)?;
    let sm = aws_sdk_secretsmanager::Client::new(config);
    let id = &settings.id;
    let name = secret_name(&names.secret_prefix, id);
    let webhook_name = secret_name(&names.webhook_secret_prefix, id);

    // What the receiver accepts today, read before anything is overwritten.
    let stored = match secret_string(&sm, &webhook_name).await? {
        Some(json) => match decode_webhook_secrets(&webhook_name, json.expose_secret()) {
            Ok(s) => Some(s),
            // Not a value the receiver can use either: replaced by a good one.
            Err(e) => {
                tracing::warn!(connector = %id, error = %e, "the stored webhook secret is malformed: replacing it");
                None
            }
        },
        None => None,
    };
    let accepted_today = match &stored {
        Some(s) => Some(s.clone()),
        // Registered before webhook secrets were kept apart: the bundle's is the one in use.
        None => secret_string(&sm, &name)
            .await?
            .and_then(|json| decode_secrets(&name, json.expose_secret()).ok())
            .map(|old| WebhookSecrets::current_only(old.webhook_secret)),
    };
    let overlap =
        chrono::Duration::from_std(options.webhook_secret_overlap).unwrap_or(chrono::Duration::MAX);
    let webhook = WebhookSecrets::registered(
        accepted_today.as_ref(),
        secrets.webhook_secret.clone(),
        // Whole seconds, as stored (RFC 3339): the report says exactly what was written.
        Utc::now().trunc_subsecs(0),
        overlap,
    );

    let secret_created = put_secret(
        &sm,
        &name,
        &format!(
            "woosellsy connector {id}: WooCommerce keys, webhook secret, Sellsy client credentials (read by the converter)"
        ),
        id.as_str(),
        encode_secrets(secrets).expose_secret(),
    )
    .await?;

    let change = match &stored {
        Some(old) if old.same_as(&webhook) => WebhookSecretChange::Unchanged,
        _ => {
            put_secret(
                &sm,
                &webhook_name,
                &format!(
                    "woosellsy connector {id}: webhook secrets only (current, previous until an end date; read by the webhook receiver)"
                ),
                id.as_str(),
                encode_webhook_secrets(&webhook).expose_secret(),
            )
            .await?;
            let same_current = accepted_today
                .as_ref()
                .is_some_and(|old| old.current.expose_secret() == webhook.current.expose_secret());
            match (
                accepted_today.is_some() && !same_current,
                webhook.previous_until,
            ) {
                (true, Some(previous_until)) => WebhookSecretChange::Rotated { previous_until },
                (true, None) => WebhookSecretChange::Replaced,
                (false, _) if stored.is_none() => WebhookSecretChange::Created,
                // The same secret; only an expired previous one was dropped.
                (false, _) => WebhookSecretChange::Unchanged,
            }
        }
    };

    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        names.table_name.clone(),
    );
    store.put_connector(settings).await?;
    tracing::info!(connector = %id, table = %names.table_name, secret = %name, webhook_secret = %webhook_name, secret_created, webhook_change = ?change, "connector registered");
    Ok(RegisterReport {
        table_name: names.table_name.clone(),
        secret_name: name,
        secret_created,
        webhook_secret_name: webhook_name,
        webhook_secret: change,
    })
}

/// Creates the secret `name` with `value`, or adds a version when it exists; `true` when created.
async fn put_secret(
    sm: &aws_sdk_secretsmanager::Client,
    name: &str,
    description: &str,
    connector: &str,
    value: &str,
) -> PortResult<bool> {
    let created = sm
        .create_secret()
        .name(name)
        .description(description)
        .secret_string(value)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("woosellsy:connector")
                .value(connector)
                .build(),
        )
        .send()
        .await;
    match created {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            sm.put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| from_sdk(&format!("PutSecretValue {name}"), e))?;
            Ok(false)
        }
        Err(err) => Err(from_sdk(&format!("CreateSecret {name}"), err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_match_the_template() {
        let n = DeploymentNames::for_stack("woosellsy-prod");
        assert_eq!(n.table_name, "woosellsy-prod-state");
        assert_eq!(n.secret_prefix, "woosellsy/woosellsy-prod/connectors/");
        assert_eq!(
            n.webhook_secret_prefix,
            "woosellsy/woosellsy-prod/webhooks/"
        );
        assert_eq!(
            DeploymentNames::webhook_prefix_for(&n.secret_prefix).as_deref(),
            Some(n.webhook_secret_prefix.as_str())
        );
        assert_eq!(DeploymentNames::webhook_prefix_for("my-keys/"), None);
        let template = include_str!("../../../template.yaml");
        assert!(template.contains("TableName: !Sub \"${AWS::StackName}-state\""));
        assert!(template.contains("woosellsy/${AWS::StackName}/connectors/"));
        assert!(template.contains("woosellsy/${AWS::StackName}/webhooks/"));
    }
}
