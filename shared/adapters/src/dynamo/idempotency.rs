//! [`IdempotencyStore`] on DynamoDB: one item per key in the oauth table (see
//! `tiktok_publish_core::api::idempotency` for the rules a reservation follows).

use std::fmt;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use tiktok_publish_core::api::idempotency::{
    IDEMPOTENCY_TTL_SECS, IdempotencyKey, IdempotencyRecord, IdempotencyStore, RESERVATION_SECS,
    Reservation, StoredAnswer,
};
use tiktok_publish_core::store::{StoreError, UnixTime};

use super::OAUTH_TTL_ATTRIBUTE;
use super::{Expr, Item, Reader, is_condition_failed, n, s, sdk_error};

const KIND: &str = "idempotency";
const ENTITY: &str = "idempotency key";
const KEY: &str = "id";

/// [`IdempotencyStore`] on the oauth table.
#[derive(Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

impl fmt::Debug for DynamoIdempotencyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoIdempotencyStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoIdempotencyStore {
    pub fn new(client: Client, oauth_table: impl Into<String>) -> Self {
        DynamoIdempotencyStore {
            client,
            table: oauth_table.into(),
        }
    }

    // Not serde_dynamo: the answer is two flat attributes read together; `kind` comes first.
    fn item(
        key: &IdempotencyKey,
        body_sha256: &str,
        answer: Option<&StoredAnswer>,
        pending_until: UnixTime,
        expires_at: UnixTime,
    ) -> Item {
        let mut item = Item::from([
            (KEY.to_owned(), s(key.id())),
            ("kind".to_owned(), s(KIND)),
            ("body_sha256".to_owned(), s(body_sha256)),
            ("pending_until".to_owned(), n(pending_until)),
            (OAUTH_TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        if let Some(answer) = answer {
            item.insert("answer_status".to_owned(), n(answer.status));
            item.insert("answer_body".to_owned(), s(answer.body.as_str()));
        }
        item
    }

    async fn read(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(key.id()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let r = Reader::new(item, ENTITY, KEY);
        if r.s("kind")? != KIND {
            return Err(r.corrupt("the item is not an idempotency key"));
        }
        let answer = match (r.opt_n::<u16>("answer_status")?, r.opt_s("answer_body")?) {
            (Some(status), Some(body)) => Some(StoredAnswer { status, body }),
            _ => None,
        };
        Ok(Some(IdempotencyRecord {
            body_sha256: r.s("body_sha256")?,
            answer,
            pending_until: r.n("pending_until")?,
            expires_at: r.n(OAUTH_TTL_ATTRIBUTE)?,
        }))
    }

    /// A put conditional on `condition` (built over `expr`); `false` when it failed.
    async fn put_if(&self, item: Item, expr: Expr) -> Result<bool, StoreError> {
        let condition = expr.condition_expression();
        let (names, values) = expr.into_maps();
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    /// Condition: the reservation is ours (same body, no answer yet).
    fn ours(body_sha256: &str) -> Expr {
        let mut expr = Expr::new();
        let hash = expr.name("body_sha256");
        let value = expr.value(s(body_sha256));
        let status = expr.name("answer_status");
        expr.condition(format!(
            "{hash} = {value} AND attribute_not_exists({status})"
        ));
        expr
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        now: UnixTime,
    ) -> Result<Reservation, StoreError> {
        // Expiry is checked in the condition: TTL deletion runs up to days late.
        for _ in 0..3 {
            let mut expr = Expr::new();
            let id = expr.name(KEY);
            let expires = expr.name(OAUTH_TTL_ATTRIBUTE);
            let status = expr.name("answer_status");
            let pending = expr.name("pending_until");
            let now_value = expr.value(n(now));
            expr.condition(format!(
                "attribute_not_exists({id}) OR {expires} <= {now_value} OR \
                 (attribute_not_exists({status}) AND {pending} <= {now_value})"
            ));
            let item = Self::item(
                key,
                body_sha256,
                None,
                now.saturating_add(RESERVATION_SECS),
                now.saturating_add(IDEMPOTENCY_TTL_SECS),
            );
            if self.put_if(item, expr).await? {
                return Ok(Reservation::Reserved);
            }
            // Read only to say who holds it; the decision was the condition's.
            if let Some(record) = self.read(key).await? {
                return Ok(Reservation::Taken(record));
            }
            // Deleted between our put and read (TTL): try again.
        }
        Err(StoreError::Conflict {
            entity: ENTITY,
            id: key.id().to_owned(),
            detail: "the key kept changing while it was reserved".into(),
        })
    }

    async fn finish(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        answer: &StoredAnswer,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let item = Self::item(
            key,
            body_sha256,
            Some(answer),
            now,
            now.saturating_add(IDEMPOTENCY_TTL_SECS),
        );
        if !self.put_if(item, Self::ours(body_sha256)).await? {
            tracing::warn!(
                key = key.id(),
                "idempotency reservation lost before the answer"
            );
        }
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey, body_sha256: &str) -> Result<(), StoreError> {
        // A reservation that lapsed at once: the key is free again (see `reserve`), and its
        // TTL still removes it.
        let item = Self::item(key, body_sha256, None, 0, IDEMPOTENCY_TTL_SECS);
        self.put_if(item, Self::ours(body_sha256)).await?;
        Ok(())
    }
}
