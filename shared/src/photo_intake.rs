//! How a set of images becomes a photo post: the S3 trigger (a `NAME.photos.json` manifest)
//! and the posts API (`images`) both go through [`Intake::claim_photos`]. Each image is
//! pinned to its current version (HeadObject), the post id derives from the account and the
//! pinned images (`PostId::derive_photos`), and one conditional write and one named
//! execution make a repeated request the same post.

use crate::intake::{Claim, Intake, IntakeError, MAX_MANIFEST_BYTES, read_all};
use crate::media::{SourceError, VideoLocation};
use crate::store::{
    Cause, CreateOutcome, EndedPost, PhotoSet, PostFailure, PostOptions, PostRecord, PostState,
    unix_now,
};
use tiktok_publish_domain::options::OptionsError;
use tiktok_publish_domain::photo_post::{PhotoManifest, parse_photo_manifest};

/// What a photo manifest's read came to.
#[derive(Debug)]
pub enum PhotoManifestRead {
    /// Deleted before it was read.
    Missing,
    /// No post can be made of it: the field and the rule.
    Refused(OptionsError),
    Parsed(PhotoManifest),
}

impl Intake {
    /// Claims the photo post of `images` (in order) for the account and starts its
    /// execution; as [`Intake::claim`] for a video. `options`: `Ok` queues the post, `Err`
    /// records it refused with the field and rule, and starts nothing.
    #[tracing::instrument(skip_all, fields(photos = images.len()))]
    pub async fn claim_photos(
        &self,
        open_id: &str,
        images: &[VideoLocation],
        options: Result<PostOptions, OptionsError>,
    ) -> Result<Claim, IntakeError> {
        let mut pinned = Vec::with_capacity(images.len());
        for image in images {
            pinned.push(self.source.head(image).await?.location);
        }
        let photos = PhotoSet::new(pinned).map_err(IntakeError::PhotoCount)?;
        let now = unix_now();
        let (state, options, failure) = match options {
            Ok(options) => (PostState::Queued, Some(options), None),
            Err(err) => {
                let failure = PostFailure::new(
                    Cause::OptionsInvalid {
                        field: err.field,
                        rule: err.rule,
                    },
                    Some(
                        "Fix the photo manifest, then upload the images again (new versions make \
                         a new post) and the manifest last"
                            .to_owned(),
                    ),
                );
                (PostState::Refused, None, Some(failure))
            }
        };
        let mut record = PostRecord::new_photos(open_id, photos, options, state, now);
        record.failure = failure;
        let claim = match self.posts.create(&record).await? {
            CreateOutcome::Created => Claim {
                post: match EndedPost::created(&record) {
                    Some(ended) => self.ends.report(ended).await,
                    None => record,
                },
                created: true,
            },
            CreateOutcome::AlreadyExists(existing) => Claim {
                post: *existing,
                created: false,
            },
        };
        tracing::info!(post_id = %claim.post.id, created = claim.created, state = %claim.post.state, "photos claimed");
        if !claim.post.state.is_final() {
            self.executions.start(&claim.post.id).await?;
        }
        Ok(claim)
    }

    /// Reads and parses the photo manifest at `location`.
    pub async fn read_photo_manifest(
        &self,
        location: &VideoLocation,
    ) -> Result<PhotoManifestRead, IntakeError> {
        let object = match self.source.head(location).await {
            Ok(object) => object,
            Err(SourceError::NotFound { .. }) => return Ok(PhotoManifestRead::Missing),
            Err(err) => return Err(err.into()),
        };
        if object.size > MAX_MANIFEST_BYTES {
            return Ok(PhotoManifestRead::Refused(OptionsError::new(
                "manifest",
                format!(
                    "is {} bytes; at most {MAX_MANIFEST_BYTES} are read",
                    object.size
                ),
            )));
        }
        let bytes = read_all(self.source.as_ref(), &object).await?;
        Ok(match parse_photo_manifest(&bytes, unix_now()) {
            Ok(manifest) => PhotoManifestRead::Parsed(manifest),
            Err(err) => PhotoManifestRead::Refused(err),
        })
    }
}
