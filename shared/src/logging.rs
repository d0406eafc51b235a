//! Tracing set-up, once per process: JSON lines when the Lambda runtime asks
//! for them (`AWS_LAMBDA_LOG_FORMAT=JSON`), plain text otherwise. The level
//! comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

static INIT: Once = Once::new();

pub fn init_tracing() {
    INIT.call_once(|| {
        let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .unwrap_or_else(|_| "info".into())
            .to_lowercase();
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
        let json =
            std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
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
