//! Publishes: init's upload session, the chunks taken, and what a status fetch says.

use std::collections::VecDeque;
use std::time::Instant;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::pulls::Pull;
use super::{Reject, State, random_string};
use crate::{
    ChunkPlan, FakeSettings, MediaSource, MediaType, PublishKind, PublishSnapshot, PublishStatus,
};

pub(crate) struct Publish {
    pub publish_id: String,
    pub open_id: String,
    pub kind: PublishKind,
    pub post_info: Option<serde_json::Value>,
    pub privacy_level: Option<String>,
    pub plan: ChunkPlan,
    pub upload_token: String,
    issued_at: Instant,
    pub(super) url_force_expired: bool,
    /// SHA-256 over every chunk taken so far, in order.
    pub hasher: Sha256,
    /// Digest of each chunk taken, to check a re-sent chunk is the same bytes.
    pub chunk_digests: Vec<[u8; 32]>,
    pub chunks_taken: u64,
    /// Chunks answered 206 or 201 so far: `chunks_taken` plus any the fake lost after
    /// answering ([`crate::Fault::DropChunk`]). A client may send up to this chunk.
    pub chunks_acknowledged: u64,
    pub uploaded_bytes: u64,
    completed_at: Option<Instant>,
    video_sha256: Option<String>,
    fail_reason: Option<String>,
    post_id: Option<i64>,
    /// The creator made a post of this draft in the app: TikTok's status then reads
    /// `PUBLISH_COMPLETE` ("SEND_TO_USER_INBOX ... is not the end").
    posted_from_inbox: bool,
    /// `Some` for a PULL_FROM_URL post: what is downloaded, and how the pull ended.
    pub(crate) pull: Option<Pull>,
}

