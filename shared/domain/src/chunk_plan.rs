//! How a video is cut into chunks for TikTok's FILE_UPLOAD.
//!
//! TikTok's rules (Media Transfer Guide): `total_chunk_count = floor(video_size / chunk_size)`;
//! chunks of 5 to 64 MB; the last chunk takes the trailing bytes, up to 128 MB; a video under
//! 5 MB goes whole; over 64 MB it must be chunked; 1 to 1000 chunks. TikTok never says whether
//! its MB is 10^6 or 2^20 bytes, so every plan here is valid under both readings: whole only up
//! to 64,000,000 bytes, chunks between 5 MiB and 64,000,000 bytes. The size is split evenly, so
//! the last chunk is at most 999 bytes longer than the others: since 2026-08 TikTok refuses
//! plans that lean on the "last chunk may be larger" clause.

use std::fmt;

/// 5 MiB: the smallest chunk under both readings of "5 MB".
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// 64,000,000 bytes: the largest chunk (and whole upload) under both readings of "64 MB".
pub const MAX_CHUNK_SIZE: u64 = 64_000_000;
/// 128,000,000 bytes: the largest last chunk under both readings of "128 MB".
pub const MAX_LAST_CHUNK_SIZE: u64 = 128_000_000;
/// TikTok accepts at most this many chunks.
pub const MAX_CHUNK_COUNT: u64 = 1000;
/// The default size cap: 4 GB, valid under both readings of GB.
pub const DEFAULT_MAX_VIDEO_SIZE: u64 = 4_000_000_000;
/// The default target chunk size: the largest, so a video takes the fewest PUTs.
pub const DEFAULT_TARGET_CHUNK_SIZE: u64 = MAX_CHUNK_SIZE;

/// The settings a plan is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPolicy {
    target_chunk_size: u64,
    max_video_size: u64,
}

impl Default for ChunkPolicy {
    fn default() -> Self {
        ChunkPolicy {
            target_chunk_size: DEFAULT_TARGET_CHUNK_SIZE,
            max_video_size: DEFAULT_MAX_VIDEO_SIZE,
        }
    }
}

impl ChunkPolicy {
    /// A policy; the target must lie in `MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE`, and the cap must
    /// fit in 1000 chunks of at most `MAX_CHUNK_SIZE`.
    pub fn new(target_chunk_size: u64, max_video_size: u64) -> Result<Self, ChunkPlanError> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&target_chunk_size) {
            return Err(ChunkPlanError::TargetOutOfRange { target_chunk_size });
        }
        if max_video_size == 0 || max_video_size > MAX_CHUNK_COUNT * MAX_CHUNK_SIZE {
            return Err(ChunkPlanError::CapOutOfRange { max_video_size });
        }
        Ok(ChunkPolicy {
            target_chunk_size,
            max_video_size,
        })
    }

    pub fn target_chunk_size(&self) -> u64 {
        self.target_chunk_size
    }

    pub fn max_video_size(&self) -> u64 {
        self.max_video_size
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkPlanError {
    #[error("the video is empty (0 bytes); TikTok needs a video file")]
    Empty,
    #[error(
        "the video is {video_size} bytes, over the limit of {max_video_size} bytes \
         (CHUNK_MAX_VIDEO_SIZE); TikTok does not take it"
    )]
    TooLarge {
        video_size: u64,
        max_video_size: u64,
    },
    #[error(
        "target chunk size {target_chunk_size} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE} bytes"
    )]
    TargetOutOfRange { target_chunk_size: u64 },
    #[error(
        "the recorded plan ({video_size} bytes, chunks of {chunk_size}, {total_chunk_count} \
         chunks) is not a valid plan"
    )]
    Inconsistent {
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u64,
    },
    #[error("video size cap {max_video_size} must be 1..={} bytes", MAX_CHUNK_COUNT * MAX_CHUNK_SIZE)]
    CapOutOfRange { max_video_size: u64 },
}

