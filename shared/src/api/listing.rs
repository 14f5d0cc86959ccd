//! The posts a person browses (the console's Posts page): newest first, across the
//! accounts or for one, optionally in one kind of state, a page at a time; and what can be
//! done to a post now (retry, cancel), for its page's buttons.
//!
//! The posts table is read per account through its by-account index (newest first), so a
//! page across accounts is merged here. A state filter reads past posts that do not match,
//! at most [`SCAN_LIMIT`] per account and page: a listing never reads a whole table.

use std::fmt;
use std::str::FromStr;

use super::retry::retry_verdict;
use super::{AccountView, ApiError, CANCELLABLE, PostView, PostsApi};
use crate::store::{PostCursor, PostRecord, PostState};

/// Posts read per account for one page of a filtered listing, at most.
pub const SCAN_LIMIT: usize = 1000;
/// Posts read from the index per call.
const INDEX_PAGE: u32 = 100;

/// The kinds of state the Posts page filters on (what a person asks: "what is still
/// going?", "what failed?"), each a set of [`PostState`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    /// Not final yet: received, waiting for options, queued, uploading, processing.
    InProgress,
    Published,
    SentToInbox,
    /// Failed, or refused by TikTok or by the checks before it.
    Failed,
    Cancelled,
}

impl StateFilter {
    pub const ALL: [StateFilter; 5] = [
        StateFilter::InProgress,
        StateFilter::Published,
        StateFilter::SentToInbox,
        StateFilter::Failed,
        StateFilter::Cancelled,
    ];

    pub fn matches(self, state: PostState) -> bool {
        match self {
            StateFilter::InProgress => !state.is_final(),
            StateFilter::Published => state == PostState::Published,
            StateFilter::SentToInbox => state == PostState::SentToInbox,
            StateFilter::Failed => matches!(state, PostState::Failed | PostState::Refused),
            StateFilter::Cancelled => state == PostState::Cancelled,
        }
    }

    /// Its name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::InProgress => "in_progress",
            StateFilter::Published => "published",
            StateFilter::SentToInbox => "sent_to_inbox",
            StateFilter::Failed => "failed",
            StateFilter::Cancelled => "cancelled",
        }
    }

    /// What a person reads in the filter's list.
    pub fn label(self) -> &'static str {
        match self {
            StateFilter::InProgress => "In progress",
            StateFilter::Published => "Published",
            StateFilter::SentToInbox => "Sent to the inbox",
            StateFilter::Failed => "Failed or refused",
            StateFilter::Cancelled => "Cancelled",
        }
    }
}

/// A state filter's name that is not one of [`StateFilter::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown state filter {0:?}: use in_progress, published, sent_to_inbox, failed or cancelled"
)]
pub struct UnknownStateFilter(String);

impl FromStr for StateFilter {
    type Err = UnknownStateFilter;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        StateFilter::ALL
            .into_iter()
            .find(|filter| filter.as_str() == name)
            .ok_or_else(|| UnknownStateFilter(name.to_owned()))
    }
}

impl fmt::Display for StateFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which posts to list.
#[derive(Debug, Clone)]
pub struct PostFilter {
    /// One account's posts (its open_id), or every connected account's.
    pub account: Option<String>,
    pub state: Option<StateFilter>,
    /// Only posts older than this (the `next` of the page before).
    pub before: Option<PostCursor>,
    /// Posts per page (1 to 100).
    pub limit: usize,
}

/// One page of posts, newest first.
#[derive(Debug, Clone)]
pub struct PostList {
    pub posts: Vec<PostView>,
    /// Where the next (older) page starts; `None` when there is none.
    pub next: Option<PostCursor>,
}

/// What can be done to a post now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostActions {
    /// A retry can get it past its failure (the account's standing is checked on retry).
    pub retry: bool,
    /// It has not started uploading, or TikTok is still pulling it.
    pub cancel: bool,
}

impl PostActions {
    pub fn of(post: &PostRecord) -> PostActions {
        PostActions {
            retry: retry_verdict(post).is_ok(),
            cancel: CANCELLABLE.contains(&post.state)
                || (post.state == PostState::Processing && post.is_pull()),
        }
    }
}

