//! The allowances table: [`AllowanceStore`] on DynamoDB.
//!
//! A spend reads the account's item for that call kind (strongly consistent), decides with
//! [`spend_in_window`], and when granted writes the new list of calls on condition that the
//! item is still the one it read. Racing Lambdas that lose the condition read again, so of
//! N racers at most the limit are granted in one window.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Expr, Item, Reader, is_condition_failed, n, s, sdk_error};
use tiktok_publish_core::store::allowance::{
    AllowanceLimits, Spend, TikTokCall, UnixMillis, WindowOutcome, spend_in_window,
};
use tiktok_publish_core::store::{AllowanceStore, StoreError};

const ENTITY: &str = "allowance";
const KEY: &str = "open_id";
const SORT_KEY: &str = "call";

/// Reads and conditional writes per spend before giving way. Every lost condition means
/// another racer was granted, so a racer loses at most `limit` times per window before it
/// reads a full budget; this bounds the rare case of a budget larger than the attempts.
const MAX_ATTEMPTS: u32 = 10;

/// The wait answered when every attempt lost a race: others are spending this budget right
/// now, so asking again shortly is as good as knowing the exact wait.
const CONTENDED_WAIT: Duration = Duration::from_secs(1);

/// How long past the window of its newest call an idle item stays (DynamoDB deletes
/// expired items lazily anyway; the slack only keeps the item while a late racer may read it).
const TTL_SLACK_SECONDS: i64 = 60;

/// [`AllowanceStore`] on the allowances table.
#[derive(Debug, Clone)]
pub struct DynamoAllowanceStore {
    client: Client,
    table: String,
    limits: AllowanceLimits,
}

/// What a read found: the calls counted and the version to write against (`None`: no item).
struct Counted {
    calls: Vec<UnixMillis>,
    version: Option<u64>,
}

impl DynamoAllowanceStore {
    pub fn new(client: Client, table: impl Into<String>, limits: AllowanceLimits) -> Self {
        DynamoAllowanceStore {
            client,
            table: table.into(),
            limits,
        }
    }

    /// The limits this store grants by.
    pub fn limits(&self) -> &AllowanceLimits {
        &self.limits
    }

    fn key(open_id: &str, call: TikTokCall) -> Item {
        Item::from([
            (KEY.to_owned(), s(open_id)),
            (SORT_KEY.to_owned(), s(call.as_str())),
        ])
    }

    async fn read(&self, open_id: &str, call: TikTokCall) -> Result<Counted, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(open_id, call)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(Counted {
                calls: Vec::new(),
                version: None,
            });
        };
        let mut r = Reader::new(item, ENTITY, KEY);
        r.id = format!("{}/{call}", r.id);
        Ok(Counted {
            calls: number_list(&r, "calls")?,
            version: Some(r.n("version")?),
        })
    }

    /// Writes `calls` if the item is still at `read_version`. Returns whether it was.
    async fn write(
        &self,
        open_id: &str,
        call: TikTokCall,
        calls: &[UnixMillis],
        read_version: Option<u64>,
        now_ms: UnixMillis,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::new();
        // A random version rather than a counter: an item removed by TTL and created again
        // restarts no sequence, so a read taken before the removal can never match it.
        let version: u64 = rand::random();
        expr.set("calls", AttributeValue::L(calls.iter().map(n).collect()))
            .set("version", n(version))
            .set("updated_at", n(now_ms))
            .set("expires_at", n(self.expires_at(calls, now_ms)));
        match read_version {
            None => {
                let key = expr.name(KEY);
                expr.condition(format!("attribute_not_exists({key})"));
            }
            Some(read) => {
                let version = expr.name("version");
                let read = expr.value(n(read));
                expr.condition(format!("{version} = {read}"));
            }
        }
        match expr
            .update_item(&self.client, &self.table, Self::key(open_id, call))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::None)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// TTL in seconds: once the newest call has left the window the item holds nothing.
    fn expires_at(&self, calls: &[UnixMillis], now_ms: UnixMillis) -> i64 {
        let newest = calls.iter().copied().max().unwrap_or(now_ms).max(now_ms);
        let window_ms = i64::try_from(self.limits.window().as_millis()).unwrap_or(i64::MAX);
        let until_ms = newest.saturating_add(window_ms);
        // Rounded up: the item must not go while its newest call still counts.
        until_ms
            .div_euclid(1_000)
            .saturating_add(i64::from(until_ms.rem_euclid(1_000) != 0))
            .saturating_add(TTL_SLACK_SECONDS)
    }
}

