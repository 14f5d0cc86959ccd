//! TikTok's webhook: signature checks (good, unsigned, forged, stale, future, malformed,
//! another app's), recording on the real posts table (moto), the status step using a
//! recorded event instead of a status fetch, and `authorization.removed`. The events of the
//! end-to-end cases are sent by the strict fake TikTok itself, signed with its client secret,
//! to a small receiver that hands them to [`receive`] as the Lambda does.

use std::time::Duration;

use fake_tiktok::{AccountSeed, Endpoint, FakeSettings, Fault};
use secrecy::SecretString;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::store::memory::{MemoryPostStore, MemoryTokenStore};
use tiktok_publish_core::store::{
    Fact, PostId, PostRecord, PostSource, PostState, PostStore, StoreError, TokenStore, UnixTime,
    WebhookFinal, WebhookFinalKind, unix_now,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, UploadUrl};
use tiktok_publish_core::webhook::{
    AUTHORIZATION_REMOVED_ADVICE, WebhookError, WebhookOutcome, WebhookSettings, receive, sign,
};
use tiktok_publish_testkit::video::tiny_mp4;
use tiktok_publish_testkit::{StackSettings, TestStack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const NOW: UnixTime = 1_800_000_000;
const OPEN_ID: &str = "open-webhook";
const PUBLISH_ID: &str = "v_pub_file~v2-1.7";

// ---------------------------------------------------------------------------------------------
// Verification, on in-memory stores
// ---------------------------------------------------------------------------------------------

/// A history fact carrying only its note.
fn remark(note: &str) -> Fact {
    Fact::Remark { note: note.into() }
}

fn settings() -> WebhookSettings {
    WebhookSettings::new("our-key", SecretString::from("our-secret".to_owned()))
}

fn event_body(client_key: &str, event: &str, content: serde_json::Value) -> Vec<u8> {
    serde_json::json!({
        "client_key": client_key,
        "event": event,
        "create_time": NOW,
        "user_openid": OPEN_ID,
        "content": content.to_string(),
    })
    .to_string()
    .into_bytes()
}

fn complete_body() -> Vec<u8> {
    event_body(
        "our-key",
        "post.publish.complete",
        serde_json::json!({"publish_id": PUBLISH_ID, "publish_type": "DIRECT_PUBLISH"}),
    )
}

/// A post of [`OPEN_ID`] processing the upload [`PUBLISH_ID`], in `posts`.
async fn processing_post(posts: &dyn PostStore, key: &str, created_at: UnixTime) -> PostId {
    let record = PostRecord::new(
        OPEN_ID,
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: key.into(),
            version_id: None,
        }),
        None,
        PostState::Queued,
        created_at,
    );
    posts.create(&record).await.unwrap();
    let plan = ChunkPlan::new(1_000_000, &ChunkPolicy::default()).unwrap();
    let url = UploadUrl::new("http://upload.invalid/u".into());
    posts
        .record_init(&record.id, PUBLISH_ID, &url, created_at, &plan, created_at)
        .await
        .unwrap();
    posts
        .transition(
            &record.id,
            &[PostState::Queued],
            PostState::Processing,
            Default::default(),
            created_at,
        )
        .await
        .unwrap();
    record.id
}

/// Delivers `body` signed at `signed_at` (`None`: unsigned) to a fresh memory rig; what
/// `receive` answered and whether anything was recorded on the post.
async fn deliver(
    signature: Option<String>,
    body: &[u8],
) -> (Result<WebhookOutcome, WebhookError>, bool) {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = processing_post(&posts, "uploads/a.mp4", NOW - 60).await;
    let result = receive(
        &settings(),
        &posts,
        &tokens,
        signature.as_deref(),
        body,
        NOW,
    )
    .await;
    let post = posts.get(&id).await.unwrap().unwrap();
    let recorded = post.webhook.is_some() || post.history.len() > 2;
    (result, recorded)
}

