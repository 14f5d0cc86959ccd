//! The options manifest beside an uploaded video (`clip.mp4.json`), read as the S3 trigger
//! reads it (`Intake::read_manifest`) and parsed as the core parses it (`parse_options_json`).
//!
//! Beyond "no panic": a refusal names a field and a rule; accepted options keep TikTok's
//! rules (caption length, privacy level for direct posts, nothing set on drafts, schedule
//! bounds), survive the JSON the post store keeps them as, and written back as a manifest
//! parse to the same options.
#![no_main]

use std::sync::Arc;

use fuzz_support::{BUCKET, CountingExecutions, MemorySource, NOW, runtime};
use libfuzzer_sys::fuzz_target;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::intake::{Intake, MAX_MANIFEST_BYTES};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::options::{MAX_SCHEDULE_AHEAD_SECS, parse_options_json};
use tiktok_publish_core::store::PostOptions;
use tiktok_publish_core::tiktok::{MAX_TITLE_UTF16, PostMode, utf16_len};
use tiktok_publish_memory::MemoryPostStore;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const MANIFEST_KEY: &str = "uploads/acct/clip.mp4.json";

fuzz_target!(|data: &[u8]| {
    let parsed = parse_options_json(data, NOW);
    match &parsed {
        Err(err) => {
            assert!(
                !err.field.is_empty(),
                "a refusal must name its field: {err:?}"
            );
            assert!(!err.rule.is_empty(), "a refusal must say the rule: {err:?}");
        }
        Ok(options) => check_accepted(options),
    }

    // The trigger's path: HeadObject, the size cap, the ranged read, then the same parser.
    let source = Arc::new(MemorySource::new());
    source.put(MANIFEST_KEY, data, data.len() as u64);
    let intake = Intake {
        posts: Arc::new(MemoryPostStore::new()),
        ends: PostEnds::silent(),
        source: source.clone(),
        executions: Arc::new(CountingExecutions::default()),
    };
    let location = VideoLocation {
        bucket: BUCKET.to_owned(),
        key: MANIFEST_KEY.to_owned(),
        version_id: None,
    };
    let before = tiktok_publish_core::store::unix_now();
    let read = runtime()
        .block_on(intake.read_manifest(&location))
        .expect("an in-memory manifest is always readable");
    let after = tiktok_publish_core::store::unix_now();
    let Some(read) = read else {
        panic!("a manifest that exists must be read");
    };
    assert!(source.bad_reads().is_empty(), "{:?}", source.bad_reads());
    if data.len() as u64 > MAX_MANIFEST_BYTES {
        let err = read.expect_err("an oversized manifest must be refused");
        assert_eq!(err.field, "manifest");
    } else {
        // read_manifest uses the clock: compare only when the clock cannot change the answer.
        let at_before = parse_options_json(data, before);
        let at_after = parse_options_json(data, after);
        if at_before == at_after {
            assert_eq!(
                read, at_before,
                "the trigger must parse a manifest as the core does"
            );
        }
    }
});

fn check_accepted(options: &PostOptions) {
    let title_len = utf16_len(&options.title);
    assert!(
        title_len <= MAX_TITLE_UTF16,
        "accepted a {title_len}-unit title"
    );
    match options.mode {
        PostMode::DirectPost => {
            assert!(
                options.privacy_level.is_some(),
                "a direct post without privacy level"
            );
        }
        PostMode::Draft => {
            assert!(options.title.is_empty() && options.privacy_level.is_none());
            assert!(!options.brand_content_toggle && !options.brand_organic_toggle);
            assert!(!options.is_aigc);
        }
    }
    if let Some(at) = options.publish_at {
        assert!(
            at - NOW <= MAX_SCHEDULE_AHEAD_SECS,
            "scheduled too far ahead: {at}"
        );
    }

    // The post store keeps options as JSON.
    let stored = serde_json::to_vec(options).expect("options serialise");
    let back: PostOptions = serde_json::from_slice(&stored).expect("stored options read back");
    assert_eq!(
        &back, options,
        "options changed through the post store's JSON"
    );

    // The accepted value, written as a manifest again, is accepted as the same value.
    let Some(rewritten) = manifest_of(options) else {
        return;
    };
    let again = parse_options_json(rewritten.to_string().as_bytes(), NOW)
        .unwrap_or_else(|err| panic!("rewritten manifest {rewritten} refused: {err}"));
    assert_eq!(&again, options, "manifest {rewritten} parsed differently");
}

/// The manifest a user would write for `options` (only what they set); `None` when its
/// `publish_at` has no UTC RFC 3339 form (`0000-01-01T00:00:00+01:00` is in year -1 UTC:
/// accepted, rightly, as a time in the past).
fn manifest_of(options: &PostOptions) -> Option<serde_json::Value> {
    let mut manifest = serde_json::Map::new();
    let mut put = |name: &str, value: serde_json::Value| {
        manifest.insert(name.to_owned(), value);
    };
    match options.mode {
        PostMode::DirectPost => put("mode", "direct_post".into()),
        PostMode::Draft => put("mode", "draft".into()),
    }
    if !options.title.is_empty() {
        put("title", options.title.clone().into());
    }
    if let Some(level) = options.privacy_level {
        put("privacy_level", level.as_str().into());
    }
    for (name, value) in [
        ("disable_duet", options.disable_duet),
        ("disable_comment", options.disable_comment),
        ("disable_stitch", options.disable_stitch),
    ] {
        if let Some(value) = value {
            put(name, value.into());
        }
    }
    if let Some(ms) = options.video_cover_timestamp_ms {
        put("video_cover_timestamp_ms", ms.into());
    }
    for (name, value) in [
        ("brand_content_toggle", options.brand_content_toggle),
        ("brand_organic_toggle", options.brand_organic_toggle),
        ("is_aigc", options.is_aigc),
    ] {
        if value {
            put(name, value.into());
        }
    }
    if let Some(at) = options.publish_at {
        let utc = OffsetDateTime::from_unix_timestamp(at)
            .unwrap_or_else(|_| panic!("accepted publish_at {at} is no point in time"));
        let Ok(text) = utc.format(&Rfc3339) else {
            assert!(
                at < 0,
                "accepted publish_at {at} cannot be written as RFC 3339"
            );
            return None;
        };
        put("publish_at", text.into());
    }
    Some(serde_json::Value::Object(manifest))
}
