//! The one rule for every link-like field served (`inference_url`,
//! `website`, `keybase_picture_url`): chain and Keybase data are written by
//! outsiders and the dashboard puts these fields into `<a href>` and
//! `<img src>`, so a value is kept only when a URL parser (the `url` crate,
//! WHATWG rules, as browsers parse) reads it as an `http`/`https` URL with
//! a host and no userinfo, and it is served as the parser re-serialises it
//! (quotes, angle brackets and spaces percent-encoded). Anything else is
//! null. Applied where the data enters the domain (`ParticipantStats::
//! from_sources`, the jail fetch), so every route serves the same value.

use url::{Host, Url};

/// `raw` as a safe web link, or `None`.
pub fn web_link(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    // The parser silently drops tabs and newlines inside a URL (so
    // `java\nscript:` would read as `javascript:`); such input is refused
    // rather than repaired.
    if raw.is_empty() || raw.chars().any(char::is_control) {
        return None;
    }
    // WHATWG parsing repairs `https:x.example` and `https:///x.example` into
    // `https://x.example/`; a link is kept only as written, with its `//`
    // and a host right after it.
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        let head = raw.as_bytes().get(..scheme.len())?;
        // ASCII prefix, so the cut below is on a char boundary.
        head.eq_ignore_ascii_case(scheme.as_bytes())
            .then(|| &raw[scheme.len()..])
    })?;
    if rest.is_empty() || rest.starts_with(['/', '\\']) {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // `https://trusted.example@evil.example/` shows one host and opens
    // another: a link with userinfo is refused.
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host_ok = match url.host()? {
        Host::Ipv4(_) | Host::Ipv6(_) => true,
        // After IDNA a domain is ASCII; anything beyond letters, digits,
        // `-`, `_` and `.` (a quote the parser lets through) is refused, so
        // the served string cannot close an HTML attribute from the host.
        Host::Domain(d) => {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
    };
    host_ok.then(|| url.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_with_a_host_are_kept_re_serialised() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            // Good links, as the parser writes them.
            (Some("https://example.com"), Some("https://example.com/")),
            (Some(" http://a.b/x?y=1 "), Some("http://a.b/x?y=1")),
            (Some("HTTPS://EXAMPLE.COM"), Some("https://example.com/")),
            (
                Some("http://10.0.0.1:8080/v1"),
                Some("http://10.0.0.1:8080/v1"),
            ),
            (Some("http://[::1]:9000/"), Some("http://[::1]:9000/")),
            (Some("http://é.example"), Some("http://xn--9ca.example/")),
            (
                Some("https://bücher.example/é"),
                Some("https://xn--bcher-kva.example/%C3%A9"),
            ),
            (
                Some("https://x.example/a b"),
                Some("https://x.example/a%20b"),
            ),
            // Quotes and angle brackets are percent-encoded, never served raw.
            (
                Some(r#"https://x.example/"><script>alert(1)</script>"#),
                Some("https://x.example/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"),
            ),
            (
                Some(r#"https://x.example/?q="><img src=x onerror=alert(1)>"#),
                Some("https://x.example/?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E"),
            ),
            // Not http(s).
            (Some("javascript:alert(document.cookie)//"), None),
            (Some("JavaScript:alert(1)"), None),
            (Some("data:text/html,<script>alert(1)</script>"), None),
            (Some("ftp://files.example/x"), None),
            (Some("file:///etc/passwd"), None),
            (Some("java\tscript:alert(1)"), None),
            (Some("https://x.exa\nmple/"), None),
            // No host, or not a URL at all.
            (Some("https://"), None),
            (Some("https:///path"), None),
            (Some("http:"), None),
            (Some("https:x.example"), None),
            (Some("https:/x.example"), None),
            (Some("https:\\\\x.example"), None),
            (Some("http:/\\x.example"), None),
            (Some("example.com"), None),
            (Some("//example.com/x"), None),
            (Some("https://a b"), None),
            (Some("https://x\".example/"), None),
            (Some("https://<x>.example/"), None),
            // Userinfo: shows one host, opens another.
            (Some("https://bank.example@evil.example/"), None),
            (Some("https://u:pw@x.example/"), None),
            (Some(""), None),
            (Some("   "), None),
            (None, None),
        ];
        for (raw, want) in cases {
            assert_eq!(web_link(*raw).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn a_kept_link_is_stable() {
        // Served values go through the rule again wherever they are read,
        // so it must not change what it already kept.
        for raw in [
            "https://x.example/%22%3E",
            "http://a.b/x?y=1",
            "https://xn--bcher-kva.example/%C3%A9",
        ] {
            let once = web_link(Some(raw)).unwrap();
            assert_eq!(web_link(Some(&once)).as_deref(), Some(once.as_str()));
        }
    }
}
