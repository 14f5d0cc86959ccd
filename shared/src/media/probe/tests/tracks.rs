//! Codec, frame rate and size from crafted headers: sample entries, `stts` tables, WebM
//! Tracks, and the cases where they say nothing (left to TikTok) or lie (never a panic).

use std::time::Duration;

use super::iso_bmff::{moov, mp4_brands, mvhd_v0};
use super::others::ebml;
use super::{SparseSource, run};
use crate::media::probe::{FrameRate, MediaRefusal, ProbeError, VideoCodec};

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len() + 8).unwrap();
    [&len.to_be_bytes()[..], kind, body].concat()
}

/// A visual sample entry of `kind` coded at `width` x `height`.
fn sample_entry(kind: &[u8; 4], width: u16, height: u16) -> Vec<u8> {
    let mut body = vec![0; 24];
    body.extend_from_slice(&width.to_be_bytes());
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&[0; 50]);
    bx(kind, &body)
}

fn stsd(entry: Vec<u8>) -> Vec<u8> {
    bx(b"stsd", &[&[0, 0, 0, 0, 0, 0, 0, 1][..], &entry].concat())
}

/// `stts` declaring `declared` entries, holding `entries` (count, delta).
fn stts(declared: u32, entries: &[(u32, u32)]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(&declared.to_be_bytes());
    for (count, delta) in entries {
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(&delta.to_be_bytes());
    }
    bx(b"stts", &body)
}

fn mdhd(timescale: u32) -> Vec<u8> {
    let mut body = vec![0; 12];
    body.extend_from_slice(&timescale.to_be_bytes());
    body.extend_from_slice(&[0; 8]);
    bx(b"mdhd", &body)
}

/// A `trak` with no `tkhd`: its size comes from the sample entry.
fn trak(handler: &[u8; 4], tables: &[Vec<u8>], timescale: u32) -> Vec<u8> {
    let hdlr = bx(b"hdlr", &[&[0; 8][..], handler, &[0; 13]].concat());
    let minf = bx(b"minf", &bx(b"stbl", &tables.concat()));
    bx(
        b"trak",
        &bx(b"mdia", &[mdhd(timescale), hdlr, minf].concat()),
    )
}

fn movie(traks: &[Vec<u8>]) -> Vec<u8> {
    let mut children = vec![mvhd_v0(1000, 10_000)];
    children.extend_from_slice(traks);
    [mp4_brands(), moov(&children), bx(b"mdat", &[0; 64])].concat()
}

/// The start of a movie whose video track's tables come next (for the arbitrary-bytes test).
pub(super) fn video_trak_prefix() -> Vec<u8> {
    let mut out = mp4_brands();
    out.extend_from_slice(&[0, 0, 1, 0]);
    out.extend_from_slice(b"moov");
    out.extend(mvhd_v0(1000, 10_000));
    for kind in [b"trak", b"mdia", b"minf", b"stbl"] {
        out.extend_from_slice(&[0, 0, 0, 200]);
        out.extend_from_slice(kind);
    }
    out
}

#[tokio::test]
async fn variable_frame_rate_is_judged_on_its_average() {
    // A phone's "30 fps": 29 frames of 1/30 s, then one of 1/20 s, at 600 units a second.
    let tables = [
        stsd(sample_entry(b"avc1", 1080, 1920)),
        stts(2, &[(29, 20), (1, 30)]),
    ];
    let video = run(&SparseSource::whole(movie(&[trak(b"vide", &tables, 600)])))
        .await
        .unwrap();
    assert_eq!(video.codec, Some(VideoCodec::H264));
    assert_eq!((video.width, video.height), (Some(1080), Some(1920)));
    // 30 frames in 610 units: 29.51 fps, judged as 30.
    assert_eq!(
        video.frame_rate,
        Some(FrameRate::from_millis_per_second(29_508))
    );
    assert_eq!(video.frame_rate.map(FrameRate::rounded), Some(30));
}

#[tokio::test]
async fn the_first_video_track_is_read_past_an_audio_one() {
    let audio = trak(
        b"soun",
        &[stsd(sample_entry(b"mp4a", 0, 0)), stts(1, &[(10, 1024)])],
        48_000,
    );
    let video = trak(
        b"vide",
        &[stsd(sample_entry(b"vp09", 640, 360)), stts(1, &[(60, 1)])],
        60,
    );
    let probe = run(&SparseSource::whole(movie(&[audio, video])))
        .await
        .unwrap();
    assert_eq!(probe.codec, Some(VideoCodec::Vp9));
    assert_eq!(probe.frame_rate, Some(FrameRate::whole(60)));
}

