//! `replace_node`: cordon a node, drain it through the Eviction API, then hand it back to the
//! mechanism that provisioned it (`node_owner.rs`): terminate its EC2 instance so that its
//! Auto Scaling group launches a new one, or delete its Karpenter NodeClaim, verify that it
//! is gone and wait (within the verify timeout; late is noted) for a new Ready node in its
//! NodePool.
//!
//! Guardrails applied here: the node must exist (by name, or by the instance id at the end of
//! its `spec.providerID`); the opt-out annotation on the Node; no replacement while more than
//! the cap of nodes are NotReady (a systemic fault); a known owner (none: not drained); the
//! same cap within the node's pool (its NodePool or node group); at most
//! `nodes.max_in_flight` replacements at once (a node reflex cordoned itself is resumed, not
//! refused); no bare pod on it (a drain would lose it), and no pod keeping
//! data on it unless `nodes.evict_local_data` allows it: an `emptyDir` volume, or a claim
//! bound to a `local` or `hostPath` PersistentVolume (the claims of the pods to evict are
//! read for this, see [`crate::drain::decide`]; one not found is noted, not refused).
//! DaemonSet, mirror and finished pods are not evicted; PodDisruptionBudgets the drain will
//! wait on are noted.

use crate::audit::rfc3339;
use crate::cluster::ClusterView;
use crate::drain::{self, pod_ref};
use crate::guard::{self, Refusal};
use crate::objects::{Node, Pod, Pool};
use crate::plan::context::{Ctx, Inputs, Plan, Refused, Step};
use crate::plan::naming::Named;
use crate::plan::node_owner::{self, NodeOwner};
use crate::policy::Guardrails;
use crate::vocab::action::ActionKind;
use crate::vocab::labels::NODEPOOL_LABEL;
use crate::vocab::op::{DrainRules, Op, PodRef};
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// The reason written into the cordon annotation; it ends with ` at <RFC 3339>`, which
/// [`crate::objects::Node::reflex_cordoned_at`] reads back.
pub(crate) fn cordon_reason(inputs: Inputs<'_>) -> String {
    format!(
        "reflex rule {} for {} at {}",
        inputs.rule.name,
        inputs.alert.name,
        rfc3339(inputs.now)
    )
}

/// The policy's drain rules, as the cordon carries them.
pub(crate) fn drain_rules(g: &Guardrails) -> DrainRules {
    DrainRules {
        evict_local_data: g.nodes.evict_local_data,
        timeout: g.timeouts.drain,
        terminating_grace: g.nodes.terminating_grace,
    }
}

