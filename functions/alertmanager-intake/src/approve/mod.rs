//! Approval links (ARCHITECTURE section 11): `GET /approvals/{id}?expires=..&sig=..` shows
//! the `awaiting_approval` record a signed link names, and `POST /approvals/{id}` from that
//! page approves it, by publishing an [`ApprovalMessage`] to the alerts topic, which
//! `remediate` performs.
//!
//! These routes are authorized by the link's signature, not by the webhook's bearer token:
//! whoever holds an unexpired, unused link may see and approve that one record, nothing
//! else. Start at [`handle`]; the checks run in the order of its status codes.
//!
//! The one design choice to know: **GET never changes anything** (chat unfurlers and mail
//! scanners open links), and a POST carries its own proof: the signature again, a form
//! token bound to the link that only a page served by this function contains, and, when
//! the browser sends them, `Sec-Fetch-Site`/`Origin` headers saying the form was this
//! page's. The link is taken once (a conditional write in the audit table) before the
//! approval is published, and given back if the publish fails, so two POSTs of one link
//! publish at most one approval and a failed publish leaves the link usable.

pub mod page;
pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use lambda_http::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use reflex_aws::store::link::LinkTaken;
use reflex_core::Verdict;
use reflex_core::approval::{
    ApprovalLinks, ApprovalMessage, HmacLinks, LinkApproval, LinkRefusal, path_segment,
};

use crate::publish::Publisher;
pub use store::ApprovalStore;

/// What the approval routes need: the link key's holder and the audit table.
#[derive(Debug)]
pub struct Approvals<S> {
    /// Checks links and makes form tokens.
    pub links: HmacLinks,
    /// The audit table.
    pub store: S,
}

/// The record id a request's path names, when it is an approval route
/// (`…/approvals/{id}`, under whatever prefix the function URL is served).
pub fn route(path: &str) -> Option<Option<String>> {
    let (rest, last) = path.trim_end_matches('/').rsplit_once('/')?;
    if last == "approvals" {
        return Some(None);
    }
    if !(rest == "/approvals" || rest.ends_with("/approvals")) {
        return None;
    }
    Some(percent_decode(last))
}

/// Handles one request to an approval route; never fails (every outcome is a page).
pub async fn handle<P: Publisher, S: ApprovalStore>(
    request: &Request,
    id: Option<&str>,
    approvals: Option<&Approvals<S>>,
    publisher: &P,
) -> Response<Body> {
    let Some(approvals) = approvals else {
        return refused(
            StatusCode::NOT_FOUND,
            "Approval links are off",
            "This reflex installation does not serve approval links.",
        );
    };
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return refused(
            StatusCode::NOT_FOUND,
            "No such approval",
            "The link names no record.",
        );
    };
    let now = Utc::now();
    match *request.method() {
        Method::GET => show(request, id, approvals, now).await,
        Method::POST => approve(request, id, approvals, publisher, now).await,
        _ => refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "An approval link is opened with GET and approved with POST from its page.",
        )
        .with(ALLOW, "GET, POST"),
    }
}

/// GET: check the link, then show the record it approves. Changes nothing.
async fn show<S: ApprovalStore>(
    request: &Request,
    id: &str,
    approvals: &Approvals<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
    let expires = match checked(&approvals.links, id, &query, now) {
        Ok(expires) => expires,
        Err(refusal) => return refusal.page(),
    };
    match approvals.store.link_used(id).await {
        Ok(Some(used)) => return already_used(id, &used),
        Ok(None) => {}
        Err(e) => return unavailable(&e.to_string()),
    }
    let record = match awaiting(&approvals.store, id, now).await {
        Ok(record) => record,
        Err(refusal) => return refusal.page(),
    };
    let sig = value(&query, "sig").unwrap_or_default();
    let csrf = approvals.links.form_token(id, expires);
    let form = page::Form {
        action: &path_segment(id),
        expires: expires.timestamp(),
        sig: &sig,
        csrf: &csrf,
    };
    tracing::info!(record = id, "approval page shown");
    html(StatusCode::OK, page::awaiting(&record, expires, now, &form))
}

