//! The volume bench (`volume-bench`): its plan (which account each post goes to, through
//! which door, at which size, which ones are sent twice) and the arithmetic on what the run
//! counted. Pure: the run is `src/bin/volume-bench.rs`, what it reads from the local stack
//! is `stack`, its drops `drops` (both with the `local-stack` feature only, as the binary).

#[cfg(feature = "local-stack")]
pub mod drops;
#[cfg(feature = "local-stack")]
pub mod stack;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cost::{Requests, Usage};

/// The smallest and the largest video of a run, in bytes.
pub const MIN_SIZE: u64 = 1_000_000;
pub const MAX_SIZE: u64 = 200_000_000;

/// How a post reaches the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// The manifest and the video dropped under the upload prefix: an S3 event starts it.
    S3,
    /// The video put outside the prefix, then `POST /posts`.
    Api,
}

/// One post of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedPost {
    pub n: usize,
    /// Index of its account (0-based).
    pub account: usize,
    pub door: Door,
    pub size: u64,
    /// Sent twice: the API request again with the same Idempotency-Key, or the S3 event
    /// delivered again.
    pub twice: bool,
}

/// `posts` posts over `accounts` accounts, round robin. Each account alternates doors, and
/// neighbouring accounts start on opposite doors, so each door gets half of every account's
/// posts. The last tenth of the posts (one per account with 100 on 10) is sent twice. Sizes
/// run log-uniformly from [`MIN_SIZE`] to [`MAX_SIZE`], dealt out of order (a golden-ratio
/// stride), so every account and both doors get small and large videos.
pub fn plan(posts: usize, accounts: usize) -> Vec<PlannedPost> {
    let accounts = accounts.max(1);
    let twice_from = posts - posts / 10;
    let stride = coprime_stride(posts);
    (0..posts)
        .map(|n| {
            let account = n % accounts;
            let door = if (n / accounts + account).is_multiple_of(2) {
                Door::S3
            } else {
                Door::Api
            };
            PlannedPost {
                n,
                account,
                door,
                size: log_uniform_size(n * stride % posts, posts),
                twice: n >= twice_from,
            }
        })
        .collect()
}

/// The size at `rank` (0-based) of `count` sizes spread log-uniformly from [`MIN_SIZE`] to
/// [`MAX_SIZE`], both included.
pub fn log_uniform_size(rank: usize, count: usize) -> u64 {
    if count < 2 {
        return MIN_SIZE;
    }
    let ratio = MAX_SIZE as f64 / MIN_SIZE as f64;
    let at = rank.min(count - 1) as f64 / (count - 1) as f64;
    (MIN_SIZE as f64 * ratio.powf(at)).round() as u64
}

