//! Tokens and upload URLs sealed with KMS (moto's) before they reach DynamoDB.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use secrecy::{ExposeSecret, SecretString};
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{
    DynamoPostStore, DynamoTokenStore, KmsCodec, TableNames, create_tables,
};
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    LeaseOutcome, PostRecord, PostSource, PostState, PostStore, SecretCodec, StoreError, TokenStore,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, TokenGrant, UploadUrl};

const NOW: i64 = 1_800_000_000;

struct Sealed {
    dynamodb: aws_sdk_dynamodb::Client,
    names: TableNames,
    codec: Arc<dyn SecretCodec>,
}

async fn sealed() -> Sealed {
    let sdk = moto().sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let dynamodb = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("sealing"));
    create_tables(&dynamodb, &names).await.unwrap();
    Sealed {
        dynamodb,
        names,
        codec: Arc::new(KmsCodec::new(kms, key_arn)),
    }
}

impl Sealed {
    fn accounts(&self) -> DynamoTokenStore {
        DynamoTokenStore::new(self.dynamodb.clone(), &self.names.accounts)
            .with_codec(self.codec.clone())
    }

    async fn raw_account(
        &self,
        open_id: &str,
    ) -> std::collections::HashMap<String, AttributeValue> {
        self.dynamodb
            .get_item()
            .table_name(&self.names.accounts)
            .key("open_id", AttributeValue::S(open_id.into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }
}

fn grant(open_id: &str, access: &str, refresh: &str) -> TokenGrant {
    TokenGrant {
        open_id: open_id.into(),
        access_token: SecretString::from(access.to_owned()),
        expires_in: 86_400,
        refresh_token: SecretString::from(refresh.to_owned()),
        refresh_expires_in: 31_536_000,
        scope: "user.info.basic,video.publish,video.upload".into(),
        token_type: "Bearer".into(),
    }
}

fn attribute(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name).unwrap().as_s().unwrap().clone()
}

#[tokio::test]
async fn a_reader_of_the_table_learns_nothing_and_the_store_opens_its_tokens() {
    let stack = sealed().await;
    let store = stack.accounts();
    store
        .save_connection(&grant("open-a", "act.secret-a", "rft.secret-a"), None, NOW)
        .await
        .unwrap();

    let item = stack.raw_account("open-a").await;
    let text = format!("{item:?}");
    assert!(!text.contains("secret-a"), "{text}");
    for name in ["access_token", "refresh_token"] {
        assert!(attribute(&item, name).starts_with("kms1:"), "{name}");
    }

    let tokens = store.get("open-a").await.unwrap().unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "act.secret-a");
    assert_eq!(
        tokens
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.secret-a"
    );
}

#[tokio::test]
async fn a_sealed_token_copied_onto_another_account_does_not_open() {
    let stack = sealed().await;
    let store = stack.accounts();
    store
        .save_connection(&grant("open-a", "act.a", "rft.a"), None, NOW)
        .await
        .unwrap();
    store
        .save_connection(&grant("open-b", "act.b", "rft.b"), None, NOW)
        .await
        .unwrap();
    let stolen = attribute(&stack.raw_account("open-a").await, "access_token");
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.names.accounts)
        .key("open_id", AttributeValue::S("open-b".into()))
        .update_expression("SET access_token = :t")
        .expression_attribute_values(":t", AttributeValue::S(stolen))
        .send()
        .await
        .unwrap();

    let err = store.get("open-b").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. }),
        "a copied ciphertext must not open: {err}"
    );
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("sealed for another item"), "{err}");
    // The account it was sealed for still opens it.
    let a = store.get("open-a").await.unwrap().unwrap();
    assert_eq!(a.access_token.expose_secret(), "act.a");
}

#[tokio::test]
async fn tokens_stored_before_sealing_keep_working_and_are_sealed_at_the_next_refresh() {
    let stack = sealed().await;
    let plain = DynamoTokenStore::new(stack.dynamodb.clone(), &stack.names.accounts);
    plain
        .save_connection(&grant("open-old", "act.old", "rft.old"), None, NOW)
        .await
        .unwrap();
    assert_eq!(
        attribute(&stack.raw_account("open-old").await, "refresh_token"),
        "rft.old"
    );

    let store = stack.accounts();
    let tokens = store.get("open-old").await.unwrap().unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "act.old");
    assert_eq!(
        tokens
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.old"
    );

    let LeaseOutcome::Taken = store
        .try_take_refresh_lease("open-old", tokens.version, "me", NOW + 60, NOW)
        .await
        .unwrap()
    else {
        panic!("the lease is free");
    };
    store
        .save_refreshed(
            "open-old",
            "me",
            &grant("open-old", "act.new", "rft.new"),
            NOW + 1,
        )
        .await
        .unwrap();
    let item = stack.raw_account("open-old").await;
    assert!(attribute(&item, "refresh_token").starts_with("kms1:"));
    assert!(!format!("{item:?}").contains("rft.new"));
    let refreshed = store.get("open-old").await.unwrap().unwrap();
    assert_eq!(
        refreshed
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.new"
    );
}

#[tokio::test]
async fn the_upload_url_is_sealed_on_the_post_and_opened_only_on_demand() {
    let stack = sealed().await;
    let posts = DynamoPostStore::new(stack.dynamodb.clone(), &stack.names.posts)
        .with_codec(stack.codec.clone());
    let post = PostRecord::new(
        "open-a",
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: "uploads/open-a/clip.mp4".into(),
            version_id: None,
        }),
        None,
        PostState::Received,
        NOW,
    );
    posts.create(&post).await.unwrap();
    let plan = ChunkPlan::new(10_000_000, &ChunkPolicy::default()).unwrap();
    let url =
        UploadUrl::new("https://upload.example/video/?upload_id=1&upload_token=tok-123".into());
    let record = posts
        .record_init(&post.id, "pub-1", &url, NOW, &plan, NOW)
        .await
        .unwrap();
    let stored = record.upload.unwrap().upload_url.unwrap();
    assert!(stored.as_stored().starts_with("kms1:"));
    assert!(!stored.as_stored().contains("tok-123"));

    let raw = stack
        .dynamodb
        .get_item()
        .table_name(&stack.names.posts)
        .key("id", AttributeValue::S(post.id.to_string()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!format!("{raw:?}").contains("tok-123"));

    let opened = posts.open_upload_url(&post.id, &stored).await.unwrap();
    assert_eq!(opened.expose(), url.expose());
    // Bound to its post: the same ciphertext presented for another post does not open.
    let other = PostRecord::new(
        "open-a",
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: "uploads/open-a/other.mp4".into(),
            version_id: None,
        }),
        None,
        PostState::Received,
        NOW,
    );
    let err = posts.open_upload_url(&other.id, &stored).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}
