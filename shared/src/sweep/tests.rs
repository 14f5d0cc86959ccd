//! Unit tests of `sweep`.

use serde_json::json;

use super::*;

fn refused(payload: Value) -> String {
    match SweepOverrides::from_payload(&payload) {
        Err(SweepError::InvalidRequest(why)) => why,
        other => panic!("{payload} refused, got {other:?}"),
    }
}

#[test]
fn scheduled_events_and_empty_payloads_keep_the_settings() {
    let scheduled = json!({
        "version": "0",
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": {}
    });
    for payload in [
        scheduled,
        json!({}),
        Value::Null,
        json!({"orphan_after_minutes": null}),
    ] {
        let overrides = SweepOverrides::from_payload(&payload).unwrap();
        assert_eq!(overrides, SweepOverrides::default(), "{payload}");
        let settings = SweepSettings::new("b");
        let kept = settings.overridden(overrides).unwrap();
        assert_eq!(kept.orphan_after_secs, settings.orphan_after_secs);
        assert_eq!(kept.stuck_after_secs, settings.stuck_after_secs);
    }
}

#[test]
fn overrides_apply_in_minutes_to_that_run() {
    let overrides = SweepOverrides::from_payload(&json!({
        "orphan_after_minutes": 0,
        "stuck_after_minutes": 180
    }))
    .unwrap();
    let settings = SweepSettings::new("b").overridden(overrides).unwrap();
    assert_eq!(settings.orphan_after_secs, 0);
    assert_eq!(settings.stuck_after_secs, 180 * 60);
    assert_eq!(
        settings.lookback_secs,
        SweepSettings::new("b").lookback_secs
    );
}

#[test]
fn bad_overrides_are_refused_naming_the_field_and_the_range() {
    for (payload, says) in [
        (json!({"orphan_after_minutes": -5}), "orphan_after_minutes"),
        (json!({"orphan_after_minutes": "0"}), "orphan_after_minutes"),
        (json!({"orphan_after_minutes": 2.5}), "whole number"),
        (json!({"stuck_after_minutes": 30}), "from 150"),
        (
            json!({"stuck_after_minutes": MAX_OVERRIDE_MINUTES + 1}),
            "stuck_after_minutes",
        ),
        (json!("sweep"), "a JSON object, got a string"),
    ] {
        let why = refused(payload.clone());
        assert!(why.contains(says), "{payload}: {why}");
    }
    let beyond_lookback = SweepOverrides {
        orphan_after_minutes: Some(72 * 60),
        stuck_after_minutes: None,
    };
    let error = SweepSettings::new("b")
        .overridden(beyond_lookback)
        .unwrap_err();
    assert!(
        error.to_string().contains("SWEEP_LOOKBACK_HOURS"),
        "{error}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, INVALID_SWEEP_REQUEST);
}