fn our_signature(at: UnixTime, body: &[u8]) -> Option<String> {
    Some(sign(&settings().client_secret, at, body))
}

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
async fn a_stale_event_is_refused_as_a_replay() {
    let body = complete_body();
    let (result, recorded) = deliver(our_signature(NOW - 301, &body), &body).await;
    assert!(
        matches!(
            result,
            Err(WebhookError::Stale {
                age_secs: 301,
                max_secs: 300
            })
        ),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().http_status(), 401);
    assert!(!recorded);
    // At the bound it is still taken.
    let (result, _) = deliver(our_signature(NOW - 300, &body), &body).await;
    assert!(result.is_ok(), "{result:?}");
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
        "post.publish.no_longer_publicly_available",
        serde_json::json!({"publish_id": PUBLISH_ID}),
    );
    let (result, recorded) = deliver(our_signature(NOW, &body), &body).await;
    assert_eq!(result.unwrap(), WebhookOutcome::Ignored);
    assert!(!recorded);
}

// ---------------------------------------------------------------------------------------------
// Recording on the posts table (moto)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn recording_is_idempotent_and_learns_the_public_id_once() {
    let stack = TestStack::start("webhook-record").await;
    let posts = stack.posts.as_ref();
    // Older posts of the account in front of it, so the search goes past one page.
    let id = processing_post(posts, "uploads/target.mp4", NOW - 3600).await;
    for i in 0..60 {
        let other = PostRecord::new(
            OPEN_ID,
            PostSource::at(stack.location(&format!("uploads/other-{i}.mp4"))),
            None,
            PostState::Queued,
            NOW - 60 + i,
        );
        posts.create(&other).await.unwrap();
    }
    let tokens = stack.accounts.as_ref();
    let complete = complete_body();
    let signed = |body: &[u8]| our_signature(NOW, body);

    let first = receive(
        &settings(),
        posts,
        tokens,
        signed(&complete).as_deref(),
        &complete,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        first,
        WebhookOutcome::Recorded {
            post_id: id.clone()
        }
    );
    // TikTok delivers it again.
    let again = receive(
        &settings(),
        posts,
        tokens,
        signed(&complete).as_deref(),
        &complete,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone()
        }
    );
    let post = posts.get(&id).await.unwrap().unwrap();
    let webhook_notes = |post: &PostRecord| {
        post.history
            .iter()
            .filter(|h| {
                h.note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("TikTok webhook"))
            })
            .count()
    };
    assert_eq!(webhook_notes(&post), 1);
    assert_eq!(
        post.webhook,
        Some(WebhookFinal {
            publish_id: PUBLISH_ID.into(),
            kind: WebhookFinalKind::Complete,
            reason: None,
            public_post_id: None,
            event_time: NOW,
        })
    );

    // The public id arrives later: it improves the record, once.
    let public = event_body(
        "our-key",
        "post.publish.publicly_available",
        serde_json::json!({"publish_id": PUBLISH_ID, "post_id": 7_345_678_901_234_567_890u64}),
    );
    for expected in [
        WebhookOutcome::Recorded {
            post_id: id.clone(),
        },
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone(),
        },
    ] {
        let outcome = receive(
            &settings(),
            posts,
            tokens,
            signed(&public).as_deref(),
            &public,
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(outcome, expected);
    }
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(webhook_notes(&post), 2);
    let event = post.webhook.unwrap();
    assert_eq!(event.public_post_id.as_deref(), Some("7345678901234567890"));
    assert_eq!(
        post.state,
        PostState::Processing,
        "the status step moves it"
    );

    // A contradicting event later (failed after complete) does not overwrite the first.
    let failed = event_body(
        "our-key",
        "post.publish.failed",
        serde_json::json!({"publish_id": PUBLISH_ID, "reason": "internal"}),
    );
    let outcome = receive(
        &settings(),
        posts,
        tokens,
        signed(&failed).as_deref(),
        &failed,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone()
        }
    );
}

