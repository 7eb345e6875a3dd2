//! Creating the table: keys, the two indexes, on-demand billing, TTL.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};

use super::client::{Store, StoreError, GSI1, GSI2, GSI3, TTL_ATTRIBUTE};
use super::item_key::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, PK, SK};

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// What the events consumer reads: every item as it was and as it is.
fn stream_specification() -> Result<StreamSpecification, StoreError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl Store {
    /// Creates the table if it does not exist (with its stream of new and old images)
    /// and waits until it is active; on an existing table without a stream, turns the
    /// stream on. Returns whether the table was created. Safe to run again.
    pub async fn create_table_if_missing(&self) -> Result<bool, StoreError> {
        self.create_table(true).await
    }

    /// The same without the stream: for tests that never read it (on DynamoDB Local a
    /// stream slows concurrent writes enough to time them out).
    pub async fn create_table_without_stream_if_missing(&self) -> Result<bool, StoreError> {
        self.create_table(false).await
    }

    async fn create_table(&self, stream: bool) -> Result<bool, StoreError> {
        if self.table_status().await?.is_some() {
            if stream {
                self.enable_stream_if_missing().await?;
            }
            self.add_keys_index_if_missing(GSI2, GSI2PK, GSI2SK).await?;
            self.add_keys_index_if_missing(GSI3, GSI3PK, GSI3SK).await?;
            return Ok(false);
        }
        let index = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key_element(GSI1PK, KeyType::Hash)?)
            .key_schema(key_element(GSI1SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // The members index: keys only, so a profile update that leaves its keys as
        // they were writes nothing to it.
        let members = GlobalSecondaryIndex::builder()
            .index_name(GSI2)
            .key_schema(key_element(GSI2PK, KeyType::Hash)?)
            .key_schema(key_element(GSI2SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // The expiry index: keys only too, so a balance change that keeps the member's
        // due month writes nothing to it.
        let expiry = GlobalSecondaryIndex::builder()
            .index_name(GSI3)
            .key_schema(key_element(GSI3PK, KeyType::Hash)?)
            .key_schema(key_element(GSI3SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attribute(PK)?)
            .attribute_definitions(string_attribute(SK)?)
            .attribute_definitions(string_attribute(GSI1PK)?)
            .attribute_definitions(string_attribute(GSI1SK)?)
            .attribute_definitions(string_attribute(GSI2PK)?)
            .attribute_definitions(string_attribute(GSI2SK)?)
            .attribute_definitions(string_attribute(GSI3PK)?)
            .attribute_definitions(string_attribute(GSI3SK)?)
            .key_schema(key_element(PK, KeyType::Hash)?)
            .key_schema(key_element(SK, KeyType::Range)?)
            .global_secondary_indexes(index)
            .global_secondary_indexes(members)
            .global_secondary_indexes(expiry)
            .set_stream_specification(if stream { Some(stream_specification()?) } else { None })
            .send()
            .await;
        if let Err(err) = created {
            let service = err.into_service_error();
            if service.is_resource_in_use_exception() {
                return Ok(false); // created concurrently
            }
            return Err(StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&service).to_string()));
        }
        for _ in 0..120 {
            if self.table_status().await? == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(true)
    }

    /// The table's stream's ARN, if its stream is on.
    pub async fn stream_arn(&self) -> Result<Option<String>, StoreError> {
        let out = self.client.describe_table().table_name(&self.table).send().await.map_err(StoreError::from_sdk)?;
        let table = out.table();
        let enabled = table.and_then(|t| t.stream_specification()).is_some_and(|s| s.stream_enabled());
        Ok(if enabled { table.and_then(|t| t.latest_stream_arn()).map(str::to_owned) } else { None })
    }

    async fn enable_stream_if_missing(&self) -> Result<(), StoreError> {
        if self.stream_arn().await?.is_some() {
            return Ok(());
        }
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(stream_specification()?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        self.wait_until_active().await
    }

    /// A table made before a keys-only index existed (the members index `GSI2`, the
    /// expiry index `GSI3`) gets it; items are listed in it from their next change on.
    /// One index at a time, as DynamoDB requires.
    async fn add_keys_index_if_missing(&self, name: &str, pk: &str, sk: &str) -> Result<(), StoreError> {
        let out = self.client.describe_table().table_name(&self.table).send().await.map_err(StoreError::from_sdk)?;
        let has = out
            .table()
            .map(|t| t.global_secondary_indexes())
            .is_some_and(|indexes| indexes.iter().any(|i| i.index_name() == Some(name)));
        if has {
            return Ok(());
        }
        let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .key_schema(key_element(pk, KeyType::Hash)?)
            .key_schema(key_element(sk, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .update_table()
            .table_name(&self.table)
            .attribute_definitions(string_attribute(pk)?)
            .attribute_definitions(string_attribute(sk)?)
            .global_secondary_index_updates(
                aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        self.wait_until_active().await
    }

    /// Waits (at most 30 s) for a table change to finish.
    async fn wait_until_active(&self) -> Result<(), StoreError> {
        for _ in 0..120 {
            if self.table_status().await? == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    async fn table_status(&self) -> Result<Option<TableStatus>, StoreError> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(out) => Ok(out.table().and_then(|t| t.table_status().cloned())),
            Err(err) => {
                let service = err.into_service_error();
                if service.is_resource_not_found_exception() {
                    Ok(None)
                } else {
                    Err(StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&service).to_string()))
                }
            }
        }
    }
}
