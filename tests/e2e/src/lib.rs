//! Harness of the end-to-end suite (tests/e2e.rs): talks to a running local stack.
