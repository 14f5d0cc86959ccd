//! One-time tokens and the accounts store against moto.

use super::*;

// ---- one-time tokens -------------------------------------------------------------------

#[tokio::test]
async fn a_state_is_consumed_once() {
    let (client, names) = tables().await;
    let store = DynamoOAuthStateStore::new(client.clone(), &names.oauth);
    let token = OneTimeToken::generate();
    let mut record = OneTimeRecord::new(OneTimeKind::OAuthState, NOW, 600);
    record.redirect_uri = Some("https://example.com/oauth/callback".into());
    record.binding = Some("cookie-hash".into());
    store.put(&token, &record).await.unwrap();

    // The table holds only a hash of the token.
    let scan = client.scan().table_name(&names.oauth).send().await.unwrap();
    let dump = format!("{:?}", scan.items());
    assert!(!dump.contains(token.expose()));

    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 1)
            .await
            .unwrap(),
        ConsumeOutcome::Unknown,
        "a state is not a connect link"
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, token.expose(), NOW + 1)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed(record)
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, token.expose(), NOW + 2)
            .await
            .unwrap(),
        ConsumeOutcome::AlreadyUsed
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, "forged", NOW + 2)
            .await
            .unwrap(),
        ConsumeOutcome::Unknown
    );
}

#[tokio::test]
async fn an_expired_state_is_refused_even_while_its_item_remains() {
    let (client, names) = tables().await;
    let store = DynamoOAuthStateStore::new(client, &names.oauth);
    let token = OneTimeToken::generate();
    store
        .put(
            &token,
            &OneTimeRecord::new(OneTimeKind::ConnectLink, NOW, 600),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 600)
            .await
            .unwrap(),
        ConsumeOutcome::Expired
    );
    // Refused, not used up: still expired a moment later, never consumed.
    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 601)
            .await
            .unwrap(),
        ConsumeOutcome::Expired
    );
}

#[tokio::test]
async fn concurrent_uses_of_one_state_let_exactly_one_through() {
    let (client, names) = tables().await;
    let store = Arc::new(DynamoOAuthStateStore::new(client, &names.oauth));
    let token = OneTimeToken::generate();
    store
        .put(
            &token,
            &OneTimeRecord::new(OneTimeKind::OAuthState, NOW, 600),
        )
        .await
        .unwrap();
    let uses = (0..10).map(|_| {
        let store = store.clone();
        let value = token.expose().to_owned();
        tokio::spawn(async move {
            store
                .consume(OneTimeKind::OAuthState, &value, NOW + 1)
                .await
                .unwrap()
        })
    });
    let outcomes = futures::future::join_all(uses).await;
    let consumed = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), ConsumeOutcome::Consumed(_)))
        .count();
    assert_eq!(consumed, 1);
}

// ---- accounts --------------------------------------------------------------------------

#[tokio::test]
async fn a_reconnect_never_wipes_a_good_refresh_token() {
    let (client, names) = tables().await;
    let store = DynamoTokenStore::new(client, &names.accounts);
    let first = store
        .save_connection(&grant("open-1", "act.1", "rft.1"), Some("Creator"), NOW)
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.access_expires_at, NOW + 86_400);
    assert_eq!(first.nickname.as_deref(), Some("Creator"));
    assert_eq!(first.scopes.len(), 3);

    assert!(
        store
            .mark_needs_reconnect("open-1", "refresh refused", Some(1), NOW + 1)
            .await
            .unwrap()
    );
    let flagged = store.get("open-1").await.unwrap().unwrap();
    assert!(flagged.needs_reconnect);
    assert_eq!(flagged.reconnect_reason.as_deref(), Some("refresh refused"));

    // A grant without a refresh token keeps the stored one and clears the flag.
    let second = store
        .save_connection(&grant("open-1", "act.2", ""), None, NOW + 2)
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert!(!second.needs_reconnect);
    assert!(second.reconnect_reason.is_none());
    assert_eq!(second.access_token.expose_secret(), "act.2");
    assert_eq!(
        second
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.1"
    );
    assert_eq!(second.refresh_expires_at, NOW + 31_536_000);
    assert_eq!(second.nickname.as_deref(), Some("Creator"));
    assert!(!format!("{second:?}").contains("act.2"));

    // A brand-new account without one has none (and must reconnect to refresh).
    let bare = store
        .save_connection(&grant("open-2", "act.x", ""), None, NOW)
        .await
        .unwrap();
    assert!(bare.refresh_token.is_none());

    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].open_id, "open-1");
    assert!(!list[0].must_reconnect(NOW + 3));
    assert!(list[1].must_reconnect(NOW + 3));

    assert!(store.delete("open-2").await.unwrap());
    assert!(!store.delete("open-2").await.unwrap());
    assert!(store.get("open-2").await.unwrap().is_none());
}

