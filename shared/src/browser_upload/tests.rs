use std::sync::Mutex;

use super::*;

/// Records what it was asked to sign; its URL names the key and request.
#[derive(Default)]
struct RecordingPresigner {
    asked: Mutex<Vec<(String, String, S3Request)>>,
}

#[async_trait]
impl UploadPresigner for RecordingPresigner {
    async fn presign(
        &self,
        bucket: &str,
        key: &str,
        request: &S3Request,
        expires_in: Duration,
    ) -> Result<PresignedUrl, PresignError> {
        assert_eq!(expires_in, SIGNATURE_LIFETIME);
        self.asked
            .lock()
            .unwrap()
            .push((bucket.to_owned(), key.to_owned(), request.clone()));
        Ok(PresignedUrl {
            method: request.method(),
            url: format!("https://s3.test/{bucket}/{key}?signed"),
        })
    }

    fn origin(&self, _bucket: &str) -> String {
        "https://s3.test".into()
    }
}

fn uploads() -> (BrowserUploads, Arc<RecordingPresigner>) {
    let presigner = Arc::new(RecordingPresigner::default());
    let uploads = BrowserUploads {
        presigner: presigner.clone(),
        bucket: "videos".into(),
        prefix: "uploads/".into(),
    };
    (uploads, presigner)
}

fn body(json: serde_json::Value) -> SignRequestBody {
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn a_create_gets_a_fresh_key_in_the_accounts_console_folder() {
    let (uploads, presigner) = uploads();
    let step =
        body(serde_json::json!({"method": "POST", "key": "x", "filename": "My clip (1).MP4"}))
            .step()
            .unwrap();
    let first = uploads.sign("open-1", step.clone()).await.unwrap();
    let second = uploads.sign("open-1", step).await.unwrap();
    assert_eq!(first.method, "POST");
    let rest = first.key.strip_prefix("uploads/open-1/.console/").unwrap();
    let (folder, name) = rest.split_once('/').unwrap();
    assert_eq!(folder.len(), 16);
    assert_eq!(name, "My-clip--1-.mp4", "the suffix in lower case");
    assert_ne!(first.key, second.key, "two uploads never share a key");
    assert!(uploads.is_console_upload("open-1", &first.key));
    let asked = presigner.asked.lock().unwrap();
    assert_eq!(asked[0].2, S3Request::CreateMultipartUpload);
    assert_eq!(asked[0].0, "videos");
}

#[tokio::test]
async fn later_steps_are_signed_only_for_the_accounts_console_uploads() {
    let (uploads, presigner) = uploads();
    let own = "uploads/open-1/.console/abcdefgh12345678/clip.mp4";
    let part =
        body(serde_json::json!({"method": "PUT", "key": own, "uploadId": "u1", "partNumber": 3}))
            .step()
            .unwrap();
    let signed = uploads.sign("open-1", part).await.unwrap();
    assert_eq!(signed.method, "PUT");
    assert_eq!(
        presigner.asked.lock().unwrap()[0].2,
        S3Request::UploadPart {
            upload_id: "u1".into(),
            part_number: 3
        }
    );
    for foreign in [
        "uploads/open-2/.console/abcdefgh12345678/clip.mp4",
        "uploads/open-1/clip.mp4",
        "uploads/open-1/.console/clip.mp4",
        "uploads/open-1/.console/a/../b/clip.mp4",
        "uploads/open-1/.console/a/b/clip.mp4",
        "other/open-1/.console/a/clip.mp4",
    ] {
        let step = UploadStep::Complete {
            key: foreign.into(),
            upload_id: "u1".into(),
        };
        let err = uploads.sign("open-1", step).await.unwrap_err();
        assert!(
            matches!(err, UploadRefused::ForeignKey { .. }),
            "{foreign}: {err}"
        );
        assert_eq!(err.status(), 403);
    }
    assert_eq!(
        presigner.asked.lock().unwrap().len(),
        1,
        "nothing foreign was signed"
    );
}

#[test]
fn uppys_requests_map_to_s3s() {
    let key = "uploads/a/.console/f/c.mp4";
    let cases = [
        (
            serde_json::json!({"method": "GET", "key": key, "uploadId": "u"}),
            "GET",
        ),
        (
            serde_json::json!({"method": "POST", "key": key, "uploadId": "u"}),
            "POST",
        ),
        (
            serde_json::json!({"method": "DELETE", "key": key, "uploadId": "u"}),
            "DELETE",
        ),
    ];
    for (json, method) in cases {
        let step = body(json).step().unwrap();
        let request = match step {
            UploadStep::ListParts { upload_id, .. } => S3Request::ListParts { upload_id },
            UploadStep::Complete { upload_id, .. } => {
                S3Request::CompleteMultipartUpload { upload_id }
            }
            UploadStep::Abort { upload_id, .. } => S3Request::AbortMultipartUpload { upload_id },
            other => panic!("{other:?}"),
        };
        assert_eq!(request.method(), method);
        assert_eq!(request.query(), vec![("uploadId", "u".to_owned())]);
    }
    let refused = [
        (serde_json::json!({"method": "PUT", "key": key}), "method"),
        (
            serde_json::json!({"method": "DELETE", "key": key}),
            "method",
        ),
        (
            serde_json::json!({"method": "PATCH", "key": key, "uploadId": "u"}),
            "method",
        ),
        (
            serde_json::json!({"method": "PUT", "key": key, "uploadId": "u"}),
            "partNumber",
        ),
        (serde_json::json!({"method": "GET", "uploadId": "u"}), "key"),
    ];
    for (json, field) in refused {
        let err = body(json.clone()).step().unwrap_err();
        assert_eq!(err.field(), Some(field), "{json}: {err}");
        assert_eq!(err.status(), 400);
    }
}

#[tokio::test]
async fn part_numbers_stay_within_s3s_range() {
    let (uploads, _) = uploads();
    for part_number in [0, 10_001] {
        let step = UploadStep::Part {
            key: "uploads/a/.console/f/c.mp4".into(),
            upload_id: "u".into(),
            part_number,
        };
        let err = uploads.sign("a", step).await.unwrap_err();
        assert_eq!(err.field(), Some("partNumber"));
    }
}

#[test]
fn only_videos_and_images_are_uploaded_and_names_are_made_safe() {
    let key = |name: &str| console_upload_key("uploads/", "a", name, "f");
    assert_eq!(key("clip.mov").unwrap(), "uploads/a/.console/f/clip.mov");
    assert_eq!(
        key("../../x/é t.webp").unwrap(),
        "uploads/a/.console/f/--t.webp"
    );
    assert_eq!(
        key("C:\\Users\\me\\.jpg").unwrap(),
        "uploads/a/.console/f/upload.jpg"
    );
    for refused in ["notes.txt", "clip.mp4.exe", "", "mp4"] {
        let err = key(refused).unwrap_err();
        assert!(
            matches!(err, UploadRefused::Unsupported { .. }),
            "{refused}"
        );
        assert_eq!(err.field(), Some("filename"));
    }
}
