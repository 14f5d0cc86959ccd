//! Connecting an account in a real browser; run under `scripts/local-stack run`.
