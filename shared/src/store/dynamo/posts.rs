//! The posts table: [`PostStore`] on DynamoDB.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use secrecy::{ExposeSecret, SecretString};

use super::{
    Expr, Item, POSTS_BY_ACCOUNT_INDEX, Reader, is_condition_failed, n, s, sdk_error, string_list,
};
use crate::media::VideoLocation;
use crate::store::codec::{PlainCodec, SecretCodec};
use crate::store::post::{
    CreateOutcome, HistoryEntry, PlanFields, PostCursor, PostFailure, PostId, PostOptions,
    PostOutcome, PostPage, PostRecord, PostSource, PostState, PostUpdate, StoredUploadUrl,
    UploadSession, WebhookFinal, WebhookFinalKind,
};
use crate::store::{PostStore, StoreError, UnixTime};
use crate::tiktok::{ChunkPlan, UploadUrl};

const ENTITY: &str = "post";
const KEY: &str = "id";

/// [`PostStore`] on the posts table.
#[derive(Clone)]
pub struct DynamoPostStore {
    client: Client,
    table: String,
    codec: Arc<dyn SecretCodec>,
}

impl fmt::Debug for DynamoPostStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoPostStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoPostStore {
    /// Upload URLs stored as they are ([`PlainCodec`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoPostStore {
            client,
            table: table.into(),
            codec: Arc::new(PlainCodec),
        }
    }

    /// Seals upload URLs with `codec` instead.
    pub fn with_codec(mut self, codec: Arc<dyn SecretCodec>) -> Self {
        self.codec = codec;
        self
    }

    fn key(id: &PostId) -> Item {
        Item::from([(KEY.to_owned(), s(id.as_str()))])
    }

    fn url_context(id: &str) -> String {
        format!("posts/{id}/upload_url")
    }

    async fn seal_url(&self, id: &PostId, url: &UploadUrl) -> Result<AttributeValue, StoreError> {
        let secret = SecretString::from(url.expose().to_owned());
        Ok(s(self
            .codec
            .seal(&Self::url_context(id.as_str()), &secret)
            .await?))
    }

    async fn fetch(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match out.item() {
            None => Ok(None),
            Some(item) => self.read_record(item).await.map(Some),
        }
    }

    async fn read_record(&self, item: &Item) -> Result<PostRecord, StoreError> {
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
        let failure = match r.opt_s("failure_kind")? {
            None => None,
            Some(kind) => Some(PostFailure {
                kind,
                reason: r.opt_s("failure_reason")?.unwrap_or_default(),
                advice: r.opt_s("failure_advice")?,
            }),
        };
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
        Ok(PostRecord {
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
            history: read_history(&r)?,
        })
    }

    /// Why a conditional write on `id` failed: gone, or in another state.
    async fn explain(&self, id: &PostId, expected: &[PostState]) -> StoreError {
        match self.fetch(id).await {
            Err(e) => e,
            Ok(None) => StoreError::NotFound {
                entity: ENTITY,
                id: id.to_string(),
            },
            Ok(Some(record)) => StoreError::StateConflict {
                id: id.to_string(),
                expected: expected.to_vec(),
                found: record.state,
            },
        }
    }

    /// Runs a conditional update whose only conditions are "exists" (and whatever `expr`
    /// holds), mapping a failed condition through [`Self::explain`].
    async fn update(
        &self,
        id: &PostId,
        expr: Expr,
        expected: &[PostState],
    ) -> Result<PostRecord, StoreError> {
        match expr
            .update_item(&self.client, &self.table, Self::key(id))
            .send()
            .await
        {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| StoreError::Corrupt {
                    entity: ENTITY,
                    id: id.to_string(),
                    detail: "UpdateItem returned no attributes".into(),
                })?;
                self.read_record(item).await
            }
            Err(e) if is_condition_failed(&e) => Err(self.explain(id, expected).await),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn item_of(&self, record: &PostRecord) -> Result<Item, StoreError> {
        let mut item = Item::from([
            (KEY.to_owned(), s(record.id.as_str())),
            ("open_id".to_owned(), s(record.open_id.as_str())),
            ("state".to_owned(), s(record.state.as_str())),
            (
                "bucket".to_owned(),
                s(record.source.location.bucket.as_str()),
            ),
            ("key".to_owned(), s(record.source.location.key.as_str())),
            ("created_at".to_owned(), n(record.created_at)),
            ("updated_at".to_owned(), n(record.updated_at)),
            (
                "history".to_owned(),
                AttributeValue::L(record.history.iter().map(history_entry).collect()),
            ),
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
            put("options", s(options_json(&record.id, options)?));
        }
        if let Some(v) = &record.publish_id {
            put("publish_id", s(v.as_str()));
        }
        if let Some(outcome) = &record.outcome {
            put("public_post_ids", string_list(&outcome.public_post_ids));
        }
        if let Some(failure) = &record.failure {
            put("failure_kind", s(failure.kind.as_str()));
            put("failure_reason", s(failure.reason.as_str()));
            if let Some(advice) = &failure.advice {
                put("failure_advice", s(advice.as_str()));
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
            // Already in its stored form (sealed by this store when init was recorded).
            if let Some(stored) = &upload.upload_url {
                item.insert("upload_url".to_owned(), s(stored.as_stored()));
            }
        }
        Ok(item)
    }
}

fn options_json(id: &PostId, options: &PostOptions) -> Result<String, StoreError> {
    serde_json::to_string(options).map_err(|e| StoreError::Corrupt {
        entity: ENTITY,
        id: id.to_string(),
        detail: format!("options cannot be written: {e}"),
    })
}

/// The attributes of a recorded webhook event; absent optional parts are left out.
fn webhook_attributes(event: &WebhookFinal) -> Vec<(&'static str, AttributeValue)> {
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

const WEBHOOK_ATTRIBUTES: [&str; 5] = [
    "webhook_kind",
    "webhook_publish_id",
    "webhook_at",
    "webhook_reason",
    "webhook_post_id",
];

fn history_entry(entry: &HistoryEntry) -> AttributeValue {
    let mut map = Item::from([
        ("state".to_owned(), s(entry.state.as_str())),
        ("at".to_owned(), n(entry.at)),
    ]);
    if let Some(note) = &entry.note {
        map.insert("note".to_owned(), s(note.as_str()));
    }
    AttributeValue::M(map)
}

fn read_history(r: &Reader<'_>) -> Result<Vec<HistoryEntry>, StoreError> {
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
            let state = e.s("state")?;
            Ok(HistoryEntry {
                state: PostState::parse(&state)
                    .ok_or_else(|| e.corrupt(format!("history holds unknown state {state:?}")))?,
                at: e.n("at")?,
                note: e.opt_s("note")?,
            })
        })
        .collect()
}

