//! Verifying deliveries, on in-memory stores: signatures, replays, malformed and foreign events.

use super::*;

#[tokio::test]
async fn a_well_signed_event_is_recorded() {
    let body = complete_body();
    let (result, recorded) = deliver(our_signature(NOW - 3, &body), &body).await;
    assert!(
        matches!(result, Ok(WebhookOutcome::Recorded { .. })),
        "{result:?}"
    );
    assert!(recorded);
}

#[tokio::test]
async fn an_unsigned_event_is_refused() {
    let body = complete_body();
    let (result, recorded) = deliver(None, &body).await;
    assert!(matches!(result, Err(WebhookError::Unsigned)), "{result:?}");
    assert_eq!(result.unwrap_err().http_status(), 401);
    assert!(!recorded);
    let (result, _) = deliver(Some("  ".into()), &body).await;
    assert!(matches!(result, Err(WebhookError::Unsigned)), "{result:?}");
}

#[tokio::test]
async fn a_badly_signed_event_is_refused() {
    let body = complete_body();
    // Another secret.
    let forged = sign(&SecretString::from("guess".to_owned()), NOW, &body);
    let (result, recorded) = deliver(Some(forged), &body).await;
    assert!(
        matches!(result, Err(WebhookError::BadSignature)),
        "{result:?}"
    );
    assert!(!recorded);
    // Our signature over another body (one byte changed).
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let (result, recorded) = deliver(our_signature(NOW, &body), &tampered).await;
    assert!(
        matches!(result, Err(WebhookError::BadSignature)),
        "{result:?}"
    );
    assert!(!recorded);
    // Our signature moved to another time stamp.
    let moved = our_signature(NOW, &body)
        .unwrap()
        .replace(&format!("t={NOW}"), &format!("t={}", NOW - 1));
    let (result, recorded) = deliver(Some(moved), &body).await;
    assert!(
        matches!(result, Err(WebhookError::BadSignature)),
        "{result:?}"
    );
    assert!(!recorded);
    // A header that is not TikTok's shape.
    let (result, recorded) = deliver(Some("sha256=abc".into()), &body).await;
    assert!(
        matches!(result, Err(WebhookError::MalformedSignature(_))),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().http_status(), 401);
    assert!(!recorded);
}

#[tokio::test]
async fn a_retry_up_to_72_hours_and_10_minutes_late_is_taken() {
    // TikTok retries for 72 hours and may keep the first attempt's signature.
    let body = complete_body();
    for age in [301, 71 * HOUR, MAX_AGE] {
        let (result, recorded) = deliver(our_signature(NOW - age, &body), &body).await;
        assert!(
            matches!(result, Ok(WebhookOutcome::Recorded { .. })),
            "{age}: {result:?}"
        );
        assert!(recorded);
    }
}

#[tokio::test]
async fn an_event_older_than_72_hours_and_10_minutes_is_refused() {
    let body = complete_body();
    let (result, recorded) = deliver(our_signature(NOW - MAX_AGE - 1, &body), &body).await;
    let expected_max = u64::try_from(MAX_AGE).unwrap();
    assert!(
        matches!(
            result,
            Err(WebhookError::Stale { age_secs, max_secs })
                if age_secs == MAX_AGE + 1 && max_secs == expected_max
        ),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().http_status(), 401);
    assert!(!recorded);
}

#[tokio::test]
async fn an_event_signed_in_the_future_is_refused() {
    let body = complete_body();
    let (result, recorded) = deliver(our_signature(NOW + 301, &body), &body).await;
    assert!(
        matches!(
            result,
            Err(WebhookError::FromTheFuture {
                ahead_secs: 301,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(!recorded);
    let (result, _) = deliver(our_signature(NOW + 300, &body), &body).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn malformed_events_are_bad_requests() {
    let bodies: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        br#"{"client_key":"our-key","event":"post.publish.complete","create_time":1}"#.to_vec(),
        event_body("our-key", "post.publish.complete", serde_json::json!({})),
        event_body(
            "our-key",
            "post.publish.publicly_available",
            serde_json::json!({"publish_id": PUBLISH_ID}),
        ),
        // content must be a JSON string holding an object, not an object.
        serde_json::json!({
            "client_key": "our-key", "event": "post.publish.failed", "create_time": NOW,
            "user_openid": OPEN_ID, "content": {"publish_id": PUBLISH_ID},
        })
        .to_string()
        .into_bytes(),
    ];
    for body in bodies {
        let (result, recorded) = deliver(our_signature(NOW, &body), &body).await;
        assert!(
            matches!(result, Err(WebhookError::Malformed(_))),
            "{}: {result:?}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(result.unwrap_err().http_status(), 400);
        assert!(!recorded);
    }
}

#[tokio::test]
async fn another_apps_event_is_refused() {
    let body = event_body(
        "their-key",
        "post.publish.complete",
        serde_json::json!({"publish_id": PUBLISH_ID}),
    );
    let (result, recorded) = deliver(our_signature(NOW, &body), &body).await;
    assert!(
        matches!(&result, Err(WebhookError::WrongClientKey { found }) if found == "their-key"),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().http_status(), 400);
    assert!(!recorded);
}

#[tokio::test]
async fn events_we_do_not_act_on_are_acknowledged() {
    let body = event_body(
        "our-key",
        "video.publish.completed",
        serde_json::json!({"share_id": "video.1"}),
    );
    let (result, recorded) = deliver(our_signature(NOW, &body), &body).await;
    assert_eq!(result.unwrap(), WebhookOutcome::Ignored);
    assert!(!recorded);
}

#[tokio::test]
async fn a_post_not_yet_published_is_not_taken_out_of_public_view() {
    for name in [NO_LONGER_PUBLIC_EVENT, NO_LONGER_PUBLIC_EVENT_CORRECTED] {
        let body = event_body(
            "our-key",
            name,
            serde_json::json!({"publish_id": PUBLISH_ID, "post_id": 7345}),
        );
        let (result, recorded) = deliver(our_signature(NOW, &body), &body).await;
        assert!(
            matches!(result, Ok(WebhookOutcome::NotPublished { .. })),
            "{name}: {result:?}"
        );
        assert!(!recorded);
    }
}
