//! Metrics in CloudWatch's embedded metric format (EMF): one JSON line printed to stdout,
//! which CloudWatch Logs turns into metrics when a Lambda's log group receives it. No API
//! call and no client: the hot path only pays for formatting a line.
//!
//! The format is a small serde struct here rather than a crate: the crates that write EMF
//! in Rust sit behind the `metrics` facade's global recorder, which tests cannot swap per
//! test and which would add a dependency tree for a dozen lines of JSON.
//!
//! A line (see the [specification]) is an object whose `_aws` member says which of its
//! other members are metrics, in which namespace, under which dimensions:
//!
//! ```json
//! {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"TikTokPublish",
//!  "Dimensions":[["Stack"]],"Metrics":[{"Name":"PostsPublished","Unit":"Count"}]}]},
//!  "Stack":"prod","PostsPublished":1}
//! ```
//!
//! The line carries only the stack's name and numbers: never a token, URL, caption or key.
//! It is written to stdout directly, not through `tracing`: the JSON log formatter would
//! nest it under `fields`, and the EMF parser needs `_aws` at the top level.
//!
//! [specification]: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::store::{PostRecord, PostState};

/// The CloudWatch namespace of every metric the system emits.
pub const NAMESPACE: &str = "TikTokPublish";
/// The one dimension: the stack's name (`STACK_NAME`), so two stacks in one account stay apart.
pub const STACK_DIMENSION: &str = "Stack";
/// The `Stack` value when `STACK_NAME` is unset (local runs).
pub const LOCAL_STACK: &str = "local";

/// The metrics (names and units are the contract the template's dashboard reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricName {
    /// A post that ended PUBLISHED or SENT_TO_INBOX.
    PostsPublished,
    /// A post that ended FAILED.
    PostsFailed,
    /// A post that ended REFUSED.
    PostsRefused,
    /// Bytes of chunks TikTok accepted.
    BytesUploaded,
    /// For a published (or inboxed) post: seconds from the post's creation to its end.
    DropToLiveSeconds,
}

impl MetricName {
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricName::PostsPublished => "PostsPublished",
            MetricName::PostsFailed => "PostsFailed",
            MetricName::PostsRefused => "PostsRefused",
            MetricName::BytesUploaded => "BytesUploaded",
            MetricName::DropToLiveSeconds => "DropToLiveSeconds",
        }
    }

    /// The CloudWatch unit of the metric.
    pub const fn unit(self) -> &'static str {
        match self {
            MetricName::PostsPublished | MetricName::PostsFailed | MetricName::PostsRefused => {
                "Count"
            }
            MetricName::BytesUploaded => "Bytes",
            MetricName::DropToLiveSeconds => "Seconds",
        }
    }
}

/// One value of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: MetricName,
    pub value: u64,
}

/// The metrics of a post that has just ended: its count, and for a published post the
/// time from drop to live (`updated_at` of the record the winning write returned minus
/// `created_at`). A cancelled post counts in none (the contract names no metric for it).
pub fn post_ended_metrics(post: &PostRecord) -> Vec<Metric> {
    let count = |name| Metric { name, value: 1 };
    match post.state {
        PostState::Published | PostState::SentToInbox => vec![
            count(MetricName::PostsPublished),
            Metric {
                name: MetricName::DropToLiveSeconds,
                // A clock step back between two Lambdas must not wrap to a huge number.
                value: u64::try_from(post.updated_at.saturating_sub(post.created_at)).unwrap_or(0),
            },
        ],
        PostState::Failed => vec![count(MetricName::PostsFailed)],
        PostState::Refused => vec![count(MetricName::PostsRefused)],
        PostState::Cancelled
        | PostState::Received
        | PostState::AwaitingOptions
        | PostState::Queued
        | PostState::Uploading
        | PostState::Processing => Vec::new(),
    }
}

