//! The accounts table: [`TokenStore`] (and [`AccountProfiles`]) on DynamoDB.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use secrecy::{ExposeSecret, SecretString};

use super::{Expr, Item, Reader, is_condition_failed, n, s, sdk_error, string_list};
use tiktok_publish_core::store::account::{
    AccountProfile, AccountProfiles, AccountSummary, AccountTokens, LeaseOutcome, RefreshSaved,
};
use tiktok_publish_core::store::codec::{PlainCodec, SealedSecret, SecretCodec};
use tiktok_publish_core::store::{ReconnectWarnings, StoreError, TokenStore, UnixTime};
use tiktok_publish_core::tiktok::TokenGrant;

const ENTITY: &str = "account";
const KEY: &str = "open_id";
/// The day (since the Unix epoch) of the account's last reconnect warning.
const WARNED_DAY: &str = "reconnect_warned_day";
/// When TikTok's user info last answered for the account (N, seconds).
const PROFILE_FETCHED_AT: &str = "profile_fetched_at";

/// Attributes a listing reads: everything but the tokens.
const SUMMARY_ATTRIBUTES: &[&str] = &[
    "open_id",
    "nickname",
    "username",
    "avatar_url",
    "scopes",
    "needs_reconnect",
    "reconnect_reason",
    "access_expires_at",
    "refresh_expires_at",
    "connected_at",
    "updated_at",
];

/// [`TokenStore`] on the accounts table.
#[derive(Clone)]
pub struct DynamoTokenStore {
    client: Client,
    table: String,
    codec: Arc<dyn SecretCodec>,
}

impl fmt::Debug for DynamoTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoTokenStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoTokenStore {
    /// Tokens stored as they are ([`PlainCodec`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoTokenStore {
            client,
            table: table.into(),
            codec: Arc::new(PlainCodec),
        }
    }

    /// Seals tokens with `codec` instead.
    pub fn with_codec(mut self, codec: Arc<dyn SecretCodec>) -> Self {
        self.codec = codec;
        self
    }

    fn key(open_id: &str) -> Item {
        Item::from([(KEY.to_owned(), s(open_id))])
    }

    async fn seal(
        &self,
        open_id: &str,
        which: &str,
        secret: &SecretString,
    ) -> Result<AttributeValue, StoreError> {
        let context = format!("accounts/{open_id}/{which}");
        Ok(s(self.codec.seal(&context, secret).await?))
    }

    async fn open(
        &self,
        reader: &Reader<'_>,
        which: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        match reader.opt_s(which)? {
            None => Ok(None),
            Some(stored) => {
                let context = format!("accounts/{}/{which}", reader.id);
                self.codec.open(&context, &stored).await.map(Some)
            }
        }
    }

    // Not serde_dynamo: tokens are sealed and opened async; every write is an update.
    async fn read_account(&self, item: &Item) -> Result<AccountTokens, StoreError> {
        let r = Reader::new(item, ENTITY, KEY);
        let access_token = self
            .open(&r, "access_token")
            .await?
            .ok_or_else(|| r.corrupt("access_token is missing"))?;
        Ok(AccountTokens {
            open_id: r.s(KEY)?,
            access_token,
            access_expires_at: r.n("access_expires_at")?,
            refresh_token: r.opt_s("refresh_token")?.map(|stored| {
                SealedSecret::new(
                    self.codec.clone(),
                    format!("accounts/{}/refresh_token", r.id),
                    stored,
                )
            }),
            refresh_expires_at: r.opt_n("refresh_expires_at")?.unwrap_or(0),
            scopes: r.string_list("scopes")?,
            nickname: r.opt_s("nickname")?,
            username: r.opt_s("username")?,
            avatar_url: r.opt_s("avatar_url")?,
            profile_fetched_at: r.opt_n(PROFILE_FETCHED_AT)?,
            needs_reconnect: r.bool_or_false("needs_reconnect")?,
            reconnect_reason: r.opt_s("reconnect_reason")?,
            version: r.n("version")?,
            lease_owner: r.opt_s("lease_owner")?,
            lease_until: r.opt_n("lease_until")?,
            connected_at: r.opt_n("connected_at")?.unwrap_or(0),
            updated_at: r.opt_n("updated_at")?.unwrap_or(0),
        })
    }

    /// SET clauses for a grant's tokens. A grant without a refresh token leaves the stored
    /// one alone: an empty value must never replace a working refresh token.
    async fn set_grant(
        &self,
        expr: &mut Expr,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if grant.access_token.expose_secret().is_empty() {
            return Err(StoreError::Refused {
                operation: "save tokens",
                detail: "the grant holds no access token".into(),
                source: None,
            });
        }
        let access = self
            .seal(&grant.open_id, "access_token", &grant.access_token)
            .await?;
        expr.set("access_token", access)
            .set("access_expires_at", n(expires_at(now, grant.expires_in)));
        if !grant.refresh_token.expose_secret().is_empty() {
            let refresh = self
                .seal(&grant.open_id, "refresh_token", &grant.refresh_token)
                .await?;
            expr.set("refresh_token", refresh).set(
                "refresh_expires_at",
                n(expires_at(now, grant.refresh_expires_in)),
            );
        }
        let scopes = grant.scopes();
        if !scopes.is_empty() {
            expr.set("scopes", string_list(&scopes));
        }
        expr.set("updated_at", n(now));
        Ok(())
    }

    fn check_open_id(open_id: &str, grant: &TokenGrant) -> Result<(), StoreError> {
        if open_id.is_empty() || grant.open_id != open_id {
            return Err(StoreError::Refused {
                operation: "save tokens",
                detail: format!(
                    "the grant is for open_id {:?}, not {open_id:?}",
                    grant.open_id
                ),
                source: None,
            });
        }
        Ok(())
    }
}