/// A stride near `count` / φ that shares no factor with `count`: `n * stride % count` then
/// visits every rank once, far apart for neighbouring `n`.
fn coprime_stride(count: usize) -> usize {
    let start = ((count as f64) * 0.381_966).round() as usize;
    (start.max(1)..).find(|s| gcd(*s, count) == 1).unwrap_or(1)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// What the functions asked of AWS between two readings of the fault proxy's counts.
pub fn counts_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(op, n)| (op.clone(), n.saturating_sub(*before.get(op).unwrap_or(&0))))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The most of `at_ms` (call times, unix ms) within any `window_ms` from one of them on: how
/// close a sliding-window rate limit came to being reached.
pub fn busiest_window(mut at_ms: Vec<i64>, window_ms: i64) -> usize {
    at_ms.sort_unstable();
    (0..at_ms.len())
        .map(|first| {
            at_ms[first..]
                .iter()
                .take_while(|at| **at - at_ms[first] < window_ms)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// From the video's drop (unix seconds, sub-second) to its post's PUBLISHED history entry
/// (unix seconds, truncated by the store): never below zero.
pub fn drop_to_live(dropped_at: f64, published_at: i64) -> Duration {
    Duration::from_secs_f64((published_at as f64 - dropped_at).max(0.0))
}

/// The run's usage, counted: the state machine's transitions, Lambda invocations and the
/// functions' AWS requests, and the bytes sent to TikTok. Lambda's GB-s are left out (see
/// [`PerPost`]).
pub fn usage_of(transitions: u64, invocations: u64, requests: Requests, bytes: u64) -> Usage {
    Usage {
        transitions,
        lambdas: invocations,
        requests,
        lambda_gb_out: bytes as f64 / 1e9,
        ..Usage::default()
    }
}

/// The cost of a run divided among its posts. Lambda duration (GB-s) is not in it: the
/// local functions are debug builds, one instance each, whose invocations queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerPost {
    pub step_functions: f64,
    pub without_transfer: f64,
    pub transfer: f64,
}

impl PerPost {
    pub fn of(usage: &Usage, posts: usize) -> PerPost {
        let posts = posts.max(1) as f64;
        PerPost {
            step_functions: usage.step_functions() / posts,
            without_transfer: usage.without_transfer() / posts,
            transfer: usage.transfer() / posts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_run_log_uniformly_from_one_to_two_hundred_mb() {
        assert_eq!(log_uniform_size(0, 100), MIN_SIZE);
        assert_eq!(log_uniform_size(99, 100), MAX_SIZE);
        // The middle of a log-uniform spread is the geometric mean: √200 MB ≈ 14.1 MB.
        let middle = log_uniform_size(50, 101);
        assert!((14_100_000..14_200_000).contains(&middle), "{middle}");
        let sizes: Vec<u64> = (0..100).map(|r| log_uniform_size(r, 100)).collect();
        assert!(sizes.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(log_uniform_size(0, 1), MIN_SIZE);
    }

    #[test]
    fn every_size_is_dealt_once() {
        for count in 1..=200 {
            let mut ranks: Vec<usize> = (0..count)
                .map(|n| n * coprime_stride(count) % count)
                .collect();
            ranks.sort_unstable();
            assert_eq!(ranks, (0..count).collect::<Vec<_>>(), "{count}");
        }
    }

    #[test]
    fn the_plan_splits_every_account_between_the_doors() {
        let plan = plan(100, 10);
        assert_eq!(plan.len(), 100);
        for account in 0..10 {
            let mine: Vec<&PlannedPost> = plan.iter().filter(|p| p.account == account).collect();
            assert_eq!(mine.len(), 10);
            assert_eq!(mine.iter().filter(|p| p.door == Door::S3).count(), 5);
            // Small and large videos for everyone.
            assert!(mine.iter().any(|p| p.size < 10_000_000), "{account}");
            assert!(mine.iter().any(|p| p.size > 50_000_000), "{account}");
        }
        let twice: Vec<&PlannedPost> = plan.iter().filter(|p| p.twice).collect();
        assert_eq!(twice.len(), 10);
        assert_eq!(twice.iter().filter(|p| p.door == Door::S3).count(), 5);
        let mut accounts: Vec<usize> = twice.iter().map(|p| p.account).collect();
        accounts.dedup();
        assert_eq!(accounts.len(), 10, "one post sent twice per account");
        let mut sizes: Vec<u64> = plan.iter().map(|p| p.size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        assert_eq!(sizes.len(), 100);
        assert_eq!((sizes[0], sizes[99]), (MIN_SIZE, MAX_SIZE));
    }

    #[test]
    fn a_small_plan_still_sends_one_post_twice() {
        let plan = plan(10, 2);
        assert_eq!(plan.iter().filter(|p| p.twice).count(), 1);
        assert_eq!(plan.iter().filter(|p| p.door == Door::S3).count(), 5);
    }

    #[test]
    fn counts_between_readings_drop_what_did_not_move() {
        let reading = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect()
        };
        let before = reading(&[("DynamoDB GetItem", 5), ("KMS Encrypt", 2)]);
        let after = reading(&[("DynamoDB GetItem", 12), ("KMS Encrypt", 2), ("S3 HEAD", 3)]);
        assert_eq!(
            counts_between(&before, &after),
            reading(&[("DynamoDB GetItem", 7), ("S3 HEAD", 3)])
        );
    }

    #[test]
    fn the_busiest_window_counts_calls_less_than_a_window_apart() {
        assert_eq!(busiest_window(vec![], 60_000), 0);
        assert_eq!(busiest_window(vec![5], 60_000), 1);
        // 0, 30 and 59.999 s fit in one minute; 60 s starts the next.
        let calls = vec![60_000, 0, 30_000, 59_999, 61_000, 200_000];
        assert_eq!(busiest_window(calls, 60_000), 4);
    }

    #[test]
    fn drop_to_live_never_goes_negative() {
        assert_eq!(drop_to_live(100.25, 160), Duration::from_secs_f64(59.75));
        assert_eq!(drop_to_live(100.5, 100), Duration::ZERO);
    }

    #[test]
    fn the_cost_of_a_run_is_shared_by_its_posts() {
        let requests = Requests {
            dynamo_reads: 800.0,
            dynamo_writes: 1600.0,
            kms: 10_000.0,
            ..Requests::default()
        };
        // 100 posts of 10 MB: 1,000 transitions, 500 invocations.
        let usage = usage_of(1000, 500, requests, 1_000_000_000);
        let per_post = PerPost::of(&usage, 100);
        assert!((per_post.step_functions - 0.000_25).abs() < 1e-12);
        // + 5 invocations × $0.0000002, 16 WRU × $0.000000625, 8 RRU × $0.000000125,
        // 100 KMS × $0.000003.
        let expected = 0.000_25 + 0.000_001 + 0.000_01 + 0.000_001 + 0.000_3;
        assert!(
            (per_post.without_transfer - expected).abs() < 1e-12,
            "{per_post:?}"
        );
        assert!((per_post.transfer - 0.0009).abs() < 1e-12);
    }
}
