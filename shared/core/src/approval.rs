//! Approvals (ARCHITECTURE section 11): the words shared by whoever approves an
//! `awaiting_approval` record and whoever performs the approval.
//!
//! Two ways lead to an approval. An engineer runs `reflex approve ID` with their own
//! credentials; or, with `approval.links: true`, on-call opens the signed link carried by the
//! notification, and the intake function's page publishes an [`ApprovalMessage`] to the
//! alerts topic, which `remediate` performs like `reflex approve`. A link is signed with an
//! HMAC key that never appears in a log or a record; [`ApprovalLinks`] is what both functions
//! ask of whoever holds that key, and [`HmacLinks`] its implementation (pure: the key's
//! bytes are loaded from Secrets Manager or SSM by the AWS adapter and handed in).
//!
//! An `awaiting_approval` record carries a [`Pending`]: the alert as decoded (re-planned on
//! approval), the expiry, the exact approve command, and the [`objects`] its plan names.
//! The approval acts only when the new plan names the same objects; [`difference`] says
//! what changed otherwise. Each approval is used at most once: it is claimed under
//! [`claim_key`] with the same conditional write that makes alerts exactly-once.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::alert::Alert;
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::target::TargetRef;

/// What an `awaiting_approval` record keeps for the approval that may follow (`approval`
/// in the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The alert as it was decoded: planned again, against the cluster as it is then, when
    /// the action is approved.
    pub alert: Alert,
    /// When the approval stops being good: the record's time plus the policy's `approval.ttl`.
    #[serde(with = "crate::time_format")]
    pub expires: DateTime<Utc>,
    /// The exact command that approves it (`reflex approve ID --table NAME`).
    pub command: String,
    /// The objects the plan names (see [`objects`]): the approval acts only on these.
    pub objects: Vec<String>,
    /// The signed approval link, when links are on: put in the notification only, never
    /// stored (it is not serialized).
    #[serde(skip)]
    pub link: Option<String>,
}

/// The claim that makes an approval of record `id` single-use.
pub fn claim_key(id: &str) -> String {
    format!("{CLAIM_PREFIX}{id}")
}

/// How every approval claim's key starts (an alert instance key never does: those start
/// with their source).
pub const CLAIM_PREFIX: &str = "approval:";

/// `reflex approve ID`, with the store flag (`--table NAME`, `--audit-log FILE`) when known.
pub fn command(id: &str, store: Option<&str>) -> String {
    match store {
        Some(store) => format!("reflex approve {id} {store}"),
        None => format!("reflex approve {id}"),
    }
}

