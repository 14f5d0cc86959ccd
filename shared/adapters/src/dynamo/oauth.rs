//! The oauth table: [`OAuthStateStore`] on DynamoDB.

use std::fmt;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::{
    Expr, Item, OAUTH_TTL_ATTRIBUTE, Reader, is_condition_failed, n, put_new, s, sdk_error,
};
use tiktok_publish_core::store::one_time::{
    ConsumeOutcome, OneTimeKind, OneTimeRecord, OneTimeToken, presented_key,
};
use tiktok_publish_core::store::{OAuthStateStore, StoreError, UnixTime};

const ENTITY: &str = "one-time token";
const KEY: &str = "id";

/// [`OAuthStateStore`] on the oauth table.
#[derive(Clone)]
pub struct DynamoOAuthStateStore {
    client: Client,
    table: String,
}

impl fmt::Debug for DynamoOAuthStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoOAuthStateStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoOAuthStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoOAuthStateStore {
            client,
            table: table.into(),
        }
    }

    fn key(id: &str) -> Item {
        Item::from([(KEY.to_owned(), s(id))])
    }

    async fn get(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item().cloned())
    }
}

// Not serde_dynamo: a mirror struct (skip-if-none, both conversions) would be longer.
fn read_record(item: &Item) -> Result<OneTimeRecord, StoreError> {
    let r = Reader::new(item, ENTITY, KEY);
    let kind = r.s("kind")?;
    Ok(OneTimeRecord {
        kind: OneTimeKind::parse(&kind)
            .ok_or_else(|| r.corrupt(format!("unknown kind {kind:?}")))?,
        redirect_uri: r.opt_s("redirect_uri")?,
        return_to: r.opt_s("return_to")?,
        binding: r.opt_s("binding")?,
        note: r.opt_s("note")?,
        created_at: r.n("created_at")?,
        expires_at: r.n(OAUTH_TTL_ATTRIBUTE)?,
    })
}

#[async_trait]
impl OAuthStateStore for DynamoOAuthStateStore {
    async fn put(&self, token: &OneTimeToken, record: &OneTimeRecord) -> Result<(), StoreError> {
        let id = token.storage_key();
        let mut item = Item::from([
            (KEY.to_owned(), s(id.as_str())),
            ("kind".to_owned(), s(record.kind.as_str())),
            ("created_at".to_owned(), n(record.created_at)),
            (OAUTH_TTL_ATTRIBUTE.to_owned(), n(record.expires_at)),
        ]);
        for (name, value) in [
            ("redirect_uri", &record.redirect_uri),
            ("return_to", &record.return_to),
            ("binding", &record.binding),
            ("note", &record.note),
        ] {
            if let Some(value) = value {
                item.insert(name.to_owned(), s(value.as_str()));
            }
        }
        if put_new(&self.client, &self.table, KEY, item).await? {
            return Ok(());
        }
        Err(StoreError::Conflict {
            entity: ENTITY,
            id: "(redacted)".into(),
            detail: "a token with this value already exists".into(),
        })
    }

    async fn consume(
        &self,
        kind: OneTimeKind,
        token: &str,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let Some(id) = presented_key(token) else {
            return Ok(ConsumeOutcome::Unknown);
        };
        // Marking it used (rather than deleting it) lets a second use be told apart from a
        // forged token; TTL deletes the item later either way.
        let mut expr = Expr::new();
        expr.set("used_at", n(now));
        let key = expr.name(KEY);
        expr.condition(format!("attribute_exists({key})"));
        let used = expr.name("used_at");
        expr.condition(format!("attribute_not_exists({used})"));
        let kind_name = expr.name("kind");
        let kind_value = expr.value(s(kind.as_str()));
        expr.condition(format!("{kind_name} = {kind_value}"));
        // TTL deletion runs up to days late: expiry is checked here, not left to it.
        let expires = expr.name(OAUTH_TTL_ATTRIBUTE);
        let now_value = expr.value(n(now));
        expr.condition(format!("{expires} > {now_value}"));
        match expr
            .update_item(&self.client, &self.table, Self::key(&id))
            .send()
            .await
        {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| StoreError::Corrupt {
                    entity: ENTITY,
                    id: "(redacted)".into(),
                    detail: "UpdateItem returned no attributes".into(),
                })?;
                Ok(ConsumeOutcome::Consumed(read_record(item)?))
            }
            Err(e) if is_condition_failed(&e) => {
                // Only to say why: the decision (refused) was taken by the condition.
                let Some(item) = self.get(&id).await? else {
                    return Ok(ConsumeOutcome::Unknown);
                };
                let record = read_record(&item)?;
                let used = Reader::new(&item, ENTITY, KEY)
                    .opt_n::<UnixTime>("used_at")?
                    .is_some();
                Ok(if record.kind != kind {
                    ConsumeOutcome::Unknown
                } else if used {
                    ConsumeOutcome::AlreadyUsed
                } else {
                    ConsumeOutcome::Expired
                })
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}
