//! Creating the four tables as the module documentation (`super`) describes them.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::{
    ALLOWANCES_TTL_ATTRIBUTE, CONSOLE_SESSIONS_KEY, CONSOLE_SESSIONS_TTL_ATTRIBUTE,
    OAUTH_TTL_ATTRIBUTE, POSTS_BY_ACCOUNT_INDEX, TableNames, error_code, sdk_error,
};
use tiktok_publish_core::store::StoreError;

/// Creates the four tables (as the module documentation describes) and waits until they
/// are active. A table that already exists is left as it is.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), StoreError> {
    create_table(client, &names.accounts, "open_id", None, None).await?;
    create_table(
        client,
        &names.posts,
        "id",
        None,
        Some(GsiSpec {
            name: POSTS_BY_ACCOUNT_INDEX,
            hash: "open_id",
            range: "created_at",
        }),
    )
    .await?;
    create_table(client, &names.oauth, "id", None, None).await?;
    create_table(client, &names.allowances, "open_id", Some("call"), None).await?;
    for table in [
        &names.accounts,
        &names.posts,
        &names.oauth,
        &names.allowances,
    ] {
        wait_until_active(client, table).await?;
    }
    enable_ttl(client, &names.oauth, OAUTH_TTL_ATTRIBUTE).await?;
    enable_ttl(client, &names.allowances, ALLOWANCES_TTL_ATTRIBUTE).await
}

/// Creates the console sessions table `table` (as the module documentation describes it),
/// waits until it is active and turns its TTL on. An existing table is left as it is.
///
/// Apart from [`create_tables`]: [`TableNames`] is built field by field where it is read
/// from the environment, and the console's Lambda is the only user of this table.
pub async fn create_console_sessions_table(client: &Client, table: &str) -> Result<(), StoreError> {
    create_table(client, table, CONSOLE_SESSIONS_KEY, None, None).await?;
    wait_until_active(client, table).await?;
    enable_ttl(client, table, CONSOLE_SESSIONS_TTL_ATTRIBUTE).await
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable {
            operation: "DescribeTable",
            detail: format!(
                "table {table} did not become active: {}",
                DisplayErrorContext(&e)
            ),
            source: None,
        })
}

async fn enable_ttl(client: &Client, table: &str, attribute: &str) -> Result<(), StoreError> {
    // Enabling TTL twice is refused, in words only (a ValidationException like any other):
    // ask whether a table created earlier has it already.
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeTimeToLive", e))?;
    let enabled = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(attribute)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if enabled {
        return Ok(());
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .map_err(build_error)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("UpdateTimeToLive", e))
}

struct GsiSpec {
    name: &'static str,
    hash: &'static str,
    range: &'static str,
}

async fn create_table(
    client: &Client,
    table: &str,
    key: &str,
    range: Option<&str>,
    gsi: Option<GsiSpec>,
) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition(key, ScalarAttributeType::S)?)
        .key_schema(key_element(key, KeyType::Hash)?);
    if let Some(range) = range {
        request = request
            .attribute_definitions(attribute_definition(range, ScalarAttributeType::S)?)
            .key_schema(key_element(range, KeyType::Range)?);
    }
    if let Some(gsi) = gsi {
        request = request
            .attribute_definitions(attribute_definition(gsi.hash, ScalarAttributeType::S)?)
            .attribute_definitions(attribute_definition(gsi.range, ScalarAttributeType::N)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(gsi.name)
                    .key_schema(key_element(gsi.hash, KeyType::Hash)?)
                    .key_schema(key_element(gsi.range, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(build_error)?,
            );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(sdk_error("CreateTable", e)),
    }
}

fn attribute_definition(
    name: &str,
    kind: ScalarAttributeType,
) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(build_error)
}

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(build_error)
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Refused {
        operation: "build request",
        detail: e.to_string(),
        source: Some(Box::new(e)),
    }
}