impl Publish {
    pub(super) fn new(
        publish_id: String,
        open_id: &str,
        kind: PublishKind,
        post_info: Option<serde_json::Value>,
        plan: ChunkPlan,
        upload_token: String,
    ) -> Self {
        let privacy_level = post_info
            .as_ref()
            .and_then(|p| p.get("privacy_level"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Publish {
            publish_id,
            open_id: open_id.to_string(),
            kind,
            post_info,
            privacy_level,
            plan,
            upload_token,
            issued_at: Instant::now(),
            url_force_expired: false,
            hasher: Sha256::new(),
            chunk_digests: Vec::new(),
            chunks_taken: 0,
            chunks_acknowledged: 0,
            uploaded_bytes: 0,
            completed_at: None,
            video_sha256: None,
            fail_reason: None,
            post_id: None,
            posted_from_inbox: false,
            pull: None,
        }
    }

    pub(crate) fn complete(&self) -> bool {
        self.completed_at.is_some()
    }

    pub(crate) fn url_expired(&self, settings: &FakeSettings) -> bool {
        self.url_force_expired || self.issued_at.elapsed() >= settings.upload_url_ttl
    }

    fn status(&self, settings: &FakeSettings) -> PublishStatus {
        // A FILE_UPLOAD never shows PROCESSING_DOWNLOAD (that is PULL_FROM_URL's): it stays
        // in PROCESSING_UPLOAD, every byte counted, until processing ends. A pull is the
        // mirror image: PROCESSING_DOWNLOAD, then the same until processing ends.
        let in_progress = match &self.pull {
            None => PublishStatus::ProcessingUpload,
            Some(pull) if pull.ended.is_some() => return PublishStatus::Failed,
            Some(_) => PublishStatus::ProcessingDownload,
        };
        let Some(done) = self.completed_at else {
            return in_progress;
        };
        if done.elapsed() < settings.processing_time {
            return in_progress;
        }
        match (&self.fail_reason, self.kind) {
            (Some(_), _) => PublishStatus::Failed,
            (None, PublishKind::Direct) => PublishStatus::PublishComplete,
            (None, PublishKind::Inbox) if self.posted_from_inbox => PublishStatus::PublishComplete,
            (None, PublishKind::Inbox) => PublishStatus::SendToUserInbox,
        }
    }

    /// The creator posts this draft from the inbox, as a public post when `post_id` is given.
    pub(crate) fn post_from_inbox(&mut self, post_id: Option<i64>) {
        self.posted_from_inbox = true;
        self.post_id = post_id;
    }

    /// The `Content-Range` a 416 carries: what the fake holds, `bytes 0-{last}/{total}`, or
    /// `bytes */{total}` (HTTP's form for "nothing") before the first chunk.
    pub(crate) fn held_range(&self) -> String {
        let total = self.plan.video_size;
        match self.uploaded_bytes.checked_sub(1) {
            Some(last) => format!("bytes 0-{last}/{total}"),
            None => format!("bytes */{total}"),
        }
    }

    /// Why the post failed, if it did: how a pull ended, else the processing outcome.
    fn failure(&self) -> Option<String> {
        let ended = self.pull.as_ref().and_then(|p| p.ended);
        ended
            .map(|reason| reason.as_str().to_owned())
            .or_else(|| self.fail_reason.clone())
    }

    fn snapshot(&self, settings: &FakeSettings) -> PublishSnapshot {
        let status = self.status(settings);
        let pull = self.pull.as_ref();
        PublishSnapshot {
            publish_id: self.publish_id.clone(),
            open_id: self.open_id.clone(),
            kind: self.kind,
            post_info: self.post_info.clone(),
            source: match pull {
                Some(_) => MediaSource::PullFromUrl,
                None => MediaSource::FileUpload,
            },
            media_type: pull.map_or(MediaType::Video, |p| p.media_type),
            media_urls: pull.map(|p| p.urls.clone()).unwrap_or_default(),
            downloaded_bytes: pull.map_or(0, |p| p.downloaded_bytes),
            pulled: pull.map(|p| p.pulled.clone()).unwrap_or_default(),
            plan: self.plan,
            uploaded_bytes: self.uploaded_bytes,
            chunks_taken: self.chunks_taken,
            complete: self.complete(),
            status,
            fail_reason: (status == PublishStatus::Failed)
                .then(|| self.failure())
                .flatten(),
            video_sha256: self.video_sha256.clone(),
            post_id: (status == PublishStatus::PublishComplete)
                .then_some(self.post_id)
                .flatten(),
        }
    }
}

impl State {
    // ---- publishes ----

    pub(crate) fn create_publish(
        &mut self,
        base_url: &str,
        open_id: &str,
        kind: PublishKind,
        post_info: Option<serde_json::Value>,
        plan: ChunkPlan,
    ) -> (String, String) {
        let publish_id = format!(
            "v_pub_file~v2-1.{}",
            rand::rng().random_range(10u64.pow(17)..10u64.pow(18))
        );
        let upload_id = random_string(24);
        let upload_token = random_string(40);
        let upload_url =
            format!("{base_url}/upload/?upload_id={upload_id}&upload_token={upload_token}");
        self.secret(&upload_url);
        self.secret(&upload_token);
        self.uploads.insert(upload_id, publish_id.clone());
        let publish = Publish::new(
            publish_id.clone(),
            open_id,
            kind,
            post_info,
            plan,
            upload_token,
        );
        self.publishes.insert(publish_id.clone(), publish);
        (publish_id, upload_url)
    }

    pub(super) fn insert_publish(&mut self, publish: Publish) {
        self.publishes.insert(publish.publish_id.clone(), publish);
    }

    pub(crate) fn publish_by_upload_id(&mut self, upload_id: &str) -> Option<&mut Publish> {
        let publish_id = self.uploads.get(upload_id)?;
        self.publishes.get_mut(publish_id)
    }

    pub(crate) fn publish_mut(&mut self, publish_id: &str) -> Option<&mut Publish> {
        self.publishes.get_mut(publish_id)
    }

    /// Takes a fully arrived chunk: the caller's hasher already holds it.
    pub(crate) fn commit_chunk(
        &mut self,
        publish_id: &str,
        hasher: Sha256,
        chunk_digest: [u8; 32],
        len: u64,
    ) {
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return;
        };
        publish.hasher = hasher;
        publish.chunk_digests.push(chunk_digest);
        publish.chunks_taken += 1;
        publish.chunks_acknowledged = publish.chunks_acknowledged.max(publish.chunks_taken);
        publish.uploaded_bytes += len;
        if publish.chunks_taken < publish.plan.total_chunk_count {
            let expire_after = self.expire_url_after.get(&publish.open_id).copied();
            if expire_after.is_some_and(|chunks| publish.chunks_taken >= chunks) {
                publish.url_force_expired = true;
                let open_id = publish.open_id.clone();
                self.expire_url_after.remove(&open_id);
            }
            return;
        }
        self.completed_uploads.push(publish_id.to_owned());
        let sha256 = hex::encode(publish.hasher.clone().finalize());
        self.transfer_complete(publish_id, Some(sha256));
    }

    /// Every byte arrived (the last chunk, or the last file pulled): processing starts, and
    /// its outcome is drawn now (a post id if public, a failure if a fault asks for one).
    pub(super) fn transfer_complete(&mut self, publish_id: &str, video_sha256: Option<String>) {
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return;
        };
        publish.completed_at = Some(Instant::now());
        publish.video_sha256 = video_sha256;
        let public = publish.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE");
        if publish.kind == PublishKind::Direct && public {
            publish.post_id = Some(rand::rng().random_range(7_000_000_000_000_000_000..i64::MAX));
        }
        let open_id = publish.open_id.clone();
        let fail = self
            .fail_posts
            .get_mut(&open_id)
            .and_then(VecDeque::pop_front);
        if let (Some(reason), Some(publish)) = (fail, self.publishes.get_mut(publish_id)) {
            publish.fail_reason = Some(reason);
        }
    }

