//! Ranged reads of one object: the probe's only I/O. Every other part reads the bytes these
//! reads fetched.

use futures::StreamExt;

use crate::media::{SourceError, VideoObject, VideoSource};

/// Reads ranges of one object, keeping the last read so that neighbouring headers cost no
/// new request.
pub(super) struct RangeReader<'a> {
    source: &'a dyn VideoSource,
    object: &'a VideoObject,
    window_bytes: u64,
    window_start: u64,
    window: Vec<u8>,
}

impl<'a> RangeReader<'a> {
    pub(super) fn new(
        source: &'a dyn VideoSource,
        object: &'a VideoObject,
        window_bytes: u64,
    ) -> Self {
        RangeReader {
            source,
            object,
            // A window smaller than the largest box header would make every header a miss.
            window_bytes: window_bytes.max(16),
            window_start: 0,
            window: Vec::new(),
        }
    }

    /// Up to `len` bytes from `at`, fewer only where the object ends. `at` must be inside it.
    pub(super) async fn bytes(&mut self, at: u64, len: u64) -> Result<&[u8], SourceError> {
        let size = self.object.size;
        let end = at.saturating_add(len).min(size);
        let window_end = self.window_start + self.window.len() as u64;
        if !(at >= self.window_start && end <= window_end) {
            let read_end = at.saturating_add(len.max(self.window_bytes)).min(size);
            self.window = self.read_exact(at, read_end).await?;
            self.window_start = at;
        }
        // Both bounds are within the window (checked or just read), so they fit in usize.
        let from = usize::try_from(at - self.window_start).unwrap_or(usize::MAX);
        let to = usize::try_from(end - self.window_start).unwrap_or(usize::MAX);
        Ok(self.window.get(from..to).unwrap_or(&[]))
    }

    /// Bytes `from..to` exactly: a source that sends fewer or more is failing, and parsing a
    /// short buffer would report a damaged file that is not.
    async fn read_exact(&mut self, from: u64, to: u64) -> Result<Vec<u8>, SourceError> {
        let expected = to.saturating_sub(from);
        if expected == 0 {
            return Ok(Vec::new());
        }
        let capacity = usize::try_from(expected).map_err(|_| SourceError::Refused {
            detail: format!("a read of {expected} bytes does not fit in memory"),
        })?;
        tracing::debug!(first = from, last = to - 1, "reading video header range");
        let mut stream = self.source.read_range(self.object, from, to - 1).await?;
        let mut out = Vec::with_capacity(capacity);
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(source_error_of)?;
            if out.len() + chunk.len() > capacity {
                return Err(SourceError::Unavailable {
                    detail: format!("storage sent more than the {expected} bytes asked for"),
                    source: None,
                });
            }
            out.extend_from_slice(&chunk);
        }
        if out.len() < capacity {
            return Err(SourceError::Unavailable {
                detail: format!(
                    "storage ended the read after {} of {expected} bytes",
                    out.len()
                ),
                source: None,
            });
        }
        Ok(out)
    }
}

/// The adapters put a [`SourceError`] inside the stream's `io::Error`; anything else is an
/// unexpected failure of the read itself.
fn source_error_of(err: std::io::Error) -> SourceError {
    match err
        .into_inner()
        .map(|inner| inner.downcast::<SourceError>())
    {
        Some(Ok(source_error)) => *source_error,
        Some(Err(other)) => SourceError::Unavailable {
            detail: "reading the video's headers failed".into(),
            source: Some(other),
        },
        None => SourceError::Unavailable {
            detail: "reading the video's headers failed".into(),
            source: None,
        },
    }
}
