//! FNV-1a (64-bit): a small hash that is stable across processes and releases
//! (std's `DefaultHasher` is not guaranteed to be), so it can name things that
//! outlive the process: a participant's snapshot chunk, a response's ETag.

use std::hash::Hasher;

/// FNV-1a of `bytes` (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
///
/// `Hasher::write` feeds the bytes as they are; `Hash::hash` on a slice would
/// prefix its length and give other values.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    /// The reference test vectors of FNV-1a 64.
    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// The same values as the loop it replaces (bucket hashing, ETags).
    #[test]
    fn matches_the_plain_loop() {
        let plain = |bytes: &[u8]| {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        for s in [
            "",
            "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364",
            "{\"epoch\":56}",
        ] {
            assert_eq!(fnv1a(s.as_bytes()), plain(s.as_bytes()), "{s}");
        }
    }
}
