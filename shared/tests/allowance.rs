//! The allowances table against moto: a sliding window of TikTok calls per account and
//! kind, held by conditional writes when Lambdas race for the same budget.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{DynamoAllowanceStore, TableNames, create_tables};
use tiktok_publish_core::store::{
    AllowanceLimits, AllowanceStore, Spend, StoreError, TikTokCall, UnixMillis,
};

const NOW_MS: UnixMillis = 1_800_000_000_000;
/// TikTok's minute plus the default 2 s margin.
const WINDOW_MS: UnixMillis = 62_000;

async fn store() -> (Client, String, DynamoAllowanceStore) {
    let client = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("allowance"));
    create_tables(&client, &names).await.unwrap();
    let store = DynamoAllowanceStore::new(
        client.clone(),
        &names.allowances,
        AllowanceLimits::default(),
    );
    (client, names.allowances, store)
}

async fn spend(
    store: &DynamoAllowanceStore,
    open_id: &str,
    call: TikTokCall,
    now_ms: UnixMillis,
) -> Spend {
    store.try_spend(open_id, call, now_ms).await.unwrap()
}

async fn item(
    client: &Client,
    table: &str,
    open_id: &str,
    call: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("open_id", AttributeValue::S(open_id.into()))
        .key("call", AttributeValue::S(call.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn six_inits_are_granted_and_the_seventh_waits_for_the_first_to_leave() {
    let (client, table, store) = store().await;
    for i in 0..6 {
        assert_eq!(
            spend(&store, "open-1", TikTokCall::Init, NOW_MS + i * 1_000).await,
            Spend::Granted,
            "init {i}"
        );
    }
    // Asked 10 s after the first: it leaves the 62 s window 52 s from now.
    assert_eq!(
        spend(&store, "open-1", TikTokCall::Init, NOW_MS + 10_000).await,
        Spend::WaitFor(Duration::from_millis(52_000))
    );

    let stored = item(&client, &table, "open-1", "init").await;
    let Some(AttributeValue::L(calls)) = stored.get("calls") else {
        panic!("no calls list: {stored:?}");
    };
    assert_eq!(calls.len(), 6, "a refused spend must not be counted");
    // TTL in seconds, past the window of the newest call (NOW + 5 s).
    let Some(AttributeValue::N(expires_at)) = stored.get("expires_at") else {
        panic!("no expires_at: {stored:?}");
    };
    let expires_at: i64 = expires_at.parse().unwrap();
    assert!(
        expires_at >= (NOW_MS + 5_000 + WINDOW_MS) / 1_000,
        "{expires_at}"
    );
    assert!(
        expires_at <= (NOW_MS + 5_000 + WINDOW_MS) / 1_000 + 120,
        "{expires_at}"
    );
}

#[tokio::test]
async fn the_window_slides_and_grants_again_as_calls_leave_it() {
    let (_, _, store) = store().await;
    for i in 0..6 {
        assert_eq!(
            spend(&store, "open-1", TikTokCall::Init, NOW_MS + i * 1_000).await,
            Spend::Granted
        );
    }
    // One millisecond before the first call leaves: still full.
    assert_eq!(
        spend(&store, "open-1", TikTokCall::Init, NOW_MS + WINDOW_MS - 1).await,
        Spend::WaitFor(Duration::from_millis(1))
    );
    // The first has left: one more, and the next waits for the second (at NOW + 1 s).
    assert_eq!(
        spend(&store, "open-1", TikTokCall::Init, NOW_MS + WINDOW_MS).await,
        Spend::Granted
    );
    assert_eq!(
        spend(&store, "open-1", TikTokCall::Init, NOW_MS + WINDOW_MS).await,
        Spend::WaitFor(Duration::from_secs(1))
    );
    // Long idle: the whole budget is back.
    let later = NOW_MS + 10 * WINDOW_MS;
    for i in 0..6 {
        assert_eq!(
            spend(&store, "open-1", TikTokCall::Init, later + i).await,
            Spend::Granted
        );
    }
    assert!(matches!(
        spend(&store, "open-1", TikTokCall::Init, later + 6).await,
        Spend::WaitFor(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_racing_lambdas_exactly_six_may_init() {
    let (client, table, store) = store().await;
    let racers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .try_spend("open-race", TikTokCall::Init, NOW_MS + i)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Spend::Granted => granted += 1,
            // Up to 62 s, plus the few ms by which later racers' calls are stamped ahead of
            // an early racer's clock.
            Spend::WaitFor(wait) => assert!(
                wait > Duration::ZERO && wait <= Duration::from_millis(62_020),
                "{wait:?}"
            ),
        }
    }
    assert_eq!(granted, 6);
    let stored = item(&client, &table, "open-race", "init").await;
    let Some(AttributeValue::L(calls)) = stored.get("calls") else {
        panic!("no calls list: {stored:?}");
    };
    assert_eq!(calls.len(), 6);
    // And nothing slipped in afterwards.
    assert!(matches!(
        spend(&store, "open-race", TikTokCall::Init, NOW_MS + 100).await,
        Spend::WaitFor(_)
    ));
}

#[tokio::test]
async fn accounts_and_call_kinds_have_their_own_budgets() {
    let (_, _, store) = store().await;
    for i in 0..6 {
        assert_eq!(
            spend(&store, "open-a", TikTokCall::Init, NOW_MS + i).await,
            Spend::Granted
        );
    }
    assert!(matches!(
        spend(&store, "open-a", TikTokCall::Init, NOW_MS + 6).await,
        Spend::WaitFor(_)
    ));
    assert_eq!(
        spend(&store, "open-b", TikTokCall::Init, NOW_MS + 6).await,
        Spend::Granted
    );
    assert_eq!(
        spend(&store, "open-a", TikTokCall::CreatorInfo, NOW_MS + 6).await,
        Spend::Granted
    );
    for i in 0..30 {
        assert_eq!(
            spend(&store, "open-a", TikTokCall::StatusFetch, NOW_MS + i).await,
            Spend::Granted,
            "status fetch {i}"
        );
    }
    assert_eq!(
        spend(&store, "open-a", TikTokCall::StatusFetch, NOW_MS + 30).await,
        Spend::WaitFor(Duration::from_millis(61_970))
    );
}

#[tokio::test]
async fn limits_come_from_the_settings_given() {
    let (client, table, _) = store().await;
    let store = DynamoAllowanceStore::new(
        client,
        table,
        AllowanceLimits {
            creator_info_per_minute: 2,
            margin: Duration::ZERO,
            ..AllowanceLimits::default()
        },
    );
    for _ in 0..2 {
        assert_eq!(
            spend(&store, "open-1", TikTokCall::CreatorInfo, NOW_MS).await,
            Spend::Granted
        );
    }
    assert_eq!(
        spend(&store, "open-1", TikTokCall::CreatorInfo, NOW_MS).await,
        Spend::WaitFor(Duration::from_secs(60))
    );
}

#[tokio::test]
async fn the_allowances_table_expires_idle_items_by_ttl() {
    let (client, table, _) = store().await;
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let description = ttl.time_to_live_description().unwrap();
    assert_eq!(description.attribute_name(), Some("expires_at"));
}

#[tokio::test]
async fn a_malformed_item_is_corrupt_not_a_grant() {
    let (client, table, store) = store().await;
    client
        .put_item()
        .table_name(&table)
        .item("open_id", AttributeValue::S("open-1".into()))
        .item("call", AttributeValue::S("init".into()))
        .item("calls", AttributeValue::S("not a list".into()))
        .item("version", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let error = store
        .try_spend("open-1", TikTokCall::Init, NOW_MS)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
}
