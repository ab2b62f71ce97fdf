//! `load_sdk_config` (what the functions and the operator's CLI use) honours `AWS_ENDPOINT_URL`, so the
//! deployed code can be pointed at an emulator without a code path of its own. One test in its own
//! binary: it sets process environment variables.

use woosellsy_aws::testkit as common;

use common::Moto;

#[tokio::test]
async fn the_production_config_loader_honours_aws_endpoint_url() {
    let Some(moto) = Moto::start() else { return };
    // SAFETY: the only test of this binary; no other thread reads the environment meanwhile.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
        std::env::set_var("AWS_REGION", "eu-west-3");
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    }
    let config = woosellsy_aws::load_sdk_config().await;
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    woosellsy_aws::DynamoStore::create_table(&ddb, "via-env")
        .await
        .expect("reached moto through AWS_ENDPOINT_URL");
    let tables = ddb.list_tables().send().await.expect("list tables");
    assert_eq!(tables.table_names(), ["via-env"]);
}