    /// `data` of a status fetch, or the refusal.
    pub(crate) fn status_data(
        &self,
        settings: &FakeSettings,
        open_id: &str,
        publish_id: &str,
    ) -> Result<serde_json::Value, Reject> {
        let Some(publish) = self.publishes.get(publish_id) else {
            return Err(Reject::new(
                400,
                "invalid_publish_id",
                "publish_id does not exist.",
            ));
        };
        if publish.open_id != open_id {
            return Err(Reject::new(
                400,
                "token_not_authorized_for_specified_publish_id",
                "The access token is not authorized for this publish_id.",
            ));
        }
        let snap = publish.snapshot(settings);
        let mut data = serde_json::json!({
            "status": snap.status.as_str(),
            "publicaly_available_post_id": snap.post_id.into_iter().collect::<Vec<i64>>(),
        });
        // "uploaded_bytes ... for FILE_UPLOAD", "downloaded_bytes ... for PULL_FROM_URL":
        // never both.
        match snap.source {
            MediaSource::PullFromUrl => data["downloaded_bytes"] = snap.downloaded_bytes.into(),
            MediaSource::FileUpload if !self.omits_uploaded_bytes(open_id) => {
                data["uploaded_bytes"] = snap.uploaded_bytes.into();
            }
            MediaSource::FileUpload => {}
        }
        if let Some(reason) = snap.fail_reason {
            data["fail_reason"] = reason.into();
        }
        Ok(data)
    }

    pub(crate) fn publish_snapshot(
        &self,
        settings: &FakeSettings,
        publish_id: &str,
    ) -> Option<PublishSnapshot> {
        self.publishes.get(publish_id).map(|p| p.snapshot(settings))
    }

    pub(crate) fn publishes_for(
        &self,
        settings: &FakeSettings,
        open_id: &str,
    ) -> Vec<PublishSnapshot> {
        let mut found: Vec<&Publish> = self
            .publishes
            .values()
            .filter(|p| p.open_id == open_id)
            .collect();
        found.sort_by_key(|p| p.issued_at);
        found.into_iter().map(|p| p.snapshot(settings)).collect()
    }
}
