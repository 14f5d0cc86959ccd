//! Drives headless Chromium for the browser tests (tests/browser.rs).
