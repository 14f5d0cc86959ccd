//! The faults a test injects ([`Fault`]): TikTok misbehaving the way the real service does.
//! Injected faults are never violations.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Endpoint;

/// Misbehaviour to inject. Counted faults fire on the next `times` matching requests.
/// As JSON (control API): `{"type": "HttpError", "endpoint": "DirectInit", ...}`,
/// durations in milliseconds (`"stall_ms"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Fault {
    /// Answer with this status and TikTok error code instead of handling the request.
    /// Not a violation, and not counted against rate limits. On an upload PUT the answer
    /// is the bare status (the Media Transfer Guide's answers carry no JSON code), and a
    /// 416 carries the `Content-Range` of what the fake holds.
    HttpError {
        endpoint: Endpoint,
        status: u16,
        code: String,
        times: u32,
    },
    /// On an upload PUT: read that many body bytes, then drop the connection unanswered.
    ResetMidBody { after_bytes: u64, times: u32 },
    /// On an upload PUT: read that many body bytes, stop reading for `stall`, then drop
    /// the connection unanswered.
    StallBody {
        after_bytes: u64,
        #[serde(rename = "stall_ms", with = "duration_ms")]
        stall: Duration,
        times: u32,
    },
    /// Upload URLs answer 403 from now on. `None`: every current upload URL.
    ExpireUploadUrl { publish_id: Option<String> },
    /// The account's current access token answers 401 from now on (no violation: the
    /// client could not have known).
    ExpireAccessTokenNow { open_id: String },
    /// The account's next completed upload ends FAILED with this reason.
    FailPost {
        open_id: String,
        fail_reason: String,
    },
    /// `fault` (an `HttpError`, `ResetMidBody` or `StallBody`) fires only on this account's
    /// requests (known by the bearer token, or by the upload URL's publish), so tests
    /// running side by side against one fake do not take each other's faults. Other faults
    /// name their target already and are injected as they are.
    /// JSON: `{"type": "ForAccount", "open_id": "...", "fault": {"type": "HttpError", ...}}`.
    ForAccount { open_id: String, fault: Box<Fault> },
    /// `fault` (a `ResetMidBody` or `StallBody`) fires only on a PUT of chunk `chunk`
    /// (zero-based), e.g. to cut the second chunk of an upload. Combine with `ForAccount`
    /// (either way round) to scope it to one account too.
    OnChunk { chunk: u64, fault: Box<Fault> },
    /// `fault` (an `HttpError`, `ResetMidBody` or `StallBody`, possibly scoped) fires on
    /// about `percent` in 100 of the requests it matches, drawn at random, instead of on
    /// the next ones; its `times` still caps how often it fires. TikTok's errors come
    /// scattered through a run, not in a row.
    /// JSON: `{"type": "Sometimes", "percent": 20, "fault": {"type": "HttpError", ...}}`.
    Sometimes { percent: u8, fault: Box<Fault> },
    /// The access token this account sends on its next call to `endpoint` (a Content
    /// Posting call) expires just before the call is checked: the call answers 401
    /// `access_token_invalid` without violation, as a token that ran out mid-run would.
    ExpireAccessTokenOnCall { open_id: String, endpoint: Endpoint },
    /// Once this account's next upload has taken `chunks` chunks (and is not complete), its
    /// upload URL expires: later PUTs answer 403, as after TikTok's one hour.
    ExpireUploadUrlAfterChunks { open_id: String, chunks: u64 },
    /// Chunk `chunk` (zero-based) of this account's next upload is answered 206 and then
    /// lost, as after a failure on TikTok's side: the next PUT, of the chunk after it, is
    /// answered 416 with a `Content-Range` saying what the fake holds, and the client must
    /// send the lost chunk again. The last chunk is never dropped (its answer is 201).
    DropChunk { open_id: String, chunk: u64 },
    /// This account's status answers leave out `uploaded_bytes` from now on (TikTok's own
    /// example shows it, but nothing promises it).
    OmitUploadedBytes { open_id: String },
    /// From now on the creator cannot post: creator_info answers HTTP 200 with this error
    /// code instead of `ok` (`spam_risk_too_many_posts`, `spam_risk_user_banned_from_posting`,
    /// `reached_active_user_cap`, ...), and both init calls refuse with 403 and the code.
    CreatorCannotPost { open_id: String, code: String },
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
