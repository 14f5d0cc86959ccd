//! The console sessions table: [`SessionStore`] on DynamoDB. The key is the hash of the
//! session id (the cookie's value is never stored); the three secrets are sealed with the
//! codec, each bound to its row and attribute.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use secrecy::SecretString;

use super::{
    CONSOLE_SESSIONS_KEY, CONSOLE_SESSIONS_TTL_ATTRIBUTE, Expr, Item, Reader, is_condition_failed,
    n, put_new, s, sdk_error,
};
use tiktok_publish_core::console::{SessionRecord, SessionStore};
use tiktok_publish_core::store::codec::{PlainCodec, SealedSecret, SecretCodec};
use tiktok_publish_core::store::{StoreError, UnixTime};

const ENTITY: &str = "console session";

/// [`SessionStore`] on the console sessions table.
#[derive(Clone)]
pub struct DynamoSessionStore {
    client: Client,
    table: String,
    codec: Arc<dyn SecretCodec>,
}

impl fmt::Debug for DynamoSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoSessionStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// The codec context of one secret of one session: a sealed value copied to another row
/// or attribute does not open.
fn context(session_hash: &str, attribute: &str) -> String {
    format!("console-sessions/{session_hash}/{attribute}")
}

impl DynamoSessionStore {
    /// Keeps the secrets as they are; deployed stacks seal them ([`Self::with_codec`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSessionStore {
            client,
            table: table.into(),
            codec: Arc::new(PlainCodec),
        }
    }

    /// Seals the secrets with `codec` instead.
    pub fn with_codec(mut self, codec: Arc<dyn SecretCodec>) -> Self {
        self.codec = codec;
        self
    }

    fn key(session_hash: &str) -> Item {
        Item::from([(CONSOLE_SESSIONS_KEY.to_owned(), s(session_hash))])
    }

    async fn seal(
        &self,
        session_hash: &str,
        attribute: &str,
        secret: &SecretString,
    ) -> Result<aws_sdk_dynamodb::types::AttributeValue, StoreError> {
        let sealed = self
            .codec
            .seal(&context(session_hash, attribute), secret)
            .await?;
        Ok(s(sealed))
    }

    async fn read(&self, item: &Item) -> Result<SessionRecord, StoreError> {
        let r = Reader::new(item, ENTITY, CONSOLE_SESSIONS_KEY);
        let session_hash = r.s(CONSOLE_SESSIONS_KEY)?;
        let open = |attribute: &'static str, stored: String| {
            let context = context(&session_hash, attribute);
            async move { self.codec.open(&context, &stored).await }
        };
        let access_token = open("access_token", r.s("access_token")?).await?;
        let csrf_token = open("csrf_token", r.s("csrf_token")?).await?;
        Ok(SessionRecord {
            refresh_token: SealedSecret::new(
                self.codec.clone(),
                context(&session_hash, "refresh_token"),
                r.s("refresh_token")?,
            ),
            user_sub: r.s("user_sub")?,
            email: r.s("email")?,
            access_token,
            access_expires_at: r.n("access_expires_at")?,
            csrf_token,
            created_at: r.n("created_at")?,
            expires_at: r.n(CONSOLE_SESSIONS_TTL_ATTRIBUTE)?,
            session_hash,
        })
    }
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn put(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let hash = record.session_hash.as_str();
        let refresh_token = record.refresh_token.open().await?;
        let item = Item::from([
            (CONSOLE_SESSIONS_KEY.to_owned(), s(hash)),
            ("user_sub".to_owned(), s(record.user_sub.as_str())),
            ("email".to_owned(), s(record.email.as_str())),
            (
                "access_token".to_owned(),
                self.seal(hash, "access_token", &record.access_token)
                    .await?,
            ),
            ("access_expires_at".to_owned(), n(record.access_expires_at)),
            (
                "refresh_token".to_owned(),
                self.seal(hash, "refresh_token", &refresh_token).await?,
            ),
            (
                "csrf_token".to_owned(),
                self.seal(hash, "csrf_token", &record.csrf_token).await?,
            ),
            ("created_at".to_owned(), n(record.created_at)),
            (
                CONSOLE_SESSIONS_TTL_ATTRIBUTE.to_owned(),
                n(record.expires_at),
            ),
        ]);
        if put_new(&self.client, &self.table, CONSOLE_SESSIONS_KEY, item).await? {
            return Ok(());
        }
        Err(StoreError::Conflict {
            entity: ENTITY,
            id: "(redacted)".into(),
            detail: "a session with this id already exists".into(),
        })
    }

    async fn get(&self, session_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(session_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match out.item() {
            Some(item) => self.read(item).await.map(Some),
            None => Ok(None),
        }
    }

    async fn replace_access(
        &self,
        session_hash: &str,
        access_token: &SecretString,
        access_expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.set(
            "access_token",
            self.seal(session_hash, "access_token", access_token)
                .await?,
        );
        expr.set("access_expires_at", n(access_expires_at));
        let key = expr.name(CONSOLE_SESSIONS_KEY);
        expr.condition(format!("attribute_exists({key})"));
        match expr
            .update_item(&self.client, &self.table, Self::key(session_hash))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::None)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(StoreError::NotFound {
                entity: ENTITY,
                id: "(redacted)".into(),
            }),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn delete(&self, session_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(session_hash)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("DeleteItem", e))
    }
}
