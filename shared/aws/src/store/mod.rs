//! The durable ledger: audit records, exactly-once claims and per-target leases in one
//! DynamoDB table (`pk`/`sk`, index `by_time` on `gsi1pk`/`gsi1sk`, TTL on `expires_at`).
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` | written with |
//! |---|---|---|---|---|
//! | audit record with an action | `target#<Kind>/<namespace or ->/<name>` | `<time>#<id>` | `records#<yyyy-mm-dd>` / `<time>#<id>` | PutItem, `attribute_not_exists(pk)` |
//! | audit record without action | `alert#<source>/<alert name>` | `<time>#<id>` | same | same |
//! | claim of an alert instance | `instance#<source:fingerprint:start>` | `claim` | none | PutItem, `attribute_not_exists(holder)` |
//! | lease on a target | `lease#<Kind>/<namespace or ->/<name>` | `lease` | none | UpdateItem, `attribute_not_exists(holder) OR expires_at <= :now OR holder = :me` |
//! | budget counter of a window | `budget#<start>/<length>` | `budget` | none | UpdateItem `ADD holders :me`, `attribute_not_exists(holders) OR size(holders) < :max OR contains(holders, :holder)` |
//! | node-replacement slot | `nodeslot#<n>` | `slot` | none | UpdateItem, like a lease |
//! | the pause in force | `control#pause` | `pause` | none | PutItem (`reflex pause`), UpdateItem `REMOVE` (`resume`) |
//! | a pause or resume, as recorded | `control#log` | `<time>#<pause id>#<pause or resume>` | none | PutItem |
//! | an approval link used (single use) | `approval-link#<record id>` | `link` | none | PutItem, `attribute_not_exists(pk) OR state = released` |
//!
//! Records are also found by id through the index `by_id` on `id` (`reflex audit show`).
//!
//! See `shared/aws/README.md` for the reasoning. The decision to know: the function role may
//! not delete items (the table is an audit trail), so giving a claim or a lease back
//! removes its `holder` attribute with a conditional update instead of deleting the item;
//! an item without a holder is free, and TTL removes it later. The budget counter is the
//! set of record ids that took an action of the window (so taking and giving back are
//! idempotent under SDK retries), its size the count. History (cooldown, budget, nodes in
//! flight) is read from the `by_time` index, one query per UTC day in the window.
//!
//! `ledger.rs` implements the pipeline's [`Ledger`] on these items, `control.rs` the pause,
//! `query.rs` what `reflex audit` and `reflex status` read, `link.rs` the single use of
//! approval links.

mod control;
mod intent;
mod ledger;
pub mod link;
mod query;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use reflex_core::AuditRecord;
use reflex_core::audit::rfc3339;
use reflex_core::ledger::{BudgetWindow, LedgerError, SlotHolder};
use reflex_core::vocab::target::TargetRef;

use crate::config::Aws;
use crate::error::classify;

/// The index that orders records by time.
pub const BY_TIME_INDEX: &str = "by_time";
/// The index that finds a record by its id (`reflex audit show`).
pub const BY_ID_INDEX: &str = "by_id";
/// How long records and claims are kept (TTL) by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// The most days one history read spans (one query each).
const MAX_DAYS: i64 = 400;
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// The order a query reads records in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// All of them, oldest first (history).
    OldestFirst,
    /// Newest first, at most `limit` of them (what an operator lists).
    NewestFirst {
        /// Most records to read; `None` for all.
        limit: Option<usize>,
    },
}

/// [`Ledger`] on a DynamoDB table shaped like the template's `AuditTable`.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
    retention: Duration,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A string attribute of `item`, if it has one.
fn text<'a>(item: &'a HashMap<String, AttributeValue>, key: &str) -> Option<&'a str> {
    item.get(key)?.as_s().ok().map(String::as_str)
}

/// A number attribute of `item`, if it has one that fits.
fn number(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key)?.as_n().ok()?.parse().ok()
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// `<Kind>/<namespace or ->/<name>`: Kubernetes names never contain `/`, and `-` is not a
/// valid namespace, so the key cannot be ambiguous.
pub fn target_key(target: &TargetRef) -> String {
    format!(
        "{}/{}/{}",
        target.kind,
        target.namespace.as_deref().unwrap_or("-"),
        target.name
    )
}

/// The partition a record is stored under (`pk`).
pub fn record_pk(record: &AuditRecord) -> String {
    match &record.action {
        Some(action) => format!("target#{}", target_key(&action.target)),
        None => format!(
            "alert#{}/{}",
            record.source,
            record.alert.name.as_deref().unwrap_or("-")
        ),
    }
}

/// The partition of a budget window's counter.
pub fn budget_pk(window: &BudgetWindow) -> String {
    format!("budget#{}", window.key())
}

/// The partition of node-replacement slot `slot`.
pub fn slot_pk(slot: u32) -> String {
    format!("nodeslot#{slot}")
}

/// The day partition of the time index for an instant.
pub fn day_pk(day: NaiveDate) -> String {
    format!("records#{}", day.format("%Y-%m-%d"))
}

