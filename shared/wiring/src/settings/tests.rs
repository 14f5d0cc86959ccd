//! The reader, through maps: no test touches the process environment.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tiktok_publish_core::config::{ConfigError, NoClientSecret};
use tiktok_publish_core::tiktok::VideoSource;
use tiktok_publish_core::trigger::KeyEncoding;

use super::sections::{parse_margin, parse_per_window};
use super::{SecretSetting, Settings};

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_pairs(pairs.iter().copied())
}

fn missing_name(err: ConfigError) -> &'static str {
    match err {
        ConfigError::Missing { name } => name,
        other => panic!("expected Missing, got {other:?}"),
    }
}

fn invalid(err: ConfigError) -> (&'static str, String) {
    match err {
        ConfigError::Invalid { name, reason } => (name, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const TABLES: [(&str, &str); 4] = [
    ("ACCOUNTS_TABLE", "a"),
    ("POSTS_TABLE", "p"),
    ("OAUTH_TABLE", "o"),
    ("ALLOWANCES_TABLE", "l"),
];

#[test]
fn a_missing_required_variable_is_named() {
    for (absent, _) in TABLES {
        let rest: Vec<_> = TABLES
            .iter()
            .copied()
            .filter(|(n, _)| *n != absent)
            .collect();
        let err = settings(&rest).tables().unwrap_err();
        assert_eq!(missing_name(err), absent);
        assert!(
            settings(&rest)
                .tables()
                .unwrap_err()
                .to_string()
                .contains(absent)
        );
    }
    let tables = settings(&TABLES).tables().unwrap();
    assert_eq!(
        (tables.accounts.as_str(), tables.posts.as_str()),
        ("a", "p")
    );
    assert_eq!(
        missing_name(settings(&[]).video_bucket().unwrap_err()),
        "VIDEO_BUCKET"
    );
    assert_eq!(
        missing_name(settings(&[]).state_machine_arn().unwrap_err()),
        "STATE_MACHINE_ARN"
    );
    assert_eq!(
        missing_name(settings(&[]).connect().unwrap_err()),
        "PUBLIC_BASE_URL"
    );
    let secret = SecretString::from("s".to_owned());
    assert_eq!(
        missing_name(settings(&[]).webhook(secret).unwrap_err()),
        "TIKTOK_CLIENT_KEY"
    );
}

#[test]
fn blank_counts_as_unset() {
    let blank = settings(&[
        ("POSTS_TABLE", "  "),
        ("UPLOAD_PREFIX", ""),
        ("CHUNK_TARGET_SIZE", " "),
        ("EVENT_BUS_NAME", "\t"),
        ("STACK_NAME", ""),
    ]);
    assert_eq!(
        missing_name(blank.required("POSTS_TABLE").unwrap_err()),
        "POSTS_TABLE"
    );
    assert_eq!(blank.upload_prefix(), "uploads/");
    assert_eq!(blank.event_bus(), None);
    assert_eq!(blank.stack_name(), "local");
    assert_eq!(
        blank.pipeline().unwrap().chunk_policy.target_chunk_size(),
        64_000_000
    );
}

#[test]
fn an_invalid_number_names_the_variable_and_the_value() {
    let (name, reason) = invalid(
        settings(&[("UPLOAD_BUDGET_SECS", "ten")])
            .pipeline()
            .unwrap_err(),
    );
    assert_eq!(name, "UPLOAD_BUDGET_SECS");
    assert!(reason.contains("\"ten\""), "{reason}");
    let err = settings(&[("RECONNECT_WARN_DAYS", "-1")])
        .reconnect_warn_days()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("RECONNECT_WARN_DAYS") && text.contains("\"-1\""),
        "{text}"
    );
    let (name, _) = invalid(
        settings(&[("TOKEN_REFRESH_LEASE_SECS", "0")])
            .tokens()
            .unwrap_err(),
    );
    assert_eq!(name, "TOKEN_REFRESH_LEASE_SECS");
    assert_eq!(
        settings(&[
            (" 12 ", "x"),
            ("SWEEP_MAX_POSTS", " 12 "),
            ("VIDEO_BUCKET", "b")
        ])
        .sweep()
        .unwrap()
        .max_posts,
        12
    );
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let empty = settings(&[]);
    let pipeline = empty.pipeline().unwrap();
    assert_eq!(pipeline.chunk_policy.target_chunk_size(), 64_000_000);
    assert_eq!(pipeline.chunk_policy.max_video_size(), 4_000_000_000);
    assert_eq!(pipeline.upload_budget, Duration::from_secs(600));
    assert_eq!(pipeline.options_wait, Duration::from_secs(900));
    assert_eq!(pipeline.processing_deadline, Duration::from_secs(7200));
    let tokens = empty.tokens().unwrap();
    assert_eq!(tokens.refresh_margin, Duration::from_secs(300));
    assert_eq!(tokens.lease_duration, Duration::from_secs(60));
    let limits = empty.allowances().unwrap();
    assert_eq!(
        (
            limits.init_per_minute,
            limits.status_fetch_per_minute,
            limits.creator_info_per_minute
        ),
        (6, 30, 20)
    );
    assert_eq!(limits.margin, Duration::from_millis(2000));
    assert_eq!(empty.reconnect_warn_days().unwrap(), 14);
    assert_eq!(empty.upload_prefix(), "uploads/");
    assert_eq!(empty.stack_name(), "local");
    assert_eq!(empty.sealing_key(), None);
    assert!(!empty.s3_endpoint_overridden());
    assert!(matches!(empty.client_secret(), SecretSetting::Unset));
    let trigger = empty.trigger().unwrap();
    assert_eq!(
        (
            trigger.prefix.as_str(),
            trigger.bucket,
            trigger.key_encoding
        ),
        ("uploads/", None, KeyEncoding::Url)
    );
    let sweep = settings(&[("VIDEO_BUCKET", "b")]).sweep().unwrap();
    assert_eq!(sweep.orphan_after_secs, 30 * 60);
    assert_eq!(sweep.lookback_secs, 72 * 3600);
    assert_eq!(sweep.stuck_after_secs, 360 * 60);
    assert_eq!((sweep.max_objects, sweep.max_posts), (200, 1000));
    let webhook = settings(&[("TIKTOK_CLIENT_KEY", "k")])
        .webhook(SecretString::from("s".to_owned()))
        .unwrap();
    assert_eq!(webhook.max_age, Duration::from_secs(72 * 3600 + 10 * 60));
    assert_eq!(webhook.max_skew, Duration::from_secs(300));
    assert_eq!(webhook.post_search_limit, 200);
    let logging = empty.logging();
    assert_eq!((logging.filter, logging.json), (None, false));
}

#[test]
fn the_tiktok_hosts_default_and_must_be_urls() {
    let config = settings(&[("TIKTOK_CLIENT_KEY", "key")])
        .tiktok(Arc::new(NoClientSecret))
        .unwrap();
    assert_eq!(config.client_key, "key");
    assert_eq!(config.api_base_url, "https://open.tiktokapis.com");
    assert_eq!(config.auth_base_url, "https://www.tiktok.com");
    let config = settings(&[
        ("TIKTOK_CLIENT_KEY", "key"),
        ("TIKTOK_API_BASE_URL", "http://127.0.0.1:9000/"),
        ("TIKTOK_AUTH_BASE_URL", "http://127.0.0.1:9000"),
    ])
    .tiktok(Arc::new(NoClientSecret))
    .unwrap();
    assert_eq!(config.api_base_url, "http://127.0.0.1:9000");
    assert_eq!(config.auth_base_url, "http://127.0.0.1:9000");
    let (name, reason) = invalid(
        settings(&[
            ("TIKTOK_CLIENT_KEY", "key"),
            ("TIKTOK_AUTH_BASE_URL", "not a url"),
        ])
        .tiktok(Arc::new(NoClientSecret))
        .unwrap_err(),
    );
    assert_eq!(name, "TIKTOK_AUTH_BASE_URL");
    assert!(reason.contains("not a url"), "{reason}");
}

#[test]
fn connect_settings_read_the_base_url_redirect_and_lifetimes() {
    let connect = settings(&[("PUBLIC_BASE_URL", "https://api.example.com/")])
        .connect()
        .unwrap();
    assert_eq!(connect.public_base_url, "https://api.example.com");
    assert_eq!(
        connect.redirect_uri,
        "https://api.example.com/oauth/callback"
    );
    assert_eq!((connect.link_ttl_secs, connect.state_ttl_secs), (900, 600));
    let connect = settings(&[
        ("PUBLIC_BASE_URL", "https://api.example.com"),
        ("TIKTOK_REDIRECT_URI", "https://auth.example.com/cb"),
        ("CONNECT_LINK_TTL_SECS", "60"),
        ("OAUTH_STATE_TTL_SECS", "30"),
    ])
    .connect()
    .unwrap();
    assert_eq!(connect.redirect_uri, "https://auth.example.com/cb");
    assert_eq!((connect.link_ttl_secs, connect.state_ttl_secs), (60, 30));
    // A zero lifetime would make every link dead on arrival.
    let (name, _) = invalid(
        settings(&[
            ("PUBLIC_BASE_URL", "https://api.example.com"),
            ("CONNECT_LINK_TTL_SECS", "0"),
        ])
        .connect()
        .unwrap_err(),
    );
    assert_eq!(name, "CONNECT_LINK_TTL_SECS");
    for (base, uri, wrong) in [
        ("api.example.com", "", "PUBLIC_BASE_URL"),
        ("ftp://api.example.com", "", "PUBLIC_BASE_URL"),
        ("https://api.example.com", "/cb", "TIKTOK_REDIRECT_URI"),
    ] {
        let err = settings(&[("PUBLIC_BASE_URL", base), ("TIKTOK_REDIRECT_URI", uri)])
            .connect()
            .unwrap_err();
        assert_eq!(invalid(err).0, wrong, "{base} {uri}");
    }
}

#[test]
fn the_sweep_refuses_a_stuck_threshold_below_the_processing_deadline() {
    let base = [("VIDEO_BUCKET", "b"), ("UPLOAD_PREFIX", "in/")];
    let sweep = settings(&[base[0], base[1], ("STUCK_AFTER_MINUTES", "150")])
        .sweep()
        .unwrap();
    assert_eq!(sweep.stuck_after_secs, 150 * 60);
    assert_eq!((sweep.bucket.as_str(), sweep.prefix.as_str()), ("b", "in/"));
    let (name, reason) = invalid(
        settings(&[base[0], ("STUCK_AFTER_MINUTES", "149")])
            .sweep()
            .unwrap_err(),
    );
    assert_eq!(name, "STUCK_AFTER_MINUTES");
    assert!(reason.contains("149"), "{reason}");
    let (name, _) = invalid(
        settings(&[base[0], ("SWEEP_LOOKBACK_HOURS", &u64::MAX.to_string())])
            .sweep()
            .unwrap_err(),
    );
    assert_eq!(name, "SWEEP_LOOKBACK_HOURS");
}

#[test]
fn the_trigger_reads_its_key_encoding() {
    let read = |value: &str| settings(&[("S3_EVENT_KEY_ENCODING", value)]).key_encoding();
    assert_eq!(read("raw").unwrap(), KeyEncoding::Raw);
    assert_eq!(read(" url ").unwrap(), KeyEncoding::Url);
    assert_eq!(read("").unwrap(), KeyEncoding::Url);
    let (name, reason) = invalid(read("base64").unwrap_err());
    assert_eq!(name, "S3_EVENT_KEY_ENCODING");
    assert!(reason.contains("base64"), "{reason}");
    let trigger = settings(&[("VIDEO_BUCKET", "b"), ("S3_EVENT_KEY_ENCODING", "raw")])
        .trigger()
        .unwrap();
    assert_eq!(trigger.bucket.as_deref(), Some("b"));
}

#[test]
fn the_webhook_age_bound_is_read_and_never_zero() {
    let read = |age: &str| {
        settings(&[("TIKTOK_CLIENT_KEY", "k"), ("WEBHOOK_MAX_AGE_SECS", age)])
            .webhook(SecretString::from("s".to_owned()))
    };
    let webhook = read("3600").unwrap();
    assert_eq!(webhook.max_age, Duration::from_secs(3600));
    assert_eq!(webhook.max_skew, Duration::from_secs(300));
    assert_eq!(invalid(read("0").unwrap_err()).0, "WEBHOOK_MAX_AGE_SECS");
}

#[test]
fn the_webhook_refuses_a_zero_search_limit() {
    let secret = || SecretString::from("s".to_owned());
    let read = |limit: &str| {
        settings(&[
            ("TIKTOK_CLIENT_KEY", "k"),
            ("WEBHOOK_POST_SEARCH_LIMIT", limit),
            ("WEBHOOK_MAX_SKEW_SECS", "60"),
        ])
        .webhook(secret())
    };
    let webhook = read("10").unwrap();
    assert_eq!(webhook.post_search_limit, 10);
    assert_eq!(webhook.max_skew, Duration::from_secs(60));
    assert_eq!(
        invalid(read("0").unwrap_err()).0,
        "WEBHOOK_POST_SEARCH_LIMIT"
    );
    assert_eq!(
        invalid(read("4294967296").unwrap_err()).0,
        "WEBHOOK_POST_SEARCH_LIMIT"
    );
}

#[test]
fn the_client_secret_is_given_or_named_by_its_arn() {
    let given = settings(&[
        ("TIKTOK_CLIENT_SECRET", "shh"),
        ("TIKTOK_CLIENT_SECRET_ARN", "arn:x"),
    ]);
    match given.client_secret() {
        SecretSetting::Given(secret) => assert_eq!(secret.expose_secret(), "shh"),
        other => panic!("{other:?}"),
    }
    let arn = settings(&[
        ("TIKTOK_CLIENT_SECRET", " "),
        ("TIKTOK_CLIENT_SECRET_ARN", "arn:x"),
    ]);
    assert!(matches!(arn.client_secret(), SecretSetting::Arn(a) if a == "arn:x"));
    // Settings never print their values.
    assert_eq!(format!("{given:?}"), "Settings { .. }");
}

#[test]
fn logging_prefers_lambdas_level_and_reads_the_format() {
    let logging = settings(&[
        ("AWS_LAMBDA_LOG_LEVEL", "debug"),
        ("RUST_LOG", "warn"),
        ("AWS_LAMBDA_LOG_FORMAT", "json"),
    ])
    .logging();
    assert_eq!(logging.filter.as_deref(), Some("debug"));
    assert!(logging.json);
    let logging = settings(&[("RUST_LOG", "warn"), ("AWS_LAMBDA_LOG_FORMAT", "Text")]).logging();
    assert_eq!(logging.filter.as_deref(), Some("warn"));
    assert!(!logging.json);
}

#[test]
fn s3s_own_endpoint_is_noticed() {
    assert!(settings(&[("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000")]).s3_endpoint_overridden());
}

// Moved from the domain's allowance module (its `from_settings` is read here now).
#[test]
fn settings_refuse_a_zero_limit_and_a_margin_in_seconds() {
    let raw = |v: &str| Some(v.to_owned());
    assert!(parse_per_window("N", raw("0"), 6).is_err());
    assert!(parse_per_window("N", raw("1001"), 6).is_err());
    assert!(parse_per_window("N", raw("six"), 6).is_err());
    assert_eq!(parse_per_window("N", raw(" 10 "), 6).unwrap(), 10);
    assert_eq!(parse_per_window("N", None, 6).unwrap(), 6);
    assert!(parse_margin("M", raw("120000"), Duration::ZERO).is_err());
    assert_eq!(
        parse_margin("M", raw("500"), Duration::ZERO).unwrap(),
        Duration::from_millis(500)
    );
    assert_eq!(
        parse_margin("M", None, Duration::from_secs(2)).unwrap(),
        Duration::from_secs(2)
    );
}

#[test]
fn allowance_limits_name_the_variable() {
    let (name, reason) = invalid(
        settings(&[("TIKTOK_STATUS_PER_MINUTE", "0")])
            .allowances()
            .unwrap_err(),
    );
    assert_eq!(name, "TIKTOK_STATUS_PER_MINUTE");
    assert!(reason.contains("\"0\""), "{reason}");
    let limits = settings(&[
        ("TIKTOK_INIT_PER_MINUTE", "3"),
        ("TIKTOK_ALLOWANCE_MARGIN_MS", "0"),
    ])
    .allowances()
    .unwrap();
    assert_eq!((limits.init_per_minute, limits.margin), (3, Duration::ZERO));
}

#[test]
fn the_front_door_needs_its_key_and_pulls_by_default() {
    assert!(settings(&[]).front_door().unwrap().is_none());
    let without_key = settings(&[("FRONT_DOOR_HOST", "tiktok.example.com")]);
    assert_eq!(
        missing_name(without_key.front_door().unwrap_err()),
        "MEDIA_SIGNING_KEY_ARN"
    );
    let deployed = settings(&[
        ("FRONT_DOOR_HOST", "tiktok.example.com"),
        (
            "MEDIA_SIGNING_KEY_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:k",
        ),
    ])
    .front_door()
    .unwrap()
    .expect("a front door");
    assert_eq!(deployed.host, "tiktok.example.com");
    assert_eq!(deployed.default_source, VideoSource::PullFromUrl);
    assert!(matches!(deployed.key, SecretSetting::Arn(ref arn) if arn.ends_with(":k")));

    let local = settings(&[
        ("FRONT_DOOR_HOST", "media.tiktok-publish.test:8443"),
        ("MEDIA_SIGNING_KEY", "local-key"),
        ("VIDEO_SOURCE_DEFAULT", "FILE_UPLOAD"),
    ])
    .front_door()
    .unwrap()
    .expect("a front door");
    assert_eq!(local.default_source, VideoSource::FileUpload);
    assert!(
        matches!(local.key, SecretSetting::Given(ref key) if key.expose_secret() == "local-key")
    );

    let (name, reason) = invalid(
        settings(&[
            ("FRONT_DOOR_HOST", "tiktok.example.com"),
            ("MEDIA_SIGNING_KEY", "k"),
            ("VIDEO_SOURCE_DEFAULT", "pull"),
        ])
        .front_door()
        .unwrap_err(),
    );
    assert_eq!(name, "VIDEO_SOURCE_DEFAULT");
    assert!(reason.contains("\"pull\""), "{reason}");
}
