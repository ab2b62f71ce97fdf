//! Mapping AWS SDK errors onto [`PortError`]: the only decision a caller makes is retry or give up.

use std::error::Error as StdError;

// The smithy types are shared by every SDK crate; the DynamoDB crate's re-exports serve SQS and Secrets Manager too.
use aws_sdk_dynamodb::config::http::HttpResponse as Response;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use woosellsy_ports::PortError;

/// Error codes AWS documents as "try again" across DynamoDB, SQS and Secrets Manager.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalServiceError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "KMSThrottlingException",
    "KmsThrottled",
];

/// Classifies an SDK error. `what` names the operation and its target for the message (never a value).
pub(crate) fn from_sdk<E>(what: &str, err: SdkError<E, Response>) -> PortError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let transient = match &err {
        // Network, timeouts and unparseable responses: the request may not even have arrived.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status >= 500
                || status == 429
                || service
                    .err()
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        // A request we could not even build will not build next time either.
        _ => false,
    };
    let message = format!("{what}: {}", DisplayErrorContext(&err));
    if transient {
        PortError::transient(message)
    } else {
        PortError::permanent(message)
    }
}
