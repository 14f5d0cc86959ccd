//! The functions' logging: tracing to stdout, JSON when Lambda asks for it
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`, which the template sets), at the level of
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default `info`).
//!
//! At TRACE some libraries log what they carry: the Lambda runtime logs each incoming event
//! whole (an OAuth callback's code and state, a request's signed headers), and the HTTP and
//! AWS SDK layers log raw requests and responses. Those targets are held at DEBUG whatever the
//! filter says, so even the most verbose logs never hold a token, a code, the client secret or
//! an upload URL (`tests/e2e/tests/leaks.rs` runs the stack at TRACE and checks).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, LevelFilter};

use crate::settings::{LogSettings, Settings};

/// Targets that log payloads or headers at TRACE.
const PAYLOAD_LOGGING_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// The filter: the configured directives, then every payload-logging target capped at DEBUG.
pub fn log_filter(configured: Option<&str>) -> EnvFilter {
    let mut filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(configured.unwrap_or("info"));
    for target in PAYLOAD_LOGGING_TARGETS {
        if let Ok(directive) = format!("{target}=debug").parse::<Directive>() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber (once, at cold start), as the environment says
/// ([`Settings::logging`]).
pub fn init_logging() {
    init_logging_with(&Settings::from_env().logging());
}

/// Installs the global subscriber with these settings.
pub fn init_logging_with(settings: &LogSettings) {
    let json = settings.json;
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(log_filter(settings.filter.as_deref()));
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing::subscriber::with_default;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn trace_everywhere_still_keeps_payload_logging_targets_at_debug() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(Some("trace")))
            .with_writer(captured.clone())
            .finish();
        with_default(subscriber, || {
            tracing::event!(target: "lambda_runtime::layers::api_response", Level::TRACE, "event body SECRET-A");
            tracing::event!(target: "aws_smithy_runtime::client::orchestrator", Level::TRACE, "response body SECRET-B");
            tracing::event!(target: "lambda_runtime::runtime", Level::DEBUG, "polling");
            tracing::event!(target: "tiktok_publish_core::pipeline", Level::TRACE, "our own trace");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("SECRET-A"), "{text}");
        assert!(!text.contains("SECRET-B"), "{text}");
        assert!(text.contains("polling"), "{text}");
        assert!(text.contains("our own trace"), "{text}");
    }

    #[test]
    fn the_default_is_info() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(None))
            .with_writer(captured.clone())
            .finish();
        with_default(subscriber, || {
            tracing::info!("shown");
            tracing::debug!("hidden");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("shown") && !text.contains("hidden"), "{text}");
    }
}
