//! `PUT /upload/`: one chunk of a FILE_UPLOAD. The body is streamed and hashed as it
//! arrives, never buffered; a chunk counts only once all its bytes are in.
//!
//! The answers are the Media Transfer Guide's HTTP statuses, with no JSON error code (the
//! guide defines none): 206 and 201 for a chunk taken, 400 for bad headers or length, 403
//! for an expired URL, 404 for an unknown upload, 416 for a range other than the one
//! expected (its `Content-Range: bytes 0-{last received}/{total}` says what the fake
//! holds), 5xx when a fault says so.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::conn::ConnHandle;
use crate::state::{BodyFault, State};
use crate::{Endpoint, FakeSettings, Shared, ViolationKind};

const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];
/// Bodies of refused PUTs are read and thrown away (up to this much) so the client gets
/// to read the answer instead of a reset.
const MAX_DRAIN: u64 = 200_000_000;
/// Status recorded for a request whose connection the fake dropped unanswered.
const NO_ANSWER: u16 = 0;

/// A chunk that passed the header checks.
struct Accepted {
    publish_id: String,
    index: u64,
    len: u64,
    /// `Some`: the next chunk, to hash on top of the upload so far. `None`: a chunk taken
    /// already and sent again.
    running: Option<Sha256>,
    fault: Option<BodyFault>,
}

fn parse_query(query: Option<&str>) -> (Option<String>, Option<String>) {
    let mut upload_id = None;
    let mut upload_token = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "upload_id" if upload_id.is_none() => upload_id = Some(value.into_owned()),
            "upload_token" if upload_token.is_none() => upload_token = Some(value.into_owned()),
            _ => {}
        }
    }
    (upload_id, upload_token)
}

fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `bytes {first}-{last}/{total}`, strictly (digits only, first <= last): the one parser of
/// the header for the fake and the bench's upload sink.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (digits(first)?, digits(last)?, digits(total)?);
    (first <= last).then_some((first, last, total))
}

/// A PUT refused: the bare status, and for a 416 the range the fake holds.
#[derive(Debug)]
struct Refusal {
    status: u16,
    /// `Content-Range` of a 416 (see [`crate::state::Publish::held_range`]).
    held_range: Option<String>,
}

