//! `post a.jpg b.webp ...`: a photo post (a carousel). Several files, or one image file,
//! make one; the images are checked locally (format and count), uploaded under the
//! account's folder, and posted with `POST /posts` and `images`, after the Direct Post
//! questions for photos (title, description, privacy, comments, disclosure).

use std::path::{Path, PathBuf};

use tiktok_publish_domain::photo_post::is_image_key;
use tiktok_publish_domain::photo_rules::MAX_PHOTOS;

use crate::api::{self, PostView};
use crate::compose::{self, Media};
use crate::options::{PostFlags, check_photo_options};
use crate::stack::Stack;
use crate::{CliError, accounts, post};

/// Why the files cannot make a photo post.
#[derive(Debug, thiserror::Error)]
pub enum PhotoFilesError {
    #[error(
        "{path}: several files make a photo post, and each must be a JPEG, PNG or WebP image (.jpg, .jpeg, .png, .webp); post a video on its own"
    )]
    NotAnImage { path: String },
    #[error("{count} files: a TikTok photo post has 1 to {MAX_PHOTOS} photos")]
    Count { count: usize },
    #[error(
        "{first} and {second} have the same file name, and would overwrite each other in the bucket; rename one"
    )]
    SameName { first: String, second: String },
}

/// Whether `files` make a photo post: more than one file, or one image file.
pub fn is_photo_post(files: &[PathBuf]) -> bool {
    files.len() != 1 || files.iter().any(|f| is_image_key(&f.to_string_lossy()))
}

/// Checks the files of a photo post before anything is asked or uploaded.
pub fn check_files(files: &[PathBuf]) -> Result<(), PhotoFilesError> {
    if files.is_empty() || files.len() > MAX_PHOTOS {
        return Err(PhotoFilesError::Count { count: files.len() });
    }
    for (at, file) in files.iter().enumerate() {
        if !is_image_key(&file.to_string_lossy()) {
            return Err(PhotoFilesError::NotAnImage {
                path: file.display().to_string(),
            });
        }
        if let Some(earlier) = files[..at]
            .iter()
            .find(|other| other.file_name() == file.file_name())
        {
            return Err(PhotoFilesError::SameName {
                first: earlier.display().to_string(),
                second: file.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Posts `files` as one photo post and follows it until it is final.
pub async fn post(
    client: &api::Client,
    stack: &Stack,
    files: &[PathBuf],
    account: Option<&str>,
    flags: &PostFlags,
    ask: bool,
    now: i64,
) -> Result<PostView, CliError> {
    check_files(files)?;
    flags.validate_photos(now, ask, files.len())?;
    for file in files {
        std::fs::metadata(file).map_err(|source| post::PostError::File {
            path: file.display().to_string(),
            source,
        })?;
    }
    let connected = client.accounts().await?;
    let account = accounts::choose(&connected, account)?.open_id.clone();
    let keys = files
        .iter()
        .map(|file| post::upload_key(&account, file))
        .collect::<Result<Vec<_>, _>>()?;
    let creator = client.creator_info(&account).await?;
    let mut terminal = compose::TerminalPrompter;
    let prompter: Option<&mut dyn compose::Prompter> = if ask { Some(&mut terminal) } else { None };
    let media = Media::Photos { count: files.len() };
    let options = compose::decide_for(flags, &creator, media, prompter)?;
    check_photo_options(&options, now, files.len())?;
    for (file, key) in files.iter().zip(&keys) {
        upload_one(stack, file, key).await?;
    }
    let created = client.create_photo_post(&account, &keys, &options).await?;
    eprintln!(
        "post {} created; TikTok pulls the photos from the stack's front door. Following it \
         (Ctrl-C stops following, not the post; `tiktok-publish status {}` looks again)",
        created.id, created.id
    );
    Ok(post::follow(client, created).await?)
}

async fn upload_one(stack: &Stack, file: &Path, key: &str) -> Result<(), post::PostError> {
    eprintln!(
        "uploading {} to s3://{}/{key}",
        file.display(),
        stack.bucket
    );
    post::upload(stack, file, key).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn several_files_or_one_image_make_a_photo_post() {
        assert!(!is_photo_post(&paths(&["clip.mp4"])));
        assert!(is_photo_post(&paths(&["a.JPG"])));
        assert!(is_photo_post(&paths(&["a.jpg", "b.webp"])));
        assert!(is_photo_post(&paths(&["a.jpg", "clip.mp4"])));
    }

    #[test]
    fn the_files_of_a_photo_post_are_checked_before_anything_is_sent() {
        assert!(check_files(&paths(&["a.jpg", "dir/b.png", "c.webp"])).is_ok());
        assert!(matches!(
            check_files(&paths(&["a.jpg", "clip.mp4"])),
            Err(PhotoFilesError::NotAnImage { path }) if path == "clip.mp4"
        ));
        assert!(matches!(
            check_files(&paths(&["x/a.jpg", "y/a.jpg"])),
            Err(PhotoFilesError::SameName { .. })
        ));
        let many: Vec<PathBuf> = (0..36).map(|i| PathBuf::from(format!("{i}.jpg"))).collect();
        assert!(matches!(
            check_files(&many),
            Err(PhotoFilesError::Count { count: 36 })
        ));
    }
}
