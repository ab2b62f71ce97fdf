//! SecretsManagerSecrets and register_connector against moto_server: per-container caching with a TTL,
//! negative caching, decoding errors that never leak a value, and the operator's registration path
//! (the key bundle and, apart, the webhook secrets, with the previous one kept during a rotation).

use woosellsy_aws::testkit as common;

use std::time::Duration;

use common::Moto;
use secrecy::{ExposeSecret, SecretString};
use woosellsy_aws::register::{RegisterOptions, WebhookSecretChange, register_connector_with};
use woosellsy_aws::secrets::SecretsManagerWebhookSecrets;
use woosellsy_aws::{DeploymentNames, DynamoStore, SecretsManagerSecrets, register_connector};
use woosellsy_domain::{ConnectorId, ConnectorSecrets, ConnectorSettings};
use woosellsy_ports::{SecretStore, Store};

const PREFIX: &str = "woosellsy/test/connectors/";

fn secret_json(webhook_secret: &str) -> String {
    serde_json::json!({
        "woocommerce_consumer_key": "ck_live",
        "woocommerce_consumer_secret": "cs_live",
        "webhook_secret": webhook_secret,
        "sellsy_client_id": "client-1",
        "sellsy_client_secret": "sellsy-secret",
    })
    .to_string()
}

fn secrets(webhook_secret: &str) -> ConnectorSecrets {
    serde_json::from_str(&secret_json(webhook_secret)).unwrap()
}

fn settings(id: &str) -> ConnectorSettings {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "woocommerce_url": "https://boutique.example.fr",
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
    }))
    .unwrap()
}

#[tokio::test]
async fn secrets_are_cached_per_container_for_their_ttl() {
    let Some(moto) = Moto::start() else { return };
    let sm = aws_sdk_secretsmanager::Client::new(&moto.config().await);
    let id = ConnectorId::parse("shop").unwrap();
    let name = format!("{PREFIX}shop");
    sm.create_secret()
        .name(&name)
        .secret_string(secret_json("first"))
        .send()
        .await
        .unwrap();

    let cached = SecretsManagerSecrets::new(sm.clone(), PREFIX).with_ttl(Duration::from_secs(600));
    let got = cached
        .connector_secrets(&id)
        .await
        .unwrap()
        .expect("secret exists");
    assert_eq!(got.webhook_secret.expose_secret(), "first");
    assert_eq!(got.sellsy_client_id, "client-1");

    // Rotated, then even deleted: a warm container keeps using what it read, without a call per event.
    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(secret_json("second"))
        .send()
        .await
        .unwrap();
    let again = cached.connector_secrets(&id).await.unwrap().unwrap();
    assert_eq!(again.webhook_secret.expose_secret(), "first");
    sm.delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert!(cached.connector_secrets(&id).await.unwrap().is_some());

    // Once the TTL is over the value is read again (here: gone).
    let uncached = SecretsManagerSecrets::new(sm.clone(), PREFIX).with_ttl(Duration::ZERO);
    assert!(uncached.connector_secrets(&id).await.unwrap().is_none());
    sm.create_secret()
        .name(&name)
        .secret_string(secret_json("third"))
        .send()
        .await
        .unwrap();
    let fresh = uncached.connector_secrets(&id).await.unwrap().unwrap();
    assert_eq!(fresh.webhook_secret.expose_secret(), "third");
    cached.invalidate().await;
    assert_eq!(
        cached
            .connector_secrets(&id)
            .await
            .unwrap()
            .unwrap()
            .webhook_secret
            .expose_secret(),
        "third"
    );
}

