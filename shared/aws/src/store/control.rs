//! The pause, on the table: one item holds the pause in force (read for every alert, one
//! consistent `GetItem`), and every pause and resume is kept as an item of its own under
//! `control#log`, newest last, for `reflex status`.
//!
//! On-call is told once per pause: the first alert suppressed by it sets `told` to the
//! pause's id with a conditional update, which of any number of concurrent invocations
//! exactly one wins.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reflex_core::audit::rfc3339;
use reflex_core::ledger::{Control, ControlEvent, LedgerError, Pause};

use super::{DynamoLedger, n, s};
use crate::error::classify;

/// The partition of the pause in force.
const PAUSE_PK: &str = "control#pause";
/// Its sort key.
const PAUSE_SK: &str = "pause";
/// The partition of recorded pauses and resumes.
const LOG_PK: &str = "control#log";

impl DynamoLedger {
    /// The pause in force at `now`, if any (one consistent read).
    pub(super) async fn pause_in_force(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<Pause>, LedgerError> {
        let item = self
            .item("dynamodb:GetItem (pause)", PAUSE_PK, PAUSE_SK)
            .await?;
        let pause = item
            .as_ref()
            .and_then(|i| i.get("pause_json"))
            .and_then(|v| v.as_s().ok())
            .map(|json| serde_json::from_str::<Pause>(json))
            .transpose()
            .map_err(|e| LedgerError::Refused(format!("the stored pause is unreadable: {e}")))?;
        Ok(pause.filter(|p| p.in_force(now)))
    }

    /// Puts `pause` in force and records it.
    pub(super) async fn put_pause(&self, pause: &Pause) -> Result<(), LedgerError> {
        let json = serde_json::to_string(pause)
            .map_err(|e| LedgerError::Refused(format!("pause not serializable: {e}")))?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(PAUSE_PK))
            .item("sk", s(PAUSE_SK))
            .item("pause_json", s(json))
            .item("pause_id", s(&pause.id))
            .item("paused_since", s(rfc3339(pause.since)));
        if let Some(until) = pause.until {
            put = put.item("paused_until", s(rfc3339(until)));
        }
        put.send()
            .await
            .map_err(|e| LedgerError::from(classify("dynamodb:PutItem (pause)", e)))?;
        self.log_control(&ControlEvent {
            control: Control::Pause,
            time: pause.since,
            by: pause.by.clone(),
            pause: pause.clone(),
        })
        .await
    }

    /// Ends the pause in force (if it is still the one read), recording who ended it.
    pub(super) async fn end_pause(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Pause>, LedgerError> {
        let Some(pause) = self.pause_in_force(now).await? else {
            return Ok(None);
        };
        let values = HashMap::from([(":id".to_owned(), s(&pause.id))]);
        let ended = self
            .update_if(
                "dynamodb:UpdateItem (resume)",
                PAUSE_PK.to_owned(),
                PAUSE_SK,
                "REMOVE pause_json, pause_id, paused_since, paused_until, told",
                "pause_id = :id",
                values,
            )
            .await?;
        if !ended {
            // Someone else resumed (or paused anew) in between: nothing of ours to end.
            return Ok(None);
        }
        self.log_control(&ControlEvent {
            control: Control::Resume,
            time: now,
            by: by.to_owned(),
            pause: pause.clone(),
        })
        .await?;
        Ok(Some(pause))
    }

    /// `true` for the first caller about pause `id`, `false` for every later one.
    pub(super) async fn tell_once(&self, id: &str) -> Result<bool, LedgerError> {
        let values = HashMap::from([(":id".to_owned(), s(id))]);
        self.update_if(
            "dynamodb:UpdateItem (pause told)",
            PAUSE_PK.to_owned(),
            PAUSE_SK,
            "SET told = :id",
            "pause_id = :id AND (attribute_not_exists(told) OR told <> :id)",
            values,
        )
        .await
    }

    async fn log_control(&self, event: &ControlEvent) -> Result<(), LedgerError> {
        let json = serde_json::to_string(event)
            .map_err(|e| LedgerError::Refused(format!("control event not serializable: {e}")))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(LOG_PK))
            .item(
                "sk",
                s(format!(
                    "{}#{}#{}",
                    rfc3339(event.time),
                    event.pause.id,
                    event.control.as_str()
                )),
            )
            .item("event", s(json))
            .item("expires_at", n(self.expiry(event.time)))
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("dynamodb:PutItem (control log)", e)))?;
        Ok(())
    }

    /// The last `limit` pauses and resumes, newest first.
    pub async fn controls(&self, limit: usize) -> Result<Vec<ControlEvent>, LedgerError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(LOG_PK))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("dynamodb:Query (control log)", e)))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| i.get("event").and_then(|v| v.as_s().ok()))
            .filter_map(|json| serde_json::from_str::<ControlEvent>(json).ok())
            .collect())
    }
}
