//! Triggering the warmer: the port, the Lambda Invoke adapter
//! (InvocationType `Event`) and a recording fake for unit tests.

use std::future::Future;
use std::sync::Mutex;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::{Deserialize, Serialize};

/// The warmer's payload: small on purpose (async invoke payloads are capped
/// at 256 KB on older accounts); the warmer reads the participants from the
/// table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmRequest {
    pub epoch_id: u64,
    /// A finished epoch's warm keys and hardware are final once written.
    pub finished: bool,
}

pub trait WarmerInvoker: Send + Sync {
    /// Hands the request to the warmer without waiting for it to run.
    fn invoke_warmer(
        &self,
        request: &WarmRequest,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Invokes the warmer function asynchronously through the Lambda API.
#[derive(Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, function_name: impl Into<String>) -> Self {
        Self {
            client,
            function_name: function_name.into(),
        }
    }
}

impl WarmerInvoker for LambdaInvoker {
    async fn invoke_warmer(&self, request: &WarmRequest) -> Result<(), String> {
        let payload = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let resp = self
            .client
            .invoke()
            .function_name(&self.function_name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "invoking {}: {}",
                    self.function_name,
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        // Lambda answers 202 Accepted to an Event invocation.
        match resp.status_code() {
            202 => Ok(()),
            other => Err(format!(
                "invoking {}: unexpected status {other}",
                self.function_name
            )),
        }
    }
}

/// Records requests instead of sending them (unit tests).
#[derive(Default)]
pub struct RecordingInvoker {
    pub requests: Mutex<Vec<WarmRequest>>,
    pub fail: bool,
}

impl WarmerInvoker for RecordingInvoker {
    async fn invoke_warmer(&self, request: &WarmRequest) -> Result<(), String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        if self.fail {
            Err("recording invoker set to fail".into())
        } else {
            Ok(())
        }
    }
}

/// No warmer configured (`WARMER_FUNCTION_NAME` unset): nothing to invoke.
impl<W: WarmerInvoker> WarmerInvoker for Option<W> {
    async fn invoke_warmer(&self, request: &WarmRequest) -> Result<(), String> {
        match self {
            Some(w) => w.invoke_warmer(request).await,
            None => Err("no warmer function configured".into()),
        }
    }
}
