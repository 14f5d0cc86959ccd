//! [`PostStore`] in memory: a post moves only from the states its caller expects, and never
//! back from a success ([`PostState::may_move_to`]), as the DynamoDB adapter's conditional
//! writes allow.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use tiktok_publish_core::store::{PostStore, StoreError, Transitioned, UnixTime};
use tiktok_publish_core::tiktok::{ChunkPlan, UploadUrl};
use tiktok_publish_domain::fact::Fact;
use tiktok_publish_domain::post::{
    CreateOutcome, HistoryEntry, PlanFields, PostCursor, PostFailure, PostId, PostOutcome,
    PostPage, PostRecord, PostState, PostUpdate, StoredUploadUrl, UploadSession, WebhookFinal,
};

use crate::lock;

/// [`PostStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryPostStore {
    posts: Mutex<HashMap<PostId, PostRecord>>,
}

impl MemoryPostStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn not_found(id: &PostId) -> StoreError {
    StoreError::NotFound {
        entity: "post",
        id: id.to_string(),
    }
}

fn non_final() -> Vec<PostState> {
    PostState::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .collect()
}

#[async_trait]
impl PostStore for MemoryPostStore {
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError> {
        let mut posts = lock(&self.posts);
        if let Some(existing) = posts.get(&record.id) {
            return Ok(CreateOutcome::AlreadyExists(Box::new(existing.clone())));
        }
        posts.insert(record.id.clone(), record.clone());
        Ok(CreateOutcome::Created)
    }

    async fn get(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError> {
        Ok(lock(&self.posts).get(id).cloned())
    }

    async fn transition(
        &self,
        id: &PostId,
        from: &[PostState],
        to: PostState,
        update: PostUpdate,
        now: UnixTime,
    ) -> Result<Transitioned, StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        // As the DynamoDB adapter: a state the post may not leave for `to` (a success moving
        // back) is no state to move from.
        let allowed: Vec<PostState> = from
            .iter()
            .copied()
            .filter(|state| state.may_move_to(to))
            .collect();
        if !allowed.contains(&post.state) {
            return Err(StoreError::StateConflict {
                id: id.to_string(),
                expected: allowed,
                found: post.state,
            });
        }
        post.state = to;
        post.updated_at = now;
        post.history.push(HistoryEntry::new(to, now, update.fact));
        if let Some(options) = update.options {
            post.options = Some(options);
        }
        if let Some(source) = update.source {
            let current = &mut post.source;
            if source.location.version_id.is_some() {
                current.location.version_id = source.location.version_id;
            }
            current.size = source.size.or(current.size);
            current.content_type = source.content_type.or(current.content_type.take());
            current.etag = source.etag.or(current.etag.take());
        }
        if let Some(outcome) = update.outcome {
            post.outcome = Some(outcome);
        }
        if let Some(failure) = update.failure {
            post.failure = Some(failure);
        } else if update.clear_failure {
            post.failure = None;
        }
        if let Some(upload) = post.upload.as_mut().filter(|_| to.is_final()) {
            upload.upload_url = None;
        }
        Ok(Transitioned::new(from, post.clone()))
    }

    async fn open_upload_url(
        &self,
        _id: &PostId,
        stored: &StoredUploadUrl,
    ) -> Result<UploadUrl, StoreError> {
        Ok(UploadUrl::new(stored.as_stored().to_owned()))
    }

    async fn record_init(
        &self,
        id: &PostId,
        publish_id: &str,
        upload_url: &UploadUrl,
        issued_at: UnixTime,
        plan: &ChunkPlan,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut posts = lock(&self.posts);
        let post = open_post(&mut posts, id)?;
        post.publish_id = Some(publish_id.to_owned());
        post.upload = Some(UploadSession {
            upload_url: Some(StoredUploadUrl::new(upload_url.expose().to_owned())),
            issued_at,
            plan: PlanFields::from(plan),
            chunks_done: 0,
            bytes_done: 0,
        });
        post.downloaded_bytes = None;
        post.updated_at = now;
        Ok(post.clone())
    }

