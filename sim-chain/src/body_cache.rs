//! A small LRU of rendered bodies, for the big responses (epoch
//! participants, the participant list) that many requests repeat.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use lru::LruCache;
use tokio::sync::OnceCell;

/// Rendered bodies by key, least recently used evicted first. Concurrent
/// requests for the same key share one render (a `OnceCell`), which runs on
/// the blocking pool so a multi-megabyte list never stalls the async
/// workers.
pub(crate) struct BodyCache<K> {
    entries: Mutex<LruCache<K, Arc<OnceCell<Bytes>>>>,
}

impl<K: Hash + Eq> BodyCache<K> {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        BodyCache {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Forgets every body (their data changed).
    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The body of `key`, rendered by `render` unless cached (or being
    /// rendered by another request).
    pub(crate) async fn get_or_render(
        &self,
        key: K,
        render: impl FnOnce() -> Bytes + Send + 'static,
    ) -> Result<Bytes, String> {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(entries.get_or_insert(key, Default::default))
        };
        cell.get_or_try_init(|| async {
            tokio::task::spawn_blocking(render)
                .await
                .map_err(|e| format!("render failed: {e}"))
        })
        .await
        .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_once_and_evicts_the_least_recently_used() {
        let cache = BodyCache::new(NonZeroUsize::new(2).unwrap());
        let body = |s: &'static str| move || Bytes::from_static(s.as_bytes());
        assert_eq!(cache.get_or_render(1, body("one")).await.unwrap(), "one");
        assert_eq!(cache.get_or_render(2, body("two")).await.unwrap(), "two");
        // Cached: the new render is not used; 1 becomes the most recent.
        assert_eq!(cache.get_or_render(1, body("uno")).await.unwrap(), "one");
        // 3 evicts 2, the least recently used.
        assert_eq!(
            cache.get_or_render(3, body("three")).await.unwrap(),
            "three"
        );
        assert_eq!(cache.get_or_render(1, body("uno")).await.unwrap(), "one");
        assert_eq!(cache.get_or_render(2, body("dos")).await.unwrap(), "dos");
    }
}