fn parse_time(time: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl DynamoLedger {
    /// The configured audit table.
    pub fn new(aws: &Aws) -> Self {
        DynamoLedger::with_client(
            Client::new(aws.sdk_config()),
            aws.config().audit_table.clone(),
        )
    }

    /// Table `table` through `client`.
    pub fn with_client(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Keeps records and claims for `retention` (TTL) instead of 90 days.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    fn expiry(&self, from: DateTime<Utc>) -> i64 {
        let secs = i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 2);
        from.timestamp().saturating_add(secs)
    }

    /// Every record at or after `since`, oldest first (eventually consistent: the index).
    pub async fn records_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<AuditRecord>, LedgerError> {
        let end = Utc::now().max(since);
        let first = since
            .date_naive()
            .max((end - chrono::Duration::days(MAX_DAYS)).date_naive());
        let from = format!("{}#", rfc3339(since));
        let mut records = Vec::new();
        for day in first.iter_days().take_while(|d| *d <= end.date_naive()) {
            let key = [
                (":p".to_owned(), s(day_pk(day))),
                (":s".to_owned(), s(from.clone())),
            ];
            records.extend(
                self.query(
                    Some(BY_TIME_INDEX),
                    "gsi1pk = :p AND gsi1sk >= :s",
                    HashMap::from(key),
                )
                .await?,
            );
        }
        Ok(records)
    }

    /// Every record about `target` at or after `since`, oldest first (consistent read).
    pub async fn records_for(
        &self,
        target: &TargetRef,
        since: DateTime<Utc>,
    ) -> Result<Vec<AuditRecord>, LedgerError> {
        let key = [
            (":p".to_owned(), s(format!("target#{}", target_key(target)))),
            (":s".to_owned(), s(format!("{}#", rfc3339(since)))),
        ];
        self.query(None, "pk = :p AND sk >= :s", HashMap::from(key))
            .await
    }

    async fn query(
        &self,
        index: Option<&str>,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<Vec<AuditRecord>, LedgerError> {
        let mut records = Vec::new();
        self.query_into(&mut records, index, condition, values, Order::OldestFirst)
            .await?;
        Ok(records)
    }

    /// Runs one key-condition query page by page, appending to `records` until the query
    /// is exhausted or `records` holds as many as `order` allows.
    async fn query_into(
        &self,
        records: &mut Vec<AuditRecord>,
        index: Option<&str>,
        condition: &str,
        values: HashMap<String, AttributeValue>,
        order: Order,
    ) -> Result<(), LedgerError> {
        let (forward, limit) = match order {
            Order::OldestFirst => (true, None),
            Order::NewestFirst { limit } => (false, limit),
        };
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page =
                limit.map(|l| i32::try_from(l.saturating_sub(records.len())).unwrap_or(i32::MAX));
            if page == Some(0) {
                return Ok(());
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .consistent_read(index.is_none())
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .projection_expression("#r")
                .expression_attribute_names("#r", "record")
                .scan_index_forward(forward)
                .set_limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| LedgerError::from(classify("dynamodb:Query", e)))?;
            for item in out.items() {
                match item.get("record").and_then(|v| v.as_s().ok()) {
                    Some(json) => match serde_json::from_str::<AuditRecord>(json) {
                        Ok(record) => records.push(record),
                        Err(e) => tracing::warn!(error = %e, "skipping an unreadable audit item"),
                    },
                    None => tracing::warn!("skipping an audit item without a record"),
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(()),
            }
        }
    }

    /// Who holds the claim on `instance` now (after a lost race).
    async fn claim_holder(&self, pk: &str) -> Result<Option<String>, LedgerError> {
        let item = self.item("dynamodb:GetItem", pk, "claim").await?;
        Ok(item.and_then(|i| text(&i, "holder").map(str::to_owned)))
    }

    /// One item, read consistently (after a lost race, to name the winner).
    async fn item(
        &self,
        what: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| LedgerError::from(classify(what, e)))?;
        Ok(out.item)
    }

    /// How many record ids a budget counter holds.
    fn budget_used(item: Option<&HashMap<String, AttributeValue>>) -> u32 {
        item.and_then(|i| i.get("holders"))
            .and_then(|h| h.as_ss().ok())
            .map_or(0, |h| u32::try_from(h.len()).unwrap_or(u32::MAX))
    }

    /// Who holds node-replacement slot `slot`, if anyone.
    async fn slot_holder(&self, slot: u32) -> Result<Option<SlotHolder>, LedgerError> {
        let item = self
            .item("dynamodb:GetItem (node slot)", &slot_pk(slot), "slot")
            .await?;
        Ok(item.and_then(|i| {
            Some(SlotHolder {
                slot,
                holder: text(&i, "holder")?.to_owned(),
                node: text(&i, "node").unwrap_or_default().to_owned(),
                until: text(&i, "leased_until")
                    .and_then(parse_time)
                    .unwrap_or(DateTime::UNIX_EPOCH),
            })
        }))
    }

    /// A conditional update whose failed condition is an answer, not an error.
    async fn update_if(
        &self,
        what: &str,
        pk: String,
        sk: &str,
        update: &str,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<bool, LedgerError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => {
                let fault = classify(what, e);
                if fault.is(CONDITION_FAILED) {
                    Ok(false)
                } else {
                    Err(fault.into())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use reflex_core::vocab::target::TargetKind;

    use super::*;

    #[test]
    fn target_keys_are_unambiguous() {
        assert_eq!(
            target_key(&TargetRef::namespaced(
                TargetKind::Deployment,
                "production",
                "vote"
            )),
            "Deployment/production/vote"
        );
        assert_eq!(
            target_key(&TargetRef::node("ip-10-0-1-5")),
            "Node/-/ip-10-0-1-5"
        );
    }

    #[test]
    fn day_partition_is_the_utc_date() {
        let t = parse_time("2026-03-01T23:59:59.999Z").expect("time");
        assert_eq!(day_pk(t.date_naive()), "records#2026-03-01");
    }
}
