//! Server-side printing: a `get` or `list` whose `Accept` asks for a
//! `Table` (`application/json;as=Table;v=v1;g=meta.k8s.io`, what `kubectl get` sends for its
//! default and `-o wide` output) is answered with one, as kube-apiserver does.
//!
//! The columns are kube-apiserver's for each kind the fake serves (NAME, STATUS, ROLES,
//! AGE, VERSION for nodes; NAME, READY, STATUS, RESTARTS, AGE for pods; ...), computed
//! from the stored object the way its printers compute them, kept to the fields the fake's
//! objects carry. Columns `-o wide` adds have priority 1; only nodes and pods have them
//! here. Each row carries the object's metadata (`PartialObjectMetadata`, or the object
//! itself with `includeObject=Object`), which kubectl reads for `-A`'s NAMESPACE column and
//! `--show-labels`. A client that asks for plain JSON gets the list or object as before.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Which `meta.k8s.io` version of Table an `Accept` header asks for, if any.
pub(crate) fn wanted(accept: Option<&str>) -> Option<&'static str> {
    let mut found = None;
    for range in accept?.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if has("as=Table") && has("g=meta.k8s.io") {
            if has("v=v1") {
                return Some("meta.k8s.io/v1");
            }
            if has("v=v1beta1") {
                found = Some("meta.k8s.io/v1beta1");
            }
        }
    }
    found
}