#[tokio::test]
async fn an_unknown_connector_has_no_secrets_and_a_malformed_secret_never_leaks() {
    let Some(moto) = Moto::start() else { return };
    let sm = aws_sdk_secretsmanager::Client::new(&moto.config().await);
    let store = SecretsManagerSecrets::new(sm.clone(), PREFIX);
    assert!(
        store
            .connector_secrets(&ConnectorId::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    sm.create_secret()
        .name(format!("{PREFIX}broken"))
        .secret_string(
            r#"{"woocommerce_consumer_key": 12345678, "webhook_secret": "hunter2-hunter2"}"#,
        )
        .send()
        .await
        .unwrap();
    let err = store
        .connector_secrets(&ConnectorId::parse("broken").unwrap())
        .await
        .unwrap_err();
    assert!(
        !err.is_transient(),
        "a malformed secret will not fix itself: {err}"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("12345678") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains("woosellsy/test/connectors/broken"), "{text}");
}

#[tokio::test]
async fn registering_a_connector_writes_the_table_and_the_secret_and_can_be_repeated() {
    let Some(moto) = Moto::start() else { return };
    let config = moto.config().await;
    let names = DeploymentNames::for_stack("woosellsy-test");
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    DynamoStore::create_table(&ddb, &names.table_name)
        .await
        .unwrap();

    let first = register_connector(&config, &names, &settings("boutique"), &secrets("s1"))
        .await
        .unwrap();
    assert!(first.secret_created);
    assert_eq!(
        first.secret_name,
        "woosellsy/woosellsy-test/connectors/boutique"
    );

    let mut changed = settings("boutique");
    changed.order_reference_prefix = "CMD-".into();
    let second = register_connector(&config, &names, &changed, &secrets("s2"))
        .await
        .unwrap();
    assert!(
        !second.secret_created,
        "registering again adds a secret version"
    );

    // What the deployed functions will read, through the same adapters they use.
    let store = DynamoStore::new(ddb, &names.table_name);
    let id = ConnectorId::parse("boutique").unwrap();
    assert_eq!(store.get_connector(&id).await.unwrap(), Some(changed));
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let read = SecretsManagerSecrets::new(sm, &names.secret_prefix)
        .connector_secrets(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.webhook_secret.expose_secret(), "s2");
    assert_eq!(read.woocommerce_consumer_secret.expose_secret(), "cs_live");
}

#[tokio::test]
async fn registration_refuses_empty_keys_before_writing_anything() {
    let Some(moto) = Moto::start() else { return };
    let config = moto.config().await;
    let names = DeploymentNames::for_stack("woosellsy-test");
    let mut bad = secrets("s");
    bad.webhook_secret = SecretString::from("");
    let err = register_connector(&config, &names, &settings("boutique"), &bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("webhook_secret"), "{err}");
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let listed = sm.list_secrets().send().await.unwrap();
    assert!(
        listed.secret_list().is_empty(),
        "nothing may be written for a refused registration"
    );
}

#[tokio::test]
async fn registering_a_changed_webhook_secret_keeps_the_old_one_as_previous_until_an_end_date() {
    let Some(moto) = Moto::start() else { return };
    let config = moto.config().await;
    let names = DeploymentNames::for_stack("woosellsy-test");
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    DynamoStore::create_table(&ddb, &names.table_name)
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let id = ConnectorId::parse("boutique").unwrap();
    // What the receiver reads (TTL zero: every call reads Secrets Manager).
    let receiver = SecretsManagerWebhookSecrets::new(sm.clone(), &names.webhook_secret_prefix)
        .with_ttl(Duration::ZERO);
    let read = || async {
        receiver
            .webhook_secrets(&id)
            .await
            .unwrap()
            .expect("webhook secrets")
    };

    let first = register_connector(&config, &names, &settings("boutique"), &secrets("s1"))
        .await
        .unwrap();
    assert_eq!(first.webhook_secret, WebhookSecretChange::Created);
    assert_eq!(
        first.webhook_secret_name,
        "woosellsy/woosellsy-test/webhooks/boutique"
    );
    let w = read().await;
    assert_eq!(w.current.expose_secret(), "s1");
    assert!(w.previous.is_none());
    let again = register_connector(&config, &names, &settings("boutique"), &secrets("s1"))
        .await
        .unwrap();
    assert_eq!(again.webhook_secret, WebhookSecretChange::Unchanged);

    // Changed: the old secret stays accepted for the default overlap (24 h).
    let before = chrono::Utc::now();
    let rotated = register_connector(&config, &names, &settings("boutique"), &secrets("s2"))
        .await
        .unwrap();
    let after = chrono::Utc::now();
    let w = read().await;
    assert_eq!(w.current.expose_secret(), "s2");
    assert_eq!(w.previous.as_ref().map(|s| s.expose_secret()), Some("s1"));
    let until = w.previous_until.expect("an end date");
    let day = chrono::Duration::hours(24);
    assert!(
        before + day - chrono::Duration::seconds(1) <= until && until <= after + day,
        "{until}"
    );
    assert_eq!(
        rotated.webhook_secret,
        WebhookSecretChange::Rotated {
            previous_until: until
        }
    );
    let accepted: Vec<&str> = w.accepted(after).map(|s| s.expose_secret()).collect();
    assert_eq!(accepted, ["s2", "s1"]);
    let accepted: Vec<&str> = w.accepted(until).map(|s| s.expose_secret()).collect();
    assert_eq!(accepted, ["s2"]);
    // The converter's bundle keeps every key, the new webhook secret included.
    let bundle = SecretsManagerSecrets::new(sm.clone(), &names.secret_prefix)
        .connector_secrets(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bundle.webhook_secret.expose_secret(), "s2");
    assert_eq!(bundle.woocommerce_consumer_key.expose_secret(), "ck_live");

    // A chosen overlap, and none at all.
    let options = RegisterOptions {
        webhook_secret_overlap: Duration::from_secs(3600),
    };
    register_connector_with(
        &config,
        &names,
        &settings("boutique"),
        &secrets("s3"),
        &options,
    )
    .await
    .unwrap();
    let w = read().await;
    assert_eq!(w.previous.as_ref().map(|s| s.expose_secret()), Some("s2"));
    assert!(w.previous_until.unwrap() <= chrono::Utc::now() + chrono::Duration::hours(1));
    let none = RegisterOptions {
        webhook_secret_overlap: Duration::ZERO,
    };
    let replaced = register_connector_with(
        &config,
        &names,
        &settings("boutique"),
        &secrets("s4"),
        &none,
    )
    .await
    .unwrap();
    assert_eq!(replaced.webhook_secret, WebhookSecretChange::Replaced);
    let w = read().await;
    assert_eq!(w.current.expose_secret(), "s4");
    assert!(w.previous.is_none() && w.previous_until.is_none());

    // The receiver's store never hands out a connector's keys.
    assert!(receiver.connector_secrets(&id).await.is_err());
}

/// A connector registered before webhook secrets were kept apart (a key bundle only): registering it
/// again writes its webhook secret, and a changed one keeps the bundle's old secret as the previous.
#[tokio::test]
async fn registering_a_connector_of_an_older_version_writes_its_webhook_secret() {
    let Some(moto) = Moto::start() else { return };
    let config = moto.config().await;
    let names = DeploymentNames::for_stack("woosellsy-test");
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    DynamoStore::create_table(&ddb, &names.table_name)
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    sm.create_secret()
        .name(format!("{}boutique", names.secret_prefix))
        .secret_string(secret_json("from-last-year"))
        .send()
        .await
        .unwrap();
    let report = register_connector(&config, &names, &settings("boutique"), &secrets("fresh"))
        .await
        .unwrap();
    assert!(!report.secret_created);
    assert!(matches!(
        report.webhook_secret,
        WebhookSecretChange::Rotated { .. }
    ));
    let w = SecretsManagerWebhookSecrets::new(sm, &names.webhook_secret_prefix)
        .webhook_secrets(&ConnectorId::parse("boutique").unwrap())
        .await
        .unwrap()
        .expect("written");
    assert_eq!(w.current.expose_secret(), "fresh");
    assert_eq!(
        w.previous.as_ref().map(|s| s.expose_secret()),
        Some("from-last-year")
    );
    assert!(w.previous_until.is_some());
}
