//! PULL_FROM_URL in the state: the verified domains and URL prefixes, a pull's progress and
//! end, and cancel. The download itself runs outside the lock (`crate::pull`).

use rand::Rng;
use tokio::task::AbortHandle;

use super::publishes::Publish;
use super::{Reject, State};
use crate::{ChunkPlan, MediaType, PublishKind, PulledMedia};

/// Why a pull ended FAILED at once, without processing. Rendered as TikTok's `fail_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PullEnd {
    /// Connection error, a status other than 200 (a redirect too), over the size cap, past
    /// the timeout: `video_pull_failed` / `photo_pull_failed`.
    DownloadFailed(MediaType),
    /// A photo that is neither JPEG nor WebP.
    FileFormat,
    /// A photo over 1080p.
    PictureSize,
    /// The developer cancelled the download.
    Cancelled,
}

impl PullEnd {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DownloadFailed(MediaType::Video) => "video_pull_failed",
            Self::DownloadFailed(MediaType::Photo) => "photo_pull_failed",
            Self::FileFormat => "file_format_check_failed",
            Self::PictureSize => "picture_size_check_failed",
            Self::Cancelled => "publish_cancelled",
        }
    }
}

/// A PULL_FROM_URL post's download.
pub(crate) struct Pull {
    pub media_type: MediaType,
    pub urls: Vec<String>,
    /// Bytes downloaded so far, over every URL.
    pub downloaded_bytes: u64,
    /// Files downloaded whole, in order.
    pub pulled: Vec<PulledMedia>,
    /// The download task, aborted by a cancel.
    pub task: Option<AbortHandle>,
    /// Set when the pull ended FAILED at once; the post is then final.
    pub ended: Option<PullEnd>,
}

/// What TikTok verifies: "A URL prefix consists of: https:// + host + path + /. The host
/// must be a domain and should not be an IP address."
/// The error names the scheme or host only: a media URL may carry a signature.
pub(crate) fn https_on_domain(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("a media URL that is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!("a media URL over {}, not https", url.scheme()));
    }
    match url.host() {
        Some(url::Host::Domain(_)) => Ok(url),
        Some(host) => Err(format!(
            "a media URL on the IP address {host}, not a domain name"
        )),
        None => Err("a media URL without a host".to_owned()),
    }
}