fn expires_at(now: UnixTime, expires_in: u64) -> UnixTime {
    now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX))
}

/// The day of the last warning is the account item's `reconnect_warned_day` (N).
#[async_trait]
impl ReconnectWarnings for DynamoTokenStore {
    async fn claim_warning(&self, open_id: &str, day: i64) -> Result<bool, StoreError> {
        let mut expr = Expr::new();
        expr.set(WARNED_DAY, n(day));
        let key = expr.name(KEY);
        let warned = expr.name(WARNED_DAY);
        let today = expr.value(n(day));
        expr.condition(format!(
            "attribute_exists({key}) AND (attribute_not_exists({warned}) OR {warned} < {today})"
        ));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn release_warning(&self, open_id: &str, day: i64) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.remove(WARNED_DAY);
        let warned = expr.name(WARNED_DAY);
        let claimed = expr.value(n(day));
        expr.condition(format!("{warned} = {claimed}"));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            // Not ours to give back (claimed again, or the account is gone).
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

/// The profile's attributes are written alone: no `version` bump, no lease condition, so a
/// refresh in flight is never disturbed by it.
#[async_trait]
impl AccountProfiles for DynamoTokenStore {
    async fn save_profile(
        &self,
        open_id: &str,
        profile: &AccountProfile,
        fetched_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::new();
        // What TikTok left out is removed: the stored profile is its latest answer.
        for (attribute, value) in [
            ("nickname", &profile.nickname),
            ("username", &profile.username),
            ("avatar_url", &profile.avatar_url),
        ] {
            match value {
                Some(value) => expr.set(attribute, s(value)),
                None => expr.remove(attribute),
            };
        }
        expr.set(PROFILE_FETCHED_AT, n(fetched_at));
        let key = expr.name(KEY);
        expr.condition(format!("attribute_exists({key})"));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl TokenStore for DynamoTokenStore {
    async fn get(&self, open_id: &str) -> Result<Option<AccountTokens>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(open_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match out.item() {
            None => Ok(None),
            Some(item) => self.read_account(item).await.map(Some),
        }
    }

    async fn save_connection(
        &self,
        grant: &TokenGrant,
        nickname: Option<&str>,
        now: UnixTime,
    ) -> Result<AccountTokens, StoreError> {
        Self::check_open_id(&grant.open_id, grant)?;
        let mut expr = Expr::new();
        self.set_grant(&mut expr, grant, now).await?;
        if let Some(nickname) = nickname {
            expr.set("nickname", s(nickname));
        }
        expr.set("needs_reconnect", AttributeValue::Bool(false))
            .set("connected_at", n(now));
        let version = expr.name("version");
        let zero = expr.value(n(0));
        let one = expr.value(n(1));
        expr.set_raw(format!(
            "{version} = if_not_exists({version}, {zero}) + {one}"
        ));
        // A connection supersedes a refresh in flight: its holder's save will fail and it
        // will read these tokens instead.
        expr.remove("reconnect_reason")
            .remove("lease_owner")
            .remove("lease_until");
        let out = expr
            .update_item(&self.client, &self.table, Self::key(&grant.open_id))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        let item = out.attributes().ok_or_else(|| StoreError::Corrupt {
            entity: ENTITY,
            id: grant.open_id.clone(),
            detail: "UpdateItem returned no attributes".into(),
        })?;
        self.read_account(item).await
    }

    async fn try_take_refresh_lease(
        &self,
        open_id: &str,
        expected_version: u64,
        owner: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut expr = Expr::new();
        expr.set("lease_owner", s(owner))
            .set("lease_until", n(until));
        let version = expr.name("version");
        let expected = expr.value(n(expected_version));
        expr.condition(format!("{version} = {expected}"));
        let flag = expr.name("needs_reconnect");
        let no = expr.value(AttributeValue::Bool(false));
        expr.condition(format!("{flag} = {no}"));
        let lease_until = expr.name("lease_until");
        let now_value = expr.value(n(now));
        expr.condition(format!(
            "attribute_not_exists({lease_until}) OR {lease_until} <= {now_value}"
        ));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(_) => Ok(LeaseOutcome::Taken),
            Err(e) if is_condition_failed(&e) => Ok(LeaseOutcome::Busy),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn save_refreshed(
        &self,
        open_id: &str,
        owner: &str,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<RefreshSaved, StoreError> {
        Self::check_open_id(open_id, grant)?;
        let mut expr = Expr::new();
        self.set_grant(&mut expr, grant, now).await?;
        let version = expr.name("version");
        let one = expr.value(n(1));
        expr.set_raw(format!("{version} = {version} + {one}"));
        expr.remove("lease_owner").remove("lease_until");
        let lease_owner = expr.name("lease_owner");
        let me = expr.value(s(owner));
        expr.condition(format!("{lease_owner} = {me}"));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| StoreError::Corrupt {
                    entity: ENTITY,
                    id: open_id.to_owned(),
                    detail: "UpdateItem returned no attributes".into(),
                })?;
                Ok(RefreshSaved::Saved(Box::new(
                    self.read_account(item).await?,
                )))
            }
            Err(e) if is_condition_failed(&e) => Ok(RefreshSaved::LeaseLost),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn release_lease(&self, open_id: &str, owner: &str) -> Result<(), StoreError> {
        let mut expr = Expr::new();
        expr.remove("lease_owner").remove("lease_until");
        let lease_owner = expr.name("lease_owner");
        let me = expr.value(s(owner));
        expr.condition(format!("{lease_owner} = {me}"));
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Not ours any more: whoever holds it now keeps it.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn mark_needs_reconnect(
        &self,
        open_id: &str,
        reason: &str,
        expected_version: Option<u64>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::new();
        expr.set("needs_reconnect", AttributeValue::Bool(true))
            .set("reconnect_reason", s(reason))
            .set("updated_at", n(now))
            .remove("lease_owner")
            .remove("lease_until");
        let key = expr.name(KEY);
        expr.condition(format!("attribute_exists({key})"));
        if let Some(expected) = expected_version {
            let version = expr.name("version");
            let expected = expr.value(n(expected));
            expr.condition(format!("{version} = {expected}"));
        }
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn list(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let mut expr = Expr::new();
        let projection = SUMMARY_ATTRIBUTES
            .iter()
            .map(|a| expr.name(a))
            .collect::<Vec<_>>()
            .join(", ");
        let (names, _) = expr.into_maps();
        let mut accounts = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression(&projection)
                .set_expression_attribute_names(names.clone())
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            for item in out.items() {
                accounts.push(read_summary(item)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        accounts.sort_by(|a, b| a.open_id.cmp(&b.open_id));
        Ok(accounts)
    }

    async fn delete(&self, open_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(open_id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }
}

fn read_summary(item: &Item) -> Result<AccountSummary, StoreError> {
    let r = Reader::new(item, ENTITY, KEY);
    let refresh_expires_at: Option<UnixTime> = r.opt_n("refresh_expires_at")?;
    Ok(AccountSummary {
        open_id: r.s(KEY)?,
        nickname: r.opt_s("nickname")?,
        username: r.opt_s("username")?,
        avatar_url: r.opt_s("avatar_url")?,
        scopes: r.string_list("scopes")?,
        needs_reconnect: r.bool_or_false("needs_reconnect")?,
        reconnect_reason: r.opt_s("reconnect_reason")?,
        access_expires_at: r.n("access_expires_at")?,
        // The refresh token and its expiry are always written together.
        has_refresh_token: refresh_expires_at.is_some(),
        refresh_expires_at: refresh_expires_at.unwrap_or(0),
        connected_at: r.opt_n("connected_at")?.unwrap_or(0),
        updated_at: r.opt_n("updated_at")?.unwrap_or(0),
    })
}