/// The bytes of the chunk whose acceptance made the upload's progress `chunks_done` chunks,
/// `bytes_done` bytes (what [`crate::store::PostStore::record_chunk_done`] is given).
///
/// The store keeps only the running totals, so the chunk's own size is derived from the
/// plan's shape ([`crate::tiktok::ChunkPlan::new`]): every chunk but the last holds
/// `chunk_size` bytes and the last holds `chunk_size + r` with `r < chunk count`. After
/// `n` chunks the total is `n * chunk_size (+ r)`, so `total / n == chunk_size` either way
/// and the chunk just accepted is `total - (n - 1) * chunk_size`. Summed over an upload
/// this is the video's size (tested against every plan shape below).
pub fn chunk_bytes(chunks_done: u64, bytes_done: u64) -> u64 {
    if chunks_done == 0 {
        return 0;
    }
    let chunk_size = bytes_done / chunks_done;
    bytes_done - (chunks_done - 1) * chunk_size
}

/// Where metric lines go: stdout in a Lambda, memory in tests.
pub trait MetricLines: Send + Sync + std::fmt::Debug {
    /// Writes one complete EMF line (no newline in it).
    fn write_line(&self, line: &str);
}

/// Stdout, one line per write: what CloudWatch Logs reads from a Lambda.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutLines;

impl MetricLines for StdoutLines {
    fn write_line(&self, line: &str) {
        // One write of the whole line under the lock, so a log line cannot land inside it.
        // A closed stdout must not fail (or panic, as `println!` would) the write it follows.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// Lines dropped: for code built without metrics (tests of other things).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetricLines;

impl MetricLines for NoMetricLines {
    fn write_line(&self, _: &str) {}
}

/// The emitter: the stack's name and where lines go.
#[derive(Debug, Clone)]
pub struct Metrics {
    stack: Arc<str>,
    lines: Arc<dyn MetricLines>,
}

impl Metrics {
    pub fn new(stack: impl Into<Arc<str>>, lines: Arc<dyn MetricLines>) -> Metrics {
        Metrics {
            stack: stack.into(),
            lines,
        }
    }

    /// An emitter that writes nothing.
    pub fn none() -> Metrics {
        Metrics::new(LOCAL_STACK, Arc::new(NoMetricLines))
    }

    /// Emits `metrics` as one line stamped now; nothing for an empty list.
    pub fn emit(&self, metrics: &[Metric]) {
        if metrics.is_empty() {
            return;
        }
        let now_ms =
            u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(0);
        match emf_line(&self.stack, metrics, now_ms) {
            Ok(line) => self.lines.write_line(&line),
            // Only names and numbers go in: this cannot fail, but a metric never fails a write.
            Err(err) => tracing::warn!(error = %err, "could not format the metric line"),
        }
    }

    /// The metrics of a post that has just ended (see [`post_ended_metrics`]).
    pub fn post_ended(&self, post: &PostRecord) {
        self.emit(&post_ended_metrics(post));
    }

    /// `BytesUploaded` for a chunk TikTok accepted.
    pub fn bytes_uploaded(&self, bytes: u64) {
        if bytes > 0 {
            self.emit(&[Metric {
                name: MetricName::BytesUploaded,
                value: bytes,
            }]);
        }
    }
}

#[derive(Serialize)]
struct EmfLine<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata<'a>,
    #[serde(rename = "Stack")]
    stack: &'a str,
    /// The metric values, as members of the root (the directive names them).
    #[serde(flatten)]
    values: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    /// Milliseconds since the Unix epoch.
    timestamp: u64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'static str,
    dimensions: [[&'static str; 1]; 1],
    metrics: Vec<MetricDefinition<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDefinition<'a> {
    name: &'a str,
    unit: &'static str,
}

/// One EMF line holding `metrics` for `stack` at `timestamp_ms`. A metric named twice is
/// summed into one value (a member of the root can hold one number).
pub fn emf_line(
    stack: &str,
    metrics: &[Metric],
    timestamp_ms: u64,
) -> Result<String, serde_json::Error> {
    let mut values: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut definitions = Vec::new();
    for metric in metrics {
        let name = metric.name.as_str();
        let value = values.entry(name).or_insert_with(|| {
            definitions.push(MetricDefinition {
                name,
                unit: metric.name.unit(),
            });
            0
        });
        *value = value.saturating_add(metric.value);
    }
    serde_json::to_string(&EmfLine {
        aws: Metadata {
            timestamp: timestamp_ms,
            cloud_watch_metrics: [Directive {
                namespace: NAMESPACE,
                dimensions: [[STACK_DIMENSION]],
                metrics: definitions,
            }],
        },
        stack,
        values,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::media::VideoLocation;
    use crate::store::PostSource;
    use crate::tiktok::chunk_plan::MIN_CHUNK_SIZE;
    use crate::tiktok::{ChunkPlan, ChunkPolicy};

    fn post(state: PostState, created_at: i64, updated_at: i64) -> PostRecord {
        let mut post = PostRecord::new(
            "open-1",
            PostSource::at(VideoLocation {
                bucket: "videos".into(),
                key: "uploads/open-1/caption in the name.mp4".into(),
                version_id: Some("v1".into()),
            }),
            None,
            state,
            created_at,
        );
        post.updated_at = updated_at;
        post
    }

    #[test]
    fn a_line_is_the_emf_document_with_the_stack_dimension() {
        let line = emf_line(
            "prod-stack",
            &[
                Metric {
                    name: MetricName::PostsPublished,
                    value: 1,
                },
                Metric {
                    name: MetricName::DropToLiveSeconds,
                    value: 42,
                },
            ],
            1_700_000_000_123,
        )
        .unwrap();
        assert!(!line.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_123_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "TikTokPublish",
                        "Dimensions": [["Stack"]],
                        "Metrics": [
                            {"Name": "PostsPublished", "Unit": "Count"},
                            {"Name": "DropToLiveSeconds", "Unit": "Seconds"}
                        ]
                    }]
                },
                "Stack": "prod-stack",
                "PostsPublished": 1,
                "DropToLiveSeconds": 42
            })
        );
    }