#[tokio::test]
async fn a_published_post_learns_its_public_id_from_a_late_event() {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = processing_post(&posts, "uploads/late.mp4", NOW - 600).await;
    // Published by a status fetch before moderation made it public.
    posts
        .transition(
            &id,
            &[PostState::Processing],
            PostState::Published,
            Default::default(),
            NOW - 500,
        )
        .await
        .unwrap();
    let public = event_body(
        "our-key",
        "post.publish.publicly_available",
        serde_json::json!({"publish_id": PUBLISH_ID, "post_id": "7345"}),
    );
    let outcome = receive(
        &settings(),
        &posts,
        &tokens,
        our_signature(NOW, &public).as_deref(),
        &public,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        WebhookOutcome::Recorded {
            post_id: id.clone()
        }
    );
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        post.outcome.unwrap().public_post_ids,
        vec!["7345".to_owned()]
    );
}

#[tokio::test]
async fn the_store_records_only_over_what_was_read() {
    let stack = TestStack::start("webhook-race").await;
    let posts = stack.posts.as_ref();
    let id = processing_post(posts, "uploads/race.mp4", NOW).await;
    let event = WebhookFinal {
        publish_id: PUBLISH_ID.into(),
        kind: WebhookFinalKind::Failed,
        reason: Some("internal".into()),
        public_post_id: None,
        event_time: NOW,
    };
    posts
        .record_webhook_event(
            &id,
            PostState::Processing,
            None,
            &event,
            &remark("first"),
            NOW,
        )
        .await
        .unwrap();
    // A second writer that read the post before the first wrote loses.
    let lost = posts
        .record_webhook_event(
            &id,
            PostState::Processing,
            None,
            &event,
            &remark("second"),
            NOW,
        )
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict { .. })), "{lost:?}");
    // So does one that believes the post is in another state, or at another upload.
    let other_upload = WebhookFinal {
        publish_id: "v_pub_file~other".into(),
        ..event.clone()
    };
    for (state, seen, new) in [
        (PostState::Uploading, Some(&event), &event),
        (PostState::Processing, Some(&event), &other_upload),
    ] {
        let refused = posts
            .record_webhook_event(&id, state, seen, new, &remark("third"), NOW)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict { .. })),
            "{refused:?}"
        );
    }
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.webhook, Some(event));
    assert_eq!(post.history.last().unwrap().note.as_deref(), Some("first"));
}

// ---------------------------------------------------------------------------------------------
// End to end: the fake TikTok sends the events
// ---------------------------------------------------------------------------------------------

/// A minimal HTTP receiver doing what the Lambda does: the raw body and the signature
/// header go to [`receive`]; the answer's status goes back.
struct Receiver {
    url: String,
}

