//! `GET /v2/user/info/` (TikTok's Get User Info): who the token's owner is. Apart from the
//! rest of the client because it is a Display API read, not a posting call: the query asks
//! for the fields, the answer is the usual envelope with the user under `data.user`.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tiktok_publish_core::store::account::AccountProfile;
use tiktok_publish_core::tiktok::{Endpoint, TikTokError, TikTokUserInfo, UserInfo, UserInfoField};

use super::TikTokClient;
use super::answers::{read_envelope, transport};

/// `data` of the answer.
#[derive(Deserialize)]
struct UserInfoData {
    user: UserObject,
}

/// TikTok's User Object, the fields asked for (each may be missing).
#[derive(Deserialize)]
struct UserObject {
    #[serde(default)]
    open_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

/// An empty string says no more than a missing field.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl From<UserObject> for UserInfo {
    fn from(user: UserObject) -> Self {
        UserInfo {
            open_id: user.open_id,
            profile: AccountProfile {
                nickname: non_empty(user.display_name),
                username: non_empty(user.username),
                avatar_url: non_empty(user.avatar_url),
            },
        }
    }
}

/// The `fields` query value: the names, comma-separated, each once.
fn fields_param(fields: &[UserInfoField]) -> String {
    let mut names: Vec<&str> = Vec::with_capacity(fields.len());
    for field in fields {
        if !names.contains(&field.as_str()) {
            names.push(field.as_str());
        }
    }
    names.join(",")
}

#[async_trait]
impl TikTokUserInfo for TikTokClient {
    async fn user_info(
        &self,
        access_token: &SecretString,
        fields: &[UserInfoField],
    ) -> Result<UserInfo, TikTokError> {
        let endpoint = Endpoint::UserInfo;
        let response = self
            .http
            .get(self.api_url("/v2/user/info/"))
            .query(&[("fields", fields_param(fields))])
            .timeout(self.config.request_timeout)
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let data: UserInfoData = read_envelope(endpoint, response).await?;
        Ok(data.user.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_once_in_order() {
        let fields = [
            UserInfoField::OpenId,
            UserInfoField::DisplayName,
            UserInfoField::OpenId,
            UserInfoField::Username,
        ];
        assert_eq!(fields_param(&fields), "open_id,display_name,username");
    }

    #[test]
    fn the_user_object_becomes_a_profile_without_empty_fields() {
        let data: UserInfoData = serde_json::from_str(
            r#"{"user":{"open_id":"o-1","display_name":"Ann","avatar_url":"","union_id":"u"}}"#,
        )
        .unwrap();
        let info = UserInfo::from(data.user);
        assert_eq!(info.open_id, "o-1");
        assert_eq!(info.profile.nickname.as_deref(), Some("Ann"));
        assert_eq!(info.profile.username, None);
        assert_eq!(info.profile.avatar_url, None);
    }
}
