//! Approval links through the intake handler, end to end within the process: remediate's
//! handler (the voting-app snapshot, the audit table on moto) makes an `awaiting_approval`
//! record and the notification's signed link, with the key both functions load from moto's
//! SSM; the intake serves that link's page (built `lambda_http` requests), takes the link
//! once in the audit table and publishes the approval to the alerts topic (read back from a
//! subscribed SQS queue); and remediate's handler performs what was published.

use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use reflex_alertmanager_intake::{Approvals, serve};
use reflex_aws::{DynamoLedger, LinksConfig};
use reflex_core::approval::{ApprovalLinks, ApprovalMessage, HmacLinks};
use reflex_core::audit::AuditRecord;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, handle_bytes};
use reflex_snapshot::Snapshot;
use reflex_test_support::approval::{Told, policy_with_links};
use reflex_test_support::ssm::{LINK_KEY, put_key};
use reflex_test_support::{event, moto};

use crate::Topic;

/// The intake function URL of these tests.
const INTAKE: &str = "https://abc123.lambda-url.us-east-1.on.aws";
/// The address the function URL reports for the approver.
const APPROVER_IP: &str = "203.0.113.7";

/// An alerts topic with its queue, the audit table, the key in SSM, both functions' signers.
struct Stack {
    topic: Topic,
    ledger: DynamoLedger,
    approvals: Approvals<DynamoLedger>,
    /// remediate's signer: links under the intake URL.
    signer: HmacLinks,
    policy: Policy,
    cluster: Snapshot,
}

impl Stack {
    async fn new() -> Stack {
        let topic = Topic::new(1 << 20).await;
        let aws = reflex_test_support::aws::moto_aws().await;
        let ledger = reflex_test_support::aws::create_table(&aws).await;
        let sdk = moto::sdk_config();
        let parameter = put_key(&sdk, LINK_KEY, true).await;
        let checking = LinksConfig {
            key_parameter: parameter.clone(),
            base_url: String::new(),
        };
        let signing = LinksConfig {
            key_parameter: parameter,
            base_url: format!("{INTAKE}/"),
        };
        Stack {
            approvals: Approvals {
                links: checking.load(&sdk).await.unwrap(),
                store: ledger.clone(),
            },
            signer: signing.load(&sdk).await.unwrap(),
            ledger,
            topic,
            policy: policy_with_links(),
            cluster: Snapshot::from_json(&reflex_test_support::kube::voting_app()).unwrap(),
        }
    }

    /// remediate's handler in enforce mode over the snapshot, the table and `told`.
    async fn remediate(&self, payload: &[u8], told: &Told) -> Vec<AuditRecord> {
        let signer: std::sync::Arc<dyn ApprovalLinks> = std::sync::Arc::new(self.signer.clone());
        let deps = Deps {
            pipeline: Pipeline {
                policy: &self.policy,
                mode: Mode::Enforce,
            },
            adapters: Adapters {
                cluster: Some(&self.cluster),
                live: Some((&self.cluster, &self.cluster)),
                ledger: &self.ledger,
                notifier: told,
                alarms: &(),
                traffic: &(),
            },
            admission: &(),
            now: None,
            emf_metrics: false,
            links: Some(signer),
        };
        let summary = handle_bytes(payload, &reflex_test_support::unique("req"), &deps)
            .await
            .unwrap();
        let mut records = Vec::new();
        for entry in summary.records {
            records.push(self.ledger.record(&entry.id).await.unwrap().unwrap());
        }
        records
    }

    /// An `awaiting_approval` record of the pod-not-ready alert, and the link its
    /// notification carried.
    async fn awaiting(&self) -> (AuditRecord, String) {
        let told = Told::default();
        let records = self
            .remediate(&fresh("alertmanager/pod-not-ready-result.json"), &told)
            .await;
        assert_eq!(
            records[0].verdict,
            Verdict::AwaitingApproval,
            "{:?}",
            records[0]
        );
        let notified = told.0.lock().unwrap()[0].clone();
        let link = notified
            .approval
            .unwrap()
            .link
            .expect("the notification carries the link");
        (records[0].clone(), link)
    }

    async fn call(&self, request: Request) -> Page {
        let response = serve(
            &request,
            &self.topic.config,
            &self.topic.publisher,
            Some(&self.approvals),
        )
        .await;
        Page::of(response)
    }
}

/// An event file with its alerts starting now (so that the approval's expiry is ahead).
fn fresh(path: &str) -> Vec<u8> {
    let text = String::from_utf8(event(path)).unwrap();
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for alert in value["alerts"].as_array_mut().unwrap() {
        alert["startsAt"] = serde_json::Value::String(now.clone());
    }
    value.to_string().into_bytes()
}

/// An answer, read as a page.
#[derive(Debug)]
struct Page {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    html: String,
}