/// A post's place in the listing's order (newest first, then by id, as the index orders).
fn position(post: &PostRecord) -> PostCursor {
    PostCursor {
        created_at: post.created_at,
        id: post.id.clone(),
    }
}

fn newer(a: &PostCursor, b: &PostCursor) -> bool {
    (a.created_at, &a.id) > (b.created_at, &b.id)
}

/// One account's part of a page: its newest matching posts, and whether it has more.
struct AccountPart {
    posts: Vec<PostRecord>,
    /// Set when the account may hold older matching posts than those read.
    more: bool,
    /// Set when the scan stopped at [`SCAN_LIMIT`]: the last post read. Posts of other
    /// accounts older than this cannot be shown on this page (this account's, older than
    /// it too, were not read).
    stopped_at: Option<PostCursor>,
}

impl PostsApi {
    /// One page of posts of the `connected` accounts (as [`PostsApi::account_views`]
    /// gives them: a caller showing them already has them); 404 for a filter's account
    /// that is not one of them.
    pub async fn list_posts(
        &self,
        filter: &PostFilter,
        connected: &[AccountView],
    ) -> Result<PostList, ApiError> {
        let limit = filter.limit.clamp(1, 100);
        let accounts: Vec<&str> = match &filter.account {
            Some(open_id) if connected.iter().any(|a| &a.open_id == open_id) => {
                vec![open_id.as_str()]
            }
            Some(open_id) => {
                return Err(ApiError::not_found(
                    "account_not_found",
                    format!("there is no connected account {open_id}"),
                ));
            }
            None => connected.iter().map(|a| a.open_id.as_str()).collect(),
        };
        let mut parts = Vec::with_capacity(accounts.len());
        for open_id in accounts {
            parts.push(self.account_part(open_id, filter, limit).await?);
        }
        Ok(merge(parts, limit))
    }

    async fn account_part(
        &self,
        open_id: &str,
        filter: &PostFilter,
        limit: usize,
    ) -> Result<AccountPart, ApiError> {
        let mut part = AccountPart {
            posts: Vec::new(),
            more: false,
            stopped_at: None,
        };
        let mut after = filter.before.clone();
        let mut read = 0;
        loop {
            let page = self
                .posts()
                .list_by_account(open_id, INDEX_PAGE, after.as_ref())
                .await?;
            for post in page.posts {
                read += 1;
                let last_read = position(&post);
                if filter.state.is_none_or(|state| state.matches(post.state)) {
                    part.posts.push(post);
                    if part.posts.len() > limit {
                        part.more = true;
                        return Ok(part);
                    }
                }
                if read >= SCAN_LIMIT {
                    part.more = true;
                    part.stopped_at = Some(last_read);
                    return Ok(part);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(part),
            }
        }
    }

    /// A post's view and what can be done to it now.
    pub async fn post_detail(&self, id: &str) -> Result<(PostView, PostActions), ApiError> {
        let post = self.find_post(id).await?;
        Ok((PostView::from(&post), PostActions::of(&post)))
    }
}

/// The accounts' parts as one page, newest first.
fn merge(parts: Vec<AccountPart>, limit: usize) -> PostList {
    // Below the newest point where an account's scan stopped, that account's posts are
    // unknown: the page ends there, and the next one starts there.
    let frontier = parts
        .iter()
        .filter_map(|part| part.stopped_at.clone())
        .reduce(|a, b| if newer(&a, &b) { a } else { b });
    let mut more = parts.iter().any(|part| part.more);
    let mut posts: Vec<PostRecord> = parts.into_iter().flat_map(|part| part.posts).collect();
    posts.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    if let Some(frontier) = &frontier {
        posts.retain(|post| newer(&position(post), frontier));
    }
    if posts.len() > limit {
        posts.truncate(limit);
        more = true;
    }
    let next = if !more {
        None
    } else {
        match (posts.last(), frontier) {
            (Some(last), _) if posts.len() == limit => Some(position(last)),
            (_, Some(frontier)) => Some(frontier),
            (Some(last), None) => Some(position(last)),
            (None, None) => None,
        }
    };
    PostList {
        posts: posts.iter().map(PostView::from).collect(),
        next,
    }
}