impl Refusal {
    fn status(status: u16) -> Self {
        Self {
            status,
            held_range: None,
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if let Some(value) = self
            .held_range
            .and_then(|range| HeaderValue::from_str(&range).ok())
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        response
    }
}

/// A client mistake: recorded as a violation, answered with `status` alone.
fn refuse(state: &mut State, status: u16, kind: ViolationKind, detail: String) -> Refusal {
    state.violate(kind, detail);
    Refusal::status(status)
}

/// The header checks, all under the lock. Returns the upload's owner for the call log.
fn check_headers(
    state: &mut State,
    settings: &FakeSettings,
    query: Option<&str>,
    headers: &HeaderMap,
) -> (Option<String>, Result<Accepted, Refusal>) {
    let not_found = || Refusal::status(404);
    let (upload_id, upload_token) = parse_query(query);
    let Some(publish) = upload_id.and_then(|id| state.publish_by_upload_id(&id)) else {
        return (None, Err(not_found()));
    };
    if upload_token.as_deref() != Some(publish.upload_token.as_str()) {
        return (None, Err(not_found()));
    }
    let open_id = publish.open_id.clone();
    let publish_id = publish.publish_id.clone();
    let plan = publish.plan;
    let taken = publish.chunks_taken;
    let acknowledged = publish.chunks_acknowledged;
    let held_range = publish.held_range();
    let expired = publish.url_expired(settings);
    let running = publish.hasher.clone();
    // Not the range expected: say what the fake holds, so the client can send the rest.
    let range_refusal = |state: &mut State, violation: Option<(ViolationKind, String)>| {
        if let Some((kind, detail)) = violation {
            state.violate(kind, detail);
        }
        Refusal {
            status: 416,
            held_range: Some(held_range.clone()),
        }
    };
    let result = (|| {
        if let Some(reject) = state.take_http_fault(Endpoint::UploadChunk, Some(&open_id)) {
            return Err(if reject.status == 416 {
                range_refusal(state, None)
            } else {
                Refusal::status(reject.status)
            });
        }
        if expired {
            return Err(Refusal::status(403));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let essence = content_type.map(|v| v.split(';').next().unwrap_or_default().trim());
        if !essence.is_some_and(|e| VIDEO_TYPES.iter().any(|t| e.eq_ignore_ascii_case(t))) {
            return Err(refuse(
                state,
                400,
                ViolationKind::BadContentType,
                format!("chunk with Content-Type {content_type:?}"),
            ));
        }
        let range = headers
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok());
        let Some((first, last, total)) = range.and_then(parse_content_range) else {
            return Err(refuse(
                state,
                400,
                ViolationKind::BadContentRange,
                format!("malformed Content-Range {range:?}"),
            ));
        };
        if total != plan.video_size {
            return Err(refuse(
                state,
                400,
                ViolationKind::BadContentRange,
                format!(
                    "Content-Range total {total} is not the declared video_size {}",
                    plan.video_size
                ),
            ));
        }
        let Some(index) = plan.chunk_at(first) else {
            let detail = format!(
                "Content-Range bytes {first}-{last}/{total} does not start on a chunk of the plan"
            );
            return Err(range_refusal(
                state,
                Some((ViolationKind::BadContentRange, detail)),
            ));
        };
        let end = plan.chunk_end(index);
        if last != end {
            let detail = format!("chunk {index} ends at byte {end}, Content-Range says {last}");
            return Err(range_refusal(
                state,
                Some((ViolationKind::BadContentRange, detail)),
            ));
        }
        if index > taken {
            // Ahead of the fake is the client's mistake only past what was acknowledged:
            // a chunk the fake answered and then lost (`DropChunk`) is the fake's doing.
            let violation = (index > acknowledged).then(|| {
                let detail = format!("chunk {index} sent while chunk {taken} is expected next");
                (ViolationKind::ChunkOutOfOrder, detail)
            });
            return Err(range_refusal(state, violation));
        }
        let len = plan.chunk_len(index);
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok());
        if declared.and_then(digits) != Some(len) {
            return Err(refuse(
                state,
                400,
                ViolationKind::BadContentLength,
                format!("chunk {index} is {len} bytes, Content-Length is {declared:?}"),
            ));
        }
        Ok(Accepted {
            publish_id: publish_id.clone(),
            index,
            len,
            running: (index == taken).then_some(running),
            fault: state.take_body_fault(Some(&open_id), index),
        })
    })();
    (Some(open_id), result)
}

/// Reads and discards what the client sends, up to `MAX_DRAIN` bytes.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    while let Some(Ok(bytes)) = stream.next().await {
        seen += bytes.len() as u64;
        if seen > MAX_DRAIN {
            break;
        }
    }
}

fn empty(status: StatusCode) -> Response {
    status.into_response()
}

