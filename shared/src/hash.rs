//! FNV-1a (64-bit): a stable, fast hash for bucketing and ETags. Stable
//! across releases and processes, unlike `std`'s `DefaultHasher`.

pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