/// POST: the form's proof, the link again, the record, then take the link and publish.
async fn approve<P: Publisher, S: ApprovalStore>(
    request: &Request,
    id: &str,
    approvals: &Approvals<S>,
    publisher: &P,
    now: DateTime<Utc>,
) -> Response<Body> {
    if let Some(why) = cross_site(request) {
        return refused(
            StatusCode::FORBIDDEN,
            "Refused: not sent from the approval page",
            &why,
        );
    }
    let body: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if body.len() > MAX_FORM_BYTES {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Refused",
            "The form is larger than the approval page's form can be.",
        );
    }
    let form = pairs(body);
    let expires = match checked(&approvals.links, id, &form, now) {
        Ok(expires) => expires,
        Err(refusal) => return refusal.page(),
    };
    let csrf = value(&form, "csrf").unwrap_or_default();
    if !approvals.links.verify_form_token(id, expires, &csrf) {
        return refused(
            StatusCode::FORBIDDEN,
            "Refused: not sent from the approval page",
            "The form's anti-forgery token is missing or does not belong to this link. Open the link again and use its Approve button.",
        );
    }
    if let Err(refusal) = awaiting(&approvals.store, id, now).await {
        return refusal.page();
    }
    let approver = format!("approval link from {}", source_ip(request));
    let attempt = attempt_id(request, now);
    match approvals
        .store
        .take_link(id, &approver, &attempt, now)
        .await
    {
        Ok(LinkTaken::Taken) => {}
        Ok(LinkTaken::AlreadyUsed(used)) => return already_used(id, &used),
        Err(e) => return unavailable(&e.to_string()),
    }
    let message = ApprovalMessage {
        reflex_approval: LinkApproval {
            approves: id.to_owned(),
            approver: approver.clone(),
            expires,
            sig: value(&form, "sig").unwrap_or_default().to_lowercase(),
        },
    };
    match publisher.publish_approval(&message).await {
        Ok(message_id) => {
            tracing::info!(record = id, approver, message_id, "approval published");
            html(StatusCode::OK, page::approved(id, &approver, &message_id))
        }
        Err(e) => {
            tracing::error!(record = id, error = %e, "approval not published; the link is given back");
            if let Err(back) = approvals.store.give_link_back(id, &attempt, now).await {
                tracing::error!(record = id, error = %back, "the link could not be given back");
            }
            refused(
                StatusCode::BAD_GATEWAY,
                "Not approved: reflex could not be reached",
                "The approval could not be sent to reflex's alerts topic. The link was not used up: try again in a moment.",
            )
        }
    }
}

/// The largest form body accepted (the page's form is a few hundred bytes).
const MAX_FORM_BYTES: usize = 4096;

/// Why nothing was done, as the page says it.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    heading: &'static str,
    detail: String,
}

impl Refusal {
    fn page(self) -> Response<Body> {
        refused(self.status, self.heading, &self.detail)
    }

    fn of_link(why: &LinkRefusal) -> Refusal {
        let (status, heading) = match why {
            LinkRefusal::Unsigned => (StatusCode::FORBIDDEN, "Refused: the link is not signed"),
            LinkRefusal::Tampered => (StatusCode::FORBIDDEN, "Refused: the link is not valid"),
            LinkRefusal::Expired(_) => (StatusCode::GONE, "Refused: the link has expired"),
        };
        let why = why.to_string();
        let mut chars = why.chars();
        let first = chars.next().map(|c| c.to_uppercase().to_string());
        let detail = format!(
            "{}{}. Approve with reflex approve instead, or ask for a new link.",
            first.unwrap_or_default(),
            chars.as_str()
        );
        Refusal {
            status,
            heading,
            detail,
        }
    }
}

/// The link's expiry once its signature and expiry check out.
fn checked(
    links: &HmacLinks,
    id: &str,
    fields: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let sig = value(fields, "sig").unwrap_or_default();
    let expires = value(fields, "expires");
    if sig.is_empty() || expires.is_none() {
        return Err(Refusal::of_link(&LinkRefusal::Unsigned));
    }
    let expires = expires
        .and_then(|e| e.parse::<i64>().ok())
        .and_then(|e| DateTime::from_timestamp(e, 0))
        .ok_or_else(|| Refusal::of_link(&LinkRefusal::Tampered))?;
    links
        .verify(id, expires, &sig, now)
        .map_err(|e| Refusal::of_link(&e))?;
    Ok(expires)
}

/// The record `id` when it is awaiting approval and its approval has not expired.
async fn awaiting<S: ApprovalStore>(
    store: &S,
    id: &str,
    now: DateTime<Utc>,
) -> Result<reflex_core::AuditRecord, Refusal> {
    match store.record(id).await {
        Ok(Some(record)) if record.verdict == Verdict::AwaitingApproval => {
            // The record's own expiry (its time plus the policy's approval.ttl) bounds any
            // link to it, whatever the link says.
            match record.approval.as_ref().map(|pending| pending.expires) {
                Some(expires) if expires <= now => {
                    Err(Refusal::of_link(&LinkRefusal::Expired(expires)))
                }
                _ => Ok(record),
            }
        }
        Ok(Some(record)) => Err(Refusal {
            status: StatusCode::CONFLICT,
            heading: "Nothing to approve",
            detail: format!(
                "Record {id} is {}, not awaiting approval: there is nothing left to approve.",
                record.verdict
            ),
        }),
        Ok(None) => Err(Refusal {
            status: StatusCode::NOT_FOUND,
            heading: "No such approval",
            detail: format!("The audit table holds no record {id}."),
        }),
        Err(e) => {
            tracing::error!(error = %e, "the audit table could not be read");
            Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                heading: UNAVAILABLE,
                detail: UNAVAILABLE_DETAIL.to_owned(),
            })
        }
    }
}

