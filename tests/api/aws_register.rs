//! `woosellsy aws register` against moto_server: the operator's path writes the connector's settings
//! into the stack's table and its keys into Secrets Manager (the webhook secrets apart, the previous one
//! kept for an overlap when it changes), with no console clicking.

use std::process::Command;
use std::time::Duration;

use secrecy::ExposeSecret;
use woosellsy_aws::secrets::SecretsManagerWebhookSecrets;
use woosellsy_aws::testkit::{Moto, REGION};
use woosellsy_aws::{DeploymentNames, DynamoStore, SecretsManagerSecrets};
use woosellsy_domain::ConnectorId;
use woosellsy_ports::{SecretStore, Store};

const CONFIG: &str = r#"
[[connector]]
id = "boutique-1"
zero_rate_exemption = "intra-eu"
[connector.woocommerce]
url = "https://boutique.example.fr"
consumer_key = "ck_live"
consumer_secret = "cs_live"
[connector.sellsy]
client_id = "client-1"
"#;

#[tokio::test]
async fn register_writes_settings_and_secrets_into_the_stack() {
    let Some(moto) = Moto::start() else { return };
    let sdk = moto.config().await;
    let names = DeploymentNames::for_stack("shop-prod");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    DynamoStore::create_table(&dynamo, &names.table_name)
        .await
        .expect("table");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    std::fs::write(&config, CONFIG).unwrap();
    // Two secrets come from the environment, as an operator would keep them out of the file.
    let out = Command::new(env!("CARGO_BIN_EXE_woosellsy"))
        .args(["aws", "register", "--stack", "shop-prod", "--config"])
        .arg(&config)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("WOOSELLSY_BOUTIQUE_1_WEBHOOK_SECRET", "wh-secret")
        .env("WOOSELLSY_BOUTIQUE_1_SELLSY_CLIENT_SECRET", "sellsy-secret")
        .output()
        .expect("run woosellsy aws register");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("wh-secret") && !stderr.contains("wh-secret"),
        "a secret was printed"
    );

    let id = ConnectorId::parse("boutique-1").unwrap();
    let store = DynamoStore::new(dynamo, &names.table_name);
    let settings = store
        .get_connector(&id)
        .await
        .unwrap()
        .expect("settings registered");
    assert_eq!(settings.woocommerce_url, "https://boutique.example.fr");
    assert_eq!(
        settings.zero_rate_exemption,
        woosellsy_domain::Exemption::IntraEu
    );

    let secrets = SecretsManagerSecrets::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        &names.secret_prefix,
    );
    let keys = secrets
        .connector_secrets(&id)
        .await
        .unwrap()
        .expect("secrets registered");
    assert_eq!(keys.webhook_secret.expose_secret(), "wh-secret");
    assert_eq!(keys.sellsy_client_secret.expose_secret(), "sellsy-secret");
    assert_eq!(keys.woocommerce_consumer_key.expose_secret(), "ck_live");

    // The receiver's secret holds the webhook secret alone.
    let webhooks = SecretsManagerWebhookSecrets::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        &names.webhook_secret_prefix,
    )
    .with_ttl(Duration::ZERO);
    let w = webhooks
        .webhook_secrets(&id)
        .await
        .unwrap()
        .expect("webhook secret registered");
    assert_eq!(w.current.expose_secret(), "wh-secret");
    assert!(w.previous.is_none());
    assert!(stdout.contains("webhooks/boutique-1 (created)"), "{stdout}");

    // The merchant changes the webhook secret: the old one stays accepted for the overlap asked for.
    let before = chrono::Utc::now();
    let out = Command::new(env!("CARGO_BIN_EXE_woosellsy"))
        .args([
            "aws",
            "register",
            "--stack",
            "shop-prod",
            "--webhook-secret-overlap-hours",
            "2",
            "--config",
        ])
        .arg(&config)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("WOOSELLSY_BOUTIQUE_1_WEBHOOK_SECRET", "wh-secret-2")
        .env("WOOSELLSY_BOUTIQUE_1_SELLSY_CLIENT_SECRET", "sellsy-secret")
        .output()
        .expect("run woosellsy aws register");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("the previous one is accepted until"),
        "{stdout}"
    );
    assert!(!stdout.contains("wh-secret"), "a secret was printed");
    let w = webhooks.webhook_secrets(&id).await.unwrap().unwrap();
    assert_eq!(w.current.expose_secret(), "wh-secret-2");
    assert_eq!(
        w.previous.as_ref().map(|s| s.expose_secret()),
        Some("wh-secret")
    );
    let until = w.previous_until.expect("an end date");
    let two_hours = chrono::Duration::hours(2);
    assert!(
        before + two_hours - chrono::Duration::seconds(1) <= until
            && until <= chrono::Utc::now() + two_hours,
        "{until}"
    );
}
