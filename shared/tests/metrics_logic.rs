//! The metrics emitter (`metrics::Metrics`) writing into the in-memory metric lines: one
//! line per post's end, nothing that names the video or its caption.

use std::sync::Arc;

use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::metrics::{MetricName, Metrics};
use tiktok_publish_core::store::{PostRecord, PostSource, PostState};
use tiktok_publish_memory::MemoryLines;

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
fn the_emitter_writes_one_line_per_end_with_no_key_or_caption() {
    let lines = Arc::new(MemoryLines::new());
    let metrics = Metrics::new("test-stack", lines.clone());
    let before = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    metrics.post_ended(&post(PostState::Failed, 10, 20));
    metrics.post_ended(&post(PostState::Cancelled, 10, 20));
    metrics.bytes_uploaded(0);
    metrics.bytes_uploaded(1_024);

    let written = lines.lines();
    assert_eq!(written.len(), 2, "{written:?}");
    let failed: serde_json::Value = serde_json::from_str(&written[0]).unwrap();
    assert_eq!(failed["PostsFailed"], 1);
    assert_eq!(failed["Stack"], "test-stack");
    let stamp = failed["_aws"]["Timestamp"].as_u64().unwrap();
    assert!(
        stamp / 1_000 >= before && stamp / 1_000 <= before + 60,
        "{stamp}"
    );
    assert_eq!(lines.total(MetricName::BytesUploaded), 1_024);
    for line in &written {
        assert!(
            !line.contains("uploads/") && !line.contains("caption"),
            "{line}"
        );
        assert!(!line.contains("open-1"), "{line}");
    }
}
