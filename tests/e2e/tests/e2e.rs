//! The end-to-end suite; run under `scripts/local-stack run`.
