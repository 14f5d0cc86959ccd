//! A post record as a posts-table item, and back.
//!
//! History entries and the failure carry their typed fact and cause (`fact`,
//! `failure_cause`: maps of the domain's enums, see [`super::typed`]) beside the text people
//! read (`note`, `failure_reason`). Items written before those attributes existed hold only
//! the text: they are understood through [`tiktok_publish_domain::legacy`], the one reader
//! of that wording; so is a fact or cause of a type a later version added (after a rollback).

use aws_sdk_dynamodb::types::AttributeValue;
use tiktok_publish_domain::errors::ErrorKind;
use tiktok_publish_domain::legacy;

use super::typed::{from_attribute, to_attribute};
use super::{Expr, Item, Reader, n, s, string_list};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::StoreError;
use tiktok_publish_core::store::post::{
    HistoryEntry, PhotoSet, PlanFields, PostFailure, PostId, PostOptions, PostOutcome, PostRecord,
    PostSource, PostState, StoredUploadUrl, UploadSession, WebhookFinal, WebhookFinalKind,
};
use tiktok_publish_core::store::{Cause, Fact, UnixTime};

pub(super) const ENTITY: &str = "post";
pub(super) const KEY: &str = "id";

/// The failure's attributes (each failure write sets or removes all of them).
pub(super) const FAILURE_ATTRIBUTES: [&str; 4] = [
    "failure_kind",
    "failure_cause",
    "failure_reason",
    "failure_advice",
];

/// The attributes of a recorded webhook event.
pub(super) const WEBHOOK_ATTRIBUTES: [&str; 5] = [
    "webhook_kind",
    "webhook_publish_id",
    "webhook_at",
    "webhook_reason",
    "webhook_post_id",
];

fn corrupt(id: &PostId, detail: String) -> StoreError {
    StoreError::Corrupt {
        entity: ENTITY,
        id: id.to_string(),
        detail,
    }
}

// Not serde_dynamo: source and upload are flat, options JSON text, history read leniently.
/// The record an item holds.
pub(super) fn record_of(item: &Item) -> Result<PostRecord, StoreError> {
    let r = Reader::new(item, ENTITY, KEY);
    let id = PostId::parse(&r.s(KEY)?).map_err(|e| r.corrupt(e.to_string()))?;
    let state_name = r.s("state")?;
    let state = PostState::parse(&state_name)
        .ok_or_else(|| r.corrupt(format!("unknown state {state_name:?}")))?;
    let options = match r.opt_s("options")? {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<PostOptions>(&json)
                .map_err(|e| r.corrupt(format!("options: {e}")))?,
        ),
    };
    let upload = match r.opt_n::<UnixTime>("upload_issued_at")? {
        None => None,
        Some(issued_at) => {
            let upload_url = r.opt_s("upload_url")?.map(StoredUploadUrl::new);
            Some(UploadSession {
                upload_url,
                issued_at,
                plan: PlanFields {
                    video_size: r.n("video_size")?,
                    chunk_size: r.n("chunk_size")?,
                    total_chunk_count: r.n("chunk_count")?,
                },
                chunks_done: r.opt_n("chunks_done")?.unwrap_or(0),
                bytes_done: r.opt_n("bytes_done")?.unwrap_or(0),
            })
        }
    };
    let outcome = if item.contains_key("public_post_ids") {
        Some(PostOutcome {
            public_post_ids: r.string_list("public_post_ids")?,
        })
    } else {
        None
    };
    let failure = read_failure(&r)?;
    let webhook = match r.opt_s("webhook_kind")? {
        None => None,
        Some(kind) => Some(WebhookFinal {
            kind: WebhookFinalKind::parse(&kind)
                .ok_or_else(|| r.corrupt(format!("unknown webhook_kind {kind:?}")))?,
            publish_id: r.s("webhook_publish_id")?,
            reason: r.opt_s("webhook_reason")?,
            public_post_id: r.opt_s("webhook_post_id")?,
            event_time: r.n("webhook_at")?,
        }),
    };
    let history = read_history(&r, failure.as_ref())?;
    // A photo post's images, JSON text as the options are (absent on videos).
    let photos = match r.opt_s("photos")? {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<PhotoSet>(&json)
                .map_err(|e| r.corrupt(format!("photos: {e}")))?,
        ),
    };
    Ok(PostRecord {
        photos,
        webhook,
        id,
        open_id: r.s("open_id")?,
        source: PostSource {
            location: VideoLocation {
                bucket: r.s("bucket")?,
                key: r.s("key")?,
                version_id: r.opt_s("version_id")?,
            },
            size: r.opt_n("size")?,
            content_type: r.opt_s("content_type")?,
            etag: r.opt_s("etag")?,
        },
        options,
        state,
        publish_id: r.opt_s("publish_id")?,
        upload,
        outcome,
        failure,
        created_at: r.n("created_at")?,
        updated_at: r.n("updated_at")?,
        history,
        downloaded_bytes: r.opt_n("downloaded_bytes")?,
    })
}