/// Plans the replacement of the node `named` stands for.
pub(crate) async fn plan<C: ClusterView>(ctx: &Ctx<'_, C>, named: &Named) -> Step<Plan> {
    let kind = ActionKind::ReplaceNode;
    let nodes = ctx.cluster.nodes().await?;
    let node: Node = match named {
        Named::Object(t) => match ctx.cluster.node(&t.name).await? {
            Some(n) => n,
            None => return Err(Refused::gone(kind, t)),
        },
        Named::DeploymentByTargetGroup(tg) => {
            return Err(Refused::new(
                Verdict::Rejected,
                format!("replace_node cannot target target group {tg}"),
            ));
        }
        Named::NodeByInstance(id) => {
            match nodes.iter().find(|n| n.instance_id() == Some(id.as_str())) {
                Some(n) => n.clone(),
                None => {
                    return Err(Refused::new(
                        Verdict::Ignored,
                        format!("target gone: no node has providerID ending in /{id}"),
                    ));
                }
            }
        }
    };
    let name = node.metadata.name.clone();
    let t = TargetRef::node(&name);
    let refuse = |r: Refusal| Refused::from(r).with_action(kind, &t);
    guard::not_opted_out([(format!("Node {name}"), &node.metadata)]).map_err(refuse)?;
    guard::not_systemic(&nodes, ctx.g()).map_err(refuse)?;
    let owner = node_owner::owner_of(ctx.cluster, &node)
        .await?
        .map_err(refuse)?;
    let pool = owner.pool(&node);
    if let Some(pool) = &pool {
        guard::pool_not_systemic(pool, &nodes, ctx.g()).map_err(refuse)?;
    }
    let mut notes =
        guard::replacement_slot_free(&name, &nodes, ctx.inputs.history, ctx.inputs.now, ctx.g())
            .map_err(refuse)?;

    let pods = ctx.cluster.pods_on_node(&name).await?;
    let drain = drain::decide(ctx.cluster, &name, pods, ctx.g().nodes.evict_local_data)
        .await?
        .map_err(|reason| refuse(Refusal::suppressed(reason)))?;
    notes.extend(drain.notes);
    let evict = drain.evict;
    notes.extend(pdb_notes(ctx, &evict).await?);

    let drain = ctx.g().timeouts.drain;
    let pods: Vec<PodRef> = evict.iter().map(pod_ref).collect();
    let mut ops = vec![Op::Cordon {
        node: name.clone(),
        reason: cordon_reason(ctx.inputs),
        drain: drain_rules(ctx.g()),
    }];
    ops.extend(pods.iter().map(|p| Op::Evict {
        pod: p.clone(),
        timeout: drain,
    }));
    if !pods.is_empty() {
        ops.push(Op::WaitPodsGone {
            pods: pods.clone(),
            timeout: drain,
            terminating_grace: ctx.g().nodes.terminating_grace,
        });
    }
    let status = if node.is_ready() { "Ready" } else { "NotReady" };
    let evicted = pods.len();
    let reason = match owner {
        NodeOwner::AutoScaling { instance_id, .. } => {
            ops.push(Op::TerminateInstance {
                node: name.clone(),
                instance_id: instance_id.clone(),
            });
            format!(
                "replace node {name} ({status}, instance {instance_id}): cordon, evict {evicted} pods, terminate the instance so its Auto Scaling group launches a new one"
            )
        }
        NodeOwner::Karpenter { claim } => {
            let verify = ctx.g().timeouts.verify;
            let nodeclaim = claim.metadata.name.clone();
            ops.push(Op::DeleteNodeClaim {
                node: name.clone(),
                nodeclaim: nodeclaim.clone(),
                uid: claim.metadata.uid.clone(),
            });
            ops.push(Op::VerifyNodeClaimGone {
                nodeclaim: nodeclaim.clone(),
                timeout: verify,
            });
            let of_pool = match &pool {
                Some(Pool::NodePool(nodepool)) => {
                    ops.push(Op::WaitPoolNode {
                        nodepool: nodepool.clone(),
                        replacing: name.clone(),
                        known: nodes
                            .iter()
                            .filter(|n| pool.as_ref().is_some_and(|p| p.holds(n)))
                            .map(|n| n.metadata.name.clone())
                            .collect(),
                        timeout: verify,
                    });
                    format!(" of NodePool {nodepool}")
                }
                _ => {
                    notes.push(format!(
                        "NodeClaim {nodeclaim} names no NodePool ({NODEPOOL_LABEL}): no replacement node is waited for"
                    ));
                    String::new()
                }
            };
            format!(
                "replace node {name} ({status}, Karpenter NodeClaim {nodeclaim}{of_pool}): cordon, evict {evicted} pods, delete the NodeClaim so Karpenter terminates the instance, and wait for its NodePool's new node"
            )
        }
    };
    Ok(Plan {
        action: kind,
        target: t.clone(),
        ops,
        reason,
        notes,
        workload: None,
    })
}

/// PodDisruptionBudgets the drain will have to wait on.
async fn pdb_notes<C: ClusterView>(ctx: &Ctx<'_, C>, pods: &[Pod]) -> Step<Vec<String>> {
    let mut namespaces: Vec<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.namespace.as_deref())
        .collect();
    namespaces.dedup();
    let mut notes = Vec::new();
    for ns in namespaces {
        for pdb in ctx.cluster.pdbs(ns).await? {
            let covered: Vec<&str> = pods
                .iter()
                .filter(|p| {
                    p.metadata.namespace.as_deref() == Some(ns)
                        && pdb.spec.selector.matches(&p.metadata.labels)
                })
                .map(|p| p.metadata.name.as_str())
                .collect();
            let allowed = pdb.status.disruptions_allowed;
            if !covered.is_empty() && covered.len() as i64 > allowed {
                notes.push(format!(
                    "PodDisruptionBudget {ns}/{} allows {allowed} disruption(s) now and covers {} pod(s) to evict ({}): the drain will wait on it, up to {}",
                    pdb.metadata.name,
                    covered.len(),
                    covered.join(", "),
                    ctx.g().timeouts.drain
                ));
            }
        }
    }
    Ok(notes)
}