#[tokio::test]
async fn a_profile_is_saved_apart_from_the_tokens() {
    use tiktok_publish_core::store::account::{AccountProfile, AccountProfiles};

    let (client, names) = tables().await;
    let store = DynamoTokenStore::new(client, &names.accounts);
    store
        .save_connection(&grant("open-1", "act.1", "rft.1"), None, NOW)
        .await
        .unwrap();
    let full = AccountProfile {
        nickname: Some("Ann Creator".into()),
        username: Some("ann.creator".into()),
        avatar_url: Some("https://p16.example/ann.jpeg".into()),
    };
    assert!(store.save_profile("open-1", &full, NOW + 5).await.unwrap());
    let stored = store.get("open-1").await.unwrap().unwrap();
    assert_eq!(stored.profile(), full);
    assert_eq!(stored.profile_fetched_at, Some(NOW + 5));
    // No token was written: the version a refresh lease is taken on stays.
    assert_eq!(stored.version, 1);
    let listed = &store.list().await.unwrap()[0];
    assert_eq!(listed.username.as_deref(), Some("ann.creator"));
    assert_eq!(listed.avatar_url, full.avatar_url);

    // The stored profile is TikTok's latest answer: a field it left out goes.
    let without_username = AccountProfile {
        username: None,
        ..full.clone()
    };
    assert!(
        store
            .save_profile("open-1", &without_username, NOW + 6)
            .await
            .unwrap()
    );
    assert_eq!(store.get("open-1").await.unwrap().unwrap().username, None);

    // A reconnect keeps the profile; a removed account is not brought back by one.
    let again = store
        .save_connection(&grant("open-1", "act.2", "rft.2"), None, NOW + 7)
        .await
        .unwrap();
    assert_eq!(again.nickname.as_deref(), Some("Ann Creator"));
    assert!(store.delete("open-1").await.unwrap());
    assert!(!store.save_profile("open-1", &full, NOW + 8).await.unwrap());
    assert!(store.get("open-1").await.unwrap().is_none());
}

#[tokio::test]
async fn one_caller_at_a_time_holds_the_refresh_lease() {
    let (client, names) = tables().await;
    let store = Arc::new(DynamoTokenStore::new(client, &names.accounts));
    store
        .save_connection(&grant("open-1", "act.1", "rft.1"), None, NOW)
        .await
        .unwrap();

    let takers = (0..20).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let owner = format!("owner-{i}");
            let outcome = store
                .try_take_refresh_lease("open-1", 1, &owner, NOW + 60, NOW)
                .await
                .unwrap();
            (owner, outcome)
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| *o == LeaseOutcome::Taken)
        .collect();
    assert_eq!(winners.len(), 1);
    let winner = winners[0].0.clone();

    // Someone else cannot save under the winner's lease, nor release it.
    let thief = store
        .save_refreshed(
            "open-1",
            "thief",
            &grant("open-1", "act.t", "rft.t"),
            NOW + 1,
        )
        .await
        .unwrap();
    assert!(matches!(thief, RefreshSaved::LeaseLost));
    store.release_lease("open-1", "thief").await.unwrap();
    let held = store.get("open-1").await.unwrap().unwrap();
    assert_eq!(held.lease_owner.as_deref(), Some(winner.as_str()));

    // Once it expires (and the version still matches) another caller may take it over.
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "late", NOW + 120, NOW + 59)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "late", NOW + 120, NOW + 60)
            .await
            .unwrap(),
        LeaseOutcome::Taken
    );
    // The first holder lost it: its save is refused.
    let lost = store
        .save_refreshed(
            "open-1",
            &winner,
            &grant("open-1", "act.w", "rft.w"),
            NOW + 61,
        )
        .await
        .unwrap();
    assert!(matches!(lost, RefreshSaved::LeaseLost));

    let RefreshSaved::Saved(saved) = store
        .save_refreshed(
            "open-1",
            "late",
            &grant("open-1", "act.2", "rft.2"),
            NOW + 62,
        )
        .await
        .unwrap()
    else {
        panic!("the holder's save must succeed");
    };
    assert_eq!(saved.version, 2);
    assert!(saved.lease_owner.is_none() && saved.lease_until.is_none());
    assert_eq!(
        saved
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.2"
    );

    // A lease taken on an old version is refused: someone saved newer tokens.
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "stale", NOW + 200, NOW + 63)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    // A stale refusal does not flag an account that has newer tokens.
    assert!(
        !store
            .mark_needs_reconnect("open-1", "old token refused", Some(1), NOW + 64)
            .await
            .unwrap()
    );
    assert!(!store.get("open-1").await.unwrap().unwrap().needs_reconnect);
    // A flagged account is never leased for a refresh.
    store
        .mark_needs_reconnect("open-1", "refused", None, NOW + 65)
        .await
        .unwrap();
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 2, "any", NOW + 200, NOW + 66)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    assert_eq!(
        store
            .try_take_refresh_lease("nobody", 1, "any", NOW + 200, NOW + 66)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
}