/// `#state IN (...)` over `states`.
fn state_in(expr: &mut Expr, states: &[PostState]) -> String {
    let state = expr.name("state");
    let values: Vec<String> = states.iter().map(|st| expr.value(s(st.as_str()))).collect();
    format!("{state} IN ({})", values.join(", "))
}

fn exists(expr: &mut Expr) -> String {
    let key = expr.name(KEY);
    format!("attribute_exists({key})")
}

fn not_final(expr: &mut Expr) -> String {
    format!("NOT ({})", state_in(expr, &PostState::FINAL))
}

fn non_final_states() -> Vec<PostState> {
    PostState::ALL
        .into_iter()
        .filter(|st| !st.is_final())
        .collect()
}

fn set_failure(expr: &mut Expr, failure: &PostFailure) {
    expr.set("failure_kind", s(failure.kind.as_str()))
        .set("failure_reason", s(failure.reason.as_str()));
    match &failure.advice {
        Some(advice) => expr.set("failure_advice", s(advice.as_str())),
        None => expr.remove("failure_advice"),
    };
}

#[async_trait]
impl PostStore for DynamoPostStore {
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError> {
        let item = self.item_of(record).await?;
        let mut expr = Expr::new();
        let key = expr.name(KEY);
        expr.condition(format!("attribute_not_exists({key})"));
        let condition = expr.condition_expression();
        let (names, _) = expr.into_maps();
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .send()
            .await
        {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) if is_condition_failed(&e) => match self.fetch(&record.id).await? {
                Some(existing) => Ok(CreateOutcome::AlreadyExists(Box::new(existing))),
                // Created and deleted in between: nobody deletes posts, so say so loudly.
                None => Err(StoreError::Conflict {
                    entity: ENTITY,
                    id: record.id.to_string(),
                    detail: "the record existed a moment ago and is gone".into(),
                }),
            },
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    async fn get(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError> {
        self.fetch(id).await
    }

    async fn transition(
        &self,
        id: &PostId,
        from: &[PostState],
        to: PostState,
        update: PostUpdate,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        if from.is_empty() {
            return Err(StoreError::Refused {
                operation: "transition",
                detail: format!("no state to move post {id} from"),
                source: None,
            });
        }
        let mut expr = Expr::new();
        expr.set("state", s(to.as_str())).set("updated_at", n(now));
        let history = expr.name("history");
        let empty = expr.value(AttributeValue::L(Vec::new()));
        let entry = expr.value(AttributeValue::L(vec![history_entry(&HistoryEntry {
            state: to,
            at: now,
            note: update.note.clone(),
        })]));
        expr.set_raw(format!(
            "{history} = list_append(if_not_exists({history}, {empty}), {entry})"
        ));
        if let Some(options) = &update.options {
            expr.set("options", s(options_json(id, options)?));
        }
        if let Some(source) = &update.source {
            if let Some(v) = &source.location.version_id {
                expr.set("version_id", s(v.as_str()));
            }
            if let Some(v) = source.size {
                expr.set("size", n(v));
            }
            if let Some(v) = &source.content_type {
                expr.set("content_type", s(v.as_str()));
            }
            if let Some(v) = &source.etag {
                expr.set("etag", s(v.as_str()));
            }
        }
        if let Some(outcome) = &update.outcome {
            expr.set("public_post_ids", string_list(&outcome.public_post_ids));
        }
        match &update.failure {
            Some(failure) => set_failure(&mut expr, failure),
            None if update.clear_failure => {
                expr.remove("failure_kind")
                    .remove("failure_reason")
                    .remove("failure_advice");
            }
            None => {}
        }
        if to.is_final() {
            // Nothing uploads to a final post: the secret URL need not outlive it.
            expr.remove("upload_url");
        }
        let exists = exists(&mut expr);
        expr.condition(exists);
        let allowed = state_in(&mut expr, from);
        expr.condition(allowed);
        self.update(id, expr, from).await
    }

    async fn open_upload_url(
        &self,
        id: &PostId,
        stored: &StoredUploadUrl,
    ) -> Result<UploadUrl, StoreError> {
        let secret = self
            .codec
            .open(&Self::url_context(id.as_str()), stored.as_stored())
            .await?;
        Ok(UploadUrl::new(secret.expose_secret().to_owned()))
    }

    async fn record_init(
        &self,
        id: &PostId,
        publish_id: &str,
        upload_url: &UploadUrl,
        issued_at: UnixTime,
        plan: &ChunkPlan,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let plan = PlanFields::from(plan);
        let mut expr = Expr::new();
        let sealed = self.seal_url(id, upload_url).await?;
        expr.set("publish_id", s(publish_id))
            .set("upload_url", sealed)
            .set("upload_issued_at", n(issued_at))
            .set("video_size", n(plan.video_size))
            .set("chunk_size", n(plan.chunk_size))
            .set("chunk_count", n(plan.total_chunk_count))
            .set("chunks_done", n(0))
            .set("bytes_done", n(0))
            .set("updated_at", n(now));
        let exists = exists(&mut expr);
        expr.condition(exists);
        let open = not_final(&mut expr);
        expr.condition(open);
        self.update(id, expr, &non_final_states()).await
    }

    async fn record_chunk_done(
        &self,
        id: &PostId,
        publish_id: &str,
        chunks_done: u64,
        bytes_done: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.set("chunks_done", n(chunks_done))
            .set("bytes_done", n(bytes_done))
            .set("updated_at", n(now));
        let pid_name = expr.name("publish_id");
        let pid = expr.value(s(publish_id));
        expr.condition(format!("{pid_name} = {pid}"));
        let done_name = expr.name("chunks_done");
        let count_name = expr.name("chunk_count");
        let done = expr.value(n(chunks_done));
        expr.condition(format!("{done_name} < {done} AND {done} <= {count_name}"));
        let open = not_final(&mut expr);
        expr.condition(open);
        match expr
            .update_item(&self.client, &self.table, Self::key(id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => {
                let Some(record) = self.fetch(id).await? else {
                    return Err(StoreError::NotFound {
                        entity: ENTITY,
                        id: id.to_string(),
                    });
                };
                let same_upload = record.publish_id.as_deref() == Some(publish_id);
                let upload = record.upload.as_ref();
                // A retried step repeating the record it already wrote is no conflict.
                if same_upload
                    && upload
                        .is_some_and(|u| u.chunks_done == chunks_done && u.bytes_done == bytes_done)
                {
                    return Ok(());
                }
                if record.state.is_final() {
                    return Err(StoreError::StateConflict {
                        id: id.to_string(),
                        expected: non_final_states(),
                        found: record.state,
                    });
                }
                Err(StoreError::Conflict {
                    entity: ENTITY,
                    id: id.to_string(),
                    detail: format!(
                        "chunk progress {chunks_done} refused: the upload is {} at {} of {} chunks",
                        if same_upload {
                            "the same"
                        } else {
                            "another one"
                        },
                        upload.map_or(0, |u| u.chunks_done),
                        upload.map_or(0, |u| u.plan.total_chunk_count),
                    ),
                })
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn record_outcome(
        &self,
        id: &PostId,
        outcome: &PostOutcome,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.set("public_post_ids", string_list(&outcome.public_post_ids))
            .set("updated_at", n(now));
        let exists = exists(&mut expr);
        expr.condition(exists);
        self.update(id, expr, &PostState::ALL).await.map(|_| ())
    }

    async fn record_failure(
        &self,
        id: &PostId,
        failure: &PostFailure,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        set_failure(&mut expr, failure);
        expr.set("updated_at", n(now));
        let exists = exists(&mut expr);
        expr.condition(exists);
        self.update(id, expr, &PostState::ALL).await.map(|_| ())
    }

    async fn record_webhook_event(
        &self,
        id: &PostId,
        seen_state: PostState,
        seen_event: Option<&WebhookFinal>,
        event: &WebhookFinal,
        note: &str,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut expr = Expr::new();
        let new_attributes = webhook_attributes(event);
        for (name, value) in &new_attributes {
            expr.set(name, value.clone());
        }
        for name in WEBHOOK_ATTRIBUTES {
            if !new_attributes.iter().any(|(set, _)| *set == name) {
                expr.remove(name);
            }
        }
        expr.set("updated_at", n(now));
        let history = expr.name("history");
        let empty = expr.value(AttributeValue::L(Vec::new()));
        let entry = expr.value(AttributeValue::L(vec![history_entry(&HistoryEntry {
            state: seen_state,
            at: now,
            note: Some(note.to_owned()),
        })]));
        expr.set_raw(format!(
            "{history} = list_append(if_not_exists({history}, {empty}), {entry})"
        ));
        let exists = exists(&mut expr);
        expr.condition(exists);
        let in_state = state_in(&mut expr, &[seen_state]);
        expr.condition(in_state);
        let pid_name = expr.name("publish_id");
        let pid = expr.value(s(event.publish_id.as_str()));
        expr.condition(format!("{pid_name} = {pid}"));
        // The recorded event must still be the one read: every attribute equal, or absent.
        let seen_attributes = seen_event.map(webhook_attributes).unwrap_or_default();
        for name in WEBHOOK_ATTRIBUTES {
            let placeholder = expr.name(name);
            match seen_attributes.iter().find(|(seen, _)| *seen == name) {
                Some((_, value)) => {
                    let value = expr.value(value.clone());
                    expr.condition(format!("{placeholder} = {value}"));
                }
                None => {
                    expr.condition(format!("attribute_not_exists({placeholder})"));
                }
            }
        }
        match expr
            .update_item(&self.client, &self.table, Self::key(id))
            .send()
            .await
        {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| StoreError::Corrupt {
                    entity: ENTITY,
                    id: id.to_string(),
                    detail: "UpdateItem returned no attributes".into(),
                })?;
                self.read_record(item).await
            }
            Err(e) if is_condition_failed(&e) => match self.fetch(id).await? {
                None => Err(StoreError::NotFound {
                    entity: ENTITY,
                    id: id.to_string(),
                }),
                Some(_) => Err(StoreError::Conflict {
                    entity: ENTITY,
                    id: id.to_string(),
                    detail: "the post changed since it was read; read it again".into(),
                }),
            },
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn list_by_account(
        &self,
        open_id: &str,
        limit: u32,
        after: Option<&PostCursor>,
    ) -> Result<PostPage, StoreError> {
        let mut expr = Expr::new();
        let owner = expr.name("open_id");
        let value = expr.value(s(open_id));
        let key_condition = format!("{owner} = {value}");
        let (names, values) = expr.into_maps();
        let start = after.map(|cursor| {
            Item::from([
                (KEY.to_owned(), s(cursor.id.as_str())),
                ("open_id".to_owned(), s(open_id)),
                ("created_at".to_owned(), n(cursor.created_at)),
            ])
        });
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(POSTS_BY_ACCOUNT_INDEX)
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let mut posts = Vec::with_capacity(out.items().len());
        for item in out.items() {
            posts.push(self.read_record(item).await?);
        }
        let next = match out.last_evaluated_key() {
            Some(key) if !key.is_empty() => {
                let r = Reader::new(key, ENTITY, KEY);
                Some(PostCursor {
                    created_at: r.n("created_at")?,
                    id: PostId::parse(&r.s(KEY)?).map_err(|e| r.corrupt(e.to_string()))?,
                })
            }
            _ => None,
        };
        Ok(PostPage { posts, next })
    }
}
