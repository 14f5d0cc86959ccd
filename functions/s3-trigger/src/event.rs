//! The payload: S3's EventBridge "Object Created" event, parsed into the object it names.
//!
//! In AWS the EventBridge rule invokes the function with the event itself. Locally moto's
//! rule targets an SQS queue and a driver hands each message body (the same event JSON) to
//! the function: either way the payload is the bare EventBridge event, never an SQS batch.
//!
//! Keys: S3 URL-encodes the object key in its event notifications, form-style ("red
//! flower.jpg" becomes "red+flower.jpg"), and the EventBridge detail's key is read the same
//! way by AWS's own Powertools (`unquote_plus`). moto 5.2.5 sends EventBridge keys raw; the
//! local stack's driver encodes them as AWS does, so the default serves both.
//! `S3_EVENT_KEY_ENCODING=raw` reads raw keys for a source that sends them.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiktok_publish_core::config::{ConfigError, optional};

pub const SOURCE: &str = "aws.s3";
pub const DETAIL_TYPE: &str = "Object Created";

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

/// The object an event names, its key decoded as the S3 API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// How the event's keys are encoded (`S3_EVENT_KEY_ENCODING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyEncoding {
    /// AWS: form URL-encoding (`+` for a space, `%XX` for other bytes). The default.
    #[default]
    Url,
    /// moto: the key as it is.
    Raw,
}

impl KeyEncoding {
    pub fn from_env() -> Result<KeyEncoding, ConfigError> {
        match optional("S3_EVENT_KEY_ENCODING").as_deref().map(str::trim) {
            None | Some("url") => Ok(KeyEncoding::Url),
            Some("raw") => Ok(KeyEncoding::Raw),
            Some(other) => Err(ConfigError::Invalid {
                name: "S3_EVENT_KEY_ENCODING",
                reason: format!("{other:?} is neither \"url\" (AWS) nor \"raw\" (moto)"),
            }),
        }
    }

    pub fn decode(self, key: &str) -> Result<String, EventError> {
        match self {
            KeyEncoding::Raw => Ok(key.to_owned()),
            KeyEncoding::Url => form_url_decode(key),
        }
    }
}

/// Why a payload is not an "Object Created" event this function can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(
        "the payload is not an EventBridge event with an S3 object detail: at {path}: {reason}"
    )]
    Shape { path: String, reason: String },
    #[error(
        "expected source {SOURCE:?} and detail-type {DETAIL_TYPE:?}, got {event_source:?} and {detail_type:?}"
    )]
    NotObjectCreated {
        // Not `source`: thiserror reads a field of that name as the underlying error.
        event_source: String,
        detail_type: String,
    },
    #[error("the object key {key:?} is not URL-encoded as S3 encodes event keys: {reason}")]
    Key { key: String, reason: String },
}

/// Parses the payload; nothing is touched when it is refused.
pub fn parse(payload: Value, encoding: KeyEncoding) -> Result<CreatedObject, EventError> {
    let event: ObjectCreatedEvent =
        serde_path_to_error::deserialize(payload).map_err(|err| EventError::Shape {
            path: err.path().to_string(),
            reason: err.inner().to_string(),
        })?;
    if event.source != SOURCE || event.detail_type != DETAIL_TYPE {
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

/// `application/x-www-form-urlencoded` decoding of one value, strict: a `%` that is not an
/// escape cannot come from S3 (it writes `%25`), so it means the key is not what we think.
fn form_url_decode(encoded: &str) -> Result<String, EventError> {
    let refuse = |reason: String| EventError::Key {
        key: encoded.to_owned(),
        reason,
    };
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let byte = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| {
                        refuse(format!("'%' at byte {i} is not followed by two hex digits"))
                    })?;
                decoded.push(byte);
                i += 2;
            }
            other => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8(decoded).map_err(|_| refuse("it does not decode to UTF-8".into()))
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
    fn keys_are_decoded_as_s3_encodes_them() {
        let cases = [
            ("uploads/abc/red+flower.jpg", "uploads/abc/red flower.jpg"),
            ("uploads/abc/c%2B%2B.mp4", "uploads/abc/c++.mp4"),
            ("uploads/abc/100%25.mp4", "uploads/abc/100%.mp4"),
            (
                "uploads/abc/caf%C3%A9+%281%29.mp4",
                "uploads/abc/café (1).mp4",
            ),
            ("uploads/abc/a%3Db%2Cc.mp4", "uploads/abc/a=b,c.mp4"),
        ];
        for (encoded, key) in cases {
            assert_eq!(KeyEncoding::Url.decode(encoded).unwrap(), key, "{encoded}");
            assert_eq!(KeyEncoding::Raw.decode(key).unwrap(), key);
        }
        for bad in [
            "uploads/a/100%.mp4",
            "uploads/a/%zz.mp4",
            "uploads/a/%4",
            "%FF",
        ] {
            let err = KeyEncoding::Url.decode(bad).unwrap_err();
            assert!(matches!(err, EventError::Key { .. }), "{bad}: {err}");
        }
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
