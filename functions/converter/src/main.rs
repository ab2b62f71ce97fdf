//! The converter Lambda: wiring only. The handler is `woosellsy_aws::functions::ConverterFunction`
//! (tested there against moto and the Sellsy and WooCommerce simulators with real SQS batch events).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sellsy::backend::SellsyBackendFactory;
use woocommerce_client::WooShopFactory;
use woosellsy_aws::FunctionEnv;
use woosellsy_aws::functions::ConverterFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    woosellsy_aws::telemetry::init_json_logs();
    let env = FunctionEnv::from_env()?;
    let config = woosellsy_aws::load_sdk_config().await;
    let function = Arc::new(ConverterFunction::from_env(
        &config,
        &env,
        Arc::new(WooShopFactory),
        Arc::new(SellsyBackendFactory::new()),
    ));
    tracing::info!(table = %env.table_name, "converter ready");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let function = Arc::clone(&function);
        // Every record is settled before the invocation's deadline, which Lambda gives with the event.
        let deadline = event.context.deadline();
        async move {
            Ok::<SqsBatchResponse, Error>(
                function.handle_until(&event.payload, Some(deadline)).await,
            )
        }
    }))
    .await
}
