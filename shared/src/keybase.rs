//! Keybase lookups of validator identities (docs/contract-part2.md 4.3 and 7.2):
//! a narrow port ([`KeybaseLookup`]) and its HTTP adapter. The identity is
//! validated (`^[0-9A-Fa-f]{16}$`) and URL-encoded; a username is kept
//! only in Keybase's charset ([`KeybaseUsername`]) and the picture URL is
//! built only from one; answers are cached in the table by the caller (see
//! `service::jail`).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

pub const DEFAULT_KEYBASE_API_URL: &str = "https://keybase.io";
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY_BYTES: usize = 256 * 1024;
/// After a 429 no lookup is sent for this long (each counts as a failure,
/// cached for an hour like any other).
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(300);

/// A Keybase key suffix: exactly 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeybaseIdentity(String);

impl KeybaseIdentity {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (raw.len() == 16 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Keybase username as Keybase allows them: 2 to 16 of `a-z`, `0-9` and
/// `_`. Keybase compares them case-insensitively, so input is lowercased
/// first; anything else (a slash, a quote, a space, a longer name) is no
/// username, so nothing an outsider writes reaches the picture URL's path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeybaseUsername(String);

impl KeybaseUsername {
    pub fn parse(raw: &str) -> Option<Self> {
        let name = raw.trim().to_ascii_lowercase();
        let ok = (2..=16).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then_some(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a lookup said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeybaseAnswer {
    Found {
        username: String,
    },
    NotFound,
    /// No answer (network, 5xx, 429, unreadable body); retried after an hour.
    Failed(String),
}

/// The browser's avatar URL, built only from a valid username (whose
/// charset needs no encoding in a path).
pub fn picture_url(username: &KeybaseUsername) -> String {
    format!("https://keybase.io/{}/picture?size=96", username.as_str())
}

pub trait KeybaseLookup: Send + Sync {
    fn lookup(&self, identity: &KeybaseIdentity) -> impl Future<Output = KeybaseAnswer> + Send;
}

/// Keybase over HTTP at `KEYBASE_API_URL`.
pub struct HttpKeybase {
    client: reqwest::Client,
    base_url: String,
    /// Until when lookups are held back after a 429.
    backoff_until: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct LookupResponse {
    #[serde(default)]
    status: Option<LookupStatus>,
    #[serde(default)]
    them: Option<Vec<Option<Them>>>,
}

#[derive(Deserialize)]
struct LookupStatus {
    #[serde(default)]
    code: Option<i64>,
}

#[derive(Deserialize)]
struct Them {
    #[serde(default)]
    basics: Option<Basics>,
}

#[derive(Deserialize)]
struct Basics {
    #[serde(default)]
    username: Option<String>,
}

impl HttpKeybase {
    pub fn new(base_url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(LOOKUP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gonka-tracker-backend/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the Keybase client: {e}"))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            backoff_until: Mutex::new(None),
        })
    }

    fn backing_off(&self) -> bool {
        let until = *self.backoff_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    async fn fetch(&self, identity: &KeybaseIdentity) -> Result<KeybaseAnswer, String> {
        let url = format!(
            "{}/_/api/1.0/user/lookup.json?key_suffix={}",
            self.base_url,
            utf8_percent_encode(identity.as_str(), NON_ALPHANUMERIC)
        );
        let mut resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            *self.backoff_until.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Instant::now() + RATE_LIMIT_BACKOFF);
            return Err("HTTP 429; backing off".into());
        }
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err("body too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        let parsed: LookupResponse = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let ok = parsed.status.and_then(|s| s.code) == Some(0);
        let username = parsed
            .them
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .next()
            .and_then(|t| t.basics)
            .and_then(|b| b.username)
            // A name outside Keybase's charset is no answer worth caching.
            .and_then(|u| KeybaseUsername::parse(&u))
            .map(KeybaseUsername::into_string);
        Ok(match (ok, username) {
            (true, Some(username)) => KeybaseAnswer::Found { username },
            _ => KeybaseAnswer::NotFound,
        })
    }
}

impl KeybaseLookup for HttpKeybase {
    async fn lookup(&self, identity: &KeybaseIdentity) -> KeybaseAnswer {
        if self.backing_off() {
            return KeybaseAnswer::Failed("backing off after HTTP 429".into());
        }
        self.fetch(identity)
            .await
            .unwrap_or_else(KeybaseAnswer::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_sixteen_hex_digits() {
        let cases = [
            ("E23265A0E36FC128", true),
            ("fbe25c30404e2123", true),
            (" 673C81B66A67ED67 ", true),
            ("673C81B66A67ED6", false),
            ("673C81B66A67ED677", false),
            ("673C81B66A67ED6G", false),
            ("../../../etc/pass", false),
            ("673C81B6&a=b#ED6", false),
            ("", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(KeybaseIdentity::parse(raw).is_some(), ok, "{raw}");
        }
    }

    #[test]
    fn usernames_follow_keybase_charset() {
        let cases = [
            ("alice", Some("alice")),
            ("  Alice_42 ", Some("alice_42")),
            ("ab", Some("ab")),
            ("a", None),
            ("abcdefghijklmnop", Some("abcdefghijklmnop")),
            ("abcdefghijklmnopq", None),
            ("a/../b?c", None),
            ("al ice", None),
            ("al-ice", None),
            ("alice.io", None),
            (r#"x"><script>"#, None),
            ("ålice", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                KeybaseUsername::parse(raw)
                    .as_ref()
                    .map(KeybaseUsername::as_str),
                want,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn picture_urls_are_built_from_valid_usernames() {
        let alice = KeybaseUsername::parse("Alice").unwrap();
        assert_eq!(
            picture_url(&alice),
            "https://keybase.io/alice/picture?size=96"
        );
        // And it passes the served-link rule unchanged.
        assert_eq!(
            crate::domain::links::web_link(Some(&picture_url(&alice))).as_deref(),
            Some(picture_url(&alice).as_str())
        );
    }
}
