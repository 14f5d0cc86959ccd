//! The accounts routes: listing, disconnecting, creator info.

use super::*;
use tiktok_publish_core::tiktok::TikTokCreators;

#[tokio::test]
async fn accounts_are_listed_with_whether_they_need_reconnecting() {
    let r = rig().await;
    let fine = r.connect().await;
    let flagged = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &flagged,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();

    let answer = r.api.list_accounts().await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let accounts = answer.body["accounts"].as_array().unwrap();
    let find = |open_id: &str| {
        accounts
            .iter()
            .find(|a| a["open_id"] == open_id)
            .unwrap_or_else(|| panic!("{open_id} listed"))
            .clone()
    };
    assert_eq!(find(&fine)["needs_reconnect"], false);
    assert_eq!(find(&flagged)["needs_reconnect"], true);
    assert_eq!(
        find(&flagged)["reconnect_reason"],
        "TikTok refused the refresh token"
    );
    let text = answer.body.to_string();
    for account in [&fine, &flagged] {
        let tokens = r.stack.fake.account(account).unwrap();
        assert!(!text.contains(&tokens.access_token.unwrap()), "{text}");
        assert!(!text.contains(&tokens.refresh_token.unwrap()), "{text}");
    }
}

#[tokio::test]
async fn disconnecting_revokes_at_tiktok_cancels_queued_posts_and_forgets_the_account() {
    let r = rig().await;
    let open_id = r.connect().await;
    let token = r
        .stack
        .accounts
        .get(&open_id)
        .await
        .unwrap()
        .unwrap()
        .access_token;
    let queued_key = r.upload(&open_id, "queued.mp4").await;
    let uploading_key = r.upload(&open_id, "uploading.mp4").await;
    let queued = r.create(&body(&open_id, &queued_key, "q"), None).await;
    let uploading = r.create(&body(&open_id, &uploading_key, "u"), None).await;
    let queued_id = queued.body["id"].as_str().unwrap().to_owned();
    let uploading_id = uploading.body["id"].as_str().unwrap().to_owned();
    PostEnds::silent()
        .settle(
            r.stack
                .posts
                .transition(
                    &PostId::parse(&uploading_id).unwrap(),
                    &[PostState::Queued],
                    PostState::Uploading,
                    PostUpdate::fact(Fact::Initialised),
                    unix_now(),
                )
                .await
                .unwrap(),
        )
        .await;

    let answer = r.api.disconnect_account(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["revoked"], true);
    assert_eq!(answer.body["cancelled_posts"], json!([queued_id]));
    assert_eq!(answer.body["posts_in_flight"], json!([uploading_id]));

    // TikTok no longer takes the token.
    assert!(r.stack.fake.account(&open_id).unwrap().revoked);
    let refused = r.stack.tiktok.creator_info(&token).await.unwrap_err();
    assert!(
        matches!(refused, TikTokError::AccessTokenInvalid { .. }),
        "{refused:?}"
    );
    // The queued post is cancelled with the reason, its run stopped; the account is gone.
    let post = r.api.get_post(&queued_id).await;
    assert_eq!(post.body["state"], "CANCELLED");
    let last = post.body["history"].as_array().unwrap().last().unwrap();
    assert_eq!(last["note"], "account disconnected");
    assert_eq!(
        r.execution_status(&queued_id).await,
        ExecutionStatus::Aborted
    );
    assert!(r.stack.accounts.get(&open_id).await.unwrap().is_none());
    let again = r.api.disconnect_account(&open_id).await;
    assert_eq!(
        error_of(&again),
        (404, "account_not_found", Some("open_id"))
    );
    assert!(r.stack.fake.take_violations().is_empty());
}

#[tokio::test]
async fn an_account_that_cannot_be_revoked_is_disconnected_anyway_and_says_so() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &open_id,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();

    let answer = r.api.disconnect_account(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["revoked"], false);
    let note = answer.body["revoke_note"].as_str().unwrap();
    assert!(note.contains("forgotten here anyway"), "{note}");
    assert!(r.stack.accounts.get(&open_id).await.unwrap().is_none());
}

#[tokio::test]
async fn creator_info_is_fresh_from_tiktok_and_shows_what_the_creator_allows() {
    let r = rig().await;
    let open_id = r
        .connect_seeded(AccountSeed {
            nickname: "Ann Creator".into(),
            username: "ann.creates".into(),
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            comment_disabled: true,
            stitch_disabled: true,
            max_video_post_duration_sec: 180,
            ..AccountSeed::default()
        })
        .await;
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({
            "open_id": open_id,
            "nickname": "Ann Creator",
            "username": "ann.creates",
            "avatar_url": answer.body["avatar_url"],
            "privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"],
            "comment_disabled": true,
            "duet_disabled": false,
            "stitch_disabled": true,
            "max_video_post_duration_sec": 180,
        })
    );
    // Fresh: every call asks TikTok again.
    r.api.creator_info(&open_id).await;
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 2);
    let text = answer.body.to_string();
    let tokens = r.stack.fake.account(&open_id).unwrap();
    assert!(!text.contains(&tokens.access_token.unwrap()), "{text}");
    assert!(
        r.stack.fake.violations().is_empty(),
        "{:?}",
        r.stack.fake.violations()
    );
}

#[tokio::test]
async fn creator_info_of_unknown_or_disconnected_accounts_says_to_connect() {
    let r = rig().await;
    let answer = r.api.creator_info("nobody-here").await;
    assert_eq!(
        error_of(&answer),
        (404, "account_not_found", Some("open_id"))
    );
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connect it first")
    );

    let open_id = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &open_id,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(
        error_of(&answer),
        (409, "account_needs_reconnect", Some("open_id"))
    );
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 0);
}

#[tokio::test]
async fn creator_info_refreshes_a_revoked_token_once() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 2);
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::Token), 1);
}

#[tokio::test]
async fn creator_info_rate_limits_say_when_to_retry() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::CreatorInfo,
        status: 429,
        code: "rate_limit_exceeded".into(),
        times: 1,
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(error_of(&answer), (429, "rate_limited", Some("open_id")));
    assert!(answer.headers.contains(&("retry-after", "60".to_owned())));

    // Our own budget (shared with the pipeline) refuses before TikTok is asked.
    let mut api = r.api.clone();
    api.creator_info = Arc::new(creator_info(
        &r.stack,
        AllowanceLimits {
            creator_info_per_minute: 1,
            ..AllowanceLimits::default()
        },
    ));
    let other = r.connect().await;
    assert_eq!(api.creator_info(&other).await.status, 200);
    let calls = r.stack.fake.call_count(FakeEndpoint::CreatorInfo);
    let answer = api.creator_info(&other).await;
    assert_eq!(error_of(&answer), (429, "rate_limited", Some("open_id")));
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, _)| *name == "retry-after")
    );
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), calls);
}

#[tokio::test]
async fn creator_info_of_a_creator_tiktok_stops_says_why() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::CreatorInfo,
        status: 403,
        code: "spam_risk_user_banned_from_posting".into(),
        times: 1,
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(
        error_of(&answer),
        (409, "creator_cannot_post", Some("open_id"))
    );
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("banned")
    );
}
