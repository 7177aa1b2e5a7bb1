#!/usr/bin/env python3
"""Checks infra/k8s/rbac.yaml against what reflex does, statement by statement.

- Cluster-wide, reflex may only read, cordon nodes, create evictions and delete Karpenter
  NodeClaims: it never deletes or patches a workload or pod outside the namespaces it
  manages, so the denied namespaces (kube-system, ...) are protected by the API server too.
- On Karpenter's NodeClaims exactly get, list and delete: nothing that creates or shapes
  capacity.
- Every managed namespace has the same Role, bound to the remediators' group, and the
  denied namespaces have none.
- Every API call the kube adapter makes is granted somewhere.
- The notification's evidence reads are exactly `pods/log` get and `events` list.

Usage: rbac_check.py RBAC_YAML NAMESPACE...   (the managed namespaces)
"""
import sys

import yaml

DENIED = {"kube-system", "kube-public", "kube-node-lease"}
GROUP = "reflex-remediators"
# (api group, resource, verb, scope): every call reflex's kube adapter makes.
CALLS = [
    ("", "nodes", "get", "cluster"), ("", "nodes", "list", "cluster"),
    ("", "nodes", "patch", "cluster"), ("", "namespaces", "get", "cluster"),
    ("", "pods", "list", "cluster"), ("", "pods", "get", "cluster"),
    ("", "pods/eviction", "create", "cluster"),
    ("policy", "poddisruptionbudgets", "list", "cluster"),
    ("", "persistentvolumeclaims", "get", "cluster"), ("", "persistentvolumes", "get", "cluster"),
    ("karpenter.sh", "nodeclaims", "get", "cluster"), ("karpenter.sh", "nodeclaims", "list", "cluster"),
    ("karpenter.sh", "nodeclaims", "delete", "cluster"),
    ("elbv2.k8s.aws", "targetgroupbindings", "list", "cluster"), ("", "services", "get", "cluster"),
    ("", "pods", "delete", "namespace"),
    ("apps", "deployments", "list", "namespace"),
    ("apps", "deployments", "get", "namespace"), ("apps", "deployments", "patch", "namespace"),
    ("apps", "replicasets", "list", "namespace"), ("apps", "replicasets", "get", "namespace"),
    ("apps", "statefulsets", "get", "namespace"), ("apps", "statefulsets", "patch", "namespace"),
    ("apps", "daemonsets", "get", "namespace"), ("apps", "daemonsets", "patch", "namespace"),
    ("autoscaling", "horizontalpodautoscalers", "list", "namespace"),
    ("", "events", "list", "cluster"), ("", "pods/log", "get", "namespace"),
]
# The evidence reads, and the only verbs granted on them anywhere.
EXACT = {("", "events"): {"list"}, ("", "pods/log"): {"get"}}
CLUSTER_WRITES = {("", "nodes", "patch"), ("", "pods/eviction", "create"),
                  ("karpenter.sh", "nodeclaims", "delete")}
NODECLAIM_VERBS = {"get", "list", "delete"}
READ = {"get", "list", "watch"}


def grants(rules):
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    yield group, resource, verb


def main(path, namespaces):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    failures = []
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("ClusterRole", "Role")}
    bound = set()
    for d in docs:
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            if any(s["kind"] == "Group" and s["name"] == GROUP for s in d["subjects"]):
                kind = d["roleRef"]["kind"]
                ns = d["metadata"].get("namespace") if kind == "Role" else None
                bound.add((kind, ns, d["roleRef"]["name"]))
    cluster = set()
    per_ns = {}
    for key, role in roles.items():
        if key not in bound:
            failures.append(f"{key[0]} {key[2]} is bound to no one")
        for g in grants(role["rules"]):
            if "*" in g:
                failures.append(f"{key[0]} {key[2]} grants a wildcard: {g}")
            if key[0] == "ClusterRole":
                cluster.add(g)
                if g[2] not in READ and g not in CLUSTER_WRITES:
                    failures.append(f"ClusterRole {key[2]} grants {g} cluster-wide")
            else:
                per_ns.setdefault(key[1], set()).add(g)
    karpenter = {g for g in cluster | set().union(*per_ns.values()) if g[0] == "karpenter.sh"}
    for g in sorted(karpenter):
        if g[1] != "nodeclaims" or g[2] not in NODECLAIM_VERBS:
            failures.append(f"grants {g}: of Karpenter's API only nodeclaims get, list, delete")
    for g in sorted(cluster | set().union(*per_ns.values())):
        allowed = EXACT.get((g[0], g[1]))
        if allowed is not None and g[2] not in allowed:
            failures.append(f"grants {g}: of {g[1]} only {', '.join(sorted(allowed))}")
    for ns in DENIED & set(per_ns):
        failures.append(f"denied namespace {ns} has a Role")
    for ns in namespaces:
        if ns not in per_ns:
            failures.append(f"managed namespace {ns} has no Role")
    if len({frozenset(v) for v in per_ns.values()}) > 1:
        failures.append("the managed namespaces' Roles differ")
    for group, resource, verb, scope in CALLS:
        if scope == "cluster":
            ok = (group, resource, verb) in cluster
        else:
            ok = all((group, resource, verb) in per_ns.get(ns, ()) for ns in namespaces)
        if not ok:
            failures.append(f"reflex calls {verb} {group or 'core'}/{resource} ({scope}), not granted")
    for f in failures:
        print("FAIL", f)
    print(f"rbac: {len(CALLS)} calls checked, {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
