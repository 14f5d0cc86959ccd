//! The reconnect warnings (`reconnect::ReconnectCheck`) over the in-memory token store and
//! a bus that fails for one account: one unsent warning costs only its own claim.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::events::{EventError, OutcomeEvent, OutcomeEvents};
use tiktok_publish_core::reconnect::{ReconnectCheck, ReconnectCheckError};
use tiktok_publish_core::store::{AccountTokens, SealedSecret, UnixTime};
use tiktok_publish_memory::{MemoryEvents, MemoryTokenStore};

const NOW: UnixTime = 1_800_000_000;

/// An account whose refresh token lapses in three days.
fn lapsing(open_id: &str) -> AccountTokens {
    AccountTokens {
        open_id: open_id.into(),
        access_token: SecretString::from("act"),
        access_expires_at: NOW + 3600,
        refresh_token: Some(SealedSecret::plain(&SecretString::from("rft"))),
        refresh_expires_at: NOW + 3 * 86_400,
        scopes: vec!["video.publish".into()],
        nickname: None,
        username: None,
        avatar_url: None,
        profile_fetched_at: None,
        needs_reconnect: false,
        reconnect_reason: None,
        version: 1,
        lease_owner: None,
        lease_until: None,
        connected_at: NOW - 362 * 86_400,
        updated_at: NOW,
    }
}

/// Refuses the events of one account while `down` holds.
struct FlakyBus {
    failing: String,
    down: std::sync::atomic::AtomicBool,
    delivered: MemoryEvents,
}

#[async_trait]
impl OutcomeEvents for FlakyBus {
    async fn publish(&self, events: &[OutcomeEvent]) -> Result<(), EventError> {
        let down = self.down.load(std::sync::atomic::Ordering::SeqCst);
        if down && events.iter().any(|e| e.subject() == self.failing) {
            return Err(EventError::Unavailable {
                detail: "throttled".into(),
            });
        }
        self.delivered.publish(events).await
    }
}

#[tokio::test]
async fn one_unsent_warning_costs_only_its_own_claim_and_goes_out_next_run() {
    let store = Arc::new(MemoryTokenStore::default());
    store.insert(lapsing("alice"));
    store.insert(lapsing("bob"));
    let bus = Arc::new(FlakyBus {
        failing: "bob".into(),
        down: true.into(),
        delivered: MemoryEvents::new(),
    });
    let check = ReconnectCheck {
        accounts: store.clone(),
        warnings: store.clone(),
        events: bus.clone(),
        warn_days: 14,
    };

    let err = check.run(NOW).await.unwrap_err();
    assert!(
        matches!(&err, ReconnectCheckError::Unsent { sent: 1, unsent } if unsent.len() == 1 && unsent[0].starts_with("bob")),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::AwsUnavailable);
    let subjects = |bus: &FlakyBus| -> Vec<String> {
        bus.delivered
            .sent()
            .iter()
            .map(|e| e.subject().to_owned())
            .collect()
    };
    assert_eq!(subjects(&bus), ["alice"]);

    // The bus is back: bob is warned, alice not again the same day.
    bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = check.run(NOW + 60).await.unwrap();
    assert_eq!(report.warned, ["bob"]);
    assert_eq!(report.warned_earlier_today, ["alice"]);
    assert_eq!(subjects(&bus), ["alice", "bob"]);

    // The next day both are warned again.
    let report = check.run(NOW + 86_400).await.unwrap();
    assert_eq!(report.warned.len(), 2, "{report:?}");
}
