//! What TikTok takes of a video, as rules over what a container's headers say, and why a
//! video breaks one: [`MediaRefusal`], the rule broken with the value measured. The reason
//! people read is rendered from it; nothing decides on that text.
//!
//! The numbers are the Media Transfer Guide's "Video restrictions"
//! (<https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide>); the
//! services read the headers and apply them (`media::check` in the core).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The slowest frame rate TikTok takes, in frames per second ("Minimum of 23 FPS").
pub const MIN_FPS: u32 = 23;
/// The fastest frame rate TikTok takes ("Maximum of 60 FPS").
pub const MAX_FPS: u32 = 60;
/// The shortest side TikTok takes, in pixels ("Minimum of 360 pixels for both height and
/// width").
pub const MIN_SIDE_PX: u32 = 360;
/// The longest side TikTok takes ("Maximum of 4096 pixels for both height and width").
pub const MAX_SIDE_PX: u32 = 4096;
/// The longest video an app may send to a creator's inbox: "The longest video a developer
/// can send via the initialize Upload Video endpoint is 10 minutes."
pub const INBOX_UPLOAD_MAX_SECS: u64 = 600;

/// A video codec, as a container names it (an MP4/MOV sample entry, a WebM CodecID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "codec", rename_all = "snake_case")]
pub enum VideoCodec {
    H264,
    H265,
    Vp8,
    Vp9,
    Av1,
    /// Any other codec, by the name the container gives it (`mp4v`, `apcn`, `V_THEORA`).
    Other {
        name: String,
    },
}

impl VideoCodec {
    /// The codecs TikTok takes ("Supported codecs: H.264, H.265, VP8, VP9").
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            VideoCodec::H264 | VideoCodec::H265 | VideoCodec::Vp8 | VideoCodec::Vp9
        )
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VideoCodec::H264 => f.write_str("H.264"),
            VideoCodec::H265 => f.write_str("H.265 (HEVC)"),
            VideoCodec::Vp8 => f.write_str("VP8"),
            VideoCodec::Vp9 => f.write_str("VP9"),
            VideoCodec::Av1 => f.write_str("AV1"),
            VideoCodec::Other { name } => write!(f, "'{name}'"),
        }
    }
}

/// A frame rate in thousandths of a frame per second: 29.97 fps is 29_970. Whole numbers
/// keep causes comparable (`Eq`) and their JSON exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FrameRate {
    pub millis_per_second: u64,
}

impl FrameRate {
    pub const fn from_millis_per_second(millis_per_second: u64) -> FrameRate {
        FrameRate { millis_per_second }
    }

    pub const fn whole(fps: u64) -> FrameRate {
        FrameRate {
            millis_per_second: fps.saturating_mul(1000),
        }
    }

    /// `frames` frames over `units` of a clock ticking `per_second` times a second, or
    /// `None` when that says nothing (no frames, no time).
    pub fn average(frames: u64, units: u64, per_second: u64) -> Option<FrameRate> {
        if frames == 0 || units == 0 || per_second == 0 {
            return None;
        }
        let millis = u128::from(frames)
            .checked_mul(u128::from(per_second))?
            .checked_mul(1000)?
            / u128::from(units);
        u64::try_from(millis)
            .ok()
            .map(FrameRate::from_millis_per_second)
    }

    /// The rate rounded to the nearest whole frame per second, the precision the rule is
    /// judged at: 59.94 and 60.02 (a phone's variable rate, averaged) are both 60.
    pub const fn rounded(self) -> u64 {
        self.millis_per_second.saturating_add(500) / 1000
    }
}

impl fmt::Display for FrameRate {
    /// Up to two decimals, without trailing zeros: `120`, `29.97`, `23.98`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = self.millis_per_second.saturating_add(5) / 10;
        let (whole, fraction) = (hundredths / 100, hundredths % 100);
        match fraction {
            0 => write!(f, "{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}"),
        }
    }
}

/// Whose limit a video's length was measured against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum DurationLimit {
    /// The creator's `max_video_post_duration_sec` (creator_info), for a direct post.
    Creator { creator: String, max_secs: u64 },
    /// TikTok's limit for videos sent to a creator's inbox (a draft):
    /// [`INBOX_UPLOAD_MAX_SECS`].
    InboxUpload,
}

impl DurationLimit {
    pub fn max_secs(&self) -> u64 {
        match self {
            DurationLimit::Creator { max_secs, .. } => *max_secs,
            DurationLimit::InboxUpload => INBOX_UPLOAD_MAX_SECS,
        }
    }
}

/// Why a video is not one TikTok takes: the rule it breaks, with what was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum MediaRefusal {
    /// The object is empty.
    Empty,
    /// The MP4/MOV has tracks, none of them video (an audio-only file, most often).
    NoVideoTrack {
        container: String,
        /// The kinds of its tracks (`soun`, `text`, ...; in WebM, `audio`, ...).
        tracks: Vec<String>,
    },
    /// The MP4/MOV has no track at all.
    NoTracks { container: String },
    /// A box runs past the end of the file: the upload or the recording was cut off.
    Truncated {
        /// The box's type, when its header was whole.
        box_type: Option<String>,
        /// Where it starts.
        at: u64,
        /// The bytes it declares (header included), when its header was whole.
        declared: Option<u64>,
        /// The bytes left in the file from `at`.
        available: u64,
    },
    /// The MP4/MOV has no `moov` (the index players need): a recording never finished.
    NoMovieIndex { container: String },
    /// Not a video TikTok takes for another reason told from its first bytes (an image,
    /// a document, Matroska, a damaged header): `what` says which, for people only.
    Unrecognised { what: String },
    /// A codec TikTok does not take.
    Codec { codec: VideoCodec },
    /// A frame rate outside [`MIN_FPS`]..=[`MAX_FPS`].
    FrameRate { fps: FrameRate },
    /// A side outside [`MIN_SIDE_PX`]..=[`MAX_SIDE_PX`].
    PictureSize { width: u32, height: u32 },
    /// Longer than the limit, in whole seconds as `{:.0}` rounds them.
    TooLong { seconds: u64, limit: DurationLimit },
}

