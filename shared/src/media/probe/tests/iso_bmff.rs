//! MP4 and MOV layouts built box by box, and what the probe reads from them.

use super::{SparseSource, refusal, run};
use crate::media::probe::{Container, VideoProbe};
use std::time::Duration;

// ----- ISO-BMFF builders ------------------------------------------------------------------

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let mut body = major.to_vec();
    body.extend_from_slice(&0x200u32.to_be_bytes());
    for brand in compatible {
        body.extend_from_slice(*brand);
    }
    bx(b"ftyp", &body)
}

const IDENTITY: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];
const ROTATE_90: [u32; 9] = [0, 0x10000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];

pub(super) fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    b.extend_from_slice(&[0; 8]); // creation, modification
    b.extend_from_slice(&timescale.to_be_bytes());
    b.extend_from_slice(&duration.to_be_bytes());
    mvhd_tail(&mut b);
    bx(b"mvhd", &b)
}

fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
    let mut b = vec![1, 0, 0, 0];
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&timescale.to_be_bytes());
    b.extend_from_slice(&duration.to_be_bytes());
    mvhd_tail(&mut b);
    bx(b"mvhd", &b)
}

fn mvhd_tail(b: &mut Vec<u8>) {
    b.extend_from_slice(&0x10000u32.to_be_bytes()); // rate
    b.extend_from_slice(&0x100u16.to_be_bytes()); // volume
    b.extend_from_slice(&[0; 10]);
    for m in IDENTITY {
        b.extend_from_slice(&m.to_be_bytes());
    }
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&2u32.to_be_bytes()); // next track id
}

fn tkhd(version: u8, width: u32, height: u32, matrix: [u32; 9]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 7];
    b.extend_from_slice(&vec![0; if version == 1 { 32 } else { 20 }]);
    b.extend_from_slice(&[0; 16]); // reserved, layer, group, volume, reserved
    for m in matrix {
        b.extend_from_slice(&m.to_be_bytes());
    }
    b.extend_from_slice(&(width << 16).to_be_bytes());
    b.extend_from_slice(&(height << 16).to_be_bytes());
    bx(b"tkhd", &b)
}

fn trak(tkhd: Vec<u8>, handler: &[u8; 4]) -> Vec<u8> {
    let mut hdlr = vec![0; 8];
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0; 13]);
    let mdia = bx(b"mdia", &bx(b"hdlr", &hdlr));
    bx(b"trak", &[tkhd, mdia].concat())
}

pub(super) fn video_trak(width: u32, height: u32) -> Vec<u8> {
    trak(tkhd(0, width, height, IDENTITY), b"vide")
}

fn audio_trak() -> Vec<u8> {
    trak(tkhd(0, 0, 0, IDENTITY), b"soun")
}

pub(super) fn moov(children: &[Vec<u8>]) -> Vec<u8> {
    bx(b"moov", &children.concat())
}

pub(super) fn mp4_brands() -> Vec<u8> {
    ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])
}

// ----- MP4 / MOV ------------------------------------------------------------------------

#[tokio::test]
async fn faststart_mp4_gives_duration_and_video_size() {
    let file = [
        mp4_brands(),
        moov(&[mvhd_v0(1000, 3_500), audio_trak(), video_trak(1080, 1920)]),
        bx(b"mdat", &[0xAB; 3000]),
    ]
    .concat();
    let source = SparseSource::whole(file);
    let probe = run(&source).await.unwrap();
    assert_eq!(
        probe,
        VideoProbe {
            container: Container::Mp4,
            duration: Some(Duration::from_millis(3_500)),
            width: Some(1080),
            height: Some(1920),
            codec: None,
            frame_rate: None,
            content_type: "video/mp4",
        }
    );
    assert_eq!(
        source.read_count(),
        1,
        "ftyp and a small moov come in one read"
    );
}

#[tokio::test]
async fn quicktime_brand_with_v1_headers_is_a_mov() {
    let file = [
        ftyp(b"qt  ", &[b"qt  "]),
        bx(b"wide", &[]),
        moov(&[
            mvhd_v1(600, 600 * 61 + 300),
            trak(tkhd(1, 1920, 1080, IDENTITY), b"vide"),
        ]),
        bx(b"mdat", &[1; 100]),
    ]
    .concat();
    let probe = run(&SparseSource::whole(file)).await.unwrap();
    assert_eq!(probe.container, Container::QuickTime);
    assert_eq!(probe.content_type, "video/quicktime");
    assert_eq!(probe.duration, Some(Duration::from_millis(61_500)));
    assert_eq!((probe.width, probe.height), (Some(1920), Some(1080)));
}

