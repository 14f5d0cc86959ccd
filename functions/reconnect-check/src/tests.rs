//! The handler against moto and the fake TikTok: who is warned, and why.

use std::sync::Arc;

use fake_tiktok::AccountSeed;
use lambda_runtime::Context;
use tiktok_publish_core::events::{OutcomeEvent, ReconnectWhy};
use tiktok_publish_core::store::{TokenStore, unix_now};
use tiktok_publish_memory::MemoryEvents;
use tiktok_publish_testkit::TestStack;

use super::*;

fn event() -> LambdaEvent<Value> {
    LambdaEvent::new(
        serde_json::json!({"source": "aws.events"}),
        Context::default(),
    )
}

#[tokio::test]
async fn accounts_near_expiry_or_refused_are_warned() {
    let stack = TestStack::start("reconnectfn").await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let events = Arc::new(MemoryEvents::new());
    let check = |warn_days| ReconnectCheck {
        accounts: stack.accounts.clone(),
        warnings: stack.accounts.clone(),
        events: events.clone(),
        warn_days,
    };

    // The fake's refresh tokens last 365 days, as TikTok's do.
    let report = handler(&check(14), event()).await.unwrap();
    assert_eq!((report.accounts_checked, report.warned.len()), (1, 0));
    let report = handler(&check(400), event()).await.unwrap();
    assert_eq!(report.warned, std::slice::from_ref(&open_id));
    let sent = events.sent();
    let [OutcomeEvent::Reconnect(warning)] = sent.as_slice() else {
        panic!("one warning, got {:?}", events.sent());
    };
    assert_eq!(warning.why, ReconnectWhy::RefreshTokenExpiring);
    assert!(warning.days_left.is_some_and(|d| (363..=365).contains(&d)));

    // The same day again: no second warning.
    let report = handler(&check(400), event()).await.unwrap();
    assert!(report.warned.is_empty(), "{report:?}");
    assert_eq!(report.warned_earlier_today, std::slice::from_ref(&open_id));
    assert_eq!(events.sent().len(), 1);

    let refused_id = stack.connect_account(AccountSeed::default()).await;
    stack
        .accounts
        .mark_needs_reconnect(
            &refused_id,
            "refresh refused: invalid_grant",
            None,
            unix_now(),
        )
        .await
        .unwrap();
    let report = handler(&check(14), event()).await.unwrap();
    assert_eq!(report.warned, [refused_id]);
    let Some(OutcomeEvent::Reconnect(refused)) = events.sent().last().cloned() else {
        panic!("a warning");
    };
    assert_eq!(refused.why, ReconnectWhy::RefreshRefused);
    assert!(refused.reason.contains("invalid_grant"));
}