    async fn record_pull(
        &self,
        id: &PostId,
        publish_id: &str,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut posts = lock(&self.posts);
        let post = open_post(&mut posts, id)?;
        post.publish_id = Some(publish_id.to_owned());
        post.upload = None;
        post.downloaded_bytes = None;
        post.updated_at = now;
        Ok(post.clone())
    }

    async fn record_download(
        &self,
        id: &PostId,
        publish_id: &str,
        downloaded_bytes: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        if post.state != PostState::Processing || post.publish_id.as_deref() != Some(publish_id) {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: "download progress refused: the post is no longer processing that pull"
                    .into(),
            });
        }
        post.downloaded_bytes = Some(downloaded_bytes);
        post.updated_at = now;
        Ok(())
    }

    async fn record_chunk_done(
        &self,
        id: &PostId,
        publish_id: &str,
        chunks_done: u64,
        bytes_done: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        let same_upload = post.publish_id.as_deref() == Some(publish_id);
        let state = post.state;
        let Some(upload) = post.upload.as_mut().filter(|_| same_upload) else {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: "chunk progress refused: the upload is another one".into(),
            });
        };
        if upload.chunks_done == chunks_done && upload.bytes_done == bytes_done {
            return Ok(());
        }
        if state.is_final() {
            return Err(StoreError::StateConflict {
                id: id.to_string(),
                expected: non_final(),
                found: state,
            });
        }
        if chunks_done <= upload.chunks_done || chunks_done > upload.plan.total_chunk_count {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: format!(
                    "chunk progress {chunks_done} refused: the upload is the same at {} of {} chunks",
                    upload.chunks_done, upload.plan.total_chunk_count
                ),
            });
        }
        upload.chunks_done = chunks_done;
        upload.bytes_done = bytes_done;
        post.updated_at = now;
        Ok(())
    }

    async fn record_outcome(
        &self,
        id: &PostId,
        outcome: &PostOutcome,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        post.outcome = Some(outcome.clone());
        post.updated_at = now;
        Ok(())
    }

    async fn record_failure(
        &self,
        id: &PostId,
        failure: &PostFailure,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        post.failure = Some(failure.clone());
        post.updated_at = now;
        Ok(())
    }

    async fn record_webhook_event(
        &self,
        id: &PostId,
        seen_state: PostState,
        seen_event: Option<&WebhookFinal>,
        event: &WebhookFinal,
        fact: &Fact,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        if post.state != seen_state
            || post.publish_id.as_deref() != Some(event.publish_id.as_str())
            || post.webhook.as_ref() != seen_event
        {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: "the post changed since it was read; read it again".into(),
            });
        }
        post.webhook = Some(event.clone());
        post.updated_at = now;
        post.history
            .push(HistoryEntry::new(post.state, now, Some(fact.clone())));
        Ok(post.clone())
    }

    async fn list_by_account(
        &self,
        open_id: &str,
        limit: u32,
        after: Option<&PostCursor>,
    ) -> Result<PostPage, StoreError> {
        let mut posts: Vec<PostRecord> = lock(&self.posts)
            .values()
            .filter(|p| p.open_id == open_id)
            .cloned()
            .collect();
        // Newest first, ties broken by id, as the index orders them.
        posts.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        if let Some(cursor) = after {
            posts.retain(|p| (p.created_at, &p.id) < (cursor.created_at, &cursor.id));
        }
        let limit = limit.clamp(1, 1000) as usize;
        let next = (posts.len() > limit).then(|| {
            let last = &posts[limit - 1];
            PostCursor {
                created_at: last.created_at,
                id: last.id.clone(),
            }
        });
        posts.truncate(limit);
        Ok(PostPage { posts, next })
    }
}

/// The post `id` while it is not final: what a new init (upload or pull) may write to.
fn open_post<'a>(
    posts: &'a mut HashMap<PostId, PostRecord>,
    id: &PostId,
) -> Result<&'a mut PostRecord, StoreError> {
    let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
    if post.state.is_final() {
        return Err(StoreError::StateConflict {
            id: id.to_string(),
            expected: non_final(),
            found: post.state,
        });
    }
    Ok(post)
}