/// The item of a new record.
pub(super) fn item_of(record: &PostRecord) -> Result<Item, StoreError> {
    let id = &record.id;
    let history = record
        .history
        .iter()
        .map(|entry| history_entry(id, entry))
        .collect::<Result<Vec<_>, _>>()?;
    let mut item = Item::from([
        (KEY.to_owned(), s(id.as_str())),
        ("open_id".to_owned(), s(record.open_id.as_str())),
        ("state".to_owned(), s(record.state.as_str())),
        (
            "bucket".to_owned(),
            s(record.source.location.bucket.as_str()),
        ),
        ("key".to_owned(), s(record.source.location.key.as_str())),
        ("created_at".to_owned(), n(record.created_at)),
        ("updated_at".to_owned(), n(record.updated_at)),
        ("history".to_owned(), AttributeValue::L(history)),
    ]);
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    if let Some(v) = &record.source.location.version_id {
        put("version_id", s(v.as_str()));
    }
    if let Some(v) = record.source.size {
        put("size", n(v));
    }
    if let Some(v) = &record.source.content_type {
        put("content_type", s(v.as_str()));
    }
    if let Some(v) = &record.source.etag {
        put("etag", s(v.as_str()));
    }
    if let Some(options) = &record.options {
        put("options", s(options_json(id, options)?));
    }
    if let Some(photos) = &record.photos {
        let json = serde_json::to_string(photos)
            .map_err(|e| corrupt(id, format!("photos do not serialize: {e}")))?;
        put("photos", s(json));
    }
    if let Some(v) = &record.publish_id {
        put("publish_id", s(v.as_str()));
    }
    if let Some(v) = record.downloaded_bytes {
        put("downloaded_bytes", n(v));
    }
    if let Some(outcome) = &record.outcome {
        put("public_post_ids", string_list(&outcome.public_post_ids));
    }
    if let Some(failure) = &record.failure {
        for (name, value) in failure_attributes(id, failure)? {
            put(name, value);
        }
    }
    if let Some(event) = &record.webhook {
        for (name, value) in webhook_attributes(event) {
            put(name, value);
        }
    }
    if let Some(upload) = &record.upload {
        put("upload_issued_at", n(upload.issued_at));
        put("video_size", n(upload.plan.video_size));
        put("chunk_size", n(upload.plan.chunk_size));
        put("chunk_count", n(upload.plan.total_chunk_count));
        put("chunks_done", n(upload.chunks_done));
        put("bytes_done", n(upload.bytes_done));
        // Already in its stored form (sealed by the store when init was recorded).
        if let Some(stored) = &upload.upload_url {
            put("upload_url", s(stored.as_stored()));
        }
    }
    Ok(item)
}

pub(super) fn options_json(id: &PostId, options: &PostOptions) -> Result<String, StoreError> {
    serde_json::to_string(options)
        .map_err(|e| corrupt(id, format!("options cannot be written: {e}")))
}

/// The attributes of a recorded webhook event; absent optional parts are left out.
pub(super) fn webhook_attributes(event: &WebhookFinal) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = vec![
        ("webhook_kind", s(event.kind.as_str())),
        ("webhook_publish_id", s(event.publish_id.as_str())),
        ("webhook_at", n(event.event_time)),
    ];
    if let Some(reason) = &event.reason {
        attributes.push(("webhook_reason", s(reason.as_str())));
    }
    if let Some(post_id) = &event.public_post_id {
        attributes.push(("webhook_post_id", s(post_id.as_str())));
    }
    attributes
}

