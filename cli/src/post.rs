//! `post`: the video's length, the upload to the bucket, `POST /posts`, and following the post
//! until it is final (the questions before it are in [`crate::compose`]).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tiktok_publish_core::media::probe::{ProbeLimits, probe};
use tiktok_publish_core::media::{
    ByteStream, SourceError, VideoLocation, VideoObject, VideoSource,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::api::{self, PostView};
use crate::stack::Stack;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(
        "posting needs your explicit agreement to TikTok's declaration; with no terminal to ask on, pass --yes to agree"
    )]
    NeedsYes,
    #[error("cannot read {path}: {source}; check the file's path and permissions")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} has no file name to upload it under; pass the path of a video file")]
    NoFileName(String),
    #[error(
        "uploading to s3://{bucket}/{key} failed: {detail}; check the stack is running and its bucket exists"
    )]
    Upload {
        bucket: String,
        key: String,
        detail: String,
    },
}

/// The key a video of `open_id` is uploaded under: `uploads/{open_id}/{file name}`.
pub fn upload_key(open_id: &str, file: &Path) -> Result<String, PostError> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| PostError::NoFileName(file.display().to_string()))?;
    Ok(format!("uploads/{open_id}/{name}"))
}

/// Whether the person at the keyboard can be asked: stdin and stderr are terminals and
/// `--yes` did not say to ask nothing.
pub fn can_ask(yes: bool) -> bool {
    !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The video file as a [`VideoSource`], so the core's probe reads its length locally.
struct LocalVideo {
    path: PathBuf,
}

#[async_trait]
impl VideoSource for LocalVideo {
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        let size = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| SourceError::Refused {
                detail: e.to_string(),
            })?
            .len();
        Ok(VideoObject {
            location: location.clone(),
            size,
            content_type: None,
            etag: String::new(),
        })
    }

    async fn read_range(
        &self,
        _object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError> {
        let refused = |e: std::io::Error| SourceError::Refused {
            detail: e.to_string(),
        };
        let mut file = tokio::fs::File::open(&self.path).await.map_err(refused)?;
        file.seek(std::io::SeekFrom::Start(first))
            .await
            .map_err(refused)?;
        let mut buffer = Vec::new();
        file.take(last.saturating_sub(first) + 1)
            .read_to_end(&mut buffer)
            .await
            .map_err(refused)?;
        let chunk: Result<Bytes, std::io::Error> = Ok(Bytes::from(buffer));
        Ok(Box::pin(futures::stream::once(async move { chunk })))
    }
}

/// The video's length from its headers, as the pipeline will read it; `None` when the headers
/// do not say (the pipeline and TikTok then judge it).
pub async fn video_seconds(file: &Path) -> Option<f64> {
    let source = LocalVideo {
        path: file.to_path_buf(),
    };
    let location = VideoLocation {
        bucket: String::new(),
        key: file.display().to_string(),
        version_id: None,
    };
    let object = source.head(&location).await.ok()?;
    let probed = probe(&source, &object, &ProbeLimits::default())
        .await
        .ok()?;
    probed.duration.map(|d| d.as_secs_f64())
}

pub(crate) async fn s3_client(stack: &Stack) -> aws_sdk_s3::Client {
    let shared = stack.sdk_config().await;
    // An endpoint override (moto, or an S3 stand-in in the user's environment) needs path
    // style.
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(shared.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Uploads the file, streaming it from disk (never read into memory whole).
pub async fn upload(stack: &Stack, file: &Path, key: &str) -> Result<(), PostError> {
    let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
        .await
        .map_err(|err| PostError::File {
            path: file.display().to_string(),
            source: std::io::Error::other(err),
        })?;
    s3_client(stack)
        .await
        .put_object()
        .bucket(&stack.bucket)
        .key(key)
        .body(body)
        .send()
        .await
        .map_err(|err| PostError::Upload {
            bucket: stack.bucket.clone(),
            key: key.to_string(),
            detail: aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        })?;
    Ok(())
}

/// One line describing where the post is.
pub fn progress_line(post: &PostView) -> String {
    match (&post.progress, post.downloaded_bytes) {
        (Some(p), _) => format!(
            "{}: chunk {} of {}, {} of {} bytes",
            post.state, p.chunks_done, p.chunks_total, p.bytes_done, p.bytes_total
        ),
        (None, Some(downloaded)) => {
            format!("{}: {}", post.state, downloaded_line(post, downloaded))
        }
        (None, None) => post.state.clone(),
    }
}

/// "TikTok downloaded N of M bytes" for a pull (M when the size is known).
pub fn downloaded_line(post: &PostView, downloaded: u64) -> String {
    match post.size {
        Some(size) => format!("TikTok downloaded {downloaded} of {size} bytes"),
        None => format!("TikTok downloaded {downloaded} bytes"),
    }
}

/// Polls the post every second until it is final: a progress bar (state, chunk n of m, bytes)
/// on a terminal, one line per change otherwise.
pub async fn follow(client: &api::Client, mut post: PostView) -> Result<PostView, api::ApiError> {
    let on_terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::new_spinner();
    if !on_terminal {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut last = String::new();
    let mut polls = 0u64;
    loop {
        let line = progress_line(&post);
        if let Some(p) = &post.progress {
            if bar.length() != Some(p.bytes_total) {
                bar.set_length(p.bytes_total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            bar.set_position(p.bytes_done);
        }
        bar.set_message(format!("{line} ({polls} status polls)"));
        if !on_terminal && line != last {
            eprintln!("[{polls:>4} polls] {line}");
        }
        last = line;
        if post.is_final {
            bar.finish_and_clear();
            return Ok(post);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        post = match client.post(&post.id).await {
            Ok(post) => post,
            Err(err) => {
                bar.abandon();
                return Err(err);
            }
        };
        polls += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_uploads_account_file_name() {
        let key = upload_key("u1", Path::new("/tmp/clips/cat.mp4")).unwrap();
        assert_eq!(key, "uploads/u1/cat.mp4");
        assert!(upload_key("u1", Path::new("/")).is_err());
    }

    #[tokio::test]
    async fn the_length_of_a_local_mp4_is_read_from_its_headers() {
        let fixture = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/local-stack/fixtures/smoke.mp4"
        ));
        let secs = video_seconds(fixture)
            .await
            .expect("smoke.mp4 has a duration");
        assert!(secs > 0.0 && secs < 600.0, "{secs}");
        assert_eq!(video_seconds(Path::new("/nonexistent.mp4")).await, None);
    }

    #[test]
    fn without_terminal_the_refusal_names_the_flag() {
        assert!(PostError::NeedsYes.to_string().contains("--yes"));
    }
}