/// One chunk: its zero-based index and inclusive byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub index: u64,
    pub first: u64,
    pub last: u64,
}

impl ChunkRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` header value: `bytes first-last/total`, inclusive, zero-based.
    pub fn content_range(&self, video_size: u64) -> String {
        format!("bytes {}-{}/{}", self.first, self.last, video_size)
    }

    /// The S3 `Range` header value for the same bytes.
    pub fn http_range(&self) -> String {
        format!("bytes={}-{}", self.first, self.last)
    }
}

impl fmt::Display for ChunkRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chunk {} (bytes {}-{})",
            self.index, self.first, self.last
        )
    }
}

/// A valid plan: what init declares, and the byte range of every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    video_size: u64,
    chunk_size: u64,
    total_chunk_count: u64,
}

impl ChunkPlan {
    /// Plans the upload of `video_size` bytes under `policy`.
    pub fn new(video_size: u64, policy: &ChunkPolicy) -> Result<Self, ChunkPlanError> {
        if video_size == 0 {
            return Err(ChunkPlanError::Empty);
        }
        if video_size > policy.max_video_size {
            return Err(ChunkPlanError::TooLarge {
                video_size,
                max_video_size: policy.max_video_size,
            });
        }
        // Two chunks need at least 2 * 5 MiB; below that (or within the target) the video
        // goes whole, which both readings allow up to 64,000,000 bytes.
        if video_size <= policy.target_chunk_size || video_size < 2 * MIN_CHUNK_SIZE {
            return Ok(ChunkPlan {
                video_size,
                chunk_size: video_size,
                total_chunk_count: 1,
            });
        }
        // Fewest chunks that keep each at or under the target, but never so many that a
        // chunk falls under 5 MiB (the target then yields), nor more than TikTok's 1000.
        let count = video_size
            .div_ceil(policy.target_chunk_size)
            .min(video_size / MIN_CHUNK_SIZE)
            .min(MAX_CHUNK_COUNT);
        // An even split: size = count * chunk_size + r with r < count <= chunk_size, so
        // floor(size / chunk_size) == count, as TikTok computes it.
        let chunk_size = video_size / count;
        Ok(ChunkPlan {
            video_size,
            chunk_size,
            total_chunk_count: count,
        })
    }

    pub fn video_size(&self) -> u64 {
        self.video_size
    }

    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    pub fn total_chunk_count(&self) -> u64 {
        self.total_chunk_count
    }

    /// The chunk at `index`, the last taking the trailing bytes.
    pub fn chunk(&self, index: u64) -> Option<ChunkRange> {
        if index >= self.total_chunk_count {
            return None;
        }
        let first = index * self.chunk_size;
        let last = if index + 1 == self.total_chunk_count {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        Some(ChunkRange { index, first, last })
    }

    pub fn chunks(&self) -> impl Iterator<Item = ChunkRange> + '_ {
        (0..self.total_chunk_count).filter_map(|i| self.chunk(i))
    }

    /// The index of the chunk that starts at `offset` (how many complete chunks precede
    /// it), or `None` when `offset` is not a chunk boundary. Used to resume from TikTok's
    /// `uploaded_bytes`.
    pub fn chunk_starting_at(&self, offset: u64) -> Option<u64> {
        if offset == self.video_size {
            return Some(self.total_chunk_count);
        }
        (offset.is_multiple_of(self.chunk_size)
            && offset / self.chunk_size < self.total_chunk_count)
            .then_some(offset / self.chunk_size)
    }

    /// A plan read back from a post record: the three numbers init declared. Refused when
    /// they are not a plan this module would make (a corrupt or hand-edited record).
    pub fn from_parts(
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u64,
    ) -> Result<Self, ChunkPlanError> {
        let plan = ChunkPlan {
            video_size,
            chunk_size,
            total_chunk_count,
        };
        let consistent = video_size > 0
            && chunk_size > 0
            && (1..=MAX_CHUNK_COUNT).contains(&total_chunk_count)
            && video_size / chunk_size == total_chunk_count
            && (total_chunk_count == 1 || (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size))
            && (total_chunk_count > 1
                || (chunk_size == video_size && video_size <= MAX_CHUNK_SIZE));
        if consistent {
            Ok(plan)
        } else {
            Err(ChunkPlanError::Inconsistent {
                video_size,
                chunk_size,
                total_chunk_count,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: u64 = 1024 * 1024;

    /// TikTok's rules under one reading of MB (`mb` bytes), checked independently of how
    /// the plan was made.
    fn valid_under(plan: &ChunkPlan, mb: u64) -> Result<(), String> {
        let (size, chunk, count) = (plan.video_size, plan.chunk_size, plan.total_chunk_count);
        if count != size / chunk {
            return Err(format!("count {count} != floor({size}/{chunk})"));
        }
        if !(1..=1000).contains(&count) {
            return Err(format!("{count} chunks"));
        }
        if count == 1 {
            if chunk != size || size > 64 * mb {
                return Err(format!("whole upload of {size} with chunk {chunk}"));
            }
            return Ok(());
        }
        if size < 5 * mb {
            return Err(format!("{size} under 5 MB must go whole"));
        }
        if chunk < 5 * mb || chunk > 64 * mb {
            return Err(format!("chunk {chunk} outside 5..64 MB"));
        }
        let last = plan.chunk(count - 1).expect("last chunk").len();
        if last > 128 * mb {
            return Err(format!("last chunk {last} over 128 MB"));
        }
        Ok(())
    }

    fn assert_valid(size: u64, policy: &ChunkPolicy) {
        let plan = ChunkPlan::new(size, policy).expect("a plan");
        valid_under(&plan, 1_000_000).unwrap_or_else(|e| panic!("{size} decimal: {e}"));
        valid_under(&plan, MIB).unwrap_or_else(|e| panic!("{size} binary: {e}"));
        // Ranges tile the video exactly, in order.
        let mut next = 0;
        for chunk in plan.chunks() {
            assert_eq!(chunk.first, next, "{size}: gap or overlap at {chunk}");
            next = chunk.last + 1;
        }
        assert_eq!(next, size);
        // The last chunk stays close to the others rather than leaning on the 128 MB clause.
        let last = plan.chunk(plan.total_chunk_count - 1).unwrap();
        assert!(
            last.len() - plan.chunk_size < 1000,
            "{size}: last chunk {last}"
        );
        // At or under the target, unless the 5 MiB floor or the 1000-chunk cap forbids it.
        let count = plan.total_chunk_count;
        assert!(
            plan.chunk_size <= policy.target_chunk_size()
                || count == 1
                || count == MAX_CHUNK_COUNT
                || count == size / MIN_CHUNK_SIZE,
            "{size}: {plan:?}"
        );
    }

    #[test]
    fn edges_are_valid_under_both_readings() {
        let policy = ChunkPolicy::default();
        let edges = [
            1,
            5_000_000,
            5 * MIB,
            10 * MIB,
            64_000_000,
            64 * MIB,
            128_000_000,
            128 * MIB,
            DEFAULT_MAX_VIDEO_SIZE,
        ];
        for edge in edges {
            for size in [edge - 1, edge, edge + 1] {
                if (1..=DEFAULT_MAX_VIDEO_SIZE).contains(&size) {
                    assert_valid(size, &policy);
                }
            }
        }
    }

    #[test]
    fn a_100_mb_video_is_two_even_chunks() {
        let plan = ChunkPlan::new(100_000_000, &ChunkPolicy::default()).unwrap();
        assert_eq!(plan.total_chunk_count(), 2);
        assert_eq!(plan.chunk_size(), 50_000_000);
        assert_eq!(
            plan.chunk(1).unwrap().content_range(100_000_000),
            "bytes 50000000-99999999/100000000"
        );
    }

    #[test]
    fn small_videos_go_whole() {
        for size in [1, 1_000_000, 5_000_000, 5 * MIB, 10 * MIB - 1] {
            let plan =
                ChunkPlan::new(size, &ChunkPolicy::new(MIN_CHUNK_SIZE, 1 << 32).unwrap()).unwrap();
            assert_eq!((plan.total_chunk_count(), plan.chunk_size()), (1, size));
            assert_eq!(
                plan.chunk(0).unwrap().content_range(size),
                format!("bytes 0-{}/{size}", size - 1)
            );
        }
    }

    #[test]
    fn a_small_target_splits_a_17_mb_video() {
        let policy = ChunkPolicy::new(MIN_CHUNK_SIZE, DEFAULT_MAX_VIDEO_SIZE).unwrap();
        let plan = ChunkPlan::new(17_000_000, &policy).unwrap();
        assert_eq!(plan.total_chunk_count(), 3);
        assert_valid(17_000_000, &policy);
    }

    #[test]
    fn sizes_outside_the_limits_get_a_clear_error() {
        let policy = ChunkPolicy::default();
        assert_eq!(ChunkPlan::new(0, &policy), Err(ChunkPlanError::Empty));
        let err = ChunkPlan::new(DEFAULT_MAX_VIDEO_SIZE + 1, &policy).unwrap_err();
        assert!(
            err.to_string()
                .contains("over the limit of 4000000000 bytes"),
            "{err}"
        );
        assert!(ChunkPolicy::new(MIN_CHUNK_SIZE - 1, 100).is_err());
        assert!(ChunkPolicy::new(MAX_CHUNK_SIZE + 1, 100).is_err());
        assert!(ChunkPolicy::new(MAX_CHUNK_SIZE, 64_000_000_001).is_err());
    }

    #[test]
    fn a_plan_round_trips_through_its_parts_and_bad_parts_are_refused() {
        let plan = ChunkPlan::new(300_000_000, &ChunkPolicy::default()).unwrap();
        let back = ChunkPlan::from_parts(
            plan.video_size(),
            plan.chunk_size(),
            plan.total_chunk_count(),
        );
        assert_eq!(back, Ok(plan));
        for (size, chunk, count) in [
            (0, 1, 1),
            (100_000_000, 64_000_000, 1),
            (100, 10, 10),
            (20_000_000, 10_000_000, 1),
        ] {
            assert!(
                ChunkPlan::from_parts(size, chunk, count).is_err(),
                "{size} {chunk} {count}"
            );
        }
    }

    #[test]
    fn resume_offsets_map_to_chunk_boundaries() {
        let plan = ChunkPlan::new(100_000_000, &ChunkPolicy::default()).unwrap();
        assert_eq!(plan.chunk_starting_at(0), Some(0));
        assert_eq!(plan.chunk_starting_at(50_000_000), Some(1));
        assert_eq!(plan.chunk_starting_at(100_000_000), Some(2));
        assert_eq!(plan.chunk_starting_at(1), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn every_size_up_to_the_cap_has_a_valid_plan(size in 1..=DEFAULT_MAX_VIDEO_SIZE) {
            assert_valid(size, &ChunkPolicy::default());
        }

        #[test]
        fn every_target_gives_a_valid_plan(
            size in 1..=DEFAULT_MAX_VIDEO_SIZE,
            target in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE,
        ) {
            assert_valid(size, &ChunkPolicy::new(target, DEFAULT_MAX_VIDEO_SIZE).unwrap());
        }

        #[test]
        fn large_caps_stay_within_a_thousand_chunks(size in 1..=64_000_000_000u64) {
            let policy = ChunkPolicy::new(MIN_CHUNK_SIZE, 64_000_000_000).unwrap();
            assert_valid(size, &policy);
        }
    }
}
