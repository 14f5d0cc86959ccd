//! Per-account budgets of TikTok calls: the types behind [`AllowanceStore`] and the sliding
//! window arithmetic both adapters share.
//!
//! TikTok limits each user token per minute (init 6, status 30, creator_info 20). A burst of
//! posts for one account must not turn into 429s, so every Lambda spends from a shared
//! budget before calling TikTok, and waits when there is none left.
//!
//! The window slides (the timestamps of the calls in the last window are kept) rather than
//! counting fixed minute buckets: buckets let `limit` calls at 0:59 and `limit` more at 1:00,
//! twice the limit within one real minute, which TikTok counts as a violation.
//!
//! [`AllowanceStore`]: the core's port

use std::fmt;
use std::time::Duration;

pub use crate::time::{UnixMillis, unix_now_ms};

/// The TikTok endpoints that have a per-token limit, one budget each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TikTokCall {
    /// Direct Post init and inbox (draft) init: TikTok counts both against one limit.
    Init,
    /// `/v2/post/publish/status/fetch/`.
    StatusFetch,
    /// `/v2/post/publish/creator_info/query/`.
    CreatorInfo,
}

impl TikTokCall {
    pub const ALL: [TikTokCall; 3] = [
        TikTokCall::Init,
        TikTokCall::StatusFetch,
        TikTokCall::CreatorInfo,
    ];

    /// The stable name stored as the item's sort key.
    pub fn as_str(self) -> &'static str {
        match self {
            TikTokCall::Init => "init",
            TikTokCall::StatusFetch => "status_fetch",
            TikTokCall::CreatorInfo => "creator_info",
        }
    }
}

impl fmt::Display for TikTokCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The length of TikTok's own window.
pub const TIKTOK_WINDOW: Duration = Duration::from_secs(60);

/// The most calls a budget may allow per window: each is kept in the item, which must stay
/// small (DynamoDB items are at most 400 KB, and every spend reads and writes it whole).
pub const MAX_PER_WINDOW: u32 = 1_000;

/// How many calls of each kind one account may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowanceLimits {
    /// `TIKTOK_INIT_PER_MINUTE`, default 6 (video and inbox inits together).
    pub init_per_minute: u32,
    /// `TIKTOK_STATUS_PER_MINUTE`, default 30.
    pub status_fetch_per_minute: u32,
    /// `TIKTOK_CREATOR_INFO_PER_MINUTE`, default 20.
    pub creator_info_per_minute: u32,
    /// `TIKTOK_ALLOWANCE_MARGIN_MS`, default 2000: added to the 60 s window. Our clock and
    /// TikTok's differ, and a call is made a little after its spend is recorded (network,
    /// a token refresh first); counting over a longer window keeps TikTok's count under
    /// the limit despite both.
    pub margin: Duration,
}

impl Default for AllowanceLimits {
    /// TikTok's documented limits with a 2 s margin.
    fn default() -> Self {
        AllowanceLimits {
            init_per_minute: 6,
            status_fetch_per_minute: 30,
            creator_info_per_minute: 20,
            margin: Duration::from_secs(2),
        }
    }
}

impl AllowanceLimits {
    /// The calls of this kind allowed per window.
    pub fn limit(&self, call: TikTokCall) -> u32 {
        match call {
            TikTokCall::Init => self.init_per_minute,
            TikTokCall::StatusFetch => self.status_fetch_per_minute,
            TikTokCall::CreatorInfo => self.creator_info_per_minute,
        }
    }

    /// The window we count over: TikTok's minute plus the margin.
    pub fn window(&self) -> Duration {
        TIKTOK_WINDOW.saturating_add(self.margin)
    }
}

/// The answer to a request to spend one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// The call is counted: make it now.
    Granted,
    /// The budget is spent: ask again after this long (when the oldest counted call leaves
    /// the window). Nothing was counted.
    WaitFor(Duration),
}

/// What [`spend_in_window`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowOutcome {
    /// There was room: the calls to keep from now on, this one included, oldest first.
    Granted(Vec<UnixMillis>),
    /// There was none: how long until there is.
    WaitFor(Duration),
}

