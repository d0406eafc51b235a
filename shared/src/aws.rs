//! AWS SDK configuration shared by every function: credentials, region and
//! endpoints from the environment (`AWS_ENDPOINT_URL_DYNAMODB` /
//! `AWS_ENDPOINT_URL_LAMBDA` point the SDK at DynamoDB Local or a local
//! invoke endpoint), bounded timeouts, and retries for throttling.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// SDK attempts per call; throttling and transient errors are retried with
/// the standard jittered backoff.
pub const SDK_MAX_ATTEMPTS: u32 = 4;

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS)
}

/// A table that is down must fail fast enough to answer 503 well inside
/// API Gateway's 30 s limit.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(20))
        .build()
}

pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}