/// Why a POST is refused as cross-site, from the headers a browser sends with it.
fn cross_site(request: &Request) -> Option<String> {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if site != "same-origin" {
            return Some(format!(
                "The browser says this form was sent from another site (Sec-Fetch-Site: {site}). Open the link itself and use its Approve button."
            ));
        }
    }
    // Under the page's own `Referrer-Policy: no-referrer` a browser sends `Origin: null`
    // with the form (Fetch's origin serialization), so `null` tells nothing either way;
    // any other origin must be this function URL's.
    if let Some(origin) = headers.get(ORIGIN).filter(|o| o.as_bytes() != b"null") {
        let origin = origin.to_str().unwrap_or_default();
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or_default();
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        if host.is_empty() || authority.is_none_or(|a| !a.eq_ignore_ascii_case(host)) {
            return Some(format!(
                "The form was sent from {origin}, not from this page. Open the link itself and use its Approve button."
            ));
        }
    }
    None
}

/// The caller's address as the function URL saw it.
fn source_ip(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .clone()
            .unwrap_or_else(|| "an unknown address".to_owned()),
        _ => "an unknown address".to_owned(),
    }
}

/// An id unique to this attempt at taking a link: the Lambda request id when there is one.
fn attempt_id(request: &Request, now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    match request.lambda_context_ref() {
        Some(context) if !context.request_id.is_empty() => context.request_id.clone(),
        _ => format!(
            "{}-{}-{}",
            now.timestamp_nanos_opt().unwrap_or_default(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

fn already_used(id: &str, used: &reflex_aws::store::link::LinkUse) -> Response<Body> {
    let when = if used.at.is_empty() {
        String::new()
    } else {
        format!(" at {}", used.at)
    };
    refused(
        StatusCode::CONFLICT,
        "This approval link was already used",
        &format!(
            "Record {id} was approved through this link ({}){when}. A link approves once: see the outcome with reflex audit list.",
            used.approver
        ),
    )
}

const UNAVAILABLE: &str = "reflex's audit table is unavailable";
const UNAVAILABLE_DETAIL: &str = "The record could not be read or the link could not be marked used. Nothing was approved: try again in a moment.";

fn unavailable(detail: &str) -> Response<Body> {
    tracing::error!(
        error = detail,
        "the audit table could not be read or written"
    );
    refused(
        StatusCode::SERVICE_UNAVAILABLE,
        UNAVAILABLE,
        UNAVAILABLE_DETAIL,
    )
}

/// A refusal page; logged without the query, the body or any header.
fn refused(status: StatusCode, heading: &str, detail: &str) -> Response<Body> {
    tracing::warn!(
        status = status.as_u16(),
        heading,
        detail,
        "approval request refused"
    );
    html(status, page::refusal(heading, detail))
}

/// An HTML answer with the headers every approval page carries.
fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&page::CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

trait With {
    fn with(self, name: lambda_http::http::HeaderName, value: &'static str) -> Self;
}

impl With for Response<Body> {
    fn with(mut self, name: lambda_http::http::HeaderName, value: &'static str) -> Self {
        self.headers_mut()
            .insert(name, HeaderValue::from_static(value));
        self
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body).
fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

/// The first value of `name`, when there is exactly one (a repeated field is ambiguous).
fn value(fields: &[(String, String)], name: &str) -> Option<String> {
    let mut values = fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next()?;
    values.next().is_none().then(|| first.clone())
}

/// A percent-encoded path segment decoded; `None` when it is not valid UTF-8 or escapes.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_ending_in_approvals_and_one_segment_is_an_approval_route() {
        assert_eq!(route("/approvals/r-1"), Some(Some("r-1".to_owned())));
        assert_eq!(
            route("/lambda-url/alertmanager-intake/approvals/a%2Fb"),
            Some(Some("a/b".to_owned()))
        );
        assert_eq!(route("/approvals/"), Some(None));
        assert_eq!(route("/approvals/%zz"), Some(None));
        assert_eq!(route("/"), None);
        assert_eq!(route(""), None);
        assert_eq!(route("/lambda-url/alertmanager-intake/"), None);
        assert_eq!(route("/xapprovals/r-1"), None);
    }

    #[test]
    fn a_repeated_field_has_no_value() {
        let fields = pairs(b"sig=a&expires=1&sig=b");
        assert_eq!(value(&fields, "sig"), None);
        assert_eq!(value(&fields, "expires").as_deref(), Some("1"));
    }
}
