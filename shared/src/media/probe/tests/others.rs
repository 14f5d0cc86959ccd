//! WebM, the files that are no video, storage failures, and arbitrary bytes.

use super::iso_bmff::{moov, mp4_brands, mvhd_v0, video_trak};
use super::{Mode, SparseSource, refusal, run};
use crate::errors::{Classify, ErrorKind};
use crate::media::SourceError;
use crate::media::probe::ebml::EBML_MAGIC;
use crate::media::probe::{Container, ProbeError};

// ----- WebM -----------------------------------------------------------------------------

pub(super) fn ebml(doc_type: &[u8]) -> Vec<u8> {
    let mut body = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
    body.extend_from_slice(&[0x42, 0x82, 0x80 | u8::try_from(doc_type.len()).unwrap()]);
    body.extend_from_slice(doc_type);
    let mut out = EBML_MAGIC.to_vec();
    out.push(0x80 | u8::try_from(body.len()).unwrap());
    out.extend(body);
    // Segment with an unknown size, as live recorders write it.
    out.extend_from_slice(&[
        0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    out
}

#[tokio::test]
async fn webm_is_recognised_by_its_doc_type() {
    let probe = run(&SparseSource::whole(ebml(b"webm"))).await.unwrap();
    assert_eq!(probe.container, Container::WebM);
    assert_eq!(probe.content_type, "video/webm");
    assert_eq!(probe.duration, None);
}

#[tokio::test]
async fn matroska_and_broken_ebml_are_refused() {
    assert!(refusal(ebml(b"matroska")).await.contains("Matroska"));
    let mut cut = ebml(b"webm");
    cut.truncate(8);
    assert!(refusal(cut).await.contains("EBML header"));
}

// ----- everything else ------------------------------------------------------------------

#[tokio::test]
async fn non_videos_are_refused_with_what_they_are() {
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0; 40]].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("png", png, "PNG signature"),
        (
            "jpeg",
            [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0; 40]].concat(),
            "JPEG",
        ),
        (
            "text",
            b"hello, this is not a video\n".to_vec(),
            "the file is text",
        ),
        (
            "html",
            b"<!DOCTYPE html><html>403</html>".to_vec(),
            "HTML page",
        ),
        ("json", b"{\"error\": \"nope\"}".to_vec(), "JSON"),
        (
            "avi",
            [b"RIFF\0\0\0\0AVI LIST".as_slice(), &[0; 20]].concat(),
            "AVI",
        ),
        ("tiny", vec![0, 0, 0], "only 3 bytes long"),
        (
            "binary",
            vec![0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 3, 4, 5, 0xFF],
            "de ad be ef",
        ),
    ];
    for (name, bytes, expected) in cases {
        let reason = refusal(bytes).await;
        assert!(reason.contains(expected), "{name}: {reason}");
    }
}

#[tokio::test]
async fn an_empty_object_is_refused_without_reading() {
    let source = SparseSource::new(0, vec![]);
    let err = run(&source).await.unwrap_err();
    assert!(err.to_string().contains("the object is empty"), "{err}");
    assert_eq!(err.kind(), ErrorKind::PostRefused);
    assert_eq!(source.read_count(), 0);
}

// ----- storage failures -----------------------------------------------------------------

#[tokio::test]
async fn storage_errors_pass_through_with_their_kind() {
    let file = [
        mp4_brands(),
        moov(&[mvhd_v0(1000, 5000), video_trak(720, 1280)]),
    ]
    .concat();

    let mut missing = SparseSource::whole(file.clone());
    missing.mode = Mode::NotFound;
    let err = run(&missing).await.unwrap_err();
    assert!(
        matches!(err, ProbeError::Source(SourceError::NotFound { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::VideoChanged);

    let mut changed = SparseSource::whole(file.clone());
    changed.mode = Mode::ChangedMidStream;
    let err = run(&changed).await.unwrap_err();
    assert!(
        matches!(err, ProbeError::Source(SourceError::Changed { .. })),
        "{err:?}"
    );

    let mut short = SparseSource::whole(file);
    short.mode = Mode::Short;
    let err = run(&short).await.unwrap_err();
    assert!(
        matches!(err, ProbeError::Source(SourceError::Unavailable { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::AwsUnavailable);
}

// ----- no input makes it panic ----------------------------------------------------------

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        prefix in 0usize..6,
    ) {
        // Bias towards the interesting parsers: ISO boxes and EBML.
        let start: Vec<u8> = match prefix {
            0 => vec![],
            1 => mp4_brands(),
            2 => [mp4_brands(), vec![0, 0, 2, 0], b"moov".to_vec()].concat(),
            3 => EBML_MAGIC.to_vec(),
            // A WebM's Segment (unknown size), then its children.
            4 => ebml(b"webm"),
            // A video track whose sample tables follow.
            _ => super::tracks::video_trak_prefix(),
        };
        let source = SparseSource::whole([start, tail].concat());
        let _ = futures::executor::block_on(run(&source));
    }
}
