//! The account's profile (TikTok's user info) as the token service keeps it: read at connect
//! and after a refresh when stale, saved apart from the tokens, never failing either.

use std::sync::Arc;
use std::time::Duration;

use crate::store::account::{AccountProfile, AccountProfiles, AccountTokens};
use crate::store::{StoreError, UnixTime};
use crate::tiktok::{TikTokError, TikTokUserInfo, UserInfoField};

use super::TokenService;

/// How old a stored profile may be before a token refresh reads user info again.
///
/// Connect always reads it. After that, a refresh reads it only when the profile is older
/// than this. Refreshes come about daily (24 h access tokens), but a forced refresh (TikTok
/// refusing a token early) can come before any post, and user info has its own rate limit
/// (600 a minute, TikTok's rate-limit page, which does not say per token or per app). A day
/// bounds it to one call per account per day, adds no call to most posts, and still shows a
/// nickname changed on TikTok within a day.
pub const PROFILE_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Why an account's profile could not be updated (logged, never returned: the tokens are
/// what matter, and the stored profile stays as it was).
#[derive(Debug, thiserror::Error)]
enum ProfileUpdateError {
    #[error("TikTok's user info failed: {0}")]
    TikTok(#[from] TikTokError),
    #[error("TikTok's user info answered for another account ({got})")]
    WrongAccount { got: String },
    #[error("the profile could not be saved: {0}")]
    Store(#[from] StoreError),
    #[error("the account was removed before its profile was saved")]
    AccountGone,
}

/// Where profiles come from (user info) and go (the accounts table).
#[derive(Clone)]
pub(super) struct ProfileSource {
    pub(super) store: Arc<dyn AccountProfiles>,
    pub(super) tiktok: Arc<dyn TikTokUserInfo>,
}

impl TokenService {
    /// After a refresh: [`TokenService::update_profile`] when the stored profile is older
    /// than [`PROFILE_MAX_AGE`] (or was never read), else the account as it is.
    pub(super) async fn update_stale_profile(&self, account: AccountTokens) -> AccountTokens {
        let max_age = i64::try_from(PROFILE_MAX_AGE.as_secs()).unwrap_or(i64::MAX);
        if self.profiles.is_none() || account.profile_is_fresh(max_age, self.clock.now()) {
            return account;
        }
        self.update_profile(account).await
    }

    /// The account with its profile read again from user info and saved; on any failure
    /// (logged), the account as it was. Needs `user.info.basic`; asks `username` only with
    /// `user.info.profile`, since a field without its scope makes TikTok refuse the call.
    pub(super) async fn update_profile(&self, mut account: AccountTokens) -> AccountTokens {
        let Some(source) = &self.profiles else {
            return account;
        };
        let fields = UserInfoField::allowed_by(&account.scopes);
        if !fields.contains(&UserInfoField::DisplayName) {
            tracing::info!(
                open_id = %account.open_id,
                "the account did not grant user.info.basic; its profile is not read"
            );
            return account;
        }
        let now = self.clock.now();
        match Self::fetch_and_save_profile(source, &account, &fields, now).await {
            Ok(profile) => {
                account.set_profile(profile, now);
                tracing::info!(open_id = %account.open_id, "TikTok profile updated");
            }
            Err(error) => {
                tracing::warn!(
                    open_id = %account.open_id,
                    %error,
                    "could not update the TikTok profile; the stored one stays"
                );
            }
        }
        account
    }

    async fn fetch_and_save_profile(
        source: &ProfileSource,
        account: &AccountTokens,
        fields: &[UserInfoField],
        now: UnixTime,
    ) -> Result<AccountProfile, ProfileUpdateError> {
        let info = source
            .tiktok
            .user_info(&account.access_token, fields)
            .await?;
        if !info.open_id.is_empty() && info.open_id != account.open_id {
            return Err(ProfileUpdateError::WrongAccount { got: info.open_id });
        }
        if !source
            .store
            .save_profile(&account.open_id, &info.profile, now)
            .await?
        {
            return Err(ProfileUpdateError::AccountGone);
        }
        Ok(info.profile)
    }
}
