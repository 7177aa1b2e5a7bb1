//! The pod eviction subresource (`POST .../pods/{name}/eviction`): a delete that first asks
//! the pod's PodDisruptionBudget, as kube-apiserver's eviction REST does.
//!
//! A budget with `status.disruptionsAllowed` 0 refuses with `429 TooManyRequests` and a
//! `DisruptionBudget` cause; otherwise the budget is decremented (and the pod recorded in
//! `status.disruptedPods`) and the pod deleted, answered `201` with a success `Status`.
//! Pods that cannot count against a budget (not running, already Terminating, or not Ready
//! while the budget is healthy) are deleted without touching it. Nobody recomputes budgets afterwards: the
//! disruption controller is not simulated, so every eviction spends budget until a test
//! resets it.

use serde_json::{Value, json};

use crate::api::{Effect, check_preconditions, remove_object};
use crate::resources::{PODDISRUPTIONBUDGETS, PODS};
use crate::selector::LabelSelector;
use crate::status::{self, ApiError};
use crate::store::{Store, meta, now};

fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type") == Some(&json!("Ready")) && c.get("status") == Some(&json!("True"))
            })
        })
}

/// Budgets in the pod's namespace whose selector matches the pod's labels.
fn budgets_for<'a>(store: &'a Store, pod: &'a Value) -> Vec<&'a Value> {
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    store
        .list(&PODDISRUPTIONBUDGETS, meta(pod, "namespace"))
        .filter(|pdb| {
            let selector = pdb.pointer("/spec/selector").unwrap_or(&Value::Null);
            matches!(LabelSelector::from_object(selector), Ok(Some(s)) if s.matches(labels))
        })
        .collect()
}

/// Whether `budget` lets `pod` go, and whether that spends one disruption.
fn check_budget(budget: &Value, pod: &Value) -> Result<bool, ApiError> {
    let name = meta(budget, "name").unwrap_or_default();
    let observed = int(budget, "/status/observedGeneration");
    let generation = int(budget, "/metadata/generation");
    if let (Some(observed), Some(generation)) = (observed, generation)
        && observed < generation
    {
        let mut error = ApiError::disruption_budget(format!(
            "The disruption budget {name} is still being processed by the server."
        ));
        error.details["retryAfterSeconds"] = json!(10);
        error.retry_after = Some(10);
        return Err(error);
    }
    let desired_healthy = int(budget, "/status/desiredHealthy").unwrap_or(0);
    let current_healthy = int(budget, "/status/currentHealthy").unwrap_or(0);
    if !pod_ready(pod) {
        let policy = budget
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str);
        if policy == Some("AlwaysAllow")
            || (current_healthy >= desired_healthy && desired_healthy > 0)
        {
            return Ok(false);
        }
    }
    match int(budget, "/status/disruptionsAllowed").unwrap_or(0) {
        allowed if allowed < 0 => Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "poddisruptionbudgets.policy \"{name}\" is forbidden: pdb disruptions allowed is negative"
            ),
        )),
        0 => Err(ApiError::disruption_budget(format!(
            "The disruption budget {name} needs {desired_healthy} healthy pods and has {current_healthy} currently"
        ))),
        _ => Ok(true),
    }
}

/// Serves an eviction of pod `name`.
pub(crate) fn evict(
    store: &mut Store,
    namespace: Option<&str>,
    name: &str,
    body: &[u8],
    dry_run: bool,
    effects: &mut Vec<Effect>,
) -> Result<(u16, Value), ApiError> {
    let eviction: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding Eviction: {e}")))?
    };
    if let Some(in_body) = meta(&eviction, "name")
        && in_body != name
    {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let options = eviction
        .get("deleteOptions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let dry_run = dry_run
        || options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let pod = store
        .get(&PODS, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&PODS, name))?;
    check_preconditions(&PODS, name, &pod, &options)?;

    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Like kube-apiserver's `canIgnorePDB`: a pod that is not running, or already
    // Terminating, has caused its disruption already.
    let terminating = pod.pointer("/metadata/deletionTimestamp").is_some();
    if !terminating && !matches!(phase, "Succeeded" | "Failed" | "Pending") {
        let budgets = budgets_for(store, &pod);
        if budgets.len() > 1 {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(budget) = budgets.first().map(|b| (*b).clone())
            && check_budget(&budget, &pod)?
            && !dry_run
        {
            let mut budget = budget;
            let allowed = int(&budget, "/status/disruptionsAllowed").unwrap_or(0);
            budget["status"]["disruptionsAllowed"] = json!(allowed - 1);
            budget["status"]["disruptedPods"][name] = json!(now());
            let budget_name = meta(&budget, "name").unwrap_or_default().to_owned();
            store.update(
                &PODDISRUPTIONBUDGETS,
                namespace,
                &budget_name,
                budget,
                false,
            )?;
        }
    }
    remove_object(store, &PODS, namespace, name, &options, dry_run, effects)?;
    Ok((201, status::success(201)))
}
