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
//!
//! See `shared/aws/README.md` for the reasoning. The decision to know: the function role may
//! not delete items (the table is an audit trail), so giving a claim or a lease back
//! removes its `holder` attribute with a conditional update instead of deleting the item;
//! an item without a holder is free, and TTL removes it later. The budget counter is the
//! set of record ids that took an action of the window (so taking and giving back are
//! idempotent under SDK retries), its size the count. History (cooldown, budget, nodes in
//! flight) is read from the `by_time` index, one query per UTC day in the window.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, NaiveDate, Utc};
use reflex_core::AuditRecord;
use reflex_core::audit::rfc3339;
use reflex_core::history::History;
use reflex_core::ledger::{
    BudgetTake, BudgetWindow, Claim, Ledger, LedgerError, SlotHolder, SlotTake,
};
use reflex_core::vocab::target::TargetRef;

use crate::config::Aws;
use crate::error::classify;

/// The index that orders records by time.
pub const BY_TIME_INDEX: &str = "by_time";
/// How long records and claims are kept (TTL) by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// The most days one history read spans (one query each).
const MAX_DAYS: i64 = 400;
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

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
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
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
                _ => return Ok(records),
            }
        }
    }

    /// Who holds the claim on `instance` now (after a lost race).
    async fn claim_holder(&self, pk: &str) -> Result<Option<String>, LedgerError> {
        let item = self.item("dynamodb:GetItem", pk, "claim").await?;
        Ok(item.and_then(|i| i.get("holder").and_then(|h| h.as_s().ok()).cloned()))
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
        let text = |i: &HashMap<String, AttributeValue>, k: &str| {
            i.get(k).and_then(|v| v.as_s().ok()).cloned()
        };
        Ok(item.and_then(|i| {
            Some(SlotHolder {
                slot,
                holder: text(&i, "holder")?,
                node: text(&i, "node").unwrap_or_default(),
                until: text(&i, "leased_until")
                    .and_then(|t| parse_time(&t))
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

impl Ledger for DynamoLedger {
    async fn history(&self, since: DateTime<Utc>) -> Result<History, LedgerError> {
        let records = self.records_since(since).await?;
        Ok(History::from_records(&records))
    }

    async fn claim(
        &self,
        instance: &str,
        record_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let pk = format!("instance#{instance}");
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("sk", s("claim"))
            .item("holder", s(record_id))
            .item("instance", s(instance))
            .item("claimed_at", s(rfc3339(now)))
            .item("expires_at", n(self.expiry(now)))
            .condition_expression("attribute_not_exists(holder)")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Claim::First),
            Err(e) => {
                let fault = classify("dynamodb:PutItem (claim)", e);
                if !fault.is(CONDITION_FAILED) {
                    return Err(fault.into());
                }
                let by = self
                    .claim_holder(&pk)
                    .await?
                    .unwrap_or_else(|| "another invocation (claim since withdrawn)".to_owned());
                Ok(Claim::Duplicate { by })
            }
        }
    }

    async fn unclaim(&self, instance: &str, record_id: &str) -> Result<(), LedgerError> {
        let values = HashMap::from([
            (":me".to_owned(), s(record_id)),
            (":at".to_owned(), s(rfc3339(Utc::now()))),
        ]);
        self.update_if(
            "dynamodb:UpdateItem (unclaim)",
            format!("instance#{instance}"),
            "claim",
            "REMOVE holder SET withdrawn_by = :me, withdrawn_at = :at",
            "holder = :me",
            values,
        )
        .await
        .map(drop)
    }

    async fn lease(
        &self,
        target: &TargetRef,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let values = HashMap::from([
            (":me".to_owned(), s(holder)),
            (":now".to_owned(), n(now.timestamp())),
            (":until".to_owned(), n(until.timestamp())),
            (":at".to_owned(), s(rfc3339(now))),
        ]);
        self.update_if(
            "dynamodb:UpdateItem (lease)",
            format!("lease#{}", target_key(target)),
            "lease",
            "SET holder = :me, expires_at = :until, leased_at = :at",
            "attribute_not_exists(holder) OR expires_at <= :now OR holder = :me",
            values,
        )
        .await
    }

    async fn release(&self, target: &TargetRef, holder: &str) -> Result<(), LedgerError> {
        let values = HashMap::from([(":me".to_owned(), s(holder))]);
        self.update_if(
            "dynamodb:UpdateItem (release)",
            format!("lease#{}", target_key(target)),
            "lease",
            "REMOVE holder",
            "holder = :me",
            values,
        )
        .await
        .map(drop)
    }

    async fn take_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> Result<BudgetTake, LedgerError> {
        let pk = budget_pk(window);
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s("budget"))
            .update_expression(
                "ADD holders :me SET window_start = :start, window_max = :max, expires_at = :exp",
            )
            .condition_expression(
                "attribute_not_exists(holders) OR size(holders) < :max OR contains(holders, :holder)",
            )
            .expression_attribute_values(":me", AttributeValue::Ss(vec![holder.to_owned()]))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":max", n(i64::from(window.max)))
            .expression_attribute_values(":start", s(rfc3339(window.start)))
            .expression_attribute_values(":exp", n(self.expiry(window.end())))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(BudgetTake::Taken {
                used: DynamoLedger::budget_used(out.attributes.as_ref()),
            }),
            Err(e) => {
                let fault = classify("dynamodb:UpdateItem (budget)", e);
                if !fault.is(CONDITION_FAILED) {
                    return Err(fault.into());
                }
                let item = self
                    .item("dynamodb:GetItem (budget)", &pk, "budget")
                    .await?;
                Ok(BudgetTake::Exhausted {
                    used: DynamoLedger::budget_used(item.as_ref()).max(window.max),
                })
            }
        }
    }

    async fn give_back_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> Result<(), LedgerError> {
        let values = HashMap::from([
            (
                ":me".to_owned(),
                AttributeValue::Ss(vec![holder.to_owned()]),
            ),
            (":holder".to_owned(), s(holder)),
        ]);
        self.update_if(
            "dynamodb:UpdateItem (budget give-back)",
            budget_pk(window),
            "budget",
            "DELETE holders :me",
            "contains(holders, :holder)",
            values,
        )
        .await
        .map(drop)
    }

    async fn take_node_slot(
        &self,
        node: &str,
        holder: &str,
        slots: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<SlotTake, LedgerError> {
        for slot in 0..slots {
            let values = HashMap::from([
                (":me".to_owned(), s(holder)),
                (":node".to_owned(), s(node)),
                (":now".to_owned(), n(now.timestamp())),
                (":exp".to_owned(), n(until.timestamp())),
                (":until".to_owned(), s(rfc3339(until))),
                (":at".to_owned(), s(rfc3339(now))),
            ]);
            let taken = self
                .update_if(
                    "dynamodb:UpdateItem (node slot)",
                    slot_pk(slot),
                    "slot",
                    "SET holder = :me, node = :node, expires_at = :exp, leased_until = :until, leased_at = :at",
                    "attribute_not_exists(holder) OR expires_at <= :now OR holder = :me",
                    values,
                )
                .await?;
            if taken {
                return Ok(SlotTake::Taken { slot });
            }
        }
        let mut held = Vec::new();
        for slot in 0..slots {
            held.extend(self.slot_holder(slot).await?);
        }
        Ok(SlotTake::Busy { held })
    }

    async fn release_node_slot(&self, slot: u32, holder: &str) -> Result<(), LedgerError> {
        let values = HashMap::from([(":me".to_owned(), s(holder))]);
        self.update_if(
            "dynamodb:UpdateItem (node slot release)",
            slot_pk(slot),
            "slot",
            "REMOVE holder",
            "holder = :me",
            values,
        )
        .await
        .map(drop)
    }

    async fn append(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        let time = parse_time(&record.time).unwrap_or_else(Utc::now);
        let order = format!("{}#{}", record.time, record.id);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(record_pk(record)))
            .item("sk", s(&order))
            .item("gsi1pk", s(day_pk(time.date_naive())))
            .item("gsi1sk", s(&order))
            .item("id", s(&record.id))
            .item("time", s(&record.time))
            .item("source", s(&record.source))
            .item("verdict", s(record.verdict.as_str()))
            .item("mode", s(record.mode.as_str()))
            .item("record", s(record.to_json_line()))
            .item("expires_at", n(self.expiry(time)))
            // A retried put that already landed is not a second record.
            .condition_expression("attribute_not_exists(pk)");
        if let Some(name) = &record.alert.name {
            put = put.item("alert_name", s(name));
        }
        if let Some(action) = &record.action {
            put = put
                .item("action_kind", s(action.kind.as_str()))
                .item("target", s(target_key(&action.target)));
        }
        if let Some(instance) = &record.instance {
            put = put.item("instance", s(instance));
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let fault = classify("dynamodb:PutItem (record)", e);
                if fault.is(CONDITION_FAILED) {
                    Ok(())
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