/// Decides one spend from the calls already counted (`calls`, in any order; those that
/// have left the window are dropped). A call made at `t` counts while `now < t + window`.
///
/// Calls stamped after `now` are kept: another Lambda's clock may run ahead of ours, and
/// forgetting its calls would overspend.
pub fn spend_in_window(
    calls: &[UnixMillis],
    now_ms: UnixMillis,
    limit: u32,
    window: Duration,
) -> WindowOutcome {
    let window_ms = UnixMillis::try_from(window.as_millis()).unwrap_or(UnixMillis::MAX);
    let cutoff = now_ms.saturating_sub(window_ms);
    let mut kept: Vec<UnixMillis> = calls.iter().copied().filter(|&t| t > cutoff).collect();
    kept.sort_unstable();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if kept.len() < limit {
        let at = kept.partition_point(|&t| t <= now_ms);
        kept.insert(at, now_ms);
        return WindowOutcome::Granted(kept);
    }
    // Room comes back when enough calls have left for one more to fit: with the limit
    // lowered since they were counted, that can be more than just the oldest one.
    let Some(&blocking) = kept.get(kept.len() - limit) else {
        // A limit of zero: never any room. Settings refuse it; wait a whole window anyway.
        return WindowOutcome::WaitFor(window);
    };
    let wait_ms = blocking.saturating_add(window_ms).saturating_sub(now_ms);
    WindowOutcome::WaitFor(Duration::from_millis(
        u64::try_from(wait_ms).unwrap_or(0).max(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;
    const MINUTE: Duration = Duration::from_secs(60);

    fn granted(outcome: WindowOutcome) -> Vec<UnixMillis> {
        match outcome {
            WindowOutcome::Granted(calls) => calls,
            WindowOutcome::WaitFor(d) => panic!("expected a grant, was told to wait {d:?}"),
        }
    }

    #[test]
    fn an_empty_window_grants_and_records_the_call() {
        assert_eq!(granted(spend_in_window(&[], NOW, 6, MINUTE)), vec![NOW]);
    }

    #[test]
    fn calls_fill_the_window_up_to_the_limit() {
        let mut calls = Vec::new();
        for i in 0..6 {
            calls = granted(spend_in_window(&calls, NOW + i * 1_000, 6, MINUTE));
        }
        assert_eq!(calls.len(), 6);
        // The 7th waits until the first (at NOW) leaves: NOW + 60 s, asked at NOW + 10 s.
        assert_eq!(
            spend_in_window(&calls, NOW + 10_000, 6, MINUTE),
            WindowOutcome::WaitFor(Duration::from_millis(50_000))
        );
    }

    #[test]
    fn a_call_leaves_the_window_exactly_one_window_later() {
        let calls = [NOW, NOW + 1, NOW + 2];
        assert_eq!(
            spend_in_window(&calls, NOW + 59_999, 3, MINUTE),
            WindowOutcome::WaitFor(Duration::from_millis(1))
        );
        assert_eq!(
            granted(spend_in_window(&calls, NOW + 60_000, 3, MINUTE)),
            vec![NOW + 1, NOW + 2, NOW + 60_000]
        );
    }

    #[test]
    fn expired_calls_are_pruned_from_what_is_kept() {
        let calls = [NOW - 120_000, NOW - 61_000, NOW - 30_000];
        assert_eq!(
            granted(spend_in_window(&calls, NOW, 6, MINUTE)),
            vec![NOW - 30_000, NOW]
        );
    }

    #[test]
    fn the_window_slides_so_a_minute_boundary_allows_no_burst() {
        // Fixed buckets would allow 6 at 0:59 and 6 more at 1:00.
        let at_59s: Vec<UnixMillis> = (0..6).map(|i| NOW + 59_000 + i).collect();
        assert_eq!(
            spend_in_window(&at_59s, NOW + 60_000, 6, MINUTE),
            WindowOutcome::WaitFor(Duration::from_millis(59_000))
        );
    }

    #[test]
    fn the_margin_lengthens_the_window() {
        let window = AllowanceLimits::default().window();
        assert_eq!(window, Duration::from_secs(62));
        let calls = [NOW];
        assert_eq!(
            spend_in_window(&calls, NOW + 60_000, 1, window),
            WindowOutcome::WaitFor(Duration::from_millis(2_000))
        );
        assert_eq!(
            granted(spend_in_window(&calls, NOW + 62_000, 1, window)),
            vec![NOW + 62_000]
        );
    }

    #[test]
    fn unordered_and_future_calls_are_kept_in_order() {
        // Another Lambda's clock runs 500 ms ahead of ours.
        let calls = [NOW + 500, NOW - 10_000];
        assert_eq!(
            granted(spend_in_window(&calls, NOW, 6, MINUTE)),
            vec![NOW - 10_000, NOW, NOW + 500]
        );
        let full = [NOW + 500, NOW - 10_000, NOW];
        assert_eq!(
            spend_in_window(&full, NOW, 3, MINUTE),
            WindowOutcome::WaitFor(Duration::from_millis(50_000))
        );
    }

    #[test]
    fn a_lowered_limit_waits_for_enough_calls_to_leave() {
        // Five calls counted under an old limit of 5; the limit is now 2: three must leave.
        let calls: Vec<UnixMillis> = (0..5).map(|i| NOW + i * 1_000).collect();
        assert_eq!(
            spend_in_window(&calls, NOW + 10_000, 2, MINUTE),
            WindowOutcome::WaitFor(Duration::from_millis(53_000))
        );
    }

    #[test]
    fn a_zero_limit_never_grants() {
        assert_eq!(
            spend_in_window(&[], NOW, 0, MINUTE),
            WindowOutcome::WaitFor(MINUTE)
        );
    }

    #[test]
    fn calls_in_the_same_millisecond_all_count() {
        let calls = granted(spend_in_window(&[NOW], NOW, 3, MINUTE));
        assert_eq!(calls, vec![NOW, NOW]);
        let calls = granted(spend_in_window(&calls, NOW, 3, MINUTE));
        assert_eq!(
            spend_in_window(&calls, NOW, 3, MINUTE),
            WindowOutcome::WaitFor(MINUTE)
        );
    }

    #[test]
    fn limits_default_to_tiktoks_and_name_each_call() {
        let limits = AllowanceLimits::default();
        assert_eq!(limits.limit(TikTokCall::Init), 6);
        assert_eq!(limits.limit(TikTokCall::StatusFetch), 30);
        assert_eq!(limits.limit(TikTokCall::CreatorInfo), 20);
        let names: Vec<_> = TikTokCall::ALL.iter().map(|c| c.to_string()).collect();
        assert_eq!(names, ["init", "status_fetch", "creator_info"]);
    }
}
