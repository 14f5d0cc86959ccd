//! Whether a probed video fits TikTok's media rules (`tiktok_publish_domain::media_rules`),
//! checked before anything is sent to TikTok. Nothing is transcoded: a video that breaks a
//! rule is refused with the rule and the value measured, and what the headers did not tell
//! (`None` in the [`VideoProbe`]) is left for TikTok to judge.
//!
//! The table, in the order checked (docs/media.md has it with its sources):
//!
//! | rule        | measured from                                         | TikTok takes            |
//! |-------------|-------------------------------------------------------|-------------------------|
//! | codec       | sample entry type (MP4/MOV), CodecID (WebM)           | H.264, H.265, VP8, VP9  |
//! | frame rate  | `stts` over `mdhd` (MP4/MOV), DefaultDuration (WebM)  | 23 to 60 fps            |
//! | picture size| `tkhd` (rotated) or sample entry; PixelWidth/Height   | 360 to 4096 px a side   |
//! | duration    | `mvhd`/`mehd` (MP4/MOV), Info/Duration (WebM)         | the [`DurationLimit`]   |

use tiktok_publish_domain::media_rules::{
    DurationLimit, MediaRefusal, codec_fits, duration_fits, frame_rate_fits, picture_size_fits,
};

use super::probe::VideoProbe;

/// One rule of the table: what it checks of a probed video (`Ok` when the headers did not
/// say).
type Rule = fn(&VideoProbe) -> Result<(), MediaRefusal>;

/// The rules that need nothing but the headers, in the order a refusal names the first
/// broken.
const RULES: [Rule; 3] = [
    |video| video.codec.as_ref().map_or(Ok(()), codec_fits),
    |video| video.frame_rate.map_or(Ok(()), frame_rate_fits),
    |video| match (video.width, video.height) {
        (Some(width), Some(height)) => picture_size_fits(width, height),
        _ => Ok(()),
    },
];

/// Codec, frame rate and picture size; and the duration against `duration_limit` when one
/// is known already (a draft's is TikTok's inbox limit, known before creator_info).
pub fn fits_tiktok(
    video: &VideoProbe,
    duration_limit: Option<&DurationLimit>,
) -> Result<(), MediaRefusal> {
    for rule in RULES {
        rule(video)?;
    }
    match duration_limit {
        Some(limit) => duration_fits_limit(video, limit),
        None => Ok(()),
    }
}

/// The duration rule alone, for a limit known later (a direct post's creator limit, from
/// creator_info).
pub fn duration_fits_limit(video: &VideoProbe, limit: &DurationLimit) -> Result<(), MediaRefusal> {
    match video.duration {
        Some(duration) => duration_fits(duration.as_secs_f64(), limit),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
