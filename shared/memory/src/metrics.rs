//! [`MetricLines`] in memory: the metric lines (EMF documents) written, kept in order.

use std::sync::Mutex;

use tiktok_publish_core::metrics::{MetricLines, MetricName};

/// Lines kept in memory, for tests of code that emits metrics.
#[derive(Debug, Default)]
pub struct MemoryLines {
    lines: Mutex<Vec<String>>,
}

impl MemoryLines {
    pub fn new() -> Self {
        MemoryLines::default()
    }

    /// Every line written so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Every line written so far, parsed.
    pub fn parsed(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The sum of `name`'s values over every line written so far.
    pub fn total(&self, name: MetricName) -> u64 {
        self.parsed()
            .iter()
            .filter_map(|line| line.get(name.as_str()).and_then(serde_json::Value::as_u64))
            .sum()
    }
}

impl MetricLines for MemoryLines {
    fn write_line(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line.to_owned());
    }
}
