//! Answers an instance holds between revalidations: a route answered
//! within the window is answered again from memory, without a table
//! request. Only answers caches may keep (not a stale copy served through
//! a chain outage, not an error).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::http::{Payload, Reply};

/// Routes held (the network function has three, one per finished epoch's
/// models).
const REPLIES: usize = 16;

struct Held {
    key: String,
    body: Payload,
    cache_control: String,
    etag: Option<String>,
    at_ms: i64,
}

#[derive(Default)]
pub struct ReplyMemo {
    held: Mutex<VecDeque<Held>>,
}

impl ReplyMemo {
    /// The answer held for `key` if it was given less than `window` ago.
    pub fn get(&self, key: &str, now_ms: i64, window: Duration) -> Option<Reply> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let h = held.iter().find(|h| h.key == key)?;
        (now_ms - h.at_ms < window.as_millis() as i64).then(|| Reply {
            media: crate::http::Media::Json,
            status: 200,
            body: h.body.clone(),
            cache_control: h.cache_control.clone(),
            etag: h.etag.clone(),
            retry_after_secs: None,
        })
    }

    /// Holds a 200 that caches may keep.
    pub fn put(&self, key: String, reply: &Reply, now_ms: i64) {
        if reply.status != 200 || reply.cache_control.contains("no-store") {
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|h| h.key != key);
        if held.len() >= REPLIES {
            held.pop_front();
        }
        held.push_back(Held {
            key,
            body: reply.body.clone(),
            cache_control: reply.cache_control.clone(),
            etag: reply.etag.clone(),
            at_ms: now_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(cache_control: &str) -> Reply {
        Reply {
            media: crate::http::Media::Json,
            status: 200,
            body: Payload::Plain(b"{}".to_vec()),
            cache_control: cache_control.into(),
            etag: Some("W/\"x\"".into()),
            retry_after_secs: None,
        }
    }

    #[test]
    fn held_for_the_window_and_never_a_stale_copy() {
        let memo = ReplyMemo::default();
        let window = Duration::from_secs(10);
        memo.put("t".into(), &reply("public, max-age=30"), 1_000);
        assert!(memo.get("t", 1_000, window).is_some());
        assert!(memo.get("t", 10_999, window).is_some());
        assert!(
            memo.get("t", 11_000, window).is_none(),
            "revalidated after the window"
        );
        assert!(memo.get("other", 1_000, window).is_none());
        memo.put("s".into(), &reply("no-store"), 1_000);
        assert!(memo.get("s", 1_000, window).is_none());
        assert!(
            memo.get("t", 1_000, Duration::ZERO).is_none(),
            "window 0: always read"
        );
    }
}
