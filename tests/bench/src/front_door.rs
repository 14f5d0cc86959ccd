//! A stack with a front door, for posts TikTok pulls (`PULL_FROM_URL`): the project's media
//! origin (`test_support::MediaOrigin`: https, a test certificate authority, the template's
//! CloudFront Function in front of a versioned bucket in moto), a fake TikTok that trusts
//! that authority, reaches the origin's host name on loopback and has verified its media
//! prefix, and the settings the task Lambdas read to sign media URLs.

use std::net::{IpAddr, Ipv4Addr};

use fake_tiktok::FakeSettings;
use test_support::{MEDIA_HOST, MediaOrigin, unique_name};
use tiktok_publish_testkit::{StackSettings, TestStack};

use crate::chain::create_client_secret;
use crate::servers::CountingProxy;

/// The key media URLs are signed with; only this bench's origin and Lambdas know it.
const SIGNING_KEY: &str = "bench-media-signing-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";

/// A stack whose fake TikTok pulls through `origin`. Dropping it stops the origin.
pub struct FrontDoorStack {
    pub stack: TestStack,
    pub origin: MediaOrigin,
    /// The media signing key's secret in Secrets Manager (moto), as deployed.
    pub signing_key_arn: String,
}

impl FrontDoorStack {
    /// Starts the origin and the stack; the signing key's secret is created through `proxy`
    /// (not counted).
    pub async fn start(name: &str, proxy: &CountingProxy) -> anyhow::Result<FrontDoorStack> {
        let bucket = unique_name(name);
        let origin = MediaOrigin::start(&bucket, SIGNING_KEY, None)?;
        let fake = FakeSettings {
            trusted_ca_pems: vec![origin.ca_pem()?],
            resolve: vec![(MEDIA_HOST.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))],
            ..FakeSettings::default()
        };
        let settings = StackSettings {
            fake,
            // The media URL names the version it signs.
            versioned: true,
            bucket: Some(bucket),
        };
        let stack = TestStack::start_with(name, settings).await;
        stack
            .fake
            .verify_url_prefix(&origin.media_url_prefix())
            .map_err(|reason| anyhow::anyhow!("the fake refused the media prefix: {reason}"))?;
        let signing_key_arn =
            create_client_secret(proxy, &unique_name("media-signing-key"), SIGNING_KEY).await?;
        Ok(FrontDoorStack {
            stack,
            origin,
            signing_key_arn,
        })
    }

    /// What the task Lambdas read to pull through the front door: its host (and port), the
    /// signing key's secret, and the pull as the stack's default source.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FRONT_DOOR_HOST", self.origin.host()),
            ("MEDIA_SIGNING_KEY_ARN", self.signing_key_arn.clone()),
            ("VIDEO_SOURCE_DEFAULT", "PULL_FROM_URL".to_owned()),
        ]
    }
}