#[tokio::test]
async fn unknown_and_unreadable_sample_entries() {
    let codec_of = |kind: &'static [u8; 4]| async move {
        let tables = [stsd(sample_entry(kind, 720, 1280))];
        run(&SparseSource::whole(movie(&[trak(b"vide", &tables, 30)])))
            .await
            .unwrap()
            .codec
    };
    assert_eq!(codec_of(b"hev1").await, Some(VideoCodec::H265));
    assert_eq!(codec_of(b"av01").await, Some(VideoCodec::Av1));
    assert_eq!(
        codec_of(b"apcn").await,
        Some(VideoCodec::Other {
            name: "apcn".into()
        })
    );
    // Encrypted: the codec hides in `sinf`; TikTok judges.
    assert_eq!(codec_of(b"encv").await, None);
    assert_eq!(codec_of(&[0, 1, 2, 3]).await, None);
}

#[tokio::test]
async fn crafted_timing_tables_claim_nothing() {
    for tables in [
        // A count of entries far beyond the bytes there.
        vec![stts(u32::MAX, &[(30, 1)])],
        // No time at all, and no samples.
        vec![stts(1, &[(30, 0)])],
        vec![stts(0, &[])],
        // Sample counts whose total overflows.
        vec![stts(
            3,
            &[
                (u32::MAX, u32::MAX),
                (u32::MAX, u32::MAX),
                (u32::MAX, u32::MAX),
            ],
        )],
    ] {
        let video = run(&SparseSource::whole(movie(&[trak(b"vide", &tables, 0)])))
            .await
            .unwrap();
        assert_eq!(video.frame_rate, None, "{tables:?}");
    }
    // The count declared bounds the entries read, and the entries there bound the count.
    let video = run(&SparseSource::whole(movie(&[trak(
        b"vide",
        &[stts(u32::MAX, &[(30, 1)])],
        30,
    )])))
    .await
    .unwrap();
    assert_eq!(video.frame_rate, Some(FrameRate::whole(30)));
}

// ----- WebM -----------------------------------------------------------------------------

/// An EBML element with a one-byte size.
fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
    [id, &[0x80 | u8::try_from(body.len()).unwrap()], body].concat()
}

fn track_entry(track_type: u8, codec_id: &[u8], video: Option<(u16, u16, u32)>) -> Vec<u8> {
    let mut body = [el(&[0x83], &[track_type]), el(&[0x86], codec_id)].concat();
    if let Some((width, height, frame_ns)) = video {
        body.extend(el(&[0x23, 0xE3, 0x83], &frame_ns.to_be_bytes()));
        let sides = [
            el(&[0xB0], &width.to_be_bytes()),
            el(&[0xBA], &height.to_be_bytes()),
        ]
        .concat();
        body.extend(el(&[0xE0], &sides));
    }
    el(&[0xAE], &body)
}

fn webm(segment_children: &[Vec<u8>]) -> Vec<u8> {
    [ebml(b"webm"), segment_children.concat()].concat()
}

fn info(seconds: f64) -> Vec<u8> {
    el(
        &[0x15, 0x49, 0xA9, 0x66],
        &el(&[0x44, 0x89], &(seconds * 1000.0).to_be_bytes()),
    )
}

#[tokio::test]
async fn a_webm_tells_codec_size_frame_rate_and_duration() {
    let tracks = [
        track_entry(2, b"A_OPUS", None),
        track_entry(1, b"V_VP8", Some((1080, 1920, 40_000_000))),
    ]
    .concat();
    let file = webm(&[info(12.5), el(&[0x16, 0x54, 0xAE, 0x6B], &tracks)]);
    let video = run(&SparseSource::whole(file)).await.unwrap();
    assert_eq!(video.codec, Some(VideoCodec::Vp8));
    assert_eq!((video.width, video.height), (Some(1080), Some(1920)));
    assert_eq!(video.frame_rate, Some(FrameRate::whole(25)));
    assert_eq!(video.duration, Some(Duration::from_millis(12_500)));
}

#[tokio::test]
async fn an_audio_only_webm_is_refused_naming_its_tracks() {
    let tracks = track_entry(2, b"A_OPUS", None);
    let file = webm(&[el(&[0x16, 0x54, 0xAE, 0x6B], &tracks)]);
    match run(&SparseSource::whole(file)).await {
        Err(ProbeError::NotAVideo { refusal }) => assert_eq!(
            refusal,
            MediaRefusal::NoVideoTrack {
                container: "WebM".into(),
                tracks: vec!["audio".into()]
            }
        ),
        other => panic!("expected NotAVideo, got {other:?}"),
    }
}

#[tokio::test]
async fn webm_tracks_after_the_first_cluster_or_cut_off_are_left_to_tiktok() {
    let tracks = el(
        &[0x16, 0x54, 0xAE, 0x6B],
        &track_entry(1, b"V_AV1", Some((100, 100, 1))),
    );
    let cluster = el(&[0x1F, 0x43, 0xB6, 0x75], &[0; 8]);
    let late = run(&SparseSource::whole(webm(&[cluster, tracks.clone()])))
        .await
        .unwrap();
    assert_eq!((late.codec, late.width), (None, None));

    let mut cut = webm(&[tracks]);
    cut.truncate(cut.len() - 3);
    let cut = run(&SparseSource::whole(cut)).await.unwrap();
    assert_eq!((cut.codec, cut.width), (None, None));
}