/// A history entry as a map: `state`, `at`, and the `note` with its typed `fact`.
pub(super) fn history_entry(
    id: &PostId,
    entry: &HistoryEntry,
) -> Result<AttributeValue, StoreError> {
    let mut map = Item::from([
        ("state".to_owned(), s(entry.state.as_str())),
        ("at".to_owned(), n(entry.at)),
    ]);
    if let Some(note) = &entry.note {
        map.insert("note".to_owned(), s(note.as_str()));
    }
    if let Some(fact) = &entry.fact {
        let fact = to_attribute(fact).map_err(|e| corrupt(id, format!("fact {e}")))?;
        map.insert("fact".to_owned(), fact);
    }
    Ok(AttributeValue::M(map))
}

/// The history entry of a move to `state` at `now`, as a one-entry list to append.
pub(super) fn new_history_entry(
    id: &PostId,
    state: PostState,
    now: UnixTime,
    fact: Option<Fact>,
) -> Result<AttributeValue, StoreError> {
    let entry = history_entry(id, &HistoryEntry::new(state, now, fact))?;
    Ok(AttributeValue::L(vec![entry]))
}

fn read_history(
    r: &Reader<'_>,
    failure: Option<&PostFailure>,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let Some(value) = r.item.get("history") else {
        return Ok(Vec::new());
    };
    let AttributeValue::L(entries) = value else {
        return Err(r.corrupt("history is not a list"));
    };
    entries
        .iter()
        .map(|entry| {
            let AttributeValue::M(map) = entry else {
                return Err(r.corrupt("a history entry is not a map"));
            };
            let e = Reader {
                item: map,
                entity: r.entity,
                id: r.id.clone(),
            };
            let state_name = e.s("state")?;
            let state = PostState::parse(&state_name)
                .ok_or_else(|| e.corrupt(format!("history holds unknown state {state_name:?}")))?;
            let note = e.opt_s("note")?;
            let typed = map.get("fact").and_then(|fact| {
                from_attribute::<Fact>(fact)
                    .inspect_err(|err| {
                        // A fact a later version added: its note still says what happened.
                        tracing::warn!(post_id = %r.id, error = %err, "unknown history fact; read from its note");
                    })
                    .ok()
            });
            // Written before facts were stored: understood from its note.
            let fact = typed.or_else(|| {
                note.as_deref()
                    .map(|note| legacy::fact_from_note(state, note, failure))
            });
            Ok(HistoryEntry {
                state,
                at: e.n("at")?,
                fact,
                note,
            })
        })
        .collect()
}

fn read_failure(r: &Reader<'_>) -> Result<Option<PostFailure>, StoreError> {
    let Some(kind_name) = r.opt_s("failure_kind")? else {
        return Ok(None);
    };
    let kind = ErrorKind::from_name(&kind_name)
        .ok_or_else(|| r.corrupt(format!("unknown failure_kind {kind_name:?}")))?;
    let reason = r.opt_s("failure_reason")?.unwrap_or_default();
    let typed = r.item.get("failure_cause").and_then(|cause| {
        from_attribute::<Cause>(cause)
            .inspect_err(|err| {
                // A cause a later version added: its kind and reason still say what it was.
                tracing::warn!(post_id = %r.id, error = %err, "unknown failure cause; read from its reason");
            })
            .ok()
    });
    // Written before causes were stored: understood from its kind and reason.
    let cause = typed.unwrap_or_else(|| legacy::cause_from_reason(kind, &reason));
    Ok(Some(PostFailure {
        kind,
        cause,
        reason,
        advice: r.opt_s("failure_advice")?,
    }))
}

/// The failure's attributes; an absent advice is left out.
fn failure_attributes(
    id: &PostId,
    failure: &PostFailure,
) -> Result<Vec<(&'static str, AttributeValue)>, StoreError> {
    let cause = to_attribute(&failure.cause).map_err(|e| corrupt(id, format!("cause {e}")))?;
    let mut attributes = vec![
        ("failure_kind", s(failure.kind.name())),
        ("failure_cause", cause),
        ("failure_reason", s(failure.reason.as_str())),
    ];
    if let Some(advice) = &failure.advice {
        attributes.push(("failure_advice", s(advice.as_str())));
    }
    Ok(attributes)
}

/// Sets the failure's attributes in `expr` (removing an advice it has not).
pub(super) fn set_failure(
    expr: &mut Expr,
    id: &PostId,
    failure: &PostFailure,
) -> Result<(), StoreError> {
    let attributes = failure_attributes(id, failure)?;
    for name in FAILURE_ATTRIBUTES {
        match attributes.iter().find(|(set, _)| *set == name) {
            Some((_, value)) => expr.set(name, value.clone()),
            None => expr.remove(name),
        };
    }
    Ok(())
}