pub(crate) async fn put_chunk(
    AxState(shared): AxState<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let (open_id, checked) = {
        let mut state = shared.lock();
        check_headers(&mut state, &shared.settings, query.as_deref(), &headers)
    };
    let record = |status: u16| {
        shared
            .lock()
            .record_call(Endpoint::UploadChunk, open_id.clone(), status);
    };
    let accepted = match checked {
        Ok(accepted) => accepted,
        Err(refusal) => {
            drain(body).await;
            record(refusal.status);
            return refusal.into_response();
        }
    };

    let (fault_after, fault) = match accepted.fault {
        Some(BodyFault::Reset { after_bytes }) => (after_bytes, accepted.fault),
        Some(BodyFault::Stall { after_bytes, .. }) => (after_bytes, accepted.fault),
        None => (u64::MAX, None),
    };
    let mut chunk_hasher = Sha256::new();
    let mut running = accepted.running.clone();
    let mut received = 0u64;
    let mut stream = body.into_data_stream();
    let mut broken = false;
    while received < accepted.len {
        if received >= fault_after {
            break;
        }
        let Some(Ok(mut bytes)) = stream.next().await else {
            broken = true;
            break;
        };
        // Stop at exactly `after_bytes` so a fault cuts the body where the test said.
        let room = fault_after.saturating_sub(received);
        if (bytes.len() as u64) > room {
            bytes.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        }
        received += bytes.len() as u64;
        chunk_hasher.update(&bytes);
        if let Some(running) = running.as_mut() {
            running.update(&bytes);
        }
    }
    let arrived = !broken && received == accepted.len;

    if let (Some(fault), false) = (fault, arrived) {
        // Cut mid-body: the chunk is dropped whole and the client gets no answer.
        if let BodyFault::Stall { stall, .. } = fault {
            tokio::time::sleep(stall).await;
        }
        conn.kill();
        record(NO_ANSWER);
        return empty(StatusCode::INTERNAL_SERVER_ERROR);
    }
    if !arrived {
        // The client went away before the end of the chunk: nothing is taken.
        record(400);
        return Refusal::status(400).into_response();
    }

    let digest: [u8; 32] = chunk_hasher.finalize().into();
    let (answer, completed) = {
        let mut state = shared.lock();
        let answer = commit(&mut state, &accepted, running, digest);
        (answer, std::mem::take(&mut state.completed_uploads))
    };
    for publish_id in completed {
        crate::webhook::upload_completed(&shared, publish_id);
    }
    if let Some(fault) = fault {
        // The whole chunk arrived before the fault's byte count: take it, lose the answer,
        // as when a response is lost on the way back.
        if let BodyFault::Stall { stall, .. } = fault {
            tokio::time::sleep(stall).await;
        }
        conn.kill();
        record(NO_ANSWER);
        return empty(StatusCode::INTERNAL_SERVER_ERROR);
    }
    match answer {
        Ok(status) => {
            record(status.as_u16());
            empty(status)
        }
        Err(refusal) => {
            record(refusal.status);
            refusal.into_response()
        }
    }
}

/// Takes the chunk if it is still the next one; acknowledges it if it was taken already.
fn commit(
    state: &mut State,
    accepted: &Accepted,
    running: Option<Sha256>,
    digest: [u8; 32],
) -> Result<StatusCode, Refusal> {
    let Some(publish) = state.publish_mut(&accepted.publish_id) else {
        return Err(Refusal::status(404));
    };
    let taken = publish.chunks_taken;
    let total = publish.plan.total_chunk_count;
    let open_id = publish.open_id.clone();
    if let (Some(running), true) = (running, taken == accepted.index) {
        let last = accepted.index + 1 == total;
        if !last && state.take_drop_chunk(&open_id, accepted.index) {
            // Answered as taken, then lost: the next chunk finds the fake one behind.
            if let Some(publish) = state.publish_mut(&accepted.publish_id) {
                publish.chunks_acknowledged = publish.chunks_acknowledged.max(accepted.index + 1);
            }
            return Ok(StatusCode::PARTIAL_CONTENT);
        }
        state.commit_chunk(&accepted.publish_id, running, digest, accepted.len);
        let done = accepted.index + 1 == total;
        return Ok(if done {
            StatusCode::CREATED
        } else {
            StatusCode::PARTIAL_CONTENT
        });
    }
    // Taken already, by an earlier copy of this request (a retry after a lost answer, or a
    // parallel retry that finished first).
    let index = usize::try_from(accepted.index).unwrap_or(usize::MAX);
    let same_bytes = publish.chunk_digests.get(index) == Some(&digest);
    let complete = publish.complete();
    if !same_bytes {
        let detail = format!(
            "chunk {} sent again with different bytes than the copy taken",
            accepted.index
        );
        state.violate(ViolationKind::BadRequest, detail);
        return Err(Refusal::status(400));
    }
    Ok(if complete && accepted.index + 1 == total {
        StatusCode::CREATED
    } else {
        StatusCode::PARTIAL_CONTENT
    })
}
