//! Loading the AWS SDK configuration with the one TLS stack the workspace builds (rustls + ring).
//!
//! The SDK crates are compiled without `default-https-client` (which would add aws-lc and a second
//! rustls/hyper stack, see the reference notes), so every configuration must be given an HTTP client;
//! these functions are the only places that build one.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// The region used when nothing in the environment names one (the users are French: Paris).
pub const DEFAULT_REGION: &str = "eu-west-3";

fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    // reqwest (the Sellsy and WooCommerce clients) needs a process-wide provider; installing it here too
    // means whichever client is built first works. A second install reports an error we can ignore.
    let _ = rustls::crypto::ring::default_provider().install_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The configuration a Lambda function (or the operator's CLI) runs with: credentials, region and
/// endpoint from the environment. `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_DYNAMODB`, `…_SQS`,
/// `…_SECRETS_MANAGER`) are honoured by the SDK itself, which is how a local emulator is reached.
pub async fn load_sdk_config() -> SdkConfig {
    // The loader's own region chain, which gets our HTTP client for its IMDS lookup. (A standalone
    // `RegionProviderChain::default_provider()` builds an IMDS client without one, and panics.)
    let loaded = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await;
    if loaded.region().is_some() {
        return loaded;
    }
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(DEFAULT_REGION))
        .load()
        .await
}

/// A configuration pinned to one endpoint with throw-away static credentials: for moto in tests and
/// for local experiments. Nothing from the environment is read, so a developer's real profile is never
/// used by accident.
pub async fn sdk_config_for_endpoint(endpoint_url: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .endpoint_url(endpoint_url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "woosellsy-static",
        ))
        .load()
        .await
}
