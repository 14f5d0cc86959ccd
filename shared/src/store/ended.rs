//! What a post store's state change hands back: the record, and, when the write ended the
//! post, an [`EndedPost`] that must be reported (the outcome event, the metrics, the
//! retention tags: [`crate::ends::PostEnds`]).
//!
//! A post ends in a conditional write, and only the caller whose write won gets the
//! [`EndedPost`]: reporting it then gives one report per end however many steps, retries,
//! webhooks and API calls race for the post. Both types are `#[must_use]`, so a service
//! that drops one does not compile (`-D warnings`), and an [`EndedPost`] dropped unreported
//! fails the tests (a debug assertion) and logs an error in a release build.

use tiktok_publish_domain::post::{PostRecord, PostState};

/// A state change that won its conditional write.
#[derive(Debug)]
#[must_use = "the write may have ended the post: hand it to PostEnds::settle"]
pub struct Transitioned {
    post: PostRecord,
    ended: bool,
}

impl Transitioned {
    /// The record `post` just written by a move from one of `from`. The move ended the post
    /// when it went from a live state to a final one; a move between final states (a
    /// published post that only gains its TikTok id) ends nothing new.
    pub fn new(from: &[PostState], post: PostRecord) -> Self {
        let ended = post.state.is_final() && from.iter().all(|state| !state.is_final());
        Transitioned { post, ended }
    }

    /// The record as written.
    pub fn post(&self) -> &PostRecord {
        &self.post
    }

    /// Whether this write ended the post.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The record, and the end to report when this write ended the post.
    pub fn into_parts(self) -> (PostRecord, Option<EndedPost>) {
        let ended = self.ended.then(|| EndedPost::new(self.post.clone()));
        (self.post, ended)
    }
}

/// A post that a write of ours has just ended (moved to a final state, or created final
/// when intake refused it). Reporting it is the only way to let go of it quietly.
#[derive(Debug)]
#[must_use = "a post's end must be reported: PostEnds::report"]
pub struct EndedPost {
    post: PostRecord,
    reported: bool,
}

impl EndedPost {
    fn new(post: PostRecord) -> Self {
        EndedPost {
            post,
            reported: false,
        }
    }

    /// A post our create wrote in a final state (refused at intake); `None` when the
    /// record is live.
    pub fn created(record: &PostRecord) -> Option<EndedPost> {
        record
            .state
            .is_final()
            .then(|| EndedPost::new(record.clone()))
    }

    /// The post as the ending write left it.
    pub fn post(&self) -> &PostRecord {
        &self.post
    }

    /// Marks the end reported: [`crate::ends::PostEnds::report`] calls it once all the
    /// end's effects are done.
    pub(crate) fn reported(mut self) -> PostRecord {
        self.reported = true;
        // One clone per post's end: `Drop` forbids moving the record out.
        self.post.clone()
    }
}

impl Drop for EndedPost {
    fn drop(&mut self) {
        if self.reported || std::thread::panicking() {
            return;
        }
        tracing::error!(
            post_id = %self.post.id,
            state = %self.post.state,
            "a post ended without its outcome event, metrics and retention tags: a bug"
        );
        debug_assert!(
            false,
            "post {} ended without being reported (PostEnds::report)",
            self.post.id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiktok_publish_domain::post::PostSource;
    use tiktok_publish_domain::video::VideoLocation;

    fn record(state: PostState) -> PostRecord {
        let location = VideoLocation {
            bucket: "videos".into(),
            key: "uploads/open-1/a.mp4".into(),
            version_id: None,
        };
        PostRecord::new(
            "open-1",
            PostSource::at(location),
            None,
            state,
            1_700_000_000,
        )
    }

    #[test]
    fn only_moves_from_a_live_state_to_a_final_one_end_a_post() {
        use PostState::*;
        let ends = |from: &[PostState], to| {
            let moved = Transitioned::new(from, record(to));
            let ended = moved.ended();
            if let (_, Some(end)) = moved.into_parts() {
                let _ = end.reported();
            }
            ended
        };
        assert!(ends(&[Processing], Published));
        assert!(ends(&[Received, AwaitingOptions], Refused));
        assert!(!ends(&[Published], Published));
        assert!(!ends(&[Failed, Refused], Queued));
        assert!(!ends(&[Queued], Uploading));
    }

    #[test]
    #[should_panic(expected = "ended without being reported")]
    fn an_end_dropped_unreported_fails_in_debug_builds() {
        let moved = Transitioned::new(&[PostState::Uploading], record(PostState::Failed));
        let (_, end) = moved.into_parts();
        drop(end);
    }
}
