//! Stand-ins fast enough not to be what a benchmark measures.
//!
//! - [`FastS3`]: HeadObject and (ranged) GetObject of one object held in memory, with ETag
//!   and `If-Match` as S3 does them; each GET body is sent as zero-copy slices of the object.
//! - [`UploadSink`]: TikTok's chunk protocol (`PUT` with `Content-Range` and
//!   `Content-Length`, chunks in order, `206` until the last, then `201`), checking every byte
//!   against the expected video with a memory compare rather than a hash, so it costs little.
//! - [`Tripwire`]: a listener that only records who connected (and what they first sent):
//!   where a cold start is pointed to see whether it calls out before its first event.
//! - [`CountingProxy`]: forwards AWS requests to moto and counts them by operation.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, put};
use fake_tiktok::parse_content_range;
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// The size of each body frame the S3 stand-in sends.
const FRAME: usize = 1024 * 1024;

async fn serve(app: Router) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind a loopback port")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("bench server on {addr} stopped: {err}");
        }
    });
    Ok(addr)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One object, served as S3 serves it (path-style: `/{bucket}/{key}`).
pub struct FastS3 {
    addr: SocketAddr,
    shared: Arc<S3Shared>,
}

struct S3Shared {
    bucket: String,
    key: String,
    video: Bytes,
    etag: String,
    gets: AtomicU64,
}

