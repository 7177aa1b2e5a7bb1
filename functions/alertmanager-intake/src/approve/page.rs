//! The pages a person sees, as compiled maud templates: every value from a record, a label
//! or a request is escaped by construction (maud escapes whatever it splices in unless
//! told otherwise, and nothing here tells it otherwise). No script, one inline style sheet
//! allowed by its hash in the Content-Security-Policy, and one form that POSTs back to the
//! page's own URL.

use std::sync::LazyLock;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use reflex_core::AuditRecord;
use reflex_core::audit::rfc3339;
use sha2::{Digest, Sha256};

/// The only style sheet (inline, allowed by its hash).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.4rem}dt{font-weight:600;margin-top:.6rem}dd{margin-left:1rem}\
code{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}\
table{border-collapse:collapse}td{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}\
ol li{margin:.4rem 0}.note{color:#555}\
button{font-size:1.1rem;padding:.5rem 1.5rem;margin-top:1rem;background:#b3261e;color:#fff;border:0;border-radius:4px}";

/// The response's Content-Security-Policy: nothing but the style sheet above, forms only
/// to this origin, no framing, no base URL, no scripts, images or connections.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// What the Approve form sends back: the link's expiry and signature, and the form token.
#[derive(Debug)]
pub struct Form<'a> {
    /// The record id, as the form's action (one path segment, relative to the page).
    pub action: &'a str,
    /// The link's expiry, Unix seconds.
    pub expires: i64,
    /// The link's signature.
    pub sig: &'a str,
    /// The anti-forgery token bound to the link.
    pub csrf: &'a str,
}

fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " - reflex" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The page of an `awaiting_approval` record: the alert, its labels, the reason, the exact
/// plan and the link's expiry, and the one Approve button.
pub fn awaiting(
    record: &AuditRecord,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
    form: &Form<'_>,
) -> String {
    let action = record
        .action
        .as_ref()
        .map(|a| format!("{} {}", a.kind, a.target));
    let title = format!("Approve {}", action.as_deref().unwrap_or("the plan"));
    let minutes = (expires - now).num_minutes().max(0);
    let body = html! {
        h1 { (title) "?" }
        p {
            "reflex holds this action until a person approves it. Approving asks reflex to plan
            again against the cluster as it is now; it acts only if the plan still names the
            same objects, and records the outcome as a new record with "
            code { "approves: " (record.id) } "."
        }
        dl {
            dt { "Alert" }
            dd {
                (record.alert.name.as_deref().unwrap_or("(unnamed)"))
                " (" (record.source) ", " (record.alert.status.as_deref().unwrap_or("unknown status")) ")"
                @if let Some(since) = &record.alert.starts_at { " since " (since) }
            }
            dt { "Labels" }
            dd {
                @if record.alert.labels.is_empty() { "none" } @else {
                    table {
                        @for (name, value) in &record.alert.labels {
                            tr { td { code { (name) } } td { code { (value) } } }
                        }
                    }
                }
            }
            dt { "Rule" }
            dd {
                (record.rule.as_deref().unwrap_or("(none)"))
                @if let Some(class) = &record.class { " → " (class) }
            }
            dt { "Action" }
            dd { (action.as_deref().unwrap_or("(none)")) " (" (record.mode) " mode)" }
            dt { "Reason" }
            dd { (record.reason) }
            dt { "Plan" }
            dd {
                ol {
                    @for step in &record.steps {
                        li {
                            code { (step.call) }
                            @if !step.detail.is_empty() { br; span.note { (step.detail) } }
                        }
                    }
                }
            }
            dt { "Record" }
            dd { code { (record.id) } ", made " (record.time) }
            dt { "This link expires" }
            dd { (rfc3339(expires)) " (in " (minutes) " min); it can be used once." }
            @if let Some(pending) = &record.approval {
                dt { "Or, with your own credentials" }
                dd { code { (pending.command) } }
            }
        }
        form method="post" action=(form.action) {
            input type="hidden" name="expires" value=(form.expires);
            input type="hidden" name="sig" value=(form.sig);
            input type="hidden" name="csrf" value=(form.csrf);
            button type="submit" { "Approve" }
        }
    };
    layout(&title, body)
}

/// The page after a successful POST.
pub fn approved(id: &str, approver: &str, message_id: &str) -> String {
    let body = html! {
        h1 { "Approved" }
        p {
            "The approval of record " code { (id) } " was sent to reflex ("
            (approver) "). reflex plans again and records what it did as a new record with "
            code { "approves: " (id) } "; on-call is told of the outcome."
        }
        p.note { "Message " code { (message_id) } ". This link cannot be used again." }
    };
    layout("Approved", body)
}

/// A page saying why nothing was done.
pub fn refusal(heading: &str, detail: &str) -> String {
    let body = html! {
        h1 { (heading) }
        p { (detail) }
        p.note { "Nothing was changed." }
    };
    layout(heading, body)
}