impl Page {
    fn of(response: Response<Body>) -> Page {
        let html = match response.body() {
            Body::Text(text) => text.clone(),
            other => panic!("unexpected body {other:?}"),
        };
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            html,
        }
    }

    /// The value of the form's hidden field `name`.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker).expect(name) + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].to_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

/// A request as the function URL hands it over: from [`APPROVER_IP`].
fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(APPROVER_IP.to_owned());
    builder
        .body(Body::Text(body.to_owned()))
        .unwrap()
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

fn get(link: &str) -> Request {
    request("GET", link, &[("host", host())], "")
}

fn host() -> &'static str {
    INTAKE.trim_start_matches("https://")
}

/// The POST the page's Approve button sends: to the page's path, the form's fields.
fn post_form(id: &str, fields: &str, headers: &[(&str, &str)]) -> Request {
    let mut all = vec![
        ("host", host()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    all.extend_from_slice(headers);
    request("POST", &format!("{INTAKE}/approvals/{id}"), &all, fields)
}

/// The POST a browser sends from `page`, with the headers it adds: under the page's
/// `Referrer-Policy: no-referrer` its `Origin` is `null`.
fn approve_from(id: &str, page: &Page) -> Request {
    let fields = format!(
        "expires={}&sig={}&csrf={}",
        page.field("expires"),
        page.field("sig"),
        page.field("csrf")
    );
    post_form(
        id,
        &fields,
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
    )
}

/// `text` as maud writes it into a page.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The link with its signature replaced by `sig` (or without its query with `None`).
fn with_sig(link: &str, sig: Option<&str>) -> String {
    let (base, query) = link.split_once('?').unwrap();
    match sig {
        None => base.to_owned(),
        Some(sig) => {
            let expires = query
                .split('&')
                .find(|p| p.starts_with("expires="))
                .unwrap();
            format!("{base}?{expires}&sig={sig}")
        }
    }
}

fn sig_of(link: &str) -> &str {
    link.rsplit("sig=").next().unwrap()
}

async fn nothing_changed(stack: &Stack, id: &str) {
    assert!(
        stack.topic.published().await.is_empty(),
        "something was published"
    );
    assert_eq!(
        stack.ledger.link_used(id).await.unwrap(),
        None,
        "the link was used"
    );
}

#[tokio::test]
async fn the_page_shows_the_alert_labels_reason_plan_and_expiry_with_one_approve_button() {
    let stack = Stack::new().await;
    let (record, link) = stack.awaiting().await;
    assert!(
        link.starts_with(&format!("{INTAKE}/approvals/{}?expires=", record.id)),
        "{link}"
    );
    let page = stack.call(get(&link)).await;
    assert_eq!(page.status, 200, "{}", page.html);

    let html = &page.html;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("Approve restart_pod Pod production/result-84b6d9c7f-tq5wl?"),
        "{html}"
    );
    assert!(html.contains("KubePodNotReady"), "{html}");
    for (name, value) in &record.alert.labels {
        assert!(
            html.contains(&format!("<code>{}</code>", escaped(name))),
            "{name}: {html}"
        );
        assert!(
            html.contains(&format!("<code>{}</code>", escaped(value))),
            "{value}: {html}"
        );
    }
    assert!(
        html.contains(&escaped(&record.reason)),
        "{}\n{html}",
        record.reason
    );
    assert!(!record.steps.is_empty());
    for step in &record.steps {
        assert!(html.contains(&escaped(&step.call)), "{}\n{html}", step.call);
    }
    let pending = record.approval.clone().unwrap();
    assert!(
        html.contains(&reflex_core::audit::rfc3339(pending.expires)),
        "{html}"
    );
    assert!(html.contains(&escaped(&pending.command)), "{html}");
    assert_eq!(html.matches("<form").count(), 1, "{html}");
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{}\">", record.id)),
        "{html}"
    );
    assert_eq!(html.matches("<button").count(), 1);
    assert!(!html.contains("<script"), "no JavaScript: {html}");
    assert_eq!(page.field("sig"), sig_of(&link));
    assert_eq!(page.field("csrf").len(), 64);

    let csp = page.header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.contains("form-action 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    // Opening the page changes nothing (chat unfurlers and mail scanners open links).
    nothing_changed(&stack, &record.id).await;
    assert_eq!(stack.call(get(&link)).await.status, 200);
}

