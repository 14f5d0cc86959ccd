//! The posts table: [`PostStore`] on DynamoDB.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use secrecy::{ExposeSecret, SecretString};

use super::post_item::{
    ENTITY, FAILURE_ATTRIBUTES, KEY, WEBHOOK_ATTRIBUTES, item_of, new_history_entry, options_json,
    record_of, set_failure, webhook_attributes,
};
use super::{
    Expr, Item, POSTS_BY_ACCOUNT_INDEX, Reader, is_condition_failed, n, put_new, s, sdk_error,
    string_list,
};
use tiktok_publish_core::store::codec::{PlainCodec, SecretCodec};
use tiktok_publish_core::store::post::{
    CreateOutcome, PlanFields, PostCursor, PostFailure, PostId, PostOutcome, PostPage, PostRecord,
    PostState, PostUpdate, StoredUploadUrl, WebhookFinal,
};
use tiktok_publish_core::store::{Fact, PostStore, StoreError, Transitioned, UnixTime};
use tiktok_publish_core::tiktok::{ChunkPlan, UploadUrl};

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
            Some(item) => record_of(item).map(Some),
        }
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
                record_of(item)
            }
            Err(e) if is_condition_failed(&e) => Err(self.explain(id, expected).await),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
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

#[async_trait]
impl PostStore for DynamoPostStore {
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError> {
        let item = item_of(record)?;
        if put_new(&self.client, &self.table, KEY, item).await? {
            return Ok(CreateOutcome::Created);
        }
        match self.fetch(&record.id).await? {
            Some(existing) => Ok(CreateOutcome::AlreadyExists(Box::new(existing))),
            // Created and deleted in between: nobody deletes posts, so say so loudly.
            None => Err(StoreError::Conflict {
                entity: ENTITY,
                id: record.id.to_string(),
                detail: "the record existed a moment ago and is gone".into(),
            }),
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
    ) -> Result<Transitioned, StoreError> {
        if from.is_empty() {
            return Err(StoreError::Refused {
                operation: "transition",
                detail: format!("no state to move post {id} from"),
                source: None,
            });
        }
        // A success never moves back: a state the post may not leave for `to` is left out of
        // the condition, so a post in it answers a StateConflict like any unexpected state.
        let allowed: Vec<PostState> = from
            .iter()
            .copied()
            .filter(|st| st.may_move_to(to))
            .collect();
        if allowed.is_empty() {
            return Err(self.explain(id, &allowed).await);
        }
        let mut expr = Expr::new();
        expr.set("state", s(to.as_str())).set("updated_at", n(now));
        let history = expr.name("history");
        let empty = expr.value(AttributeValue::L(Vec::new()));
        let entry = expr.value(new_history_entry(id, to, now, update.fact.clone())?);
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
            Some(failure) => set_failure(&mut expr, id, failure)?,
            None if update.clear_failure => {
                for name in FAILURE_ATTRIBUTES {
                    expr.remove(name);
                }
            }
            None => {}
        }
        if to.is_final() {
            // Nothing uploads to a final post: the secret URL need not outlive it.
            expr.remove("upload_url");
        }
        let exists = exists(&mut expr);
        expr.condition(exists);
        let in_allowed = state_in(&mut expr, &allowed);
        expr.condition(in_allowed);
        Ok(Transitioned::new(
            from,
            self.update(id, expr, &allowed).await?,
        ))
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
            .set("updated_at", n(now))
            .remove("downloaded_bytes");
        let exists = exists(&mut expr);
        expr.condition(exists);
        let open = not_final(&mut expr);
        expr.condition(open);
        self.update(id, expr, &non_final_states()).await
    }

    async fn record_pull(
        &self,
        id: &PostId,
        publish_id: &str,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut expr = Expr::new();
        expr.set("publish_id", s(publish_id))
            .set("updated_at", n(now))
            .remove("upload_url")
            .remove("upload_issued_at")
            .remove("video_size")
            .remove("chunk_size")
            .remove("chunk_count")
            .remove("chunks_done")
            .remove("bytes_done")
            .remove("downloaded_bytes");
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

    async fn record_download(
        &self,
        id: &PostId,
        publish_id: &str,
        downloaded_bytes: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.set("downloaded_bytes", n(downloaded_bytes))
            .set("updated_at", n(now));
        let pid_name = expr.name("publish_id");
        let pid = expr.value(s(publish_id));
        expr.condition(format!("{pid_name} = {pid}"));
        let processing = state_in(&mut expr, &[PostState::Processing]);
        expr.condition(processing);
        match expr
            .update_item(&self.client, &self.table, Self::key(id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(StoreError::Conflict {
                entity: ENTITY,
                id: id.to_string(),
                detail: "download progress refused: the post is no longer processing that pull"
                    .into(),
            }),
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
        set_failure(&mut expr, id, failure)?;
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
        fact: &Fact,
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
        let entry = expr.value(new_history_entry(id, seen_state, now, Some(fact.clone()))?);
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
                record_of(item)
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
            posts.push(record_of(item)?);
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
