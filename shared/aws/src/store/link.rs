//! Approval links used: the item that makes a signed link single-use
//! (pk `approval-link#<record id>`, sk `link`).
//!
//! Taking a link is one conditional PutItem (`attribute_not_exists(pk) OR state =
//! released`), so of two POSTs of one link exactly one wins, whatever their timing. A link
//! taken by a request that then could not publish its approval is given back by that
//! request alone (a conditional PutItem on its own request id), so a failed publish leaves
//! the link usable, never half-used.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use reflex_core::audit::rfc3339;
use reflex_core::ledger::LedgerError;

use super::{CONDITION_FAILED, DynamoLedger, n, s, text};
use crate::error::classify;

/// The sort key of a link's item.
const LINK_SK: &str = "link";
const USED: &str = "used";
const RELEASED: &str = "released";

/// The partition of the item recording the use of record `id`'s approval link.
pub fn link_pk(id: &str) -> String {
    format!("approval-link#{id}")
}

/// Who used a link, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUse {
    /// Who approved through it (`approval link from <address>`).
    pub approver: String,
    /// When (RFC 3339).
    pub at: String,
}

/// What taking a link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTaken {
    /// This request holds the link now.
    Taken,
    /// The link was used before.
    AlreadyUsed(LinkUse),
}

impl DynamoLedger {
    /// Who used record `id`'s approval link, if it was used (consistent read).
    pub async fn link_used(&self, id: &str) -> Result<Option<LinkUse>, LedgerError> {
        let item = self
            .item("dynamodb:GetItem (approval link)", &link_pk(id), LINK_SK)
            .await?;
        Ok(item.and_then(|item| used(&item)))
    }

    /// Takes record `id`'s approval link for `request` (any id unique to the attempt),
    /// unless it was used before.
    pub async fn take_link(
        &self,
        id: &str,
        approver: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkTaken, LedgerError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(link_pk(id)))
            .item("sk", s(LINK_SK))
            .item("state", s(USED))
            .item("approver", s(approver))
            .item("used_at", s(rfc3339(now)))
            .item("taken_by", s(request))
            .item("expires_at", n(self.expiry(now)))
            .condition_expression("attribute_not_exists(pk) OR #state = :released")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":released", s(RELEASED))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(LinkTaken::Taken),
            Err(e) => {
                let fault = classify("dynamodb:PutItem (approval link)", e);
                if !fault.is(CONDITION_FAILED) {
                    return Err(fault.into());
                }
                let by = self.link_used(id).await?.unwrap_or(LinkUse {
                    approver: "an earlier request".to_owned(),
                    at: String::new(),
                });
                Ok(LinkTaken::AlreadyUsed(by))
            }
        }
    }

    /// Gives record `id`'s link back after `request` took it and could not finish; does
    /// nothing when another request holds it.
    pub async fn give_link_back(
        &self,
        id: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let values = HashMap::from([
            (":used".to_owned(), s(USED)),
            (":me".to_owned(), s(request)),
        ]);
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(link_pk(id)))
            .item("sk", s(LINK_SK))
            .item("state", s(RELEASED))
            .item("released_at", s(rfc3339(now)))
            .item("expires_at", n(self.expiry(now)))
            .condition_expression("#state = :used AND taken_by = :me")
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                let fault = classify("dynamodb:PutItem (approval link)", e);
                if fault.is(CONDITION_FAILED) {
                    Ok(())
                } else {
                    Err(fault.into())
                }
            }
        }
    }
}

/// The use an item records, unless it was given back.
fn used(item: &HashMap<String, AttributeValue>) -> Option<LinkUse> {
    (text(item, "state") == Some(USED)).then(|| LinkUse {
        approver: text(item, "approver").unwrap_or_default().to_owned(),
        at: text(item, "used_at").unwrap_or_default().to_owned(),
    })
}
