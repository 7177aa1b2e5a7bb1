//! The evidence model: what is gathered for one notification, and the [`EvidenceSource`]
//! port through which the cluster is read beyond [`ClusterView`].

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::cluster::{ClusterView, ReadResult};
use crate::evidence::diff::RevisionDiff;
use crate::objects::{Condition, Termination};
use crate::vocab::target::TargetRef;

/// Log lines read from a container's previous instance.
pub const LOG_TAIL_LINES: u32 = 50;
/// The most log bytes read per container (`limitBytes`).
pub const LOG_LIMIT_BYTES: u64 = 32 * 1024;
/// Events shown per object.
pub const EVENTS_SHOWN: usize = 10;
/// Containers of one pod whose evidence is gathered.
pub(crate) const CONTAINERS_SHOWN: usize = 4;
/// Pods listed for a node.
pub(crate) const NODE_PODS_SHOWN: usize = 50;

/// How much of a container's log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// `tailLines`.
    pub tail_lines: u32,
    /// `limitBytes`.
    pub limit_bytes: u64,
}

impl Default for LogBounds {
    fn default() -> Self {
        LogBounds {
            tail_lines: LOG_TAIL_LINES,
            limit_bytes: LOG_LIMIT_BYTES,
        }
    }
}

/// The object whose Events are asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSubject {
    /// Its kind (`Pod`, `Deployment`, `Node`).
    pub kind: String,
    /// Its namespace; `None` for a node.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Its uid when known: Events are then selected by `involvedObject.uid`.
    pub uid: Option<String>,
}

impl EventSubject {
    /// The subject for `target`, with its uid when known.
    pub fn of(target: &TargetRef, uid: Option<String>) -> Self {
        EventSubject {
            kind: target.kind.as_str().to_owned(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            uid,
        }
    }
}

/// One Kubernetes Event, the part shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeEvent {
    /// When it last happened (`lastTimestamp`, else `eventTime`, else created).
    pub time: Option<DateTime<Utc>>,
    /// `Normal` or `Warning`.
    pub kind: String,
    /// One word (`BackOff`, `Killing`).
    pub reason: String,
    /// What the reporting component said.
    pub message: String,
    /// How often it happened.
    pub count: i64,
}

/// The reads evidence needs beyond [`ClusterView`]: a live API server, or a snapshot that
/// holds what it holds (Events if the List has them, never logs).
pub trait EvidenceSource: ClusterView {
    /// The last lines of `container`'s previous instance in pod `namespace/pod`
    /// (`GET .../pods/NAME/log?container=C&previous=true&tailLines=N&limitBytes=B`).
    fn previous_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        bounds: LogBounds,
    ) -> impl Future<Output = ReadResult<String>> + Send;

    /// The Events about `subject`, any order (the caller keeps the newest).
    fn events(
        &self,
        subject: &EventSubject,
    ) -> impl Future<Output = ReadResult<Vec<KubeEvent>>> + Send;
}

/// Evidence about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerEvidence {
    /// Container name.
    pub name: String,
    /// Restart count.
    pub restart_count: i64,
    /// How the previous instance ended.
    pub last_termination: Option<Termination>,
    /// The previous instance's last log lines, redacted; `None` when not read.
    pub logs: Option<Vec<String>>,
}

/// Evidence about one pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodEvidence {
    /// `namespace/name`.
    pub pod: String,
    /// `Running`, `Pending`, ...
    pub phase: Option<String>,
    /// Its containers.
    pub containers: Vec<ContainerEvidence>,
}

/// Evidence about a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeEvidence {
    /// The node's name.
    pub node: String,
    /// Its conditions.
    pub conditions: Vec<Condition>,
    /// The pods it held (`namespace/name (phase)`), at most [`NODE_PODS_SHOWN`].
    pub pods: Vec<String>,
    /// How many pods it held in all.
    pub pod_count: usize,
}

/// The Events about one object, newest last, at most [`EVENTS_SHOWN`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsOf {
    /// `Kind namespace/name`.
    pub object: String,
    /// The events.
    pub events: Vec<KubeEvent>,
}

/// Everything gathered for one notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The pods concerned (the target, or the pod the alert names).
    pub pods: Vec<PodEvidence>,
    /// Events per object.
    pub events: Vec<EventsOf>,
    /// A rollback's change.
    pub revision: Option<RevisionDiff>,
    /// A node's state.
    pub node: Option<NodeEvidence>,
    /// What could not be read, one line each (`logs unavailable: ...`).
    pub unavailable: Vec<String>,
}

impl Evidence {
    /// Evidence that could not be gathered at all, for `why`.
    pub fn unavailable(why: impl Into<String>) -> Self {
        Evidence {
            unavailable: vec![why.into()],
            ..Evidence::default()
        }
    }

    /// Whether nothing was gathered and nothing is said.
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }
}
