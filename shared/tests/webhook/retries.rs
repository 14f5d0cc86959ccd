//! TikTok's retries, end to end: the fake sends a delivery again under its first signature,
//! hours later on the receiver's clock. Taken up to 72 hours and 10 minutes, and changing
//! nothing; refused after, or forged.

use super::rig::rig;
use super::*;

#[tokio::test]
async fn a_retry_71_hours_late_under_its_first_signature_changes_nothing() {
    let rig = rig("webhook-retry-late").await;
    let id = rig
        .uploaded_post(
            "uploads/public.mp4",
            r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#,
        )
        .await;
    // complete, then publicly_available with the id.
    rig.await_deliveries(2).await;
    let status = rig
        .reporting_pipeline()
        .check_status(id.as_str())
        .await
        .unwrap();
    assert!(status.is_final);
    let before = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(before.state, PostState::Published);
    assert_eq!(before.outcome.as_ref().unwrap().public_post_ids.len(), 1);
    assert_eq!(published_events(&rig.events), vec![PostState::Published]);
    let originals = rig.stack.fake.webhook_deliveries();

    // 71 hours later TikTok delivers both again, signed as the first time.
    rig.set_clock_ahead(71 * HOUR);
    for original in &originals {
        let retry = rig.stack.fake.redeliver(original).await.unwrap();
        assert_eq!(retry.status, Some(200), "{retry:?}");
        assert_eq!(
            (&retry.signature, &retry.body),
            (&original.signature, &original.body)
        );
    }
    let after = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_unchanged(&before, &after);
    assert_eq!(
        published_events(&rig.events),
        vec![PostState::Published],
        "no second PostPublished"
    );
    assert_eq!(rig.events.sent().len(), 1);
    assert!(
        rig.stack.fake.violations().is_empty(),
        "{:?}",
        rig.stack.fake.violations()
    );
}

#[tokio::test]
async fn a_retry_past_72_hours_and_10_minutes_or_forged_is_refused() {
    let rig = rig("webhook-retry-refused").await;
    let id = rig
        .uploaded_post("uploads/private.mp4", r#"{"privacy_level":"SELF_ONLY"}"#)
        .await;
    rig.await_deliveries(1).await;
    let before = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(
        before.webhook_for_current_upload().map(|e| e.kind),
        Some(WebhookFinalKind::Complete)
    );
    let original = rig.stack.fake.webhook_deliveries().remove(0);

    // One second past the bound (more, by the time it takes to get here).
    rig.set_clock_ahead(MAX_AGE + 1);
    let late = rig.stack.fake.redeliver(&original).await.unwrap();
    assert_eq!(late.status, Some(401), "{late:?}");

    // Within the bound, but not signed with the client secret, or not over this body.
    rig.set_clock_ahead(71 * HOUR);
    let body: serde_json::Value = serde_json::from_str(&original.body).unwrap();
    let signed_at = body["create_time"].as_i64().unwrap();
    let forged = fake_tiktok::WebhookDelivery {
        signature: fake_tiktok::webhook_signature(
            "not-the-client-secret",
            signed_at,
            original.body.as_bytes(),
        ),
        ..original.clone()
    };
    let mut other_content = body.clone();
    other_content["content"] =
        serde_json::json!({"publish_id": "v_pub_file~another", "publish_type": "DIRECT_PUBLISH"})
            .to_string()
            .into();
    let tampered = fake_tiktok::WebhookDelivery {
        body: other_content.to_string(),
        ..original.clone()
    };
    for attempt in [forged, tampered] {
        let refused = rig.stack.fake.redeliver(&attempt).await.unwrap();
        assert_eq!(refused.status, Some(401), "{refused:?}");
    }

    let after = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_unchanged(&before, &after);
    assert!(rig.events.sent().is_empty());
}
