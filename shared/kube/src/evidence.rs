//! [`EvidenceSource`] over the API: a container's previous log and an object's Events, the
//! two reads a notification's evidence adds to the planner's (RBAC: `pods/log` get,
//! `events` list).
//!
//! Both are bounded three ways: a short time limit per call ([`EVIDENCE_CALL_TIMEOUT`],
//! never resent, since a notification must not wait on a slow API), the server's own
//! bounds (`tailLines`, `limitBytes`; one `limit=` page of Events), and what is read of the
//! answer (at most `limitBytes` of log, however much the server sends). A log cut in the
//! middle of a character is read lossily rather than refused.

use std::time::Duration;

use futures::AsyncReadExt as _;
use k8s_openapi::api::core::v1::{Event, Pod as PodType};
use kube::api::{ListParams, LogParams};
use kube::core::Request;
use reflex_core::cluster::{ClusterError, ReadResult};
use reflex_core::evidence::{EventSubject, EvidenceSource, KubeEvent, LogBounds};
use serde::Deserialize;

use crate::KubeCluster;
use crate::call::{Deadline, Resend, build_error};
use crate::error::CallError;
use crate::read::collection;

/// The longest one evidence read may take.
pub const EVIDENCE_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Events read per object: one page, of which the newest are shown.
const EVENTS_PAGE: u32 = 100;

/// One page of Events.
#[derive(Debug, Deserialize)]
struct EventPage {
    #[serde(default)]
    items: Vec<Event>,
}

impl KubeCluster {
    fn evidence_deadline(&self) -> Deadline {
        Deadline::after(self.settings.request_timeout.min(EVIDENCE_CALL_TIMEOUT))
    }
}

impl EvidenceSource for KubeCluster {
    async fn previous_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        bounds: LogBounds,
    ) -> ReadResult<String> {
        let collection = collection::<PodType>(Some(namespace));
        let what = format!("GET {collection}/{pod}/log?container={container}&previous=true");
        let limit = i64::try_from(bounds.limit_bytes).unwrap_or(i64::MAX);
        let params = LogParams {
            container: Some(container.to_owned()),
            previous: true,
            tail_lines: Some(i64::from(bounds.tail_lines)),
            limit_bytes: Some(limit),
            ..LogParams::default()
        };
        let request = Request::new(&collection)
            .logs(pod, &params)
            .map_err(|e| build_error(e).into_cluster(&what))?;
        let deadline = self.evidence_deadline();
        let read = async {
            let body = self.client.request_stream(request).await?;
            let mut bytes = Vec::new();
            body.take(bounds.limit_bytes)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| kube::Error::Service(e.into()))?;
            Ok::<_, kube::Error>(String::from_utf8_lossy(&bytes).into_owned())
        };
        match tokio::time::timeout(deadline.remaining(), read).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(CallError::from(e).into_cluster(&what)),
            Err(_) => Err(ClusterError::Timeout(format!(
                "{what}: no answer within {}s",
                EVIDENCE_CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn events(&self, subject: &EventSubject) -> ReadResult<Vec<KubeEvent>> {
        let fields = match &subject.uid {
            Some(uid) => format!("involvedObject.uid={uid}"),
            None => format!(
                "involvedObject.kind={},involvedObject.name={}",
                subject.kind, subject.name
            ),
        };
        // A node's Events are recorded in the `default` namespace; list them cluster-wide.
        let collection = collection::<Event>(subject.namespace.as_deref());
        let params = ListParams {
            limit: Some(EVENTS_PAGE),
            ..ListParams::default().fields(&fields)
        };
        let request = Request::new(&collection);
        let page: EventPage = self
            .call(Resend::Never, &self.evidence_deadline(), || {
                request.list(&params).map_err(build_error)
            })
            .await
            .map_err(|e| e.into_cluster(&format!("LIST {collection}?fieldSelector={fields}")))?;
        Ok(page.items.into_iter().map(event).collect())
    }
}

/// The part of an Event a notification shows.
fn event(e: Event) -> KubeEvent {
    let time = e
        .last_timestamp
        .map(|t| t.0)
        .or(e.event_time.map(|t| t.0))
        .or(e.metadata.creation_timestamp.map(|t| t.0));
    KubeEvent {
        time: time.and_then(|t| chrono::DateTime::from_timestamp(t.as_second(), 0)),
        kind: e.type_.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
        message: e.message.unwrap_or_default(),
        count: i64::from(e.count.unwrap_or(1)),
    }
}
