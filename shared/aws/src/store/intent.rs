//! The intent log on the claim item (see `reflex_core::intent` for the protocol and the
//! table in `README.md` for the attributes): progress writes and the take-over, fenced by
//! the claim's `attempt`, and the terminal record stored with the claim settled in one
//! transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, TimeDelta, Utc};
use reflex_core::AuditRecord;
use reflex_core::ledger::{ClaimState, LedgerError, Progress};

use super::{DynamoLedger, day_pk, n, number, parse_time, record_pk, s, target_key, text};
use crate::error::classify;

/// The longest a Lambda invocation runs: a claim written before claims said how long their
/// holder may be at work is taken to say this much after it was made.
const LONGEST_INVOCATION: TimeDelta = TimeDelta::minutes(15);

/// The fence every write by a claim's holder is conditional on.
const HELD: &str = "holder = :me AND attempt = :attempt AND attribute_not_exists(settled)";

/// When `record` was decided (its own time, or now if unreadable).
pub(super) fn record_time(record: &AuditRecord) -> DateTime<Utc> {
    parse_time(&record.time).unwrap_or_else(Utc::now)
}

/// The item of an audit record, as the table in `README.md` lays it out.
pub(super) fn record_item(
    record: &AuditRecord,
    expires_at: i64,
) -> HashMap<String, AttributeValue> {
    let order = format!("{}#{}", record.time, record.id);
    let mut item = HashMap::from([
        ("pk".to_owned(), s(record_pk(record))),
        ("sk".to_owned(), s(&order)),
        (
            "gsi1pk".to_owned(),
            s(day_pk(record_time(record).date_naive())),
        ),
        ("gsi1sk".to_owned(), s(&order)),
        ("id".to_owned(), s(&record.id)),
        ("time".to_owned(), s(&record.time)),
        ("source".to_owned(), s(&record.source)),
        ("verdict".to_owned(), s(record.verdict.as_str())),
        ("mode".to_owned(), s(record.mode.as_str())),
        ("record".to_owned(), s(record.to_json_line())),
        ("expires_at".to_owned(), n(expires_at)),
    ]);
    if let Some(name) = &record.alert.name {
        item.insert("alert_name".to_owned(), s(name));
    }
    if let Some(action) = &record.action {
        item.insert("action_kind".to_owned(), s(action.kind.as_str()));
        item.insert("target".to_owned(), s(target_key(&action.target)));
    }
    if let Some(instance) = &record.instance {
        item.insert("instance".to_owned(), s(instance));
    }
    item
}

fn claim_pk(instance: &str) -> String {
    format!("instance#{instance}")
}

fn millis(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp_millis())
}

/// The values the fence [`HELD`] names.
fn fence(holder: &str, attempt: u32) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (":me".to_owned(), s(holder)),
        (":attempt".to_owned(), n(i64::from(attempt))),
    ])
}

/// A claim item read back; `None` when nobody holds it (never claimed, or withdrawn).
fn claim_state(item: &HashMap<String, AttributeValue>) -> Result<Option<ClaimState>, LedgerError> {
    let Some(holder) = text(item, "holder") else {
        return Ok(None);
    };
    let alive_until = number(item, "alive_until")
        .and_then(DateTime::from_timestamp_millis)
        .or_else(|| {
            text(item, "claimed_at")
                .and_then(parse_time)
                .map(|t| t + LONGEST_INVOCATION)
        })
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let progress = match text(item, "progress") {
        Some(json) => Some(serde_json::from_str::<Progress>(json).map_err(|e| {
            LedgerError::Refused(format!("the claim's progress is unreadable: {e}"))
        })?),
        None => None,
    };
    Ok(Some(ClaimState {
        holder: holder.to_owned(),
        attempt: number(item, "attempt")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(0),
        alive_until,
        settled: item.contains_key("settled"),
        progress,
    }))
}

impl DynamoLedger {
    pub(super) async fn read_claim(
        &self,
        instance: &str,
    ) -> Result<Option<ClaimState>, LedgerError> {
        let item = self
            .item("dynamodb:GetItem (claim)", &claim_pk(instance), "claim")
            .await?;
        item.as_ref().map_or(Ok(None), claim_state)
    }

    /// `UpdateItem SET progress, alive_until` under the fence.
    pub(super) async fn write_progress(
        &self,
        instance: &str,
        progress: &Progress,
    ) -> Result<bool, LedgerError> {
        let json = serde_json::to_string(progress)
            .map_err(|e| LedgerError::Refused(format!("progress not serializable: {e}")))?;
        let mut values = fence(&progress.record.id, progress.attempt);
        values.insert(":p".to_owned(), s(json));
        values.insert(":t".to_owned(), millis(progress.alive_until));
        self.update_if(
            "dynamodb:UpdateItem (progress)",
            claim_pk(instance),
            "claim",
            "SET progress = :p, alive_until = :t",
            HELD,
            values,
        )
        .await
    }

    /// `UpdateItem SET attempt = seen + 1` while attempt `seen` holds the claim, unsettled,
    /// and cannot still be at work.
    pub(super) async fn take_claim_over(
        &self,
        instance: &str,
        seen: u32,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let values = HashMap::from([
            (":seen".to_owned(), n(i64::from(seen))),
            (":next".to_owned(), n(i64::from(seen) + 1)),
            (":now".to_owned(), millis(now)),
            (":t".to_owned(), millis(alive_until)),
        ]);
        self.update_if(
            "dynamodb:UpdateItem (take over)",
            claim_pk(instance),
            "claim",
            "SET attempt = :next, alive_until = :t, taken_over_at = :now",
            "attribute_exists(holder) AND attempt = :seen AND alive_until <= :now AND attribute_not_exists(settled)",
            values,
        )
        .await
    }

    /// `TransactWriteItems`: the record's `PutItem` and the claim's `SET settled` under the
    /// fence, both or neither. A cancelled transaction is read back: the claim settled by
    /// this record means an earlier try landed; another holder or attempt means the claim
    /// was taken over.
    pub(super) async fn settle_claim(
        &self,
        instance: &str,
        attempt: u32,
        record: &AuditRecord,
    ) -> Result<bool, LedgerError> {
        let expires_at = self.expiry(record_time(record));
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| {
            LedgerError::Refused(format!("settle request not built: {e}"))
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(record, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(invalid)?;
        let mut values = fence(&record.id, attempt);
        values.insert(":settled".to_owned(), s(&record.id));
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(claim_pk(instance)))
            .key("sk", s("claim"))
            .update_expression("SET settled = :settled REMOVE progress")
            .condition_expression(HELD)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(invalid)?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        let Err(e) = sent else {
            return Ok(true);
        };
        let fault = classify("dynamodb:TransactWriteItems (settle)", e);
        if !fault.is("TransactionCanceledException") {
            return Err(fault.into());
        }
        let item = self
            .item("dynamodb:GetItem (claim)", &claim_pk(instance), "claim")
            .await?
            .unwrap_or_default();
        if text(&item, "settled") == Some(record.id.as_str()) {
            return Ok(true);
        }
        let held = text(&item, "holder") == Some(record.id.as_str())
            && number(&item, "attempt") == Some(i64::from(attempt));
        if held { Err(fault.into()) } else { Ok(false) }
    }
}