/// The objects a plan names, one line each: the action and its target, then each object a
/// step changes with what pins it (a pod's uid, a rollback's revisions, a node's instance,
/// a NodeClaim's uid). Two plans with the same lines act on the same objects.
pub fn objects(action: ActionKind, target: &TargetRef, ops: &[Op]) -> Vec<String> {
    let mut lines = vec![format!("{action} {target}")];
    for line in ops.iter().filter_map(Op::names) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// How the plan made now differs from the one awaiting approval, in words; `None` when it
/// names the same objects.
pub fn difference(awaited: &[String], now: &[String]) -> Option<String> {
    let gone: Vec<&str> = awaited
        .iter()
        .filter(|l| !now.contains(l))
        .map(String::as_str)
        .collect();
    let new: Vec<&str> = now
        .iter()
        .filter(|l| !awaited.contains(l))
        .map(String::as_str)
        .collect();
    if gone.is_empty() && new.is_empty() {
        return None;
    }
    let list = |lines: &[&str]| {
        if lines.is_empty() {
            "nothing else".to_owned()
        } else {
            lines.join("; ")
        }
    };
    Some(format!(
        "the plan approved named {}, the plan made now names {}",
        list(&gone),
        list(&new)
    ))
}

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

/// Signs and checks approval links. Implemented by [`HmacLinks`], over the HMAC key the AWS adapter
/// loads from Secrets Manager or an SSM SecureString.
pub trait ApprovalLinks: Send + Sync + fmt::Debug {
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

/// The shortest HMAC key accepted: 32 bytes, the output size of SHA-256.
pub const MIN_KEY_BYTES: usize = 32;

/// The HMAC-SHA256 signer of approval links. A link is
/// `BASE/approvals/ID?expires=UNIX_SECONDS&sig=HEX`; the signature covers the record id and
/// the expiry (`ID`, a newline, the Unix seconds), so neither can be changed without the key.
/// The key is never printed: `Debug` shows only the base URL.
#[derive(Clone)]
pub struct HmacLinks {
    key: Vec<u8>,
    base_url: String,
}

/// Why a key cannot sign links.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("the approval link key has {0} bytes; at least {MIN_KEY_BYTES} are needed")]
    TooShort(usize),
}

impl HmacLinks {
    /// A signer for links under `base_url` (the intake function URL; a trailing `/` is
    /// dropped).
    pub fn new(key: impl Into<Vec<u8>>, base_url: &str) -> Result<Self, KeyError> {
        let key = key.into();
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(key.len()));
        }
        Ok(HmacLinks {
            key,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The MAC over what a link's signature covers.
    fn mac(&self, id: &str, expires: DateTime<Utc>) -> Hmac<Sha256> {
        link_mac(&self.key, id, expires)
    }

    /// The signature of a link, lowercase hex.
    pub fn sign(&self, id: &str, expires: DateTime<Utc>) -> String {
        hex(&self.mac(id, expires).finalize().into_bytes())
    }

    /// The MAC behind a link's form token: keyed with a key derived from the link key for
    /// this one purpose, so a form token is never a link signature, nor the reverse.
    fn form_mac(&self, id: &str, expires: DateTime<Utc>) -> Hmac<Sha256> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        derive.update(FORM_TOKEN_PURPOSE);
        link_mac(&derive.finalize().into_bytes(), id, expires)
    }

    /// The anti-forgery token the approval page puts in its form (lowercase hex): bound to
    /// the link (record id and expiry), and not derivable from the link itself, so a POST
    /// that carries it came from a page this key holder served for that link.
    pub fn form_token(&self, id: &str, expires: DateTime<Utc>) -> String {
        hex(&self.form_mac(id, expires).finalize().into_bytes())
    }

    /// Whether `token` is the form token of the link for `id` and `expires` (constant time).
    pub fn verify_form_token(&self, id: &str, expires: DateTime<Utc>, token: &str) -> bool {
        unhex(token).is_some_and(|token| self.form_mac(id, expires).verify_slice(&token).is_ok())
    }
}

/// What the form token's key is derived for (see [`HmacLinks::form_token`]).
const FORM_TOKEN_PURPOSE: &[u8] = b"reflex approval page form token";

impl fmt::Debug for HmacLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacLinks")
            .field("key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl ApprovalLinks for HmacLinks {
    fn link(&self, id: &str, expires: DateTime<Utc>) -> String {
        format!(
            "{}/approvals/{}?expires={}&sig={}",
            self.base_url,
            path_segment(id),
            expires.timestamp(),
            self.sign(id, expires)
        )
    }

    fn verify(
        &self,
        id: &str,
        expires: DateTime<Utc>,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkRefusal> {
        if sig.is_empty() {
            return Err(LinkRefusal::Unsigned);
        }
        let sig = unhex(sig).ok_or(LinkRefusal::Tampered)?;
        self.mac(id, expires)
            .verify_slice(&sig)
            .map_err(|_| LinkRefusal::Tampered)?;
        if now >= expires {
            return Err(LinkRefusal::Expired(expires));
        }
        Ok(())
    }
}

/// The HMAC-SHA256 under `key` of what a link's signature (and its form token) covers: the
/// record id, a newline, the expiry's Unix seconds.
fn link_mac(key: &[u8], id: &str, expires: DateTime<Utc>) -> Hmac<Sha256> {
    // Any key length is valid for HMAC; `HmacLinks::new` has checked it is long enough.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b"\n");
    mac.update(expires.timestamp().to_string().as_bytes());
    mac
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digits (either case) as bytes; `None` for an odd length or a non-hex character.
fn unhex(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// `id` as one URL path segment: unreserved characters as they are, anything else
/// percent-encoded (the link's path, and the approval page's form action).
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn links() -> HmacLinks {
        HmacLinks::new(KEY, "https://intake.example/").unwrap()
    }

    #[test]
    fn a_link_names_the_record_and_expiry_and_its_signature_verifies_until_it_expires() {
        let expires = at("2026-11-20T10:00:00Z");
        let link = links().link("r-1", expires);
        let sig = links().sign("r-1", expires);
        assert_eq!(
            link,
            format!("https://intake.example/approvals/r-1?expires=1795168800&sig={sig}")
        );
        assert_eq!(sig.len(), 64);
        let before = at("2026-11-20T09:59:59Z");
        assert_eq!(links().verify("r-1", expires, &sig, before), Ok(()));
        assert_eq!(
            links().verify("r-1", expires, &sig.to_uppercase(), before),
            Ok(())
        );
        assert_eq!(
            links().verify("r-1", expires, &sig, expires),
            Err(LinkRefusal::Expired(expires))
        );
    }

    #[test]
    fn a_changed_id_expiry_signature_or_key_is_tampered_and_no_signature_is_unsigned() {
        let expires = at("2026-11-20T10:00:00Z");
        let now = at("2026-11-20T09:00:00Z");
        let sig = links().sign("r-1", expires);
        let later = at("2026-11-20T11:00:00Z");
        assert_eq!(
            links().verify("r-2", expires, &sig, now),
            Err(LinkRefusal::Tampered)
        );
        assert_eq!(
            links().verify("r-1", later, &sig, now),
            Err(LinkRefusal::Tampered)
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            links().verify("r-1", expires, &flipped, now),
            Err(LinkRefusal::Tampered)
        );
        assert_eq!(
            links().verify("r-1", expires, "zz", now),
            Err(LinkRefusal::Tampered)
        );
        assert_eq!(
            links().verify("r-1", expires, &sig[..63], now),
            Err(LinkRefusal::Tampered)
        );
        let other =
            HmacLinks::new(b"another key, at least 32 bytes long".to_vec(), "https://x").unwrap();
        assert_eq!(
            other.verify("r-1", expires, &sig, now),
            Err(LinkRefusal::Tampered)
        );
        assert_eq!(
            links().verify("r-1", expires, "", now),
            Err(LinkRefusal::Unsigned)
        );
    }

    #[test]
    fn a_short_key_is_refused_and_the_key_is_never_printed() {
        assert_eq!(
            HmacLinks::new(b"short".to_vec(), "https://x").unwrap_err(),
            KeyError::TooShort(5)
        );
        let printed = format!("{:?}", links());
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(printed.contains("https://intake.example"), "{printed}");
    }

    #[test]
    fn a_form_token_is_bound_to_its_link_and_is_not_the_links_signature() {
        let expires = at("2026-11-20T10:00:00Z");
        let token = links().form_token("r-1", expires);
        assert_eq!(token.len(), 64);
        assert_ne!(token, links().sign("r-1", expires));
        assert!(links().verify_form_token("r-1", expires, &token));
        assert!(!links().verify_form_token("r-2", expires, &token));
        assert!(!links().verify_form_token("r-1", at("2026-11-20T10:00:01Z"), &token));
        assert!(!links().verify_form_token("r-1", expires, &links().sign("r-1", expires)));
        assert!(!links().verify_form_token("r-1", expires, ""));
        assert!(!links().verify_form_token("r-1", expires, "not hex"));
        let other =
            HmacLinks::new(b"another key, at least 32 bytes long".to_vec(), "https://x").unwrap();
        assert!(!other.verify_form_token("r-1", expires, &token));
    }

    #[test]
    fn an_id_outside_the_unreserved_characters_is_percent_encoded_in_the_link() {
        let expires = at("2026-11-20T10:00:00Z");
        let link = links().link("a/b c", expires);
        assert!(
            link.starts_with("https://intake.example/approvals/a%2Fb%20c?expires="),
            "{link}"
        );
    }

    #[test]
    fn a_plan_names_its_objects_pinned_and_a_changed_one_is_told_as_the_difference() {
        use crate::vocab::op::PodRef;
        use crate::vocab::target::TargetKind;
        let pod = |uid: &str| Op::DeletePod {
            pod: PodRef {
                namespace: "production".into(),
                name: "vote-1".into(),
            },
            uid: Some(uid.into()),
        };
        let target = TargetRef::namespaced(TargetKind::Pod, "production", "vote-1");
        let before = objects(ActionKind::RestartPod, &target, &[pod("u-1")]);
        assert_eq!(
            before,
            [
                "restart_pod Pod production/vote-1",
                "Pod production/vote-1 (uid u-1)"
            ]
        );
        assert_eq!(difference(&before, &before), None);
        let after = objects(ActionKind::RestartPod, &target, &[pod("u-2")]);
        assert_eq!(
            difference(&before, &after).unwrap(),
            "the plan approved named Pod production/vote-1 (uid u-1), the plan made now names Pod production/vote-1 (uid u-2)"
        );
        let deployment = TargetRef::namespaced(TargetKind::Deployment, "production", "vote");
        let rollback = |from: u64, to: u64| Op::Rollback {
            target: deployment.clone(),
            resource_version: "1".into(),
            from_revision: from,
            to_revision: to,
            template: serde_json::Value::Null,
            annotations: Default::default(),
        };
        let approved = objects(ActionKind::Rollback, &deployment, &[rollback(3, 2)]);
        let moved = objects(ActionKind::Rollback, &deployment, &[rollback(4, 3)]);
        assert!(
            difference(&approved, &moved)
                .unwrap()
                .contains("from revision 3 to revision 2"),
            "{approved:?}"
        );
        let node = |instance: &str| Op::TerminateInstance {
            node: "ip-10-0-1-23".into(),
            instance_id: instance.into(),
        };
        let target = TargetRef::node("ip-10-0-1-23");
        assert!(
            difference(
                &objects(ActionKind::ReplaceNode, &target, &[node("i-1")]),
                &objects(ActionKind::ReplaceNode, &target, &[node("i-2")])
            )
            .is_some()
        );
    }

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