#[tokio::test]
async fn approving_from_the_page_publishes_one_approval_that_remediate_performs() {
    let stack = Stack::new().await;
    let (record, link) = stack.awaiting().await;
    let page = stack.call(get(&link)).await;
    let approved = stack.call(approve_from(&record.id, &page)).await;
    assert_eq!(approved.status, 200, "{}", approved.html);
    assert!(approved.html.contains("Approved"), "{}", approved.html);

    let published = stack.topic.published().await;
    assert_eq!(published.len(), 1, "{published:?}");
    let message: ApprovalMessage = serde_json::from_str(&published[0]).unwrap();
    let approval = &message.reflex_approval;
    assert_eq!(approval.approves, record.id);
    assert_eq!(
        approval.approver,
        format!("approval link from {APPROVER_IP}")
    );
    assert_eq!(approval.sig, sig_of(&link));
    // The link carries its expiry in whole seconds.
    assert_eq!(
        approval.expires.timestamp(),
        record.approval.clone().unwrap().expires.timestamp()
    );
    let used = stack.ledger.link_used(&record.id).await.unwrap().unwrap();
    assert_eq!(used.approver, approval.approver);

    // remediate receives it from the alerts topic and performs it.
    let delivered = serde_json::json!({ "Records": [{ "EventSource": "aws:sns", "Sns": {
        "Type": "Notification",
        "MessageId": "approval-1",
        "TopicArn": stack.topic.config.topic_arn,
        "Message": published[0],
        "Timestamp": reflex_core::audit::rfc3339(Utc::now()),
    }}]});
    let outcome = stack
        .remediate(delivered.to_string().as_bytes(), &Told::default())
        .await;
    assert_eq!(outcome.len(), 1);
    assert_eq!(outcome[0].verdict, Verdict::Executed, "{:?}", outcome[0]);
    assert_eq!(outcome[0].approves.as_deref(), Some(record.id.as_str()));
    assert_eq!(
        outcome[0].approver.as_deref(),
        Some(format!("approval link from {APPROVER_IP}").as_str())
    );
}

#[tokio::test]
async fn a_used_link_says_already_used_on_get_and_post_and_publishes_nothing_more() {
    let stack = Stack::new().await;
    let (record, link) = stack.awaiting().await;
    let page = stack.call(get(&link)).await;
    assert_eq!(
        stack.call(approve_from(&record.id, &page)).await.status,
        200
    );
    assert_eq!(stack.topic.published().await.len(), 1);

    let again = stack.call(get(&link)).await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.html.contains("already used"), "{}", again.html);
    assert!(again.html.contains(APPROVER_IP), "{}", again.html);
    assert!(!again.html.contains("<form"), "{}", again.html);
    let twice = stack.call(approve_from(&record.id, &page)).await;
    assert_eq!(twice.status, 409, "{}", twice.html);
    assert!(twice.html.contains("already used"), "{}", twice.html);
    assert!(
        stack.topic.published().await.is_empty(),
        "a second approval was published"
    );
}

#[tokio::test]
async fn a_tampered_unsigned_or_expired_link_is_refused_and_changes_nothing() {
    let stack = Stack::new().await;
    let (record, link) = stack.awaiting().await;
    let sig = sig_of(&link);
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );

    let tampered = stack.call(get(&with_sig(&link, Some(&flipped)))).await;
    assert_eq!(tampered.status, 403, "{}", tampered.html);
    assert!(tampered.html.contains("not valid"), "{}", tampered.html);
    // The same signature for a later expiry, or for another record.
    let later = stack
        .signer
        .link(&record.id, Utc::now() + TimeDelta::hours(5));
    let later = format!("{}&sig={sig}", later.rsplit_once("&sig=").unwrap().0);
    assert_eq!(stack.call(get(&later)).await.status, 403);
    let other = link.replace(&record.id, "another-record");
    assert_eq!(stack.call(get(&other)).await.status, 403);

    let unsigned = stack.call(get(&with_sig(&link, None))).await;
    assert_eq!(unsigned.status, 403, "{}", unsigned.html);
    assert!(unsigned.html.contains("not signed"), "{}", unsigned.html);
    assert_eq!(
        stack.call(get(&with_sig(&link, Some("")))).await.status,
        403
    );

    let past: DateTime<Utc> = Utc::now() - TimeDelta::minutes(1);
    let expired = stack.call(get(&stack.signer.link(&record.id, past))).await;
    assert_eq!(expired.status, 410, "{}", expired.html);
    assert!(expired.html.contains("expired"), "{}", expired.html);

    // A POST with any of them is refused the same way, and nothing is taken or published.
    let fields = |expires: i64, sig: &str| {
        let csrf = stack
            .approvals
            .links
            .form_token(&record.id, DateTime::from_timestamp(expires, 0).unwrap());
        format!("expires={expires}&sig={sig}&csrf={csrf}")
    };
    let same_origin = [("origin", INTAKE), ("sec-fetch-site", "same-origin")];
    let expires = record.approval.clone().unwrap().expires.timestamp();
    let refused = stack
        .call(post_form(
            &record.id,
            &fields(expires, &flipped),
            &same_origin,
        ))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let refused = stack
        .call(post_form(&record.id, &fields(expires, ""), &same_origin))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let past_sig = stack.signer.sign(&record.id, past);
    let refused = stack
        .call(post_form(
            &record.id,
            &fields(past.timestamp(), &past_sig),
            &same_origin,
        ))
        .await;
    assert_eq!(refused.status, 410, "{}", refused.html);
    nothing_changed(&stack, &record.id).await;
    // The real link still works afterwards.
    assert_eq!(stack.call(get(&link)).await.status, 200);
}