#[tokio::test]
async fn legacy_quicktime_without_ftyp_is_a_mov() {
    let file = [
        moov(&[mvhd_v0(600, 1800), video_trak(640, 480)]),
        bx(b"mdat", &[]),
    ]
    .concat();
    let probe = run(&SparseSource::whole(file)).await.unwrap();
    assert_eq!(probe.container, Container::QuickTime);
    assert_eq!(probe.duration, Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn portrait_phone_video_reports_rotated_size() {
    let file = [
        ftyp(b"qt  ", &[b"qt  "]),
        moov(&[
            mvhd_v0(600, 1800),
            trak(tkhd(0, 1920, 1080, ROTATE_90), b"vide"),
        ]),
    ]
    .concat();
    let probe = run(&SparseSource::whole(file)).await.unwrap();
    assert_eq!((probe.width, probe.height), (Some(1080), Some(1920)));
}

#[tokio::test]
async fn moov_after_a_4_gb_mdat_costs_a_few_kb() {
    let size: u64 = 4_000_000_000;
    let head = mp4_brands();
    let tail = moov(&[mvhd_v1(90_000, 90_000 * 600), video_trak(720, 1280)]);
    let mdat_at = head.len() as u64;
    let moov_at = size - tail.len() as u64;
    // A 64-bit `largesize` mdat filling everything between ftyp and moov.
    let mut mdat_header = 1u32.to_be_bytes().to_vec();
    mdat_header.extend_from_slice(b"mdat");
    mdat_header.extend_from_slice(&(moov_at - mdat_at).to_be_bytes());
    let source = SparseSource::new(
        size,
        vec![(0, head), (mdat_at, mdat_header), (moov_at, tail)],
    );
    let probe = run(&source).await.unwrap();
    assert_eq!(probe.duration, Some(Duration::from_secs(600)));
    assert_eq!((probe.width, probe.height), (Some(720), Some(1280)));
    assert!(source.read_count() <= 3, "{} reads", source.read_count());
    assert!(
        source.bytes_read() <= 8192,
        "{} bytes read",
        source.bytes_read()
    );
}

#[tokio::test]
async fn moov_over_the_cap_leaves_duration_to_tiktok() {
    let size: u64 = 1_000_000_000;
    let head = mp4_brands();
    // A 20 MiB moov (declared) after a mdat running up to it.
    let moov_len: u64 = 20 * 1024 * 1024;
    let moov_at = size - moov_len;
    let mut mdat = u32::try_from(moov_at - head.len() as u64)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    mdat.extend_from_slice(b"mdat");
    let mut moov_header = u32::try_from(moov_len).unwrap().to_be_bytes().to_vec();
    moov_header.extend_from_slice(b"moov");
    let mdat_at = head.len() as u64;
    let source = SparseSource::new(
        size,
        vec![(0, head), (mdat_at, mdat), (moov_at, moov_header)],
    );
    let probe = run(&source).await.unwrap();
    assert_eq!(probe.container, Container::Mp4);
    assert_eq!(probe.duration, None);
    assert!(
        source.bytes_read() <= 8192,
        "{} bytes read",
        source.bytes_read()
    );
}

#[tokio::test]
async fn damaged_moov_leaves_duration_to_tiktok() {
    // mvhd cut short: its declared size fits moov but the fields do not.
    let file = [mp4_brands(), moov(&[bx(b"mvhd", &[0, 0, 0, 0, 0, 0])])].concat();
    assert_eq!(
        run(&SparseSource::whole(file)).await.unwrap().duration,
        None
    );

    // A child box declaring more than moov holds.
    let mut broken = moov(&[mvhd_v0(1000, 5000)]);
    broken.extend_from_slice(&[0, 0, 0x10, 0, b't', b'r', b'a', b'k']);
    let len = u32::try_from(broken.len()).unwrap();
    broken[..4].copy_from_slice(&len.to_be_bytes());
    let file = [mp4_brands(), broken].concat();
    assert_eq!(
        run(&SparseSource::whole(file)).await.unwrap().duration,
        None
    );
}

#[tokio::test]
async fn unknown_or_zero_durations_are_none_and_mehd_fills_in() {
    for unknown in [
        mvhd_v0(1000, u32::MAX),
        mvhd_v0(0, 5000),
        mvhd_v1(1000, u64::MAX),
    ] {
        let file = [mp4_brands(), moov(&[unknown, video_trak(720, 1280)])].concat();
        assert_eq!(
            run(&SparseSource::whole(file)).await.unwrap().duration,
            None
        );
    }
    // Fragmented: 0 in mvhd, the length in mvex/mehd.
    let mehd = bx(
        b"mehd",
        &[[0u8, 0, 0, 0].as_slice(), &12_000u32.to_be_bytes()].concat(),
    );
    let file = [
        mp4_brands(),
        moov(&[mvhd_v0(1000, 0), bx(b"mvex", &mehd), video_trak(720, 1280)]),
    ]
    .concat();
    let probe = run(&SparseSource::whole(file)).await.unwrap();
    assert_eq!(probe.duration, Some(Duration::from_secs(12)));
}

#[tokio::test]
async fn audio_only_and_image_iso_files_are_refused() {
    let m4a = [
        ftyp(b"M4A ", &[b"M4A ", b"mp42"]),
        moov(&[mvhd_v0(1000, 5000)]),
    ]
    .concat();
    assert!(refusal(m4a).await.contains("audio"));

    let audio_mp4 = [mp4_brands(), moov(&[mvhd_v0(1000, 5000), audio_trak()])].concat();
    let reason = refusal(audio_mp4).await;
    assert!(
        reason.contains("no video track") && reason.contains("soun"),
        "{reason}"
    );

    let heic = [ftyp(b"heic", &[b"mif1", b"heic"]), bx(b"meta", &[0; 20])].concat();
    assert!(refusal(heic).await.contains("image"));

    let no_tracks = [mp4_brands(), moov(&[mvhd_v0(1000, 5000)])].concat();
    assert!(refusal(no_tracks).await.contains("no tracks"));
}

#[tokio::test]
async fn mp4_without_moov_is_refused_as_incomplete() {
    // An interrupted recording: mdat with size 0 (to the end) and no index.
    let file = [
        mp4_brands(),
        0u32.to_be_bytes().to_vec(),
        b"mdat".to_vec(),
        vec![7; 500],
    ]
    .concat();
    let reason = refusal(file).await;
    assert!(reason.contains("no 'moov'"), "{reason}");
}

#[tokio::test]
async fn malformed_box_sizes_are_clear_refusals() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "size smaller than header",
            [mp4_brands(), vec![0, 0, 0, 4], b"mdat".to_vec(), vec![0; 8]].concat(),
            "smaller than its own header",
        ),
        (
            "size beyond the object",
            [
                mp4_brands(),
                vec![0, 0, 0x10, 0],
                b"mdat".to_vec(),
                vec![0; 8],
            ]
            .concat(),
            "only 16 remain",
        ),
        (
            "64-bit size that overflows",
            [
                mp4_brands(),
                vec![0, 0, 0, 1],
                b"mdat".to_vec(),
                vec![0xFF; 8],
                vec![0; 8],
            ]
            .concat(),
            "18446744073709551615 bytes",
        ),
        (
            "64-bit size smaller than its 16-byte header",
            [
                mp4_brands(),
                vec![0, 0, 0, 1],
                b"mdat".to_vec(),
                8u64.to_be_bytes().to_vec(),
            ]
            .concat(),
            "smaller than its own header",
        ),
        (
            "file cut inside a box header",
            [mp4_brands(), vec![0, 0, 0, 1], b"md".to_vec()].concat(),
            "inside a box header",
        ),
        (
            "ftyp cut short",
            [vec![0, 0, 0, 0x20], b"ftyp".to_vec(), b"isom".to_vec()].concat(),
            "truncated",
        ),
        (
            "ftyp without a brand",
            bx(b"ftyp", &[]),
            "too short to name a brand",
        ),
    ];
    for (name, bytes, expected) in cases {
        let reason = refusal(bytes).await;
        assert!(reason.contains(expected), "{name}: {reason}");
    }
}

#[tokio::test]
async fn endless_small_boxes_stop_at_the_cap() {
    let mut file = mp4_brands();
    for _ in 0..200 {
        file.extend(bx(b"free", &[]));
    }
    file.extend(moov(&[mvhd_v0(1000, 5000), video_trak(720, 1280)]));
    let source = SparseSource::whole(file);
    let probe = run(&source).await.unwrap();
    assert_eq!(probe.duration, None);
    assert!(source.read_count() <= 2);
}
