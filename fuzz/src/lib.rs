//! What the fuzz targets share: one async runtime per process, in-memory ports (a video
//! source that checks every read it is asked for, executions that only count) and a loopback
//! HTTP server that answers the real TikTok client with whatever bytes the fuzzer chose.
//!
//! Nothing here is fuzzed itself; a panic in it is a bug in the harness, and the assertions
//! in it check the *caller's* behaviour (a read outside the object is the probe's fault).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use tiktok_publish_core::intake::{Executions, IntakeError};
use tiktok_publish_core::media::{
    ByteStream, SourceError, VideoLocation, VideoObject, VideoSource,
};
use tiktok_publish_core::store::PostId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The bucket every in-memory object lives in.
pub const BUCKET: &str = "videos";

/// A realistic "now" (2026-01-01T00:00:00Z): the parsers compare schedules against it, and a
/// fixed value keeps every run reproducible.
pub const NOW: i64 = 1_767_225_600;

/// One single-threaded runtime per fuzz process: building one per input would dominate.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the fuzz harness needs a tokio runtime")
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking input aborts the process anyway; never hide the first panic behind this.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An object: its first bytes, then zeros up to `size` (so a 4 GB `mdat` costs nothing).
#[derive(Clone)]
struct StoredObject {
    head: Bytes,
    size: u64,
}

/// [`VideoSource`] in memory that answers exactly what is asked, in several stream chunks,
/// and records every read so a target can check what the caller asked for.
#[derive(Default)]
pub struct MemorySource {
    objects: Mutex<HashMap<String, StoredObject>>,
    reads: Mutex<Vec<(u64, u64)>>,
    /// Reads outside the object (or backwards): the caller's bug, reported by the target.
    bad_reads: Mutex<Vec<String>>,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `head` at `key`, followed by zeros up to `size` (at least `head.len()`).
    pub fn put(&self, key: &str, head: &[u8], size: u64) {
        let size = size.max(head.len() as u64);
        lock(&self.objects).insert(
            key.to_owned(),
            StoredObject {
                head: Bytes::copy_from_slice(head),
                size,
            },
        );
    }

    /// The object's description, as `head` would give it.
    pub fn object(&self, key: &str) -> Option<VideoObject> {
        let objects = lock(&self.objects);
        let stored = objects.get(key)?;
        Some(VideoObject {
            location: VideoLocation {
                bucket: BUCKET.to_owned(),
                key: key.to_owned(),
                version_id: Some("v1".to_owned()),
            },
            size: stored.size,
            content_type: None,
            etag: "\"etag\"".to_owned(),
        })
    }

    /// Every `(first, last)` read so far.
    pub fn reads(&self) -> Vec<(u64, u64)> {
        lock(&self.reads).clone()
    }

    /// Reads that were outside the object, described.
    pub fn bad_reads(&self) -> Vec<String> {
        lock(&self.bad_reads).clone()
    }
}

#[async_trait]
impl VideoSource for MemorySource {
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        if location.bucket != BUCKET {
            return Err(SourceError::NotFound {
                bucket: location.bucket.clone(),
                key: location.key.clone(),
            });
        }
        self.object(&location.key)
            .ok_or_else(|| SourceError::NotFound {
                bucket: location.bucket.clone(),
                key: location.key.clone(),
            })
    }

    async fn read_range(
        &self,
        object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError> {
        lock(&self.reads).push((first, last));
        let stored = lock(&self.objects).get(&object.location.key).cloned();
        let Some(stored) = stored else {
            return Err(SourceError::NotFound {
                bucket: object.location.bucket.clone(),
                key: object.location.key.clone(),
            });
        };
        if first > last || last >= stored.size {
            lock(&self.bad_reads).push(format!(
                "read of bytes {first}..={last} of a {}-byte object",
                stored.size
            ));
            // What S3 answers to an unsatisfiable range.
            return Err(SourceError::Refused {
                detail: "InvalidRange".into(),
            });
        }
        // The harness never serves more than a few MB (the targets cap their limits).
        let len = usize::try_from(last - first + 1).map_err(|_| SourceError::Refused {
            detail: "range too large for the fuzz harness".into(),
        })?;
        let mut bytes = vec![0u8; len];
        let head_len = stored.head.len() as u64;
        if first < head_len {
            let from = first as usize;
            let to = (last + 1).min(head_len) as usize;
            bytes[..to - from].copy_from_slice(&stored.head[from..to]);
        }
        // Several chunks, as a network stream gives them, so reassembly is exercised too.
        let chunks: Vec<Result<Bytes, std::io::Error>> = Bytes::from(bytes)
            .chunks(977)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}

/// [`Executions`] that only remembers which posts were started.
#[derive(Default)]
pub struct CountingExecutions {
    started: Mutex<Vec<String>>,
}

impl CountingExecutions {
    pub fn started(&self) -> Vec<String> {
        lock(&self.started).clone()
    }
}

#[async_trait]
impl Executions for CountingExecutions {
    async fn start_named(&self, _post_id: &PostId, name: &str) -> Result<(), IntakeError> {
        lock(&self.started).push(name.to_owned());
        Ok(())
    }

    async fn stop(&self, _post_id: &PostId, _cause: &str) -> Result<(), IntakeError> {
        Ok(())
    }
}

/// The answer the loopback TikTok gives next: an HTTP status and a body.
#[derive(Clone, Default)]
pub struct CannedAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A loopback HTTP/1.1 server that answers every request with the current [`CannedAnswer`]
/// (keep-alive, so one connection serves a whole fuzz run).
pub struct LoopbackTikTok {
    pub base_url: String,
    answer: Arc<Mutex<CannedAnswer>>,
}

impl LoopbackTikTok {
    /// Starts the server on the [`runtime`]; call once per process.
    pub fn start() -> LoopbackTikTok {
        let answer = Arc::new(Mutex::new(CannedAnswer::default()));
        let listener = runtime().block_on(async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .expect("the fuzz harness needs a loopback port")
        });
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = answer.clone();
        runtime().spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
        });
        LoopbackTikTok {
            base_url: format!("http://127.0.0.1:{port}"),
            answer,
        }
    }

    /// Sets what the next requests are answered.
    pub fn answer_with(&self, status: u16, body: &[u8]) {
        *lock(&self.answer) = CannedAnswer {
            status,
            body: body.to_vec(),
        };
    }
}

async fn serve_connection(mut stream: TcpStream, answer: Arc<Mutex<CannedAnswer>>) {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        // The request head, then as many body bytes as it declares.
        let head_end = loop {
            if let Some(at) = find(&buffer, b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let body_len = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + body_len {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + body_len);
        let CannedAnswer { status, body } = lock(&answer).clone();
        let mut response = format!(
            "HTTP/1.1 {status} Fuzz\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        if stream.write_all(&response).await.is_err() {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits fuzz input into `n` parts at `0xFF` bytes (never valid UTF-8, so a text seed can
/// hold separators without escaping); missing parts are empty.
pub fn split_parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(n, |b| *b == 0xFF).collect();
    parts.resize(n, &[]);
    parts
}
