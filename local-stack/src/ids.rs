//! Request and trace ids shaped like AWS's. They only need to be unique
//! within one run, so the standard library's randomly keyed hasher over a
//! counter is enough (no RNG crate).

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

fn random_u64() -> u64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    STATE
        .get_or_init(RandomState::new)
        .hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A version-4 UUID, as Lambda uses for request ids.
pub fn uuid() -> String {
    let (a, b) = (random_u64(), random_u64());
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// An API Gateway request id (`apigw-requestid`), e.g. `KtsP2gVwoAMEPlw=`.
pub fn apigw_request_id() -> String {
    use base64::Engine;
    let bytes = random_u64().to_be_bytes();
    let mut raw = [0u8; 10];
    raw[..8].copy_from_slice(&bytes);
    raw[8..].copy_from_slice(&random_u64().to_be_bytes()[..2]);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// An X-Ray trace header: `Root=1-<epoch secs hex>-<96 bits>;Parent=<64 bits>;Sampled=0`.
pub fn trace_id() -> String {
    let secs = now_ms() / 1000;
    format!(
        "Root=1-{secs:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
        random_u64() as u32,
        random_u64(),
        random_u64()
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
    }
}
