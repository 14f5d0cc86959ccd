//! The Posts page's listing (`PostsApi::list_posts`) and a post's actions
//! (`PostsApi::post_detail`), over the in-memory ports: newest first across accounts, a
//! page at a time with nothing lost or shown twice, filters, and the scan's bound.

use tiktok_publish_core::api::listing::SCAN_LIMIT;
use tiktok_publish_core::api::{
    AccountView, PostActions, PostFilter, PostList, PostsApi, StateFilter,
};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{PostCursor, PostRecord, PostSource, PostState};
use tiktok_publish_memory::MemoryTokenStore;

use crate::api_logic::{account, api_over};

fn api_with_accounts(open_ids: &[&str]) -> PostsApi {
    let accounts = MemoryTokenStore::new();
    for open_id in open_ids {
        accounts.insert(account(open_id));
    }
    api_over(accounts, 0)
}

/// Stores a post of `open_id` in `state`, made at `created_at`; returns its id.
async fn post(api: &PostsApi, open_id: &str, state: PostState, created_at: i64) -> String {
    let location = VideoLocation {
        bucket: "b".into(),
        key: format!("uploads/{open_id}/v{created_at}.mp4"),
        version_id: None,
    };
    let record = PostRecord::new(open_id, PostSource::at(location), None, state, created_at);
    api.intake.posts.create(&record).await.unwrap();
    record.id.to_string()
}

fn filter(account: Option<&str>, state: Option<StateFilter>, limit: usize) -> PostFilter {
    PostFilter {
        account: account.map(str::to_owned),
        state,
        before: None,
        limit,
    }
}

async fn connected(api: &PostsApi) -> Vec<AccountView> {
    api.account_views().await.unwrap()
}

/// Every page of the listing, following `next`.
async fn all_pages(api: &PostsApi, mut filter: PostFilter) -> Vec<PostList> {
    let mut pages = Vec::new();
    loop {
        let page = api
            .list_posts(&filter, &connected(api).await)
            .await
            .unwrap();
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(next) => filter.before = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 100, "the listing never ends");
    }
}

fn ids(pages: &[PostList]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| page.posts.iter().map(|post| post.id.clone()))
        .collect()
}