    #[test]
    fn a_metric_named_twice_is_one_definition_and_the_sum() {
        let bytes = |value| Metric {
            name: MetricName::BytesUploaded,
            value,
        };
        let line = emf_line("s", &[bytes(5), bytes(7)], 1).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "BytesUploaded", "Unit": "Bytes"}])
        );
        assert_eq!(parsed["BytesUploaded"], 12);
    }

    #[test]
    fn each_final_state_gives_its_metrics() {
        let names = |state| {
            post_ended_metrics(&post(state, 1_000, 1_090))
                .into_iter()
                .map(|m| (m.name, m.value))
                .collect::<Vec<_>>()
        };
        let published = vec![
            (MetricName::PostsPublished, 1),
            (MetricName::DropToLiveSeconds, 90),
        ];
        assert_eq!(names(PostState::Published), published);
        assert_eq!(names(PostState::SentToInbox), published);
        assert_eq!(names(PostState::Failed), vec![(MetricName::PostsFailed, 1)]);
        assert_eq!(
            names(PostState::Refused),
            vec![(MetricName::PostsRefused, 1)]
        );
        assert_eq!(names(PostState::Cancelled), vec![]);
        assert_eq!(names(PostState::Processing), vec![]);
        // A clock that stepped back gives 0, not a wrapped number.
        let skewed = post_ended_metrics(&post(PostState::Published, 2_000, 1_990));
        assert_eq!(skewed[1].value, 0);
    }

    #[test]
    fn chunk_bytes_sum_to_the_video_for_every_plan_shape() {
        let sizes = [
            1,
            MIN_CHUNK_SIZE - 1,
            2 * MIN_CHUNK_SIZE - 1,
            2 * MIN_CHUNK_SIZE,
            2 * MIN_CHUNK_SIZE + 1,
            64_000_000,
            64_000_001,
            200_000_007,
            1_000_000_999,
            3_999_999_999,
        ];
        let targets = [MIN_CHUNK_SIZE, 10_000_000, 64_000_000];
        for size in sizes {
            for target in targets {
                let policy = ChunkPolicy::new(target, 4_000_000_000).unwrap();
                let plan = ChunkPlan::new(size, &policy).unwrap();
                let mut done = 0;
                for chunk in plan.chunks() {
                    done += chunk.len();
                    assert_eq!(
                        chunk_bytes(chunk.index + 1, done),
                        chunk.len(),
                        "size {size}, target {target}, {chunk}"
                    );
                }
                assert_eq!(done, size);
            }
        }
        assert_eq!(chunk_bytes(0, 0), 0);
    }
}
