//! [`EvidenceSource`] over a snapshot: the Events the List holds (add `events` to the
//! kubectl command that takes it), and no logs, which a snapshot never has.

use std::future::{Future, ready};

use chrono::{DateTime, Utc};
use reflex_core::cluster::{ClusterError, ReadResult};
use reflex_core::evidence::{EventSubject, EvidenceSource, KubeEvent, LogBounds};
use serde::Deserialize;

use crate::Snapshot;

/// An `Event` item of the List, the part read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SnapshotEvent {
    involved_object: Involved,
    #[serde(rename = "type")]
    kind: String,
    reason: String,
    message: String,
    count: Option<i64>,
    last_timestamp: Option<DateTime<Utc>>,
    event_time: Option<DateTime<Utc>>,
    metadata: EventMeta,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Involved {
    kind: String,
    namespace: Option<String>,
    name: String,
    uid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EventMeta {
    creation_timestamp: Option<DateTime<Utc>>,
}

impl SnapshotEvent {
    /// Whether the Event is about `subject`: by uid when both know it, else by kind,
    /// namespace and name.
    fn about(&self, subject: &EventSubject) -> bool {
        let o = &self.involved_object;
        match (&subject.uid, &o.uid) {
            (Some(a), Some(b)) => a == b,
            _ => {
                o.kind == subject.kind
                    && o.name == subject.name
                    && (subject.namespace.is_none() || o.namespace == subject.namespace)
            }
        }
    }

    fn shown(&self) -> KubeEvent {
        KubeEvent {
            time: self
                .last_timestamp
                .or(self.event_time)
                .or(self.metadata.creation_timestamp),
            kind: self.kind.clone(),
            reason: self.reason.clone(),
            message: self.message.clone(),
            count: self.count.unwrap_or(1),
        }
    }
}

impl EvidenceSource for Snapshot {
    fn previous_log(
        &self,
        _namespace: &str,
        _pod: &str,
        _container: &str,
        _bounds: LogBounds,
    ) -> impl Future<Output = ReadResult<String>> + Send {
        ready(Err(ClusterError::Unsupported(
            "a cluster snapshot holds no logs".into(),
        )))
    }

    fn events(
        &self,
        subject: &EventSubject,
    ) -> impl Future<Output = ReadResult<Vec<KubeEvent>>> + Send {
        let s = self.state();
        ready(if s.events.is_empty() {
            Err(ClusterError::Unsupported(
                "the snapshot holds no events (add events to the kubectl get command that takes it)"
                    .into(),
            ))
        } else {
            Ok(s.events
                .iter()
                .filter_map(|e| serde_json::from_str::<SnapshotEvent>(&s.text[e.clone()]).ok())
                .filter(|e| e.about(subject))
                .map(|e| e.shown())
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use reflex_core::evidence::gather;
    use reflex_core::vocab::target::{TargetKind, TargetRef};

    use super::*;

    fn snapshot(with_events: bool) -> Snapshot {
        let mut items = vec![serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "vote-1", "namespace": "production", "uid": "u1"},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "vote", "restartCount": 4,
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                    "finishedAt": "2026-11-20T09:20:00Z"}}
            }]}
        })];
        if with_events {
            items.push(serde_json::json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "vote-1.a", "namespace": "production"},
                "involvedObject": {"kind": "Pod", "namespace": "production", "name": "vote-1", "uid": "u1"},
                "type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
                "count": 3, "lastTimestamp": "2026-11-20T09:21:00Z"
            }));
            items.push(serde_json::json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "other.a", "namespace": "production"},
                "involvedObject": {"kind": "Pod", "namespace": "production", "name": "other", "uid": "u2"},
                "type": "Normal", "reason": "Pulled", "message": "someone else"
            }));
        }
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        Snapshot::from_json(list.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A snapshot answers at once: one poll finishes the gathering.
    fn at_once<F: Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("a snapshot read waited"),
        }
    }

    #[test]
    fn a_snapshot_gives_termination_and_its_events_and_says_it_has_no_logs() {
        let target = TargetRef::namespaced(TargetKind::Pod, "production", "vote-1");
        let e = at_once(gather(&snapshot(true), &target, &[], None));
        let c = &e.pods[0].containers[0];
        assert_eq!(c.restart_count, 4);
        let t = c
            .last_termination
            .as_ref()
            .map(|t| (t.reason.as_deref(), t.exit_code));
        assert_eq!(t, Some((Some("OOMKilled"), 137)));
        assert_eq!(e.events[0].events.len(), 1);
        assert_eq!(e.events[0].events[0].reason, "BackOff");
        assert!(
            e.unavailable[0].starts_with("logs unavailable: container vote"),
            "{:?}",
            e.unavailable
        );
        assert!(e.unavailable[0].contains("holds no logs"));

        let e = at_once(gather(&snapshot(false), &target, &[], None));
        assert!(
            e.unavailable.iter().any(|l| l.contains("holds no events")),
            "{:?}",
            e.unavailable
        );
    }
}
