//! The body of `POST /posts` (`PostsApi::create_post`), the whole route over in-memory ports:
//! an account store with a few accounts, a bucket with one video, memory post and
//! idempotency stores, executions that only count.
//!
//! Beyond "no panic":
//! - every answer is a 2xx view or a 4xx `{"error": {"code", "message", "field"?}}` whose
//!   code and message are non-empty (a 400 names its field); none is a 5xx, since nothing
//!   here can fail;
//! - a 201 is the post of that account and key, and starts its execution; the same body
//!   again is a 200 for the same post, and starts no other post's execution (starting the
//!   same one again is harmless by design: executions are named after the post);
//! - with an `Idempotency-Key` the first answer is the same as without, and the repeat is
//!   that answer replayed.
#![no_main]

use std::sync::Arc;

use async_trait::async_trait;
use fuzz_support::{BUCKET, CountingExecutions, MemorySource, runtime};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::Value;
use tiktok_publish_core::api::{
    ApiAnswer, CreatorInfoError, CreatorInfoSource, IdempotencyKey, PostsApi, RevokeError, Revoker,
};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::store::{AccountTokens, SealedSecret, unix_now};
use tiktok_publish_core::tiktok::CreatorInfo;
use tiktok_publish_memory::{
    MemoryIdempotencyStore, MemoryOAuthStateStore, MemoryPostStore, MemoryPullCanceller,
    MemoryTokenStore,
};

/// Never asked on this route.
struct Unused;

#[async_trait]
impl Revoker for Unused {
    async fn revoke(&self, _open_id: &str) -> Result<(), RevokeError> {
        Ok(())
    }
}

#[async_trait]
impl CreatorInfoSource for Unused {
    async fn creator_info(&self, _open_id: &str) -> Result<CreatorInfo, CreatorInfoError> {
        panic!("POST /posts must not ask TikTok for creator info")
    }
}

fn account(open_id: &str, scopes: &[&str], needs_reconnect: bool) -> AccountTokens {
    let now = unix_now();
    AccountTokens {
        open_id: open_id.to_owned(),
        access_token: SecretString::from("access-token"),
        access_expires_at: now + 86_400,
        refresh_token: Some(SealedSecret::plain(&SecretString::from("refresh-token"))),
        refresh_expires_at: now + 365 * 86_400,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        nickname: Some("Fuzz".to_owned()),
        username: None,
        avatar_url: None,
        profile_fetched_at: None,
        needs_reconnect,
        reconnect_reason: needs_reconnect.then(|| "refresh token refused".to_owned()),
        version: 1,
        lease_owner: None,
        lease_until: None,
        connected_at: now - 60,
        updated_at: now - 60,
    }
}

/// A fresh API: the post and idempotency stores must start empty for every input.
fn api() -> (PostsApi, Arc<CountingExecutions>) {
    let accounts = MemoryTokenStore::new();
    accounts.insert(account(
        "acct",
        &["user.info.basic", "video.publish", "video.upload"],
        false,
    ));
    accounts.insert(account("draftsonly", &["video.upload"], false));
    accounts.insert(account("stale", &["video.publish", "video.upload"], true));
    let source = MemorySource::new();
    for key in [
        "uploads/acct/clip.mp4",
        "uploads/draftsonly/clip.mp4",
        "clip.mov",
    ] {
        source.put(key, b"\0\0\0\x18ftypmp42", 1 << 20);
    }
    let executions = Arc::new(CountingExecutions::default());
    let api = PostsApi {
        intake: Intake {
            posts: Arc::new(MemoryPostStore::new()),
            ends: PostEnds::silent(),
            source: Arc::new(source),
            executions: executions.clone(),
        },
        accounts: Arc::new(accounts),
        idempotency: Arc::new(MemoryIdempotencyStore::new()),
        revoker: Arc::new(Unused),
        creator_info: Arc::new(Unused),
        pull_canceller: Arc::new(MemoryPullCanceller::default()),
        oauth: Arc::new(MemoryOAuthStateStore::new()),
        connect: None,
        bucket: BUCKET.to_owned(),
    };
    (api, executions)
}

fn text<'a>(body: &'a Value, pointer: &str) -> Option<&'a str> {
    body.pointer(pointer).and_then(Value::as_str)
}

fn check_answer(answer: &ApiAnswer) {
    match answer.status {
        200 | 201 => {
            assert!(text(&answer.body, "/id").is_some_and(|id| !id.is_empty()));
            assert!(answer.body.get("error").is_none());
        }
        400 | 404 | 409 => {
            let code = text(&answer.body, "/error/code").unwrap_or_default();
            let message = text(&answer.body, "/error/message").unwrap_or_default();
            assert!(
                !code.is_empty() && !message.trim().is_empty(),
                "{}",
                answer.body
            );
            if answer.status == 400 {
                let field = text(&answer.body, "/error/field").unwrap_or_default();
                assert!(
                    !field.is_empty(),
                    "a 400 must name its field: {}",
                    answer.body
                );
            }
        }
        other => panic!("POST /posts answered {other}: {}", answer.body),
    }
}

fuzz_target!(|body: &[u8]| {
    let (plain, executions) = api();
    let first = runtime().block_on(plain.create_post(body, None));
    check_answer(&first);
    let request: Option<Value> = serde_json::from_slice(body).ok();
    if first.status == 201 {
        let request = request
            .as_ref()
            .expect("a created post came from a JSON body");
        assert_eq!(first.body.get("account"), request.get("account"));
        assert_eq!(first.body.get("key"), request.get("key"));
        assert_eq!(
            executions.started(),
            [text(&first.body, "/id").unwrap_or_default()]
        );
    } else {
        assert!(
            executions.started().is_empty(),
            "{} started an execution",
            first.status
        );
    }

    let second = runtime().block_on(plain.create_post(body, None));
    check_answer(&second);
    if first.status == 201 {
        assert_eq!(second.status, 200, "the same body again: {}", second.body);
        assert_eq!(second.body.get("id"), first.body.get("id"));
        let id = text(&first.body, "/id").unwrap_or_default();
        for started in executions.started() {
            assert_eq!(started, id, "a repeat started another post's execution");
        }
    } else {
        assert_eq!(
            second.status, first.status,
            "{} then {}",
            first.body, second.body
        );
    }

    // The same request under an Idempotency-Key, on a fresh API.
    let key = IdempotencyKey::from_header_values(["fuzz-key-1"], Some("caller"))
        .expect("a valid key")
        .expect("a key was given");
    let (keyed, _) = api();
    let under_key = runtime().block_on(keyed.create_post(body, Some(&key)));
    check_answer(&under_key);
    assert_eq!(
        under_key.status, first.status,
        "{} vs {}",
        under_key.body, first.body
    );
    let replayed = runtime().block_on(keyed.create_post(body, Some(&key)));
    assert_eq!(replayed.status, under_key.status);
    assert_eq!(
        replayed.body, under_key.body,
        "the replay differs from the first answer"
    );
});
