//! What `reflex audit` and `reflex status` read: records newest first (by day through the
//! `by_time` index, or one target's partition), one record by id (the `by_id` index), the
//! budget counter of a window, and who holds leases and node-replacement slots. Every read
//! is a key lookup or a key-condition query; nothing scans the table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reflex_core::AuditRecord;
use reflex_core::audit::rfc3339;
use reflex_core::ledger::{BudgetWindow, LedgerError, SlotHolder};
use reflex_core::vocab::target::TargetRef;

use super::{
    BY_ID_INDEX, BY_TIME_INDEX, DynamoLedger, MAX_DAYS, Order, budget_pk, day_pk, number, s,
    target_key, text,
};

impl DynamoLedger {
    /// Records at or after `since`, newest first, at most `limit`: of one target (its own
    /// partition, read consistently) or of every target (the time index, day by day from
    /// today back).
    pub async fn records_newest(
        &self,
        since: DateTime<Utc>,
        target: Option<&TargetRef>,
        limit: Option<usize>,
    ) -> Result<Vec<AuditRecord>, LedgerError> {
        let from = format!("{}#", rfc3339(since));
        let order = Order::NewestFirst { limit };
        let mut records = Vec::new();
        if let Some(target) = target {
            let values = HashMap::from([
                (":p".to_owned(), s(format!("target#{}", target_key(target)))),
                (":s".to_owned(), s(from)),
            ]);
            self.query_into(&mut records, None, "pk = :p AND sk >= :s", values, order)
                .await?;
            return Ok(records);
        }
        let end = Utc::now().max(since);
        let first = since
            .date_naive()
            .max((end - chrono::Duration::days(MAX_DAYS)).date_naive());
        let mut day = end.date_naive();
        while day >= first && limit.is_none_or(|l| records.len() < l) {
            let values = HashMap::from([
                (":p".to_owned(), s(day_pk(day))),
                (":s".to_owned(), s(from.clone())),
            ]);
            self.query_into(
                &mut records,
                Some(BY_TIME_INDEX),
                "gsi1pk = :p AND gsi1sk >= :s",
                values,
                order,
            )
            .await?;
            let Some(previous) = day.pred_opt() else {
                break;
            };
            day = previous;
        }
        Ok(records)
    }

    /// The record with id `id`, if the table holds it.
    pub async fn record(&self, id: &str) -> Result<Option<AuditRecord>, LedgerError> {
        let mut records = Vec::new();
        let values = HashMap::from([(":id".to_owned(), s(id))]);
        let order = Order::NewestFirst { limit: Some(1) };
        self.query_into(&mut records, Some(BY_ID_INDEX), "id = :id", values, order)
            .await?;
        Ok(records.pop())
    }

    /// Actions counted in `window`'s budget counter.
    pub async fn budget_taken(&self, window: &BudgetWindow) -> Result<u32, LedgerError> {
        let item = self
            .item("dynamodb:GetItem (budget)", &budget_pk(window), "budget")
            .await?;
        Ok(DynamoLedger::budget_used(item.as_ref()))
    }

    /// Who holds the lease on `target` at `now`, and until when.
    pub async fn lease_holder(
        &self,
        target: &TargetRef,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, DateTime<Utc>)>, LedgerError> {
        let pk = format!("lease#{}", target_key(target));
        let Some(item) = self.item("dynamodb:GetItem (lease)", &pk, "lease").await? else {
            return Ok(None);
        };
        let holder = text(&item, "holder").map(str::to_owned);
        let until = number(&item, "expires_at").and_then(|t| DateTime::from_timestamp(t, 0));
        Ok(match (holder, until) {
            (Some(holder), Some(until)) if until > now => Some((holder, until)),
            _ => None,
        })
    }

    /// The node-replacement slots `0..slots` held at `now`.
    pub async fn slots_held(
        &self,
        slots: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlotHolder>, LedgerError> {
        let mut held = Vec::new();
        for slot in 0..slots {
            held.extend(self.slot_holder(slot).await?.filter(|h| h.until > now));
        }
        Ok(held)
    }
}
