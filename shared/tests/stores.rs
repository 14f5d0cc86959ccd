//! Owned by its engineer.