#[tokio::test]
async fn a_cross_site_or_forged_post_is_refused_and_the_link_stays_usable() {
    let stack = Stack::new().await;
    let (record, link) = stack.awaiting().await;
    let page = stack.call(get(&link)).await;
    let good = format!(
        "expires={}&sig={}&csrf={}",
        page.field("expires"),
        page.field("sig"),
        page.field("csrf")
    );
    for headers in [
        &[("sec-fetch-site", "cross-site"), ("origin", INTAKE)][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://attacker.example")][..],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")][..],
    ] {
        let refused = stack.call(post_form(&record.id, &good, headers)).await;
        assert_eq!(refused.status, 403, "{headers:?}: {}", refused.html);
        assert!(
            refused.html.contains("not sent from the approval page"),
            "{}",
            refused.html
        );
    }
    // Without the page's form token (a form built from the link alone), or with another
    // link's token.
    let same_origin = [("origin", INTAKE), ("sec-fetch-site", "same-origin")];
    let no_token = format!(
        "expires={}&sig={}",
        page.field("expires"),
        page.field("sig")
    );
    assert_eq!(
        stack
            .call(post_form(&record.id, &no_token, &same_origin))
            .await
            .status,
        403
    );
    let expires = DateTime::from_timestamp(page.field("expires").parse().unwrap(), 0).unwrap();
    let foreign = stack.approvals.links.form_token("another-record", expires);
    let forged = format!(
        "expires={}&sig={}&csrf={foreign}",
        page.field("expires"),
        page.field("sig")
    );
    assert_eq!(
        stack
            .call(post_form(&record.id, &forged, &same_origin))
            .await
            .status,
        403
    );
    let link_sig_as_token = format!("{no_token}&csrf={}", page.field("sig"));
    assert_eq!(
        stack
            .call(post_form(&record.id, &link_sig_as_token, &same_origin))
            .await
            .status,
        403
    );
    nothing_changed(&stack, &record.id).await;

    // A client that sends neither header (an older browser) with the page's form, or
    // this function URL as its origin, is accepted.
    let approved = stack.call(post_form(&record.id, &good, &[])).await;
    assert_eq!(approved.status, 200, "{}", approved.html);
    assert_eq!(stack.topic.published().await.len(), 1);
}

#[tokio::test]
async fn an_unknown_record_is_404_and_a_record_not_awaiting_approval_is_409() {
    let stack = Stack::new().await;
    let expires = Utc::now() + TimeDelta::minutes(30);
    let unknown = stack
        .call(get(&stack.signer.link("no-such-record", expires)))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.html);
    assert!(
        unknown.html.contains("no record no-such-record"),
        "{}",
        unknown.html
    );

    // A crash-looping pod's restart needs no approval: its record is executed.
    let records = stack
        .remediate(
            &fresh("alertmanager/pod-crashloop-worker.json"),
            &Told::default(),
        )
        .await;
    let done = &records[0];
    assert_eq!(done.verdict, Verdict::Executed, "{done:?}");
    let not_awaiting = stack.call(get(&stack.signer.link(&done.id, expires))).await;
    assert_eq!(not_awaiting.status, 409, "{}", not_awaiting.html);
    assert!(
        not_awaiting
            .html
            .contains("is executed, not awaiting approval"),
        "{}",
        not_awaiting.html
    );
    nothing_changed(&stack, &done.id).await;
}

#[tokio::test]
async fn with_links_off_the_approval_routes_are_404_and_the_webhook_still_needs_its_token() {
    let stack = Stack::new().await;
    let link = stack
        .signer
        .link("r-1", Utc::now() + TimeDelta::minutes(30));
    let off = Page::of(
        serve(
            &get(&link),
            &stack.topic.config,
            &stack.topic.publisher,
            None::<&Approvals<DynamoLedger>>,
        )
        .await,
    );
    assert_eq!(off.status, 404, "{}", off.html);
    // A link does not open the webhook: its path is the webhook's, and the token is missing.
    let webhook = request(
        "POST",
        &format!("{INTAKE}/"),
        &[("content-type", "application/json")],
        &crate::group(1, 0),
    );
    let (status, _) = stack.topic.call(webhook).await;
    assert_eq!(status, 401);
    let put = stack.call(request("PUT", &link, &[], "")).await;
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow"), "GET, POST");
    assert!(stack.topic.published().await.is_empty());
}
