//! The probe over a sparse in-memory object: real layouts (faststart, `moov` last after a
//! 4 GB `mdat`, QuickTime, fragmented), refusals with what the file is, storage failures
//! passed through, and no input that makes it panic.

use super::*;
use crate::media::{ByteStream, VideoLocation};
use bytes::Bytes;
use std::sync::Mutex;

/// MP4 and MOV layouts, built box by box.
mod iso_bmff;
/// WebM, the files that are no video, storage failures, arbitrary bytes.
mod others;
/// The first video track's codec and frame rate, and a WebM's Tracks, from crafted headers.
mod tracks;

// ----- a sparse in-memory source: a virtual file of `size` bytes, zeros except `parts` --

#[derive(Clone, Copy)]
enum Mode {
    Normal,
    /// Sends one byte less than asked.
    Short,
    /// Fails every read mid-stream with `SourceError::Changed`.
    ChangedMidStream,
    /// Fails `read_range` itself with `SourceError::NotFound`.
    NotFound,
}

struct SparseSource {
    size: u64,
    parts: Vec<(u64, Vec<u8>)>,
    mode: Mode,
    reads: Mutex<Vec<(u64, u64)>>,
}

impl SparseSource {
    fn new(size: u64, parts: Vec<(u64, Vec<u8>)>) -> Self {
        SparseSource {
            size,
            parts,
            mode: Mode::Normal,
            reads: Mutex::new(Vec::new()),
        }
    }

    fn whole(bytes: Vec<u8>) -> Self {
        Self::new(bytes.len() as u64, vec![(0, bytes)])
    }

    fn object(&self) -> VideoObject {
        VideoObject {
            location: VideoLocation {
                bucket: "videos".into(),
                key: "in/clip.mp4".into(),
                version_id: None,
            },
            size: self.size,
            content_type: None,
            etag: "\"etag\"".into(),
        }
    }

    fn bytes_read(&self) -> u64 {
        let reads = self.reads.lock().unwrap();
        reads.iter().map(|(first, last)| last - first + 1).sum()
    }

    fn read_count(&self) -> usize {
        self.reads.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl VideoSource for SparseSource {
    async fn head(&self, _location: &VideoLocation) -> Result<VideoObject, SourceError> {
        Ok(self.object())
    }

    async fn read_range(
        &self,
        _object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError> {
        // An out-of-range read is a bug in the probe: fail the test loudly.
        assert!(
            first <= last && last < self.size,
            "bad range {first}-{last}"
        );
        self.reads.lock().unwrap().push((first, last));
        if let Mode::NotFound = self.mode {
            return Err(SourceError::NotFound {
                bucket: "videos".into(),
                key: "in/clip.mp4".into(),
            });
        }
        let mut out = vec![0u8; usize::try_from(last - first + 1).unwrap()];
        for (at, bytes) in &self.parts {
            let part_end = at + bytes.len() as u64;
            let from = first.max(*at);
            let to = (last + 1).min(part_end);
            if from < to {
                out[(from - first) as usize..(to - first) as usize]
                    .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        }
        let items: Vec<Result<Bytes, std::io::Error>> = match self.mode {
            Mode::Short => {
                out.pop();
                vec![Ok(Bytes::from(out))]
            }
            Mode::ChangedMidStream => vec![
                Ok(Bytes::from(out[..1].to_vec())),
                Err(std::io::Error::other(SourceError::Changed {
                    bucket: "videos".into(),
                    key: "in/clip.mp4".into(),
                })),
            ],
            // Several chunks, as a network body arrives.
            _ => out
                .chunks(1000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect(),
        };
        Ok(Box::pin(futures::stream::iter(items)))
    }
}

async fn run(source: &SparseSource) -> Result<VideoProbe, ProbeError> {
    probe(source, &source.object(), &ProbeLimits::default()).await
}

/// The refusal's words: these tests check that it says what the file is.
async fn refusal(bytes: Vec<u8>) -> String {
    match run(&SparseSource::whole(bytes)).await {
        Err(ProbeError::NotAVideo { refusal }) => refusal.to_string(),
        other => panic!("expected NotAVideo, got {other:?}"),
    }
}