impl MediaRefusal {
    /// Whether the refusal says the object is no video TikTok takes at all (empty, cut off,
    /// no video track, another kind of file), rather than a video breaking a rule.
    pub fn is_no_video(&self) -> bool {
        matches!(
            self,
            MediaRefusal::Empty
                | MediaRefusal::NoVideoTrack { .. }
                | MediaRefusal::NoTracks { .. }
                | MediaRefusal::Truncated { .. }
                | MediaRefusal::NoMovieIndex { .. }
                | MediaRefusal::Unrecognised { .. }
        )
    }
}

/// The codec rule: H.264, H.265, VP8 or VP9.
pub fn codec_fits(codec: &VideoCodec) -> Result<(), MediaRefusal> {
    if codec.accepted() {
        Ok(())
    } else {
        Err(MediaRefusal::Codec {
            codec: codec.clone(),
        })
    }
}

/// The frame-rate rule, judged on the rate rounded to a whole frame per second.
pub fn frame_rate_fits(fps: FrameRate) -> Result<(), MediaRefusal> {
    let whole = fps.rounded();
    if (u64::from(MIN_FPS)..=u64::from(MAX_FPS)).contains(&whole) {
        Ok(())
    } else {
        Err(MediaRefusal::FrameRate { fps })
    }
}

/// The picture-size rule: each side, whatever the orientation.
pub fn picture_size_fits(width: u32, height: u32) -> Result<(), MediaRefusal> {
    let side = MIN_SIDE_PX..=MAX_SIDE_PX;
    if side.contains(&width) && side.contains(&height) {
        Ok(())
    } else {
        Err(MediaRefusal::PictureSize { width, height })
    }
}

/// The duration rule. A limit of 0 s (a creator_info without one) is no limit: TikTok
/// judges.
pub fn duration_fits(seconds: f64, limit: &DurationLimit) -> Result<(), MediaRefusal> {
    let max = limit.max_secs();
    if max > 0 && seconds > max as f64 {
        return Err(MediaRefusal::TooLong {
            // As `{:.0}` rounds it.
            seconds: seconds.round_ties_even() as u64,
            limit: limit.clone(),
        });
    }
    Ok(())
}

impl fmt::Display for MediaRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaRefusal::Empty => f.write_str("the object is empty (0 bytes)"),
            MediaRefusal::NoVideoTrack { container, tracks } => write!(
                f,
                "the {container} has no video track (its tracks are: {}); an audio-only file?",
                tracks.join(", ")
            ),
            MediaRefusal::NoTracks { container } => write!(f, "the {container} has no tracks"),
            MediaRefusal::Truncated {
                box_type: None,
                at,
                available,
                ..
            } => write!(
                f,
                "the file ends {available} bytes after byte {at}, inside a box header: it is \
                 truncated"
            ),
            MediaRefusal::Truncated {
                box_type: Some(kind),
                at,
                declared,
                available,
            } => write!(
                f,
                "box '{kind}' at byte {at} declares {} bytes but only {available} remain: the \
                 file is truncated or corrupt",
                declared.unwrap_or_default()
            ),
            MediaRefusal::NoMovieIndex { container } => write!(
                f,
                "the {container} has no 'moov' box (the index players need): the file is \
                 incomplete, e.g. a recording that was cut off or an upload that did not finish"
            ),
            MediaRefusal::Unrecognised { what } => f.write_str(what),
            MediaRefusal::Codec { codec } => write!(
                f,
                "codec {codec}: TikTok takes H.264, H.265, VP8 or VP9; re-encode as H.264"
            ),
            MediaRefusal::FrameRate { fps } => write!(
                f,
                "frame rate {fps} fps: TikTok takes {MIN_FPS} to {MAX_FPS} fps; re-encode at \
                 30 or 60"
            ),
            MediaRefusal::PictureSize { width, height } => write!(
                f,
                "picture size {width}x{height} px: TikTok takes {MIN_SIDE_PX} to {MAX_SIDE_PX} \
                 px on each side; resize it (1080x1920 is TikTok's usual size)"
            ),
            MediaRefusal::TooLong {
                seconds,
                limit: DurationLimit::Creator { creator, max_secs },
            } => write!(
                f,
                "the video is {seconds} s long; {creator} may post at most {max_secs} s"
            ),
            MediaRefusal::TooLong {
                seconds,
                limit: DurationLimit::InboxUpload,
            } => write!(
                f,
                "the video is {seconds} s long; TikTok takes drafts (videos sent to the inbox) \
                 of at most {INBOX_UPLOAD_MAX_SECS} s"
            ),
        }
    }
}

#[cfg(test)]
#[path = "media_rules_tests.rs"]
mod tests;
