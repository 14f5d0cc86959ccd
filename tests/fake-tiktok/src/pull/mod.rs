//! PULL_FROM_URL: once init has answered, the fake downloads the media itself, as TikTok
//! does ("the TikTok server starts to download the media resource using the URL you
//! provide", Media Transfer Guide).
//!
//! - Redirects are never followed: "URLs that return HTTP 3xx are considered invalid". Any
//!   status but 200 fails the pull.
//! - The whole pull must end within [`crate::FakeSettings::pull_timeout`] (TikTok: "times
//!   out one hour after the download task is initiated").
//! - A video over `max_video_size`, a photo over `max_photo_size` fails the pull.
//! - Photos are downloaded one after another, in order; each must be JPEG or WebP by its
//!   content and at most 1080p (see [`media`]).
//!
//! While it runs, the post is `PROCESSING_DOWNLOAD` with `downloaded_bytes`; a failure ends
//! it `FAILED` at once (`video_pull_failed`, `photo_pull_failed`, or the photo check's
//! reason), a success hands it to the same processing as a finished upload.

mod media;

use std::net::SocketAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::state::PullEnd;
use crate::{FakeSettings, MediaType, PulledMedia, Shared};

/// The client that downloads media: https only, no redirects, the extra CAs and host
/// overrides of the settings. The host name is still checked against the certificate.
pub(crate) fn client(settings: &FakeSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true);
    let mut certs = Vec::new();
    for pem in &settings.trusted_ca_pems {
        let found = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("a trusted CA is not a PEM certificate: {e}"))?;
        if found.is_empty() {
            return Err("a trusted CA holds no PEM certificate".to_owned());
        }
        certs.extend(found);
    }
    if !certs.is_empty() {
        builder = builder.tls_certs_merge(certs);
    }
    for (host, ip) in &settings.resolve {
        // Port 0: the URL's own port is used.
        builder = builder.resolve(host, SocketAddr::new(*ip, 0));
    }
    builder
        .build()
        .map_err(|e| format!("building the media client: {e}"))
}

/// Starts the downloads of the posts created since the last call, and sends the events of
/// posts cancelled since.
pub(crate) fn start_pending(shared: &Arc<Shared>) {
    let (pending, ended) = {
        let mut state = shared.lock();
        (
            std::mem::take(&mut state.pending_pulls),
            std::mem::take(&mut state.ended_now),
        )
    };
    for publish_id in pending {
        spawn(shared, publish_id);
    }
    for publish_id in ended {
        crate::webhook::publish_ended(shared, publish_id);
    }
}

fn spawn(shared: &Arc<Shared>, publish_id: String) {
    let Some((media_type, urls)) = shared.lock().pull_job(&publish_id) else {
        return;
    };
    let task = tokio::spawn(run(shared.clone(), publish_id.clone(), media_type, urls));
    shared
        .lock()
        .set_pull_task(&publish_id, task.abort_handle());
}

async fn run(shared: Arc<Shared>, publish_id: String, media_type: MediaType, urls: Vec<String>) {
    let timeout = shared.settings.pull_timeout;
    let fetched = tokio::time::timeout(timeout, fetch_all(&shared, &publish_id, media_type, &urls))
        .await
        .unwrap_or_else(|_| {
            Err(Failure {
                end: PullEnd::DownloadFailed(media_type),
                detail: format!("not finished within {timeout:?}"),
            })
        });
    match fetched {
        Ok(()) => {
            if shared.lock().pull_done(&publish_id) {
                crate::webhook::upload_completed(&shared, publish_id);
            }
        }
        Err(failure) => {
            tracing::info!(%publish_id, reason = failure.end.as_str(), detail = %failure.detail, "pull failed");
            if shared.lock().pull_failed(&publish_id, failure.end) {
                crate::webhook::publish_ended(&shared, publish_id);
            }
        }
    }
}

/// `url` without its query: a signed URL's signature stays out of the log.
fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Why a pull failed: the reason TikTok gives, and what happened (for the log).
struct Failure {
    end: PullEnd,
    detail: String,
}

async fn fetch_all(
    shared: &Arc<Shared>,
    publish_id: &str,
    media_type: MediaType,
    urls: &[String],
) -> Result<(), Failure> {
    let cap = match media_type {
        MediaType::Video => shared.settings.max_video_size,
        MediaType::Photo => shared.settings.max_photo_size,
    };
    for url in urls {
        let (file, bytes) = fetch(shared, publish_id, media_type, url, cap).await?;
        if media_type == MediaType::Photo {
            media::check_photo(&bytes).map_err(|(end, detail)| Failure {
                end,
                detail: format!("{}: {detail}", without_query(url)),
            })?;
        }
        shared.lock().pull_file_done(publish_id, file);
    }
    Ok(())
}

/// Downloads `url` whole, counting bytes as they arrive. Photos are kept for the checks;
/// a video is only hashed.
async fn fetch(
    shared: &Arc<Shared>,
    publish_id: &str,
    media_type: MediaType,
    url: &str,
    cap: u64,
) -> Result<(PulledMedia, Vec<u8>), Failure> {
    let failed = |detail: String| Failure {
        end: PullEnd::DownloadFailed(media_type),
        detail: format!("{}: {detail}", without_query(url)),
    };
    let mut response = shared
        .puller
        .get(url)
        .send()
        .await
        .map_err(|e| failed(format!("{e:?}")))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(failed(format!("the origin answered {status}")));
    }
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(failed(format!("larger than {cap} bytes")));
    }
    let mut hasher = Sha256::new();
    let mut kept = Vec::new();
    let mut total = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(format!("{e:?}")))?
    {
        total += chunk.len() as u64;
        if total > cap {
            return Err(failed(format!("larger than {cap} bytes")));
        }
        hasher.update(&chunk);
        if media_type == MediaType::Photo {
            kept.extend_from_slice(&chunk);
        }
        shared.lock().pull_progress(publish_id, chunk.len() as u64);
    }
    let file = PulledMedia {
        url: url.to_owned(),
        bytes: total,
        sha256: hex::encode(hasher.finalize()),
    };
    Ok((file, kept))
}
