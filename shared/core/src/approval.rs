//! Approvals (ARCHITECTURE section 11): the words shared by whoever approves an
//! `awaiting_approval` record and whoever performs the approval.
//!
//! Two ways lead to an approval. An engineer runs `reflex approve ID` with their own
//! credentials; or, with `approval.links: true`, on-call opens the signed link carried by the
//! notification, and the intake function's page publishes an [`ApprovalMessage`] to the
//! alerts topic, which `remediate` performs like `reflex approve`. A link is signed with an
//! HMAC key that never appears in a log or a record; [`ApprovalLinks`] is what both functions
//! ask of whoever holds that key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The body of the SNS message by which an approval link asks `remediate` to perform an
/// approval: `{"reflex_approval": {"approves": ID, "approver": WHO, "expires": RFC3339, "sig": HEX}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalMessage {
    /// What is approved, and by whom.
    pub reflex_approval: LinkApproval,
}

/// One approval given through a signed link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkApproval {
    /// The id of the `awaiting_approval` record approved.
    pub approves: String,
    /// Who approved, as the intake function saw them (for example `approval link from 203.0.113.7`).
    pub approver: String,
    /// When the link stops being good.
    pub expires: DateTime<Utc>,
    /// The link's signature, lowercase hex: it covers `approves` and `expires`.
    pub sig: String,
}

/// Why a link is refused. Each variant reads as the sentence the page and the record show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// The link has no signature.
    #[error("the link is not signed")]
    Unsigned,
    /// The signature does not match the record id and expiry (altered, or signed with another key).
    #[error("the link's signature does not match: it was altered or signed with another key")]
    Tampered,
    /// The link is past its expiry.
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
}

/// Signs and checks approval links. Implemented by the holder of the HMAC key (the AWS
/// adapter loads it from Secrets Manager or an SSM SecureString).
pub trait ApprovalLinks: Send + Sync {
    /// The signed URL that approves record `id` until `expires`.
    fn link(&self, id: &str, expires: DateTime<Utc>) -> String;

    /// Checks a link's signature (in constant time) and its expiry at `now`.
    fn verify(
        &self,
        id: &str,
        expires: DateTime<Utc>,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkRefusal>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_reads_and_writes_its_documented_shape() {
        let body = r#"{"reflex_approval":{"approves":"r-1","approver":"approval link from 203.0.113.7","expires":"2026-11-20T10:00:00Z","sig":"00ff"}}"#;
        let message: ApprovalMessage = serde_json::from_str(body).unwrap();
        assert_eq!(message.reflex_approval.approves, "r-1");
        assert_eq!(
            message.reflex_approval.expires.to_rfc3339(),
            "2026-11-20T10:00:00+00:00"
        );
        let again: ApprovalMessage =
            serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(again, message);
    }

    #[test]
    fn a_message_with_an_unknown_field_is_not_an_approval() {
        let body = r#"{"reflex_approval":{"approves":"r-1","approver":"x","expires":"2026-11-20T10:00:00Z","sig":"00","extra":1}}"#;
        assert!(serde_json::from_str::<ApprovalMessage>(body).is_err());
    }
}
