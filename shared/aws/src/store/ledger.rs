//! [`Ledger`] on the table: claims, leases, the budget counter, node-replacement slots and
//! records, each written as the table in `mod.rs` says; the pause lives in `control.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use reflex_core::AuditRecord;
use reflex_core::audit::rfc3339;
use reflex_core::history::History;
use reflex_core::ledger::{
    BudgetTake, BudgetWindow, Claim, ClaimState, Ledger, LedgerError, Pause, Progress, SlotTake,
};
use reflex_core::vocab::target::TargetRef;

use super::intent::{record_item, record_time};
use super::{CONDITION_FAILED, DynamoLedger, budget_pk, n, s, slot_pk, target_key};
use crate::error::classify;

impl Ledger for DynamoLedger {
    async fn paused(&self, now: DateTime<Utc>) -> Result<Option<Pause>, LedgerError> {
        self.pause_in_force(now).await
    }

    async fn pause(&self, pause: &Pause) -> Result<(), LedgerError> {
        self.put_pause(pause).await
    }

    async fn resume(&self, by: &str, now: DateTime<Utc>) -> Result<Option<Pause>, LedgerError> {
        self.end_pause(by, now).await
    }

    async fn first_under_pause(&self, id: &str) -> Result<bool, LedgerError> {
        self.tell_once(id).await
    }

    async fn history(&self, since: DateTime<Utc>) -> Result<History, LedgerError> {
        let records = self.records_since(since).await?;
        Ok(History::from_records(&records))
    }

    async fn claim(
        &self,
        instance: &str,
        record_id: &str,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
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
            .item("attempt", n(0))
            .item("alive_until", n(alive_until.timestamp_millis()))
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
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_item(record, self.expiry(record_time(record)))))
            // A retried put that already landed is not a second record.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match sent {
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

    async fn claim_state(&self, instance: &str) -> Result<Option<ClaimState>, LedgerError> {
        self.read_claim(instance).await
    }

    async fn record_progress(
        &self,
        instance: &str,
        progress: &Progress,
    ) -> Result<bool, LedgerError> {
        self.write_progress(instance, progress).await
    }

    async fn take_over(
        &self,
        instance: &str,
        seen: u32,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.take_claim_over(instance, seen, now, alive_until).await
    }

    async fn settle(
        &self,
        instance: &str,
        attempt: u32,
        record: &AuditRecord,
    ) -> Result<bool, LedgerError> {
        self.settle_claim(instance, attempt, record).await
    }

    async fn record(&self, id: &str) -> Result<Option<AuditRecord>, LedgerError> {
        DynamoLedger::record(self, id).await
    }

    fn store_flag(&self) -> Option<String> {
        Some(format!("--table {}", self.table))
    }
}