/// What a row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Include {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the `includeObject` query parameter.
    pub fn from_param(param: Option<&str>) -> Self {
        match param {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// A Table of `objects` (one object for a get, a page of a list for a list), with `metadata`
/// (a list's resourceVersion and continue token) carried over.
pub(crate) fn table(
    api_version: &str,
    resource: &ResourceType,
    objects: &[Value],
    metadata: Value,
    include: Include,
) -> Value {
    let now = Utc::now();
    let columns = columns(resource.kind);
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({ "cells": cells(resource.kind, object, now) });
            match include {
                Include::None => {}
                Include::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": api_version,
                        "metadata": object.get("metadata"),
                    });
                }
                Include::Object => row["object"] = object.clone(),
            }
            row
        })
        .collect();
    let definitions: Vec<Value> = columns
        .iter()
        .map(|(name, kind, priority)| {
            let format = if *name == "Name" { "name" } else { "" };
            json!({ "name": name, "type": kind, "format": format, "description": "", "priority": priority })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// (name, type, priority) of each column of a kind's table.
fn columns(kind: &str) -> Vec<(&'static str, &'static str, u8)> {
    let s = |name| (name, "string", 0);
    let n = |name| (name, "integer", 0);
    let wide = |name| (name, "string", 1);
    match kind {
        "Node" => vec![
            s("Name"),
            s("Status"),
            s("Roles"),
            s("Age"),
            s("Version"),
            wide("Internal-IP"),
            wide("External-IP"),
            wide("OS-Image"),
            wide("Kernel-Version"),
            wide("Container-Runtime"),
        ],
        "Namespace" => vec![s("Name"), s("Status"), s("Age")],
        "Pod" => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            s("Restarts"),
            s("Age"),
            wide("IP"),
            wide("Node"),
            wide("Nominated Node"),
            wide("Readiness Gates"),
        ],
        "Deployment" => vec![
            s("Name"),
            s("Ready"),
            n("Up-to-date"),
            n("Available"),
            s("Age"),
        ],
        "ReplicaSet" => vec![s("Name"), n("Desired"), n("Current"), n("Ready"), s("Age")],
        "StatefulSet" => vec![s("Name"), s("Ready"), s("Age")],
        "DaemonSet" => vec![
            s("Name"),
            n("Desired"),
            n("Current"),
            n("Ready"),
            n("Up-to-date"),
            n("Available"),
            s("Node Selector"),
            s("Age"),
        ],
        "PodDisruptionBudget" => vec![
            s("Name"),
            s("Min Available"),
            s("Max Unavailable"),
            n("Allowed Disruptions"),
            s("Age"),
        ],
        "PersistentVolumeClaim" => vec![
            s("Name"),
            s("Status"),
            s("Volume"),
            s("Capacity"),
            s("Access Modes"),
            s("StorageClass"),
            s("VolumeAttributesClass"),
            s("Age"),
        ],
        "PersistentVolume" => vec![
            s("Name"),
            s("Capacity"),
            s("Access Modes"),
            s("Reclaim Policy"),
            s("Status"),
            s("Claim"),
            s("StorageClass"),
            s("VolumeAttributesClass"),
            s("Reason"),
            s("Age"),
        ],
        "HorizontalPodAutoscaler" => vec![
            s("Name"),
            s("Reference"),
            s("Targets"),
            n("MinPods"),
            n("MaxPods"),
            n("Replicas"),
            s("Age"),
        ],
        _ => vec![s("Name"), s("Age")],
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn items<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A value, or `<none>` when it is empty.
fn or_none(value: impl Into<String>) -> String {
    let value = value.into();
    if value.is_empty() {
        "<none>".to_owned()
    } else {
        value
    }
}

/// An integer-or-string field (`minAvailable: 1` or `"50%"`), `N/A` when unset.
fn int_or_string(object: &Value, pointer: &str) -> String {
    match object.pointer(pointer) {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "N/A".to_owned(),
    }
}

/// The cells of one row.
fn cells(kind: &str, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(text(o, "/metadata/name"));
    let age = json!(age(o, "/metadata/creationTimestamp", now));
    match kind {
        "Node" => {
            let address = |kind: &str| {
                items(o, "/status/addresses")
                    .iter()
                    .find(|a| a["type"] == kind)
                    .map_or("<none>", |a| text(a, "/address"))
                    .to_owned()
            };
            vec![
                name,
                json!(node_status(o)),
                json!(or_none(node_roles(o).join(","))),
                age,
                json!(text(o, "/status/nodeInfo/kubeletVersion")),
                json!(address("InternalIP")),
                json!(address("ExternalIP")),
                json!(or_none(text(o, "/status/nodeInfo/osImage"))),
                json!(or_none(text(o, "/status/nodeInfo/kernelVersion"))),
                json!(or_none(text(o, "/status/nodeInfo/containerRuntimeVersion"))),
            ]
        }
        "Namespace" => vec![name, json!(text(o, "/status/phase")), age],
        "Pod" => pod_cells(o, name, age, now),
        "Deployment" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                int(o, "/spec/replicas")
            )),
            json!(int(o, "/status/updatedReplicas")),
            json!(int(o, "/status/availableReplicas")),
            age,
        ],
        "ReplicaSet" => vec![
            name,
            json!(int(o, "/spec/replicas")),
            json!(int(o, "/status/replicas")),
            json!(int(o, "/status/readyReplicas")),
            age,
        ],
        "StatefulSet" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                int(o, "/spec/replicas")
            )),
            age,
        ],
        "DaemonSet" => {
            let selector: Vec<String> = o
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            vec![
                name,
                json!(int(o, "/status/desiredNumberScheduled")),
                json!(int(o, "/status/currentNumberScheduled")),
                json!(int(o, "/status/numberReady")),
                json!(int(o, "/status/updatedNumberScheduled")),
                json!(int(o, "/status/numberAvailable")),
                json!(or_none(selector.join(","))),
                age,
            ]
        }
        "PodDisruptionBudget" => vec![
            name,
            json!(int_or_string(o, "/spec/minAvailable")),
            json!(int_or_string(o, "/spec/maxUnavailable")),
            json!(int(o, "/status/disruptionsAllowed")),
            age,
        ],
        "PersistentVolumeClaim" => vec![
            name,
            json!(text(o, "/status/phase")),
            json!(text(o, "/spec/volumeName")),
            json!(text(o, "/status/capacity/storage")),
            json!(access_modes(items(o, "/status/accessModes"))),
            json!(text(o, "/spec/storageClassName")),
            json!(or_none(text(o, "/spec/volumeAttributesClassName"))),
            age,
        ],
        "PersistentVolume" => {
            let claim = match text(o, "/spec/claimRef/name") {
                "" => String::new(),
                claim => format!("{}/{claim}", text(o, "/spec/claimRef/namespace")),
            };
            vec![
                name,
                json!(text(o, "/spec/capacity/storage")),
                json!(access_modes(items(o, "/spec/accessModes"))),
                json!(text(o, "/spec/persistentVolumeReclaimPolicy")),
                json!(text(o, "/status/phase")),
                json!(claim),
                json!(text(o, "/spec/storageClassName")),
                json!(or_none(text(o, "/spec/volumeAttributesClassName"))),
                json!(text(o, "/status/reason")),
                age,
            ]
        }
        "HorizontalPodAutoscaler" => vec![
            name,
            json!(format!(
                "{}/{}",
                text(o, "/spec/scaleTargetRef/kind"),
                text(o, "/spec/scaleTargetRef/name")
            )),
            json!(hpa_targets(o)),
            json!(
                o.pointer("/spec/minReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            ),
            json!(int(o, "/spec/maxReplicas")),
            json!(int(o, "/status/currentReplicas")),
            age,
        ],
        _ => vec![name, age],
    }
}

