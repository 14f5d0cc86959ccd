//! `post`: the declaration and explicit yes, the upload to the bucket, `POST /posts`, and
//! following the post until it is final.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::api::{self, PostView};
use crate::options::{PostFlags, declaration};
use crate::stack::Stack;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(
        "posting needs your explicit agreement to TikTok's declaration; with no terminal to ask on, pass --yes to agree"
    )]
    NeedsYes,
    #[error("not posted: you did not answer yes")]
    Declined,
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

/// Whether an answer to the declaration is an explicit yes.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Shows TikTok's declaration and asks for an explicit yes, unless `--yes` gave it.
pub fn confirm(flags: &PostFlags, yes: bool) -> Result<(), PostError> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(PostError::NeedsYes);
    }
    print!("{}\nPost? Type yes to agree: ", declaration(flags));
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|source| PostError::File {
            path: "stdin".into(),
            source,
        })?;
    if is_yes(&answer) {
        Ok(())
    } else {
        Err(PostError::Declined)
    }
}

async fn s3_client(stack: &Stack) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &stack.aws_region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &stack.aws_endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((id, secret)) = &stack.aws_credentials {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            id,
            secret,
            None,
            None,
            "local-stack-env-file",
        ));
    }
    let shared = loader.load().await;
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(stack.aws_endpoint.is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Uploads the file, streaming it from disk (never read into memory whole).
pub async fn upload(stack: &Stack, file: &Path, key: &str) -> Result<(), PostError> {
    let body = ByteStream::from_path(file)
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
    match &post.progress {
        Some(p) => format!(
            "{}: chunk {} of {}, {} of {} bytes",
            post.state, p.chunks_done, p.chunks_total, p.bytes_done, p.bytes_total
        ),
        None => post.state.clone(),
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

    #[test]
    fn only_an_explicit_yes_agrees() {
        assert!(is_yes("yes\n") && is_yes("Y"));
        assert!(!is_yes("") && !is_yes("no") && !is_yes("sure"));
    }

    #[test]
    fn without_terminal_the_refusal_names_the_flag() {
        assert!(PostError::NeedsYes.to_string().contains("--yes"));
    }
}