impl FastS3 {
    /// Serves `video` at `bucket/key` on a free loopback port of the current runtime.
    pub async fn start(bucket: &str, key: &str, video: Bytes) -> anyhow::Result<FastS3> {
        let shared = Arc::new(S3Shared {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            // Any stable quoted string will do: clients only echo it in If-Match.
            etag: format!("\"bench-{:x}\"", video.len()),
            video,
            gets: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/{bucket}/{*key}", any(s3_object))
            .with_state(Arc::clone(&shared));
        Ok(FastS3 {
            addr: serve(app).await?,
            shared,
        })
    }

    /// `http://127.0.0.1:PORT`, the S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL a bare HTTP client GETs the object at.
    pub fn object_url(&self) -> String {
        format!(
            "{}/{}/{}",
            self.endpoint(),
            self.shared.bucket,
            self.shared.key
        )
    }

    pub fn gets(&self) -> u64 {
        self.shared.gets.load(Ordering::Relaxed)
    }
}

fn s3_error(status: StatusCode, code: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `bytes=FIRST-LAST` (the only form the clients here send).
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let (first, last) = value.strip_prefix("bytes=")?.split_once('-')?;
    let first: u64 = first.parse().ok()?;
    let last: u64 = if last.is_empty() {
        size.checked_sub(1)?
    } else {
        last.parse::<u64>().ok()?.min(size.checked_sub(1)?)
    };
    (first <= last).then_some((first, last))
}

async fn s3_object(
    State(shared): State<Arc<S3Shared>>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if bucket != shared.bucket || key != shared.key {
        return s3_error(StatusCode::NOT_FOUND, "NoSuchKey");
    }
    let size = shared.video.len() as u64;
    if let Some(expected) = headers.get(header::IF_MATCH)
        && expected.as_bytes() != shared.etag.as_bytes()
    {
        return s3_error(StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    }
    let common = [
        (header::ETAG, shared.etag.clone()),
        (header::CONTENT_TYPE, "video/mp4".to_owned()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
    ];
    if method == Method::HEAD {
        return (
            StatusCode::OK,
            common,
            [(header::CONTENT_LENGTH, size.to_string())],
        )
            .into_response();
    }
    if method != Method::GET {
        return s3_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
    }
    shared.gets.fetch_add(1, Ordering::Relaxed);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (status, first, last) = match range {
        None => (StatusCode::OK, 0, size.saturating_sub(1)),
        Some(Some((first, last))) => (StatusCode::PARTIAL_CONTENT, first, last),
        Some(None) => return s3_error(StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange"),
    };
    let (Ok(start), Ok(end)) = (usize::try_from(first), usize::try_from(last + 1)) else {
        return s3_error(StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange");
    };
    let video = shared.video.clone();
    let frames = (start..end)
        .step_by(FRAME)
        .map(move |from| Ok::<_, Infallible>(video.slice(from..(from + FRAME).min(end))));
    let mut response = (
        status,
        common,
        [(header::CONTENT_LENGTH, (end - start).to_string())],
        Body::from_stream(futures::stream::iter(frames)),
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = format!("bytes {first}-{last}/{size}").parse()
    {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// TikTok's upload URL, for any number of uploads (`/upload/{id}`) of one known video.
pub struct UploadSink {
    addr: SocketAddr,
    shared: Arc<SinkShared>,
}

struct SinkShared {
    video: Bytes,
    /// Upload id → bytes taken so far (the next chunk must start there).
    uploads: Mutex<HashMap<String, u64>>,
    violations: Mutex<Vec<String>>,
}

impl UploadSink {
    pub async fn start(video: Bytes) -> anyhow::Result<UploadSink> {
        let shared = Arc::new(SinkShared {
            video,
            uploads: Mutex::new(HashMap::new()),
            violations: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/upload/{id}", put(take_chunk))
            .with_state(Arc::clone(&shared));
        Ok(UploadSink {
            addr: serve(app).await?,
            shared,
        })
    }

    /// The upload URL of upload `id`.
    pub fn url(&self, id: &str) -> String {
        format!("http://{}/upload/{id}", self.addr)
    }

    /// Whether upload `id` has every byte of the video, each checked.
    pub fn complete(&self, id: &str) -> bool {
        lock(&self.shared.uploads).get(id).copied() == Some(self.shared.video.len() as u64)
    }

    /// Protocol breaches and wrong bytes seen so far.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }
}

async fn take_chunk(
    State(shared): State<Arc<SinkShared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> StatusCode {
    let refuse = |why: String| {
        lock(&shared.violations).push(format!("upload {id}: {why}"));
        StatusCode::BAD_REQUEST
    };
    let size = shared.video.len() as u64;
    let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let Some((first, last, total)) =
        header_str(header::CONTENT_RANGE).and_then(parse_content_range)
    else {
        return refuse("no readable Content-Range".into());
    };
    let length: Option<u64> = header_str(header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    if total != size || last < first || last >= size || length != Some(last - first + 1) {
        return refuse(format!(
            "Content-Range bytes {first}-{last}/{total} with Content-Length {length:?}"
        ));
    }
    if !header_str(header::CONTENT_TYPE).is_some_and(|t| t.starts_with("video/")) {
        return refuse("Content-Type is not a video type".into());
    }
    let expected_first = lock(&shared.uploads).get(&id).copied().unwrap_or(0);
    if first != expected_first {
        return refuse(format!(
            "chunk starts at {first}, expected {expected_first}"
        ));
    }
    let mut position = first;
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => return refuse(format!("body broke at byte {position}: {err}")),
        };
        let end = position + frame.len() as u64;
        if end > last + 1 {
            return refuse(format!("body runs past byte {last}"));
        }
        let (Ok(from), Ok(to)) = (usize::try_from(position), usize::try_from(end)) else {
            return refuse("offset beyond memory".into());
        };
        if shared.video[from..to] != frame[..] {
            return refuse(format!("wrong bytes between {position} and {end}"));
        }
        position = end;
    }
    if position != last + 1 {
        return refuse(format!("body ended at byte {position}, before {last}"));
    }
    lock(&shared.uploads).insert(id, position);
    if position == size {
        StatusCode::CREATED
    } else {
        StatusCode::PARTIAL_CONTENT
    }
}

/// A listener that answers nothing and records each connection.
pub struct Tripwire {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Tripwire {
    pub async fn start() -> anyhow::Result<Tripwire> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind a tripwire")?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let at = Instant::now();
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let mut first = vec![0u8; 512];
                    let read = tokio::time::timeout(
                        std::time::Duration::from_millis(200),
                        socket.read(&mut first),
                    )
                    .await;
                    let line = match read {
                        Ok(Ok(n)) => String::from_utf8_lossy(&first[..n])
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_owned(),
                        _ => String::new(),
                    };
                    lock(&record).push((at, line));
                });
            }
        });
        Ok(Tripwire { addr, hits })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections so far: when, and the first request line sent on each (if any).
    pub fn hits(&self) -> Vec<(Instant, String)> {
        lock(&self.hits).clone()
    }
}

/// Forwards every request to `upstream` (moto) and counts them by AWS operation.
pub struct CountingProxy {
    addr: SocketAddr,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> anyhow::Result<CountingProxy> {
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .build()
                .context("build the proxy's client")?,
            counts: Arc::clone(&counts),
        });
        let app = Router::new().fallback(forward).with_state(state);
        Ok(CountingProxy {
            addr: serve(app).await?,
            counts,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests per operation since the last call, and resets the counts.
    pub fn take_counts(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *lock(&self.counts))
    }
}

/// `DynamoDB GetItem`, `SecretsManager GetSecretValue`, `S3 GET` (object), ...
fn operation(request: &Request) -> String {
    if let Some(target) = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let (service, op) = target.split_once('.').unwrap_or(("?", target));
        let service = if service.starts_with("DynamoDB") {
            "DynamoDB"
        } else if service.eq_ignore_ascii_case("secretsmanager") {
            "SecretsManager"
        } else if service.starts_with("AWSStepFunctions") {
            "StepFunctions"
        } else if service.starts_with("TrentService") {
            "KMS"
        } else {
            service
        };
        return format!("{service} {op}");
    }
    let ranged = request.headers().contains_key(header::RANGE);
    format!(
        "S3 {}{}",
        request.method(),
        if ranged { " (ranged)" } else { "" }
    )
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let op = operation(&request);
    *lock(&state.counts).entry(op).or_insert(0) += 1;
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut outgoing = state
        .http
        .request(parts.method, format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response
                .body(Body::from_stream(answer.bytes_stream()))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(err) => (StatusCode::BAD_GATEWAY, format!("upstream: {err}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_s3_reads_them() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=5-", 100), Some((5, 99)));
        assert_eq!(parse_range("bytes=9-5", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn content_ranges_are_parsed() {
        assert_eq!(
            parse_content_range("bytes 0-63999999/300000000"),
            Some((0, 63_999_999, 300_000_000))
        );
        assert_eq!(parse_content_range("bytes */300"), None);
    }

    #[tokio::test]
    async fn the_sink_takes_chunks_in_order_and_refuses_wrong_bytes() {
        let video = Bytes::from((0..=255u8).cycle().take(1000).collect::<Vec<u8>>());
        let sink = UploadSink::start(video.clone()).await.unwrap();
        let http = reqwest::Client::new();
        let put = |id: &'static str, first: usize, last: usize, bytes: Vec<u8>| {
            http.put(sink.url(id))
                .header(header::CONTENT_TYPE, "video/mp4")
                .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/1000"))
                .body(bytes)
                .send()
        };
        let first = put("a", 0, 599, video[..600].to_vec()).await.unwrap();
        assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
        assert!(!sink.complete("a"));
        let last = put("a", 600, 999, video[600..].to_vec()).await.unwrap();
        assert_eq!(last.status(), StatusCode::CREATED);
        assert!(sink.complete("a"));
        assert!(sink.violations().is_empty());

        let out_of_order = put("b", 600, 999, video[600..].to_vec()).await.unwrap();
        assert_eq!(out_of_order.status(), StatusCode::BAD_REQUEST);
        let mut wrong = video[..600].to_vec();
        wrong[300] ^= 1;
        let wrong = put("c", 0, 599, wrong).await.unwrap();
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert_eq!(sink.violations().len(), 2, "{:?}", sink.violations());
    }

    #[tokio::test]
    async fn the_s3_stand_in_serves_ranges_pinned_to_its_etag() {
        let video = Bytes::from((0..=255u8).cycle().take(3 * FRAME + 5).collect::<Vec<u8>>());
        let s3 = FastS3::start("b", "dir/v.mp4", video.clone())
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let head = http.head(s3.object_url()).send().await.unwrap();
        let etag = head.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "3145733");
        let got = http
            .get(s3.object_url())
            .header(header::RANGE, "bytes=10-2097161")
            .header(header::IF_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            got.headers()[header::CONTENT_RANGE],
            "bytes 10-2097161/3145733"
        );
        assert_eq!(got.bytes().await.unwrap(), video.slice(10..2_097_162));
        let stale = http
            .get(s3.object_url())
            .header(header::IF_MATCH, "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(s3.gets(), 1);
    }
}