/// `Ready`, `NotReady` or `Unknown` (no Ready condition), then `SchedulingDisabled` when
/// cordoned.
fn node_status(o: &Value) -> String {
    let ready = items(o, "/status/conditions")
        .iter()
        .find(|c| c["type"] == "Ready");
    let mut status = vec![match ready {
        Some(c) if c["status"] == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Roles from `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`.
fn node_roles(o: &Value) -> Vec<String> {
    let mut roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(
            |(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
                Some(role) if !role.is_empty() => Some(role.to_owned()),
                _ if key == "kubernetes.io/role" => value.as_str().map(str::to_owned),
                _ => None,
            },
        )
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Each metric as `cpu: 45%/80%` (current and target utilization), `<unknown>` for the
/// current value the status does not report yet.
fn hpa_targets(o: &Value) -> String {
    let current = items(o, "/status/currentMetrics");
    let targets: Vec<String> = items(o, "/spec/metrics")
        .iter()
        .map(|metric| {
            let name = text(metric, "/resource/name");
            match metric.pointer("/resource/target/averageUtilization") {
                Some(target) if metric["type"] == "Resource" => {
                    let now = current
                        .iter()
                        .find(|c| c["type"] == "Resource" && text(c, "/resource/name") == name)
                        .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                        .map_or_else(|| "<unknown>".to_owned(), |v| format!("{v}%"));
                    format!("{name}: {now}/{target}%")
                }
                _ => "<unknown>".to_owned(),
            }
        })
        .collect();
    or_none(targets.join(", "))
}

fn access_modes(modes: &[Value]) -> String {
    let short: Vec<&str> = modes
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect();
    short.join(",")
}

/// NAME, READY, STATUS, RESTARTS, AGE (and wide: IP, NODE, NOMINATED NODE, READINESS GATES),
/// with the pod printer's status reason: the phase, or the reason of the last container
/// that is waiting or terminated, `Terminating` once deleted.
fn pod_cells(o: &Value, name: Value, age: Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut reason = match text(o, "/status/reason") {
        "" => text(o, "/status/phase").to_owned(),
        reason => reason.to_owned(),
    };
    let statuses = items(o, "/status/containerStatuses");
    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart: Option<DateTime<Utc>> = None;
    for status in statuses.iter().rev() {
        restarts += int(status, "/restartCount");
        if let Some(finished) = status
            .pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            let finished = finished.with_timezone(&Utc);
            last_restart = Some(last_restart.map_or(finished, |l| l.max(finished)));
        }
        if let Some(waiting) = status
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
        {
            reason = waiting.to_owned();
        } else if let Some(terminated) = status.pointer("/state/terminated") {
            reason = match text(terminated, "/reason") {
                "" if int(terminated, "/signal") != 0 => {
                    format!("Signal:{}", int(terminated, "/signal"))
                }
                "" => format!("ExitCode:{}", int(terminated, "/exitCode")),
                r => r.to_owned(),
            };
        } else if status["ready"] == true && status.pointer("/state/running").is_some() {
            ready += 1;
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if text(o, "/status/reason") == "NodeLost" {
            "Unknown".to_owned()
        } else {
            "Terminating".to_owned()
        };
    }
    let restarts = match last_restart {
        Some(at) => format!("{restarts} ({} ago)", human_duration(now - at)),
        None => restarts.to_string(),
    };
    let gates = items(o, "/spec/readinessGates");
    let gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let met = gates
            .iter()
            .filter(|g| {
                items(o, "/status/conditions")
                    .iter()
                    .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
            })
            .count();
        format!("{met}/{}", gates.len())
    };
    vec![
        name,
        json!(format!("{ready}/{}", items(o, "/spec/containers").len())),
        json!(reason),
        json!(restarts),
        age,
        json!(or_none(text(o, "/status/podIP"))),
        json!(or_none(text(o, "/spec/nodeName"))),
        json!(or_none(text(o, "/status/nominatedNodeName"))),
        json!(gates),
    ]
}

/// The time since the timestamp at `pointer`, as the AGE column shows it; `<unknown>`
/// without one.
fn age(o: &Value, pointer: &str, now: DateTime<Utc>) -> String {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(
            || "<unknown>".to_owned(),
            |t| human_duration(now - t.with_timezone(&Utc)),
        )
}

/// Kubernetes' `HumanDuration`: two significant units at most, coarser as time goes by
/// (`90s`, `5m30s`, `3h10m`, `29d`, `2y45d`).
fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn kubectls_accept_header_asks_for_a_v1_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(wanted(Some(kubectl)), Some("meta.k8s.io/v1"));
        assert_eq!(
            wanted(Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io")),
            Some("meta.k8s.io/v1beta1")
        );
        assert_eq!(wanted(Some("application/json")), None);
        assert_eq!(wanted(None), None);
    }

    #[test]
    fn ages_read_like_kubectls() {
        let cases = [
            (TimeDelta::seconds(59), "59s"),
            (TimeDelta::seconds(330), "5m30s"),
            (TimeDelta::minutes(95), "95m"),
            (TimeDelta::minutes(190), "3h10m"),
            (TimeDelta::hours(30), "30h"),
            (TimeDelta::hours(75), "3d3h"),
            (TimeDelta::days(29), "29d"),
            (TimeDelta::days(775), "2y45d"),
        ];
        for (d, shown) in cases {
            assert_eq!(human_duration(d), shown);
        }
    }

    #[test]
    fn a_cordoned_not_ready_node_shows_both() {
        let node = json!({"spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(node_status(&node), "NotReady,SchedulingDisabled");
    }

    #[test]
    fn a_crash_looping_pod_shows_its_waiting_reason_and_restarts() {
        let pod = json!({"spec": {"containers": [{"name": "vote"}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let cells = pod_cells(&pod, json!("vote-1"), json!("1d"), Utc::now());
        assert_eq!(
            cells[1..4],
            [json!("0/1"), json!("CrashLoopBackOff"), json!("7")]
        );
    }
}