// Not serde_dynamo: it reads a number set as a list and panics on types the SDK lacks.
fn number_list(r: &Reader<'_>, name: &str) -> Result<Vec<UnixMillis>, StoreError> {
    match r.item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::N(v) => v
                    .parse()
                    .map_err(|_| r.corrupt(format!("{name} holds an invalid number"))),
                _ => Err(r.corrupt(format!("{name} holds a non-number"))),
            })
            .collect(),
        Some(_) => Err(r.corrupt(format!("{name} is not a list"))),
    }
}

/// A short random pause before re-reading, so racers that collided spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = 5u64 << attempt.min(4);
    Duration::from_millis(rand::random_range(1..=ceiling_ms))
}

#[async_trait]
impl AllowanceStore for DynamoAllowanceStore {
    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn try_spend(
        &self,
        open_id: &str,
        call: TikTokCall,
        now_ms: UnixMillis,
    ) -> Result<Spend, StoreError> {
        let limit = self.limits.limit(call);
        let window = self.limits.window();
        for attempt in 0..MAX_ATTEMPTS {
            let counted = self.read(open_id, call).await?;
            match spend_in_window(&counted.calls, now_ms, limit, window) {
                WindowOutcome::WaitFor(wait) => return Ok(Spend::WaitFor(wait)),
                WindowOutcome::Granted(calls) => {
                    if self
                        .write(open_id, call, &calls, counted.version, now_ms)
                        .await?
                    {
                        return Ok(Spend::Granted);
                    }
                }
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        tracing::warn!(
            attempts = MAX_ATTEMPTS,
            "every attempt to spend lost a race; giving way"
        );
        Ok(Spend::WaitFor(CONTENDED_WAIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> DynamoAllowanceStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        DynamoAllowanceStore::new(Client::from_conf(config), "t", AllowanceLimits::default())
    }

    #[test]
    fn items_expire_a_minute_after_their_newest_call_leaves_the_window() {
        let store = store();
        // Window 62 s: the newest call at 1000.5 s leaves at 1062.5 s, rounded up to 1063.
        assert_eq!(store.expires_at(&[990_000, 1_000_500], 995_000), 1_123);
        assert_eq!(store.expires_at(&[1_000_000], 1_000_000), 1_122);
        assert_eq!(store.expires_at(&[], 1_000_000), 1_122);
    }

    #[test]
    fn backoff_stays_short() {
        for attempt in 0..MAX_ATTEMPTS {
            let pause = backoff(attempt);
            assert!(pause >= Duration::from_millis(1));
            assert!(pause <= Duration::from_millis(80));
        }
    }

    #[test]
    fn malformed_call_lists_are_corrupt_not_panics() {
        let item = Item::from([
            (KEY.to_owned(), s("open")),
            ("calls".to_owned(), AttributeValue::L(vec![s("x")])),
            ("bad".to_owned(), AttributeValue::L(vec![n("1.5")])),
            ("good".to_owned(), AttributeValue::L(vec![n(1), n(2)])),
        ]);
        let r = Reader::new(&item, ENTITY, KEY);
        assert!(matches!(
            number_list(&r, "calls"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(number_list(&r, "bad").is_err());
        assert_eq!(number_list(&r, "good").unwrap(), vec![1, 2]);
        assert!(number_list(&r, "missing").unwrap().is_empty());
    }
}
