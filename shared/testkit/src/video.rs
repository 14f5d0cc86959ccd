//! Test videos: deterministic bytes, MP4 headers the probe accepts, and a writer that puts a
//! video of any size into S3 one part at a time.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use sha2::{Digest, Sha256};

/// What [`write_video`] fails with: the SDK's error, or an answer missing a field.
pub type WriteError = Box<dyn std::error::Error + Send + Sync>;

/// Parts of 16 MiB: memory holds one part at a time, however large the video.
pub const PART_SIZE: u64 = 16 * 1024 * 1024;

/// Deterministic pseudo-random video bytes: byte `offset + i` of video `seed` is the same
/// whichever range it is generated in, so any chunk can be checked without keeping the video.
pub fn pseudo_random_bytes(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut position = offset;
    let end = offset + len as u64;
    while position < end {
        let word = splitmix64(seed ^ (position / 8).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let bytes = word.to_le_bytes();
        let from = (position % 8) as usize;
        let take = (8 - from).min((end - position) as usize);
        out.extend_from_slice(&bytes[from..from + take]);
        position += take as u64;
    }
    out
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `ftyp`, then a `moov` with an `mvhd` of `seconds` and one video track, then the header of
/// an `mdat` running to byte `size`: what the probe reads of a real MP4. The track has no
/// `tkhd` and no sample tables, so its size, codec and frame rate are unknown and the media
/// checks leave them to TikTok; real files are under `shared/tests/fixtures/media/`.
pub fn mp4_header(size: u64, seconds: u32) -> Vec<u8> {
    let head = ftyp_moov(seconds);
    let mdat_len = u32::try_from(size - head.len() as u64).expect("a test mdat under 4 GiB");
    [head, mdat_len.to_be_bytes().to_vec(), b"mdat".to_vec()].concat()
}

/// An MP4 of 5 s whose `mdat` holds 4096 bytes of 7: enough for the probe.
pub fn tiny_mp4() -> Vec<u8> {
    [ftyp_moov(5), boxed(b"mdat", &[7u8; 4096])].concat()
}

fn ftyp_moov(seconds: u32) -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&(seconds * 1000).to_be_bytes());
    let hdlr = [&[0u8; 8][..], b"vide", &[0u8; 13]].concat();
    let trak = boxed(b"trak", &boxed(b"mdia", &boxed(b"hdlr", &hdlr)));
    let moov = boxed(b"moov", &[boxed(b"mvhd", &mvhd), trak].concat());
    let ftyp = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    [ftyp, moov].concat()
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len() + 8).expect("a test box under 4 GiB");
    [&len.to_be_bytes()[..], kind, body].concat()
}

/// A video [`write_video`] put into S3.
#[derive(Debug, Clone)]
pub struct WrittenVideo {
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    pub etag: String,
    /// S3's version id as it answered (`None` in an unversioned bucket).
    pub version_id: Option<String>,
}

/// Writes `size` bytes to `bucket/key`, asking `bytes_at(offset, len)` for them part by part
/// (one PutObject up to [`PART_SIZE`], a multipart upload above), hashing as it goes, without
/// ever holding more than one part.
pub async fn write_video(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    size: u64,
    mut bytes_at: impl FnMut(u64, usize) -> Vec<u8>,
) -> Result<WrittenVideo, WriteError> {
    let mut hasher = Sha256::new();
    let mut part = |offset: u64, len: u64| {
        let bytes = bytes_at(offset, usize::try_from(len).expect("a part fits in memory"));
        hasher.update(&bytes);
        ByteStream::from(bytes)
    };
    let (etag, version_id) = if size <= PART_SIZE {
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(part(0, size))
            .send()
            .await?;
        (
            put.e_tag().ok_or("PutObject gave no ETag")?.to_owned(),
            put.version_id().map(str::to_owned),
        )
    } else {
        let upload = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await?;
        let upload_id = upload.upload_id().ok_or("no upload id")?;
        let mut parts = Vec::new();
        let (mut offset, mut number) = (0, 1);
        while offset < size {
            let len = PART_SIZE.min(size - offset);
            let uploaded = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(part(offset, len))
                .send()
                .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(uploaded.e_tag().ok_or("UploadPart gave no ETag")?)
                    .build(),
            );
            offset += len;
            number += 1;
        }
        let done = s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await?;
        (
            done.e_tag()
                .ok_or("CompleteMultipartUpload gave no ETag")?
                .to_owned(),
            done.version_id().map(str::to_owned),
        )
    };
    Ok(WrittenVideo {
        sha256: hex::encode(hasher.finalize()),
        etag,
        version_id,
    })
}
