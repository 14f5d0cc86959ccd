//! The posts routes: create (idempotent, refusals), get, cancel.

use super::*;

#[tokio::test]
async fn the_same_post_twice_makes_one_post_and_one_execution() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;

    let first = r.create(&body(&open_id, &key, "hello"), None).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["state"], "QUEUED");
    assert_eq!(first.body["account"], open_id.as_str());
    assert_eq!(first.body["bucket"], r.stack.bucket.as_str());
    assert!(first.body["version_id"].is_string(), "{}", first.body);
    assert_eq!(first.body["options"]["title"], "hello");
    assert_eq!(first.body["publish_at"], "2026-01-01T00:00:00Z");

    let again = r.create(&body(&open_id, &key, "hello"), None).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);

    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.executions().await,
        vec![(id.clone(), ExecutionStatus::Running)]
    );
    // The same video with other options is not silently taken for the first post.
    let other = r.create(&body(&open_id, &key, "changed"), None).await;
    assert_eq!(error_of(&other), (409, "post_exists", Some("key")));
    assert_eq!(other.body["error"]["state"], "QUEUED");
    assert_eq!(r.executions().await.len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let original = body(&open_id, &key, "hello");

    let first = r.create(&original, Some("key-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replayed = r.create(&original, Some("key-1")).await;
    assert_eq!(
        (replayed.status, &replayed.body),
        (first.status, &first.body)
    );
    assert!(
        replayed
            .headers
            .contains(&("idempotent-replayed", "true".to_owned()))
    );

    let other = r
        .create(&body(&open_id, &key, "other"), Some("key-1"))
        .await;
    assert_eq!(
        error_of(&other),
        (409, "idempotency_key_reused", Some("Idempotency-Key"))
    );
    // The refused request did nothing.
    let post = r
        .stack
        .posts
        .get(&PostId::parse(first.body["id"].as_str().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(post.options.unwrap().title, "hello");
    assert_eq!(r.executions().await.len(), 1);

    // Stored in the oauth table under a hash, never the key itself, with a TTL.
    let scanned = r
        .stack
        .dynamodb
        .scan()
        .table_name(&r.stack.tables.oauth)
        .send()
        .await
        .unwrap();
    let items = scanned.items();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let id = item["id"].as_s().unwrap();
    assert!(
        id.starts_with("idempotency#") && !id.contains("key-1"),
        "{id}"
    );
    assert_eq!(item["kind"].as_s().unwrap(), "idempotency");
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(expires > unix_now() + 23 * 3600);

    // A refusal is an answer too: the same bad body under a new key is refused again,
    // identically.
    let bad = json!({"account": open_id, "key": key, "options": {"privacy_level": "NOPE"}});
    let refused = r.create(&bad, Some("key-2")).await;
    assert_eq!(refused.status, 400);
    assert_eq!(r.create(&bad, Some("key-2")).await.body, refused.body);
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field_and_start_nothing() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let with_options = |options: Value| json!({"account": open_id, "key": key, "options": options});

    let long_caption = format!("{}a", "😀".repeat(1100));
    let cases = [
        (
            with_options(json!({"privacy_level": "EVERYONE"})),
            400,
            "options.privacy_level",
            "must be one of",
        ),
        (
            with_options(json!({"privacy_level": "SELF_ONLY", "title": long_caption})),
            400,
            "options.title",
            "2201 UTF-16 code units",
        ),
        (
            with_options(json!({"privacy_level": "SELF_ONLY", "disable_dut": true})),
            400,
            "options.disable_dut",
            "unknown field",
        ),
        (
            json!({"acount": open_id, "key": key, "options": {}}),
            400,
            "acount",
            "unknown field",
        ),
        (
            json!({"key": key, "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "account",
            "is required",
        ),
        (
            json!({"account": open_id, "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "is required",
        ),
        (
            json!({"account": open_id, "key": key}),
            400,
            "options",
            "is required",
        ),
        (
            json!({"account": open_id, "key": "s3://elsewhere/uploads/x.mp4",
                   "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "is a URL",
        ),
        (
            json!({"account": open_id, "key": "/uploads/x.mp4",
                   "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "starts with '/'",
        ),
        (
            json!({"account": open_id, "key": format!("uploads/{open_id}/missing.mp4"),
                   "options": {"privacy_level": "SELF_ONLY"}}),
            404,
            "key",
            "does not exist",
        ),
        (
            json!({"account": "nobody", "key": key, "options": {"privacy_level": "SELF_ONLY"}}),
            404,
            "account",
            "no connected TikTok account",
        ),
    ];
    for (request, status, field, rule) in cases {
        let answer = r.create(&request, None).await;
        assert_eq!(answer.status, status, "{request}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["field"], field,
            "{request}: {}",
            answer.body
        );
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(rule), "{request}: {message}");
    }
    let not_json = r.api.create_post(b"{\"account\": ", None).await;
    assert_eq!(error_of(&not_json), (400, "invalid_request", Some("body")));
    assert!(r.executions().await.is_empty());
}

#[tokio::test]
async fn get_shows_the_post_and_never_its_upload_url() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let created = r.create(&body(&open_id, &key, "hello"), None).await;
    let id = PostId::parse(created.body["id"].as_str().unwrap()).unwrap();

    // What init would have saved: the publish id, the (secret) upload URL, the plan.
    let now = unix_now();
    PostEnds::silent()
        .settle(
            r.stack
                .posts
                .transition(
                    &id,
                    &[PostState::Queued],
                    PostState::Uploading,
                    PostUpdate::fact(Fact::Initialised),
                    now,
                )
                .await
                .unwrap(),
        )
        .await;
    let plan = ChunkPlan::new(4096, &ChunkPolicy::default()).unwrap();
    let secret_url = "https://upload.fake/v1/SECRET-UPLOAD-TOKEN";
    r.stack
        .posts
        .record_init(
            &id,
            "v_pub_file~v2-1.123",
            &UploadUrl::new(secret_url.to_owned()),
            now,
            &plan,
            now,
        )
        .await
        .unwrap();
    r.stack
        .posts
        .record_chunk_done(&id, "v_pub_file~v2-1.123", 1, 4096, now)
        .await
        .unwrap();

    let answer = r.api.get_post(id.as_str()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = answer.body.to_string();
    assert!(!text.contains("SECRET-UPLOAD-TOKEN"), "{text}");
    assert!(!text.contains("upload.fake"), "{text}");
    assert!(!text.contains("upload_url"), "{text}");
    assert_eq!(answer.body["state"], "UPLOADING");
    assert_eq!(answer.body["publish_id"], "v_pub_file~v2-1.123");
    assert_eq!(
        answer.body["progress"],
        json!({"chunks_done": 1, "chunks_total": 1, "bytes_done": 4096, "bytes_total": 4096})
    );
    let states: Vec<&str> = answer.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["QUEUED", "UPLOADING"]);

    let missing = r.api.get_post(&"0".repeat(64)).await;
    assert_eq!(error_of(&missing), (404, "post_not_found", Some("id")));
    let invalid = r.api.get_post("not/an id").await;
    assert_eq!(error_of(&invalid), (400, "invalid_request", Some("id")));
}

#[tokio::test]
async fn delete_cancels_a_queued_post_and_refuses_an_uploading_one() {
    let r = rig().await;
    let open_id = r.connect().await;
    let queued_key = r.upload(&open_id, "queued.mp4").await;
    let uploading_key = r.upload(&open_id, "uploading.mp4").await;
    let queued = r.create(&body(&open_id, &queued_key, "q"), None).await;
    let uploading = r.create(&body(&open_id, &uploading_key, "u"), None).await;
    let queued_id = queued.body["id"].as_str().unwrap().to_owned();
    let uploading_id = uploading.body["id"].as_str().unwrap().to_owned();

    let cancelled = r.api.cancel_post(&queued_id).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["state"], "CANCELLED");
    assert_eq!(cancelled.body["final"], true);
    let last = cancelled.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(last["note"], "cancelled by request");
    assert_eq!(
        r.execution_status(&queued_id).await,
        ExecutionStatus::Aborted
    );
    // Cancelling again answers the cancelled post.
    assert_eq!(r.api.cancel_post(&queued_id).await.status, 200);

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
    let refused = r.api.cancel_post(&uploading_id).await;
    assert_eq!(
        error_of(&refused),
        (409, "post_not_cancellable", Some("id"))
    );
    assert_eq!(refused.body["error"]["state"], "UPLOADING");
    assert_eq!(
        r.execution_status(&uploading_id).await,
        ExecutionStatus::Running
    );
    assert_eq!(r.api.cancel_post(&"1".repeat(64)).await.status, 404);
}
