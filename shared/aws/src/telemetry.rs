//! JSON logs for the Lambda functions: one object per line, with the fields of the current spans
//! (connector, order, delivery ids) so that CloudWatch Logs Insights can filter on them.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once. The level comes from `AWS_LAMBDA_LOG_LEVEL` (the function's
/// logging config, set from the template's `LogLevel` parameter), else `RUST_LOG`, else `info`; the
/// AWS SDK's own chatter is kept at `warn`.
pub fn init_json_logs() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| match l.to_ascii_lowercase().as_str() {
            // Lambda's advanced logging levels include FATAL, which tracing calls error.
            "fatal" => "error".to_owned(),
            other => other.to_owned(),
        })
        .filter(|l| !l.is_empty());
    let filter = match level {
        Some(level) => EnvFilter::new(format!(
            "{level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn"
        )),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new("info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn")
        }),
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        // CloudWatch stamps every line itself.
        .without_time()
        .try_init();
}