#[tokio::test]
async fn posts_of_every_account_come_newest_first_a_page_at_a_time() {
    let api = api_with_accounts(&["a", "b"]);
    let mut made = Vec::new();
    for (open_id, at) in [("a", 100), ("b", 105), ("a", 110), ("b", 120), ("a", 130)] {
        made.push((at, post(&api, open_id, PostState::Published, at).await));
    }
    made.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let newest_first: Vec<String> = made.into_iter().map(|(_, id)| id).collect();

    let pages = all_pages(&api, filter(None, None, 2)).await;
    assert_eq!(
        pages.iter().map(|p| p.posts.len()).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(ids(&pages), newest_first, "each post once, newest first");
    assert!(pages.last().unwrap().next.is_none());

    let only_b = all_pages(&api, filter(Some("b"), None, 10)).await;
    assert_eq!(
        ids(&only_b),
        [newest_first[1].clone(), newest_first[3].clone()]
    );
}

#[tokio::test]
async fn a_state_filter_shows_only_that_kind_of_state() {
    let api = api_with_accounts(&["a", "b"]);
    let failed = post(&api, "a", PostState::Failed, 100).await;
    let refused = post(&api, "b", PostState::Refused, 101).await;
    let queued = post(&api, "a", PostState::Queued, 102).await;
    let uploading = post(&api, "b", PostState::Uploading, 103).await;
    let _published = post(&api, "a", PostState::Published, 104).await;
    let inbox = post(&api, "b", PostState::SentToInbox, 105).await;

    let listed = |state| {
        let api = api.clone();
        async move { ids(&all_pages(&api, filter(None, Some(state), 1)).await) }
    };
    assert_eq!(listed(StateFilter::Failed).await, [refused, failed]);
    assert_eq!(listed(StateFilter::InProgress).await, [uploading, queued]);
    assert_eq!(listed(StateFilter::SentToInbox).await, [inbox]);
    assert!(listed(StateFilter::Cancelled).await.is_empty());
}

#[tokio::test]
async fn the_state_filter_names_parse_back_and_unknown_ones_are_refused() {
    for state in StateFilter::ALL {
        assert_eq!(state.as_str().parse::<StateFilter>(), Ok(state));
    }
    let unknown = "done".parse::<StateFilter>().unwrap_err();
    assert!(unknown.to_string().contains("\"done\""), "{unknown}");
}

#[tokio::test]
async fn an_account_that_is_not_connected_is_a_404() {
    let api = api_with_accounts(&["a"]);
    let err = api
        .list_posts(&filter(Some("nobody"), None, 10), &connected(&api).await)
        .await
        .unwrap_err();
    assert_eq!((err.status, err.code), (404, "account_not_found"));
}

#[tokio::test]
async fn a_filtered_page_stops_where_one_account_was_read_no_further_and_loses_nothing() {
    // Account a: SCAN_LIMIT + 5 published posts, newer than everything else, then a
    // failed one; account b: one failed post in between. A page reads at most SCAN_LIMIT
    // of a's posts, so b's failed post (older than where a's read stopped) waits for the
    // next page, where it comes before a's, as it is newer.
    let api = api_with_accounts(&["a", "b"]);
    let a_failed = post(&api, "a", PostState::Failed, 1_000).await;
    let b_failed = post(&api, "b", PostState::Failed, 1_500).await;
    for at in 0..(SCAN_LIMIT as i64 + 5) {
        post(&api, "a", PostState::Published, 2_000 + at).await;
    }

    let first = api
        .list_posts(
            &filter(None, Some(StateFilter::Failed), 10),
            &connected(&api).await,
        )
        .await
        .unwrap();
    assert!(first.posts.is_empty(), "{:?}", first.posts);
    let stopped = first
        .next
        .clone()
        .expect("a next page where the read stopped");
    assert_eq!(stopped.created_at, 2_005, "a's {SCAN_LIMIT}th newest post");

    let pages = all_pages(
        &api,
        PostFilter {
            before: Some(stopped),
            ..filter(None, Some(StateFilter::Failed), 10)
        },
    )
    .await;
    assert_eq!(ids(&pages), [b_failed, a_failed]);
}

#[tokio::test]
async fn a_page_after_a_cursor_shows_only_older_posts() {
    let api = api_with_accounts(&["a"]);
    let older = post(&api, "a", PostState::Published, 100).await;
    let _newer = post(&api, "a", PostState::Published, 200).await;
    let page = api
        .list_posts(
            &PostFilter {
                // At 200 and before any id: the post made at 200 is not older.
                before: PostCursor::parse("200.0"),
                ..filter(None, None, 10)
            },
            &connected(&api).await,
        )
        .await
        .unwrap();
    assert_eq!(
        page.posts.iter().map(|p| &p.id).collect::<Vec<_>>(),
        [&older]
    );
}

#[tokio::test]
async fn a_posts_actions_follow_its_state() {
    let api = api_with_accounts(&["a"]);
    let cases = [
        (
            PostState::Queued,
            PostActions {
                retry: false,
                cancel: true,
            },
        ),
        (
            PostState::Uploading,
            PostActions {
                retry: false,
                cancel: false,
            },
        ),
        (
            PostState::Failed,
            PostActions {
                retry: true,
                cancel: false,
            },
        ),
        (
            PostState::Published,
            PostActions {
                retry: false,
                cancel: false,
            },
        ),
        (
            PostState::Cancelled,
            PostActions {
                retry: false,
                cancel: false,
            },
        ),
    ];
    for (at, (state, expected)) in (0i64..).zip(cases) {
        let id = post(&api, "a", state, 100 + at).await;
        let (view, actions) = api.post_detail(&id).await.unwrap();
        assert_eq!((view.state, actions), (state, expected), "{state}");
    }
}
