//! The payload: S3's EventBridge "Object Created" event, parsed into the object it names.
//!
//! In AWS the EventBridge rule invokes the function with the event itself. Locally moto's
//! rule targets an SQS queue and a driver hands each message body (the same event JSON) to
//! the function: either way the payload is the bare EventBridge event, never an SQS batch.
//!
//! Keys: S3 URL-encodes them (see [`KeyEncoding`]). moto 5.2.5 sends EventBridge keys raw;
//! the local stack's driver encodes them as AWS does, so the default serves both.
//! `S3_EVENT_KEY_ENCODING=raw` reads raw keys for a source that sends them.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiktok_publish_core::trigger::{
    CreatedObject, EventError, KeyEncoding, OBJECT_CREATED, S3_EVENT_SOURCE,
};

/// The `detail` of an S3 "Object Created" event (aws_lambda_events 1.2 has no type for it).
/// Only what the trigger uses is required; other fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3ObjectCreatedDetail {
    pub bucket: S3EventBucket,
    pub object: S3EventObject,
    /// `PutObject`, `CopyObject`, `CompleteMultipartUpload`, ... (moto: `ObjectCreated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3EventBucket {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct S3EventObject {
    /// URL-encoded by S3 (see the module documentation).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// moto spells it `eTag`.
    #[serde(default, alias = "eTag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Absent, or `"null"`, for an object written while versioning was off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

pub type ObjectCreatedEvent = EventBridgeEvent<S3ObjectCreatedDetail>;

/// Parses the payload; nothing is touched when it is refused.
pub fn parse(payload: Value, encoding: KeyEncoding) -> Result<CreatedObject, EventError> {
    let event: ObjectCreatedEvent =
        serde_path_to_error::deserialize(payload).map_err(|err| EventError::Shape {
            path: err.path().to_string(),
            reason: err.inner().to_string(),
        })?;
    if event.source != S3_EVENT_SOURCE || event.detail_type != OBJECT_CREATED {
        return Err(EventError::NotObjectCreated {
            event_source: event.source,
            detail_type: event.detail_type,
        });
    }
    let S3ObjectCreatedDetail { bucket, object, .. } = event.detail;
    if bucket.name.is_empty() || object.key.is_empty() {
        return Err(EventError::Shape {
            path: "detail".into(),
            reason: "the bucket name and the object key must not be empty".into(),
        });
    }
    Ok(CreatedObject {
        bucket: bucket.name,
        key: encoding.decode(&object.key)?,
        version_id: object.version_id,
    })
}

/// Events as AWS documents them and as moto sends them, for the tests of this crate.
#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::{Value, json};

    /// The example of AWS's "EventBridge event message structure" page (S3 user guide).
    pub fn aws_documented(bucket: &str, key: &str, version_id: &str) -> Value {
        json!({
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "111122223333",
            "time": "2021-11-12T00:00:00Z",
            "region": "ca-central-1",
            "resources": [format!("arn:aws:s3:::{bucket}")],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": key,
                    "size": 5,
                    "etag": "b1946ac92492d2347c6235b4d2611184",
                    "version-id": version_id,
                    "sequencer": "617f08299329d189"
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": "123456789012",
                "source-ip-address": "1.2.3.4",
                "reason": "PutObject"
            }
        })
    }

    /// As moto 5.2.5 sends it (S3 → EventBridge rule → SQS, the message body): `eTag`,
    /// `"version-id": "null"` when unversioned, the key raw.
    pub fn moto_shaped(bucket: &str, key: &str, version_id: Option<&str>) -> Value {
        json!({
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-11-25T11:35:37Z",
            "region": "us-east-1",
            "resources": [format!("arn:aws:s3:::{bucket}")],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": key,
                    "size": 3,
                    "eTag": "900150983cd24fb0d6963f7d28e17f72",
                    "version-id": version_id.unwrap_or("null"),
                    "sequencer": "617f08299329d189"
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": "123456789012",
                "source-ip-address": "1.2.3.4",
                "reason": "ObjectCreated"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::aws_documented;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_event_names_bucket_key_and_version() {
        let object = parse(
            aws_documented(
                "amzn-s3-demo-bucket1",
                "uploads/abc/clip.mp4",
                "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            ),
            KeyEncoding::Url,
        )
        .unwrap();
        assert_eq!(
            object,
            CreatedObject {
                bucket: "amzn-s3-demo-bucket1".into(),
                key: "uploads/abc/clip.mp4".into(),
                version_id: Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e".into()),
            }
        );
    }

    #[test]
    fn moto_events_parse_with_their_camel_case_etag_and_null_version() {
        // Captured from moto 5.2.5 (S3 → EventBridge rule → SQS), body as received.
        let body = r#"{"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012", "time": "2026-11-25T11:35:37Z", "region": "us-east-1", "resources": ["arn:aws:s3:::plain"], "detail": {"version": "0", "bucket": {"name": "plain"}, "object": {"key": "uploads/OPEN/my clip+1%2.mp4", "size": 3, "eTag": "900150983cd24fb0d6963f7d28e17f72", "version-id": "null", "sequencer": "617f08299329d189"}, "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "source-ip-address": "1.2.3.4", "reason": "ObjectCreated"}}"#;
        let payload: Value = serde_json::from_str(body).unwrap();
        let event: ObjectCreatedEvent = serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(
            event.detail.object.etag.as_deref(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
        let object = parse(payload, KeyEncoding::Raw).unwrap();
        assert_eq!(object.key, "uploads/OPEN/my clip+1%2.mp4");
        assert_eq!(object.version_id.as_deref(), Some("null"));
    }

    #[test]
    fn other_payloads_are_refused_with_what_is_wrong() {
        let mut no_detail = aws_documented("b", "uploads/a/b.mp4", "v");
        no_detail.as_object_mut().unwrap().remove("detail");
        let mut deleted = aws_documented("b", "uploads/a/b.mp4", "v");
        deleted["detail-type"] = json!("Object Deleted");
        let mut other_source = aws_documented("b", "uploads/a/b.mp4", "v");
        other_source["source"] = json!("aws.s3.fake");
        let mut no_key = aws_documented("b", "uploads/a/b.mp4", "v");
        no_key["detail"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("key");
        let mut empty_key = aws_documented("b", "uploads/a/b.mp4", "v");
        empty_key["detail"]["object"]["key"] = json!("");
        let sqs_batch = json!({"Records": [{"body": "{}"}]});
        let cases = [
            (no_detail, "missing field `detail`"),
            (deleted, "Object Deleted"),
            (other_source, "aws.s3.fake"),
            (no_key, "detail.object"),
            (empty_key, "must not be empty"),
            (sqs_batch, "missing field"),
            (json!("uploads/a/b.mp4"), "invalid type"),
        ];
        for (payload, says) in cases {
            let err = parse(payload.clone(), KeyEncoding::Url).unwrap_err();
            assert!(err.to_string().contains(says), "{payload}: {err}");
        }
    }
}
