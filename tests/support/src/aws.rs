//! reflex's AWS session (reflex-aws) for the tests: a configuration with resource names
//! unique to the run and short, bounded retries, connected with the test credentials, on
//! moto or on any endpoint a test stands up (a closed port, a throttling server); and the
//! audit table, created as the template declares it.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use reflex_aws::{Aws, AwsConfig, DynamoLedger, Retries};

use crate::moto::{self, ACCOUNT, REGION};
use crate::unique;

/// A configuration pointing at `endpoint` with unique resource names.
pub fn config(endpoint: &str) -> AwsConfig {
    AwsConfig {
        region: REGION.into(),
        cluster_name: unique("voting"),
        audit_table: unique("audit"),
        notify_topic_arn: format!("arn:aws:sns:{REGION}:{ACCOUNT}:{}", unique("notify")),
        endpoint_url: Some(endpoint.to_owned()),
        retries: Retries {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(20),
        },
    }
}

/// A started session with the static test credentials.
pub async fn connect(config: AwsConfig) -> Aws {
    let sdk = config
        .loader()
        .credentials_provider(moto::credentials())
        .load()
        .await;
    Aws::from_sdk_config(config, sdk).await.expect("connect")
}

/// A session against the shared moto server.
pub async fn moto_aws() -> Aws {
    connect(config(&moto::moto().endpoint)).await
}

/// A global index projecting every attribute, as the template's indexes do.
fn index(name: &str, keys: Vec<KeySchemaElement>) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(keys))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("index")
}

/// Creates the configured audit table the way `infra/template.yaml` declares it.
pub async fn create_table(aws: &Aws) -> DynamoLedger {
    let client = Client::new(aws.sdk_config());
    let table = &aws.config().audit_table;
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .attribute_definitions(attr("gsi1pk"))
        .attribute_definitions(attr("gsi1sk"))
        .attribute_definitions(attr("id"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index(
            "by_time",
            vec![key("gsi1pk", KeyType::Hash), key("gsi1sk", KeyType::Range)],
        ))
        .global_secondary_indexes(index("by_id", vec![key("id", KeyType::Hash)]))
        .send()
        .await
        .expect("create table");
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("ttl");
    DynamoLedger::new(aws)
}
