//! The operator path: writing a connector's settings into a deployed stack's table and its secrets into
//! Secrets Manager, so that no console clicking is needed.
//!
//! Names are resolved without calling CloudFormation (which would add another SDK crate to every build):
//! `template.yaml` names the table `{stack}-state` and the secrets `woosellsy/{stack}/connectors/{id}`,
//! so the stack name is enough ([`DeploymentNames::for_stack`]); explicit names work too.

use aws_config::SdkConfig;
use secrecy::ExposeSecret;
use woosellsy_domain::{ConnectorSecrets, ConnectorSettings};
use woosellsy_ports::{PortError, PortResult, Store};

use crate::dynamo::DynamoStore;
use crate::error::from_sdk;
use crate::secrets::{encode_secrets, secret_name};

/// Where a deployed stack keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentNames {
    pub table_name: String,
    /// Prefix of the per-connector secret names (ends with `/`).
    pub secret_prefix: String,
}

impl DeploymentNames {
    /// The names `template.yaml` gives a stack's resources (see its `Outputs` too).
    pub fn for_stack(stack_name: &str) -> Self {
        Self {
            table_name: format!("{stack_name}-state"),
            secret_prefix: format!("woosellsy/{stack_name}/connectors/"),
        }
    }
}

/// What [`register_connector`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterReport {
    pub table_name: String,
    pub secret_name: String,
    /// `true` when the secret was created, `false` when a new version replaced the old value.
    pub secret_created: bool,
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

/// Writes `secrets` (creating the secret, or adding a version) and then `settings` into the stack.
/// Secrets first: a connector whose settings exist is live, and must find its keys.
pub async fn register_connector(
    config: &SdkConfig,
    names: &DeploymentNames,
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
) -> PortResult<RegisterReport> {
    check(settings, secrets)?;
    let sm = aws_sdk_secretsmanager::Client::new(config);
    let name = secret_name(&names.secret_prefix, &settings.id);
    let value = encode_secrets(secrets);
    let created = sm
        .create_secret()
        .name(&name)
        .description(format!(
            "woosellsy connector {}: WooCommerce keys, webhook secret, Sellsy client credentials",
            settings.id
        ))
        .secret_string(value.expose_secret())
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("woosellsy:connector")
                .value(settings.id.as_str())
                .build(),
        )
        .send()
        .await;
    let secret_created = match created {
        Ok(_) => true,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            sm.put_secret_value()
                .secret_id(&name)
                .secret_string(value.expose_secret())
                .send()
                .await
                .map_err(|e| from_sdk(&format!("PutSecretValue {name}"), e))?;
            false
        }
        Err(err) => return Err(from_sdk(&format!("CreateSecret {name}"), err)),
    };
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        names.table_name.clone(),
    );
    store.put_connector(settings).await?;
    tracing::info!(connector = %settings.id, table = %names.table_name, secret = %name, secret_created, "connector registered");
    Ok(RegisterReport {
        table_name: names.table_name.clone(),
        secret_name: name,
        secret_created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_match_the_template() {
        let n = DeploymentNames::for_stack("woosellsy-prod");
        assert_eq!(n.table_name, "woosellsy-prod-state");
        assert_eq!(n.secret_prefix, "woosellsy/woosellsy-prod/connectors/");
        let template = include_str!("../../../template.yaml");
        assert!(template.contains("TableName: !Sub \"${AWS::StackName}-state\""));
        assert!(template.contains("woosellsy/${AWS::StackName}/connectors/"));
    }
}
