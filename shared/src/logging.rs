//! Tracing set-up, once per process: JSON lines when the Lambda runtime asks
//! for them (`AWS_LAMBDA_LOG_FORMAT=JSON`), plain text otherwise. The level
//! comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
//!
//! A single level (no per-module directives) keeps the regex engine out of
//! the binaries, which matters for their size and cold start.

use std::sync::Once;

use tracing_subscriber::filter::LevelFilter;

static INIT: Once = Once::new();

/// `debug`, `WARN`, ... or the level of a `target=level` directive.
pub fn parse_level(raw: Option<&str>) -> Option<LevelFilter> {
    let raw = raw?.trim();
    let level = raw.rsplit([',', '=']).next().unwrap_or(raw).trim();
    level.parse().ok()
}

pub fn init_tracing() {
    INIT.call_once(|| {
        let level = parse_level(std::env::var("RUST_LOG").ok().as_deref())
            .or_else(|| parse_level(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref()))
            .unwrap_or(LevelFilter::INFO);
        let json =
            std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr);
        // Lambda adds its own timestamps to CloudWatch lines.
        let result = if json {
            builder
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .without_time()
                .try_init()
        } else {
            builder.with_target(false).try_init()
        };
        if let Err(e) = result {
            eprintln!("tracing was already initialised: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let cases = [
            (Some("debug"), Some(LevelFilter::DEBUG)),
            (Some("WARN"), Some(LevelFilter::WARN)),
            (Some("shared=trace"), Some(LevelFilter::TRACE)),
            (Some("info,shared=error"), Some(LevelFilter::ERROR)),
            (Some("loud"), None),
            (None, None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_level(raw), want, "{raw:?}");
        }
    }
}
