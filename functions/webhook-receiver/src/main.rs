//! The webhook receiver Lambda: wiring only. The handler is `woosellsy_aws::functions::WebhookFunction`
//! (tested there against moto with real API Gateway HTTP API events).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Request, service_fn};
use woosellsy_aws::FunctionEnv;
use woosellsy_aws::functions::WebhookFunction;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    woosellsy_aws::telemetry::init_json_logs();
    let env = FunctionEnv::from_env()?;
    let config = woosellsy_aws::load_sdk_config().await;
    let function = Arc::new(WebhookFunction::from_env(&config, &env)?);
    tracing::info!(table = %env.table_name, "webhook receiver ready");
    lambda_http::run(service_fn(move |req: Request| {
        let function = Arc::clone(&function);
        async move { Ok::<_, Infallible>(function.handle(req).await) }
    }))
    .await
}
