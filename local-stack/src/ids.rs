//! Request and trace ids shaped like AWS's: version-4 UUIDs for Lambda
//! request ids (`uuid`), random bits for the rest (`rand`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

/// A version-4 UUID, as Lambda uses for request ids.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An API Gateway request id (`apigw-requestid`), e.g. `KtsP2gVwoAMEPlw=`.
pub fn apigw_request_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 10]>())
}

/// An X-Ray trace header: `Root=1-<epoch secs hex>-<96 bits>;Parent=<64 bits>;Sampled=0`.
pub fn trace_id() -> String {
    let secs = now_ms() / 1000;
    let root = rand::random::<u128>() >> 32;
    format!(
        "Root=1-{secs:08x}-{root:024x};Parent={:016x};Sampled=0",
        rand::random::<u64>()
    )
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let u = uuid();
        assert_eq!(u.len(), 36, "{u}");
        assert_eq!(&u[14..15], "4", "{u}");
        assert!("89ab".contains(&u[19..20]), "{u}");
        assert_ne!(uuid(), uuid());
        assert_eq!(apigw_request_id().len(), 16);
        let t = trace_id();
        assert!(t.starts_with("Root=1-") && t.ends_with(";Sampled=0"), "{t}");
        assert_eq!(
            t.len(),
            "Root=1-".len() + 8 + 1 + 24 + ";Parent=".len() + 16 + ";Sampled=0".len(),
            "{t}"
        );
    }
}
