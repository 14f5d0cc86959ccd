//! TikTok's FILE_UPLOAD chunk rules, read so that a plan passes only if it is valid whether
//! TikTok's "MB" means 10^6 or 2^20 bytes (see the contract, section 3).

use serde::{Deserialize, Serialize};

/// Smallest non-last chunk: 5 MB under the 2^20 reading, the stricter one.
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// Largest chunk and largest whole upload: 64 MB under the 10^6 reading, the stricter one.
pub const MAX_CHUNK_SIZE: u64 = 64_000_000;
/// Largest last chunk (chunk_size plus the trailing remainder), 10^6 reading.
pub const MAX_LAST_CHUNK_SIZE: u64 = 128_000_000;
pub const MAX_CHUNK_COUNT: u64 = 1000;

/// A `source_info` chunk plan as the client declared it at init.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPlan {
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

impl ChunkPlan {
    /// Checks the plan against TikTok's rules under both readings of MB. `max_last_chunk`
    /// lets a test tighten the "last chunk may be larger" clause that TikTok enforces
    /// inconsistently.
    pub fn validate(&self, max_video_size: u64, max_last_chunk: u64) -> Result<(), String> {
        let Self {
            video_size,
            chunk_size,
            total_chunk_count,
        } = *self;
        if video_size == 0 || chunk_size == 0 {
            return Err("video_size and chunk_size must be positive".into());
        }
        if video_size > max_video_size {
            return Err(format!(
                "video_size {video_size} exceeds the maximum {max_video_size}"
            ));
        }
        if chunk_size > video_size {
            return Err(format!(
                "chunk_size {chunk_size} exceeds video_size {video_size}"
            ));
        }
        let expected_count = video_size / chunk_size;
        if total_chunk_count != expected_count {
            return Err(format!(
                "total_chunk_count {total_chunk_count} is not floor(video_size / chunk_size) = {expected_count}"
            ));
        }
        if !(1..=MAX_CHUNK_COUNT).contains(&total_chunk_count) {
            return Err(format!(
                "total_chunk_count {total_chunk_count} is outside 1..={MAX_CHUNK_COUNT}"
            ));
        }
        if total_chunk_count == 1 {
            // One chunk means a whole upload: the trailing-bytes clause does not rescue a
            // single 100 MB chunk declared as chunk_size 64 MB.
            if chunk_size != video_size {
                return Err(format!(
                    "a single-chunk upload must have chunk_size == video_size ({chunk_size} != {video_size})"
                ));
            }
            if video_size > MAX_CHUNK_SIZE {
                return Err(format!(
                    "a whole upload of {video_size} bytes exceeds {MAX_CHUNK_SIZE}: it must be chunked"
                ));
            }
            return Ok(());
        }
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(format!(
                "chunk_size {chunk_size} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}"
            ));
        }
        let last = self.chunk_len(total_chunk_count - 1);
        if last > max_last_chunk {
            return Err(format!(
                "the last chunk would be {last} bytes, over {max_last_chunk}"
            ));
        }
        Ok(())
    }

    /// First byte of chunk `index` (zero-based).
    pub fn chunk_start(&self, index: u64) -> u64 {
        index.saturating_mul(self.chunk_size)
    }

    /// Last byte (inclusive) of chunk `index`; the last chunk takes the trailing bytes.
    pub fn chunk_end(&self, index: u64) -> u64 {
        if index + 1 >= self.total_chunk_count {
            self.video_size.saturating_sub(1)
        } else {
            self.chunk_start(index + 1) - 1
        }
    }

    pub fn chunk_len(&self, index: u64) -> u64 {
        self.chunk_end(index) - self.chunk_start(index) + 1
    }

    /// The chunk starting at byte `first`, if any.
    pub fn chunk_at(&self, first: u64) -> Option<u64> {
        if self.chunk_size == 0 || !first.is_multiple_of(self.chunk_size) {
            return None;
        }
        let index = first / self.chunk_size;
        (index < self.total_chunk_count).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(video_size: u64, chunk_size: u64, total_chunk_count: u64) -> ChunkPlan {
        ChunkPlan {
            video_size,
            chunk_size,
            total_chunk_count,
        }
    }

    fn check(p: ChunkPlan) -> Result<(), String> {
        p.validate(4_000_000_000, MAX_LAST_CHUNK_SIZE)
    }

    #[test]
    fn small_video_goes_whole() {
        assert!(check(plan(1_000, 1_000, 1)).is_ok());
        assert!(check(plan(64_000_000, 64_000_000, 1)).is_ok());
    }

    #[test]
    fn whole_upload_over_64_mb_is_refused() {
        assert!(check(plan(64_000_001, 64_000_001, 1)).is_err());
        assert!(check(plan(100_000_000, 64_000_000, 1)).is_err());
    }

    #[test]
    fn count_must_be_floor() {
        assert!(check(plan(17_000_000, 5_666_667, 3)).is_err());
        assert!(check(plan(17_000_000, 5_666_666, 3)).is_ok());
        assert!(check(plan(17_000_000, 5_666_666, 2)).is_err());
    }

    #[test]
    fn chunks_must_be_at_least_5_mib() {
        assert!(check(plan(10_000_000, 5_000_000, 2)).is_err());
        assert!(check(plan(10_485_760, 5_242_880, 2)).is_ok());
    }

    #[test]
    fn last_chunk_is_capped() {
        // With chunks of at most 64,000,000 the last one stays under 128,000,000, so only
        // a lowered cap can bite.
        assert!(check(plan(127_999_999, 64_000_000, 1)).is_err());
        assert!(check(plan(127_999_999, 63_999_999, 2)).is_ok());
        assert!(
            plan(200_000_000, 60_000_000, 3)
                .validate(4_000_000_000, 64_000_000)
                .is_err()
        );
        assert!(check(plan(200_000_000, 60_000_000, 3)).is_ok());
    }

    #[test]
    fn ranges_cover_the_video() {
        let p = plan(17_000_000, 5_666_666, 3);
        assert_eq!(p.chunk_start(0), 0);
        assert_eq!(p.chunk_end(0), 5_666_665);
        assert_eq!(p.chunk_start(2), 11_333_332);
        assert_eq!(p.chunk_end(2), 16_999_999);
        assert_eq!(p.chunk_len(2), 5_666_668);
        assert_eq!(p.chunk_at(5_666_666), Some(1));
        assert_eq!(p.chunk_at(5_666_667), None);
        assert_eq!(p.chunk_at(17_000_000 - 2), None);
    }
}