impl Receiver {
    async fn start(stack: &TestStack) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/tiktok", listener.local_addr().unwrap());
        let settings = WebhookSettings::new(
            stack.fake.settings().client_key.clone(),
            SecretString::from(stack.fake.settings().client_secret.clone()),
        );
        let posts = stack.posts.clone();
        let tokens = stack.accounts.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (posts, tokens, settings) = (posts.clone(), tokens.clone(), settings.clone());
                tokio::spawn(async move {
                    let Some((signature, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let result = receive(
                        &settings,
                        posts.as_ref(),
                        tokens.as_ref(),
                        signature.as_deref(),
                        &body,
                        unix_now(),
                    )
                    .await;
                    let (status, answer) = tiktok_publish_core::webhook::answer(&result);
                    let answer = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Receiver { url }
    }
}

/// The `TikTok-Signature` header and the body of one HTTP/1.1 request.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(Option<String>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some((header("tiktok-signature"), body))
}

struct Rig {
    stack: TestStack,
    pipeline: Pipeline,
    open_id: String,
}

async fn rig(name: &str) -> Rig {
    let fake = FakeSettings {
        processing_time: Duration::from_millis(200),
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        name,
        StackSettings {
            fake,
            ..StackSettings::default()
        },
    )
    .await;
    let receiver = Receiver::start(&stack).await;
    stack.fake.set_webhook_url(Some(receiver.url.clone()));
    let open_id = stack.connect_account(AccountSeed::default()).await;
    Rig {
        pipeline: stack.pipeline(PipelineSettings::default()),
        stack,
        open_id,
    }
}

impl Rig {
    /// A queued post of a tiny MP4 with these options, initialised and uploaded.
    async fn uploaded_post(&self, key: &str, options: &str) -> PostId {
        self.stack.put(key, tiny_mp4()).await;
        let post = self.stack.queued_post(&self.open_id, key, options).await;
        let init = self.pipeline.init_upload(post.id.as_str()).await.unwrap();
        assert!(init.ready);
        let upload = self
            .pipeline
            .upload_chunks(post.id.as_str(), None)
            .await
            .unwrap();
        assert!(upload.done);
        post.id
    }

    /// Waits until the fake has delivered `count` events and the post shows what they said.
    async fn await_deliveries(&self, count: usize) {
        for _ in 0..200 {
            let delivered = self.stack.fake.webhook_deliveries();
            if delivered.len() >= count {
                for delivery in &delivered {
                    assert_eq!(delivery.status, Some(200), "{delivery:?}");
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the fake delivered {:?}, not {count} events",
            self.stack.fake.webhook_deliveries()
        );
    }

    fn status_fetches(&self) -> usize {
        self.stack.fake.call_count(Endpoint::StatusFetch)
    }
}

#[tokio::test]
async fn a_recorded_completion_ends_the_post_without_a_status_fetch() {
    let rig = rig("webhook-complete").await;
    let id = rig
        .uploaded_post("uploads/private.mp4", r#"{"privacy_level":"SELF_ONLY"}"#)
        .await;
    rig.await_deliveries(1).await;
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(
        post.webhook_for_current_upload().map(|e| e.kind),
        Some(WebhookFinalKind::Complete)
    );
    let fetches = rig.status_fetches();
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), fetches, "no status fetch was spent");
    assert_eq!(fetches, 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        rig.stack.fake.webhook_deliveries()[0].event,
        "post.publish.complete"
    );
    assert!(
        rig.stack.fake.violations().is_empty(),
        "{:?}",
        rig.stack.fake.violations()
    );
}

#[tokio::test]
async fn a_public_post_ends_with_the_post_id_the_webhook_gave() {
    let rig = rig("webhook-public").await;
    let id = rig
        .uploaded_post(
            "uploads/public.mp4",
            r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#,
        )
        .await;
    // complete, then publicly_available with the id.
    rig.await_deliveries(2).await;
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    let publish_id = post.publish_id.clone().unwrap();
    let at_fake = rig
        .stack
        .fake
        .publish(&publish_id)
        .unwrap()
        .post_id
        .unwrap();
    assert_eq!(
        post.outcome.unwrap().public_post_ids,
        vec![at_fake.to_string()]
    );
}

#[tokio::test]
async fn a_public_completion_without_its_id_still_asks_tiktok() {
    let rig = rig("webhook-public-noid").await;
    // No delivery: the event is recorded by hand, as if publicly_available never came.
    rig.stack.fake.set_webhook_url(None);
    let id = rig
        .uploaded_post(
            "uploads/public.mp4",
            r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#,
        )
        .await;
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    let event = WebhookFinal {
        publish_id: post.publish_id.clone().unwrap(),
        kind: WebhookFinalKind::Complete,
        reason: None,
        public_post_id: None,
        event_time: unix_now(),
    };
    rig.stack
        .posts
        .record_webhook_event(
            &id,
            post.state,
            None,
            &event,
            &Fact::WebhookEvent {
                event: "test".into(),
            },
            unix_now(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(
        rig.status_fetches(),
        1,
        "the id comes from the status fetch"
    );
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.outcome.unwrap().public_post_ids.len(), 1);
}

#[tokio::test]
async fn a_recorded_failure_fails_the_post_without_a_status_fetch() {
    let rig = rig("webhook-failed").await;
    rig.stack.fake.inject(Fault::FailPost {
        open_id: rig.open_id.clone(),
        fail_reason: "frame_rate_check_failed".into(),
    });
    let id = rig
        .uploaded_post("uploads/bad.mp4", r#"{"privacy_level":"SELF_ONLY"}"#)
        .await;
    rig.await_deliveries(1).await;
    let error = rig.pipeline.check_status(id.as_str()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert!(
        failure.reason.contains("frame_rate_check_failed"),
        "{failure:?}"
    );
    assert!(failure.advice.is_some());
}

#[tokio::test]
async fn a_draft_ends_in_the_inbox_on_the_webhook() {
    let rig = rig("webhook-inbox").await;
    let id = rig
        .uploaded_post("uploads/draft.mp4", r#"{"mode":"draft"}"#)
        .await;
    rig.await_deliveries(1).await;
    assert_eq!(
        rig.stack.fake.webhook_deliveries()[0].event,
        "post.publish.inbox_delivered"
    );
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::SentToInbox);
}

#[tokio::test]
async fn authorization_removed_flags_the_account_and_stops_its_waiting_posts() {
    let rig = rig("webhook-removed").await;
    let stack = &rig.stack;
    let uploading = {
        stack.put("uploads/uploading.mp4", tiny_mp4()).await;
        let post = stack
            .queued_post(
                &rig.open_id,
                "uploads/uploading.mp4",
                r#"{"privacy_level":"SELF_ONLY"}"#,
            )
            .await;
        rig.pipeline.init_upload(post.id.as_str()).await.unwrap();
        post.id
    };
    stack.put("uploads/queued.mp4", tiny_mp4()).await;
    let queued = stack
        .queued_post(
            &rig.open_id,
            "uploads/queued.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await
        .id;
    let received = PostRecord::new(
        rig.open_id.clone(),
        PostSource::at(stack.location("uploads/received.mp4")),
        None,
        PostState::Received,
        unix_now(),
    );
    stack.posts.create(&received).await.unwrap();

    // The creator disconnects the app: TikTok revokes the token and tells us.
    let account = stack.accounts.get(&rig.open_id).await.unwrap().unwrap();
    stack.tiktok.revoke(&account.access_token).await.unwrap();
    rig.await_deliveries(1).await;
    assert_eq!(
        stack.fake.webhook_deliveries()[0].event,
        "authorization.removed"
    );

    let account = stack.accounts.get(&rig.open_id).await.unwrap().unwrap();
    assert!(account.needs_reconnect);
    for id in [&queued, &received.id] {
        let post = stack.posts.get(id).await.unwrap().unwrap();
        assert_eq!(post.state, PostState::Failed);
        let failure = post.failure.unwrap();
        assert_eq!(failure.kind, ErrorKind::AccountNeedsReconnect);
        assert_eq!(
            failure.advice.as_deref(),
            Some(AUTHORIZATION_REMOVED_ADVICE)
        );
    }
    let post = stack.posts.get(&uploading).await.unwrap().unwrap();
    assert_eq!(
        post.state,
        PostState::Uploading,
        "an upload under way is left alone"
    );

    // The stopped post's run meets a final post and ends quietly.
    let error = rig.pipeline.init_upload(queued.as_str()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::PostConflict);
    assert!(
        stack.fake.violations().is_empty(),
        "{:?}",
        stack.fake.violations()
    );
}

#[tokio::test]
async fn the_fake_signs_what_the_core_verifies() {
    // The fake's signer and the core's are two implementations: they must agree.
    let body = complete_body();
    let fake = fake_tiktok::webhook_signature("our-secret", NOW, &body);
    assert_eq!(Some(fake.clone()), our_signature(NOW, &body));
    let (result, _) = deliver(Some(fake), &body).await;
    assert!(result.is_ok(), "{result:?}");
}
