//! A setting that is missing or malformed (settings are read at the edge, in the wiring).

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the setting {name} is required but not set")]
    Missing { name: &'static str },
    #[error("the setting {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}