impl State {
    pub(crate) fn verify_domain(&mut self, domain: &str) -> Result<(), String> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        // A domain is what a URL on it would carry as its host.
        match url::Url::parse(&format!("https://{domain}/")) {
            Ok(url) if url.host() == Some(url::Host::Domain(domain.as_str())) => {
                self.verified_domains.push(domain);
                Ok(())
            }
            _ => Err(format!("{domain:?} is not a domain name")),
        }
    }

    pub(crate) fn verify_url_prefix(&mut self, prefix: &str) -> Result<(), String> {
        let url = https_on_domain(prefix)?;
        if !url.path().ends_with('/') || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{prefix:?} is not https:// + host + path + / (TikTok's URL prefix)"
            ));
        }
        self.verified_prefixes.push(url.to_string());
        Ok(())
    }

    /// Puts the verified domains and URL prefixes back as they were (a refused batch).
    pub(crate) fn set_verified(&mut self, domains: Vec<String>, prefixes: Vec<String>) {
        self.verified_domains = domains;
        self.verified_prefixes = prefixes;
    }

    /// The verified domains and URL prefixes, for the control API.
    pub(crate) fn verified(&self) -> (Vec<String>, Vec<String>) {
        (
            self.verified_domains.clone(),
            self.verified_prefixes.clone(),
        )
    }

    /// Media Transfer Guide: a verified domain covers "all paths under that domain or its
    /// subdomains"; a verified URL prefix, "all URLs with the exact prefix".
    pub(crate) fn url_owned(&self, url: &url::Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let on_domain = self.verified_domains.iter().any(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|sub| sub.ends_with('.'))
        });
        on_domain
            || self
                .verified_prefixes
                .iter()
                .any(|prefix| url.as_str().starts_with(prefix.as_str()))
    }

    /// A PULL_FROM_URL post, its download queued for the route to start.
    pub(crate) fn create_pull_publish(
        &mut self,
        open_id: &str,
        kind: PublishKind,
        post_info: Option<serde_json::Value>,
        media_type: MediaType,
        urls: Vec<String>,
    ) -> String {
        let prefix = match (media_type, kind) {
            (MediaType::Photo, _) => "p_pub_url",
            (MediaType::Video, PublishKind::Direct) => "v_pub_url",
            (MediaType::Video, PublishKind::Inbox) => "v_inbox_url",
        };
        let publish_id = format!(
            "{prefix}~v2-1.{}",
            rand::rng().random_range(10u64.pow(17)..10u64.pow(18))
        );
        let plan = ChunkPlan {
            video_size: 0,
            chunk_size: 0,
            total_chunk_count: 0,
        };
        let mut publish = Publish::new(
            publish_id.clone(),
            open_id,
            kind,
            post_info,
            plan,
            String::new(),
        );
        publish.pull = Some(Pull {
            media_type,
            urls,
            downloaded_bytes: 0,
            pulled: Vec::new(),
            task: None,
            ended: None,
        });
        self.insert_publish(publish);
        self.pending_pulls.push(publish_id.clone());
        publish_id
    }

    fn pull_mut(&mut self, publish_id: &str) -> Option<&mut Pull> {
        self.publish_mut(publish_id)?.pull.as_mut()
    }

    /// What to download for `publish_id`: its media type and URLs.
    pub(crate) fn pull_job(&self, publish_id: &str) -> Option<(MediaType, Vec<String>)> {
        let pull = self.publishes.get(publish_id)?.pull.as_ref()?;
        Some((pull.media_type, pull.urls.clone()))
    }

    pub(crate) fn set_pull_task(&mut self, publish_id: &str, task: AbortHandle) {
        match self.pull_mut(publish_id) {
            // Cancelled before the task was even recorded: stop it now.
            Some(pull) if pull.ended.is_some() => task.abort(),
            Some(pull) => pull.task = Some(task),
            None => task.abort(),
        }
    }

    pub(crate) fn pull_progress(&mut self, publish_id: &str, bytes: u64) {
        if let Some(pull) = self.pull_mut(publish_id) {
            pull.downloaded_bytes += bytes;
        }
    }

    pub(crate) fn pull_file_done(&mut self, publish_id: &str, file: PulledMedia) {
        if let Some(pull) = self.pull_mut(publish_id) {
            pull.pulled.push(file);
        }
    }

    /// Every file is in: processing starts. Returns false if the pull had ended meanwhile
    /// (a cancel that won the race), and then changes nothing.
    pub(crate) fn pull_done(&mut self, publish_id: &str) -> bool {
        let Some(pull) = self.pull_mut(publish_id) else {
            return false;
        };
        if pull.ended.is_some() {
            return false;
        }
        pull.task = None;
        let video_sha256 = match pull.media_type {
            MediaType::Video => pull.pulled.first().map(|f| f.sha256.clone()),
            MediaType::Photo => None,
        };
        self.transfer_complete(publish_id, video_sha256);
        true
    }

    /// The pull ends FAILED now. Returns false if it had ended already.
    pub(crate) fn pull_failed(&mut self, publish_id: &str, end: PullEnd) -> bool {
        let Some(pull) = self.pull_mut(publish_id) else {
            return false;
        };
        if pull.ended.is_some() {
            return false;
        }
        pull.ended = Some(end);
        pull.task = None;
        true
    }

    /// `POST /v2/post/publish/cancel/`: only a pull still downloading can be cancelled.
    pub(crate) fn cancel(&mut self, open_id: &str, publish_id: &str) -> Result<(), Reject> {
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return Err(Reject::new(
                400,
                "invalid_publish_id",
                "The publish_id does not exist.",
            ));
        };
        if publish.open_id != open_id {
            return Err(Reject::new(
                400,
                "token_not_authorized_for_specified_publish_id",
                "The access_token does not have authorization to cancel the publish.",
            ));
        }
        let downloading = !publish.complete();
        let cancellable = publish
            .pull
            .as_mut()
            .filter(|pull| downloading && pull.ended.is_none());
        let Some(pull) = cancellable else {
            return Err(Reject::new(
                400,
                "publish_not_cancellable",
                "The task associated with this publish_id is already in a final state and can't be cancelled.",
            ));
        };
        pull.ended = Some(PullEnd::Cancelled);
        if let Some(task) = pull.task.take() {
            task.abort();
        }
        // "After a successful cancellation, developers will receive a webhook containing
        // this error reason."
        self.ended_now.push(publish_id.to_owned());
        Ok(())
    }
}
