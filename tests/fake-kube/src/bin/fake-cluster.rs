//! `fake-cluster`: writes a large voting-app-shaped cluster snapshot (a kubectl `List`, the
//! format of `events/cluster/`) for scale benchmarks and the fake API server.
//!
//! The base snapshot's objects come first, unchanged, so the sample events still name real
//! objects (`production/vote`, the NotReady `ip-10-0-2-41.ec2.internal`). Added to them:
//! `--nodes` Ready nodes spread over the zones and, in turn, the managed node groups
//! `general` and `compute` and the Karpenter NodePool `default` (each Karpenter node with
//! its NodeClaim); `--namespaces` namespaces; `--deployments` Deployments, each with
//! `--revisions` ReplicaSets (`deployment.kubernetes.io/revision` 1..R, only the newest
//! scaled up) and a PodDisruptionBudget allowing one disruption; and `--pods` Running, Ready
//! pods shared out over the Deployments and spread round-robin over the added nodes, each
//! owned by its Deployment's newest ReplicaSet. Names and uids come from a seeded generator,
//! so one set of arguments always writes the same bytes.
//!
//!   fake-cluster --nodes 5000 --deployments 2000 --pods 100000 --out target/scale.json

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::{Value, json};

/// Writes a large voting-app-shaped cluster snapshot.
#[derive(Debug, Parser)]
#[command(name = "fake-cluster", version)]
struct Args {
    /// Snapshot whose objects come first (a kubectl `List` JSON).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "events/cluster/voting-app-karpenter.json"
    )]
    base: PathBuf,
    /// Nodes to add.
    #[arg(long, default_value_t = 5000)]
    nodes: usize,
    /// Deployments to add.
    #[arg(long, default_value_t = 2000)]
    deployments: usize,
    /// Pods to add, shared out over the added Deployments.
    #[arg(long, default_value_t = 100_000)]
    pods: usize,
    /// ReplicaSets (revisions) per added Deployment.
    #[arg(long, default_value_t = 3)]
    revisions: u32,
    /// Namespaces the added Deployments are spread over.
    #[arg(long, default_value_t = 20)]
    namespaces: usize,
    /// Availability zones (of us-east-1) the added nodes are spread over.
    #[arg(long, default_value_t = 3)]
    zones: usize,
    /// Seed of the names and uids.
    #[arg(long, default_value_t = 15)]
    seed: u64,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A small deterministic generator (SplitMix64): names and uids, not cryptography.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// `len` characters of the alphabet Kubernetes uses for generated name suffixes.
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.next() % ALPHABET.len() as u64) as usize]))
            .collect()
    }

    fn instance_id(&mut self) -> String {
        format!("i-0{:016x}", self.next())[..19].to_owned()
    }
}

const CREATED: &str = "2026-10-01T08:00:00Z";
const STARTED: &str = "2026-11-18T10:00:00Z";
const ZONES: [(&str, &str); 6] = [
    ("us-east-1a", "use1-az4"),
    ("us-east-1b", "use1-az6"),
    ("us-east-1c", "use1-az1"),
    ("us-east-1d", "use1-az2"),
    ("us-east-1e", "use1-az3"),
    ("us-east-1f", "use1-az5"),
];

/// Writes the snapshot's items one by one, so the added objects are never all in memory.
struct Items<W: Write> {
    out: W,
    count: usize,
    resource_version: u64,
}

impl<W: Write> Items<W> {
    fn push(&mut self, mut item: Value) -> anyhow::Result<()> {
        if item.pointer("/metadata/resourceVersion").is_none() {
            self.resource_version += 1;
            item["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        }
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.out, &item)?;
        self.count += 1;
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.zones == 0 || args.zones > ZONES.len() {
        bail!("--zones must be between 1 and {}", ZONES.len());
    }
    if args.revisions == 0 || args.namespaces == 0 {
        bail!("--revisions and --namespaces must be at least 1");
    }
    if args.pods > 0 && (args.nodes == 0 || args.deployments == 0) {
        bail!("pods need at least one added node and one added Deployment");
    }
    if args.nodes > 62_500 {
        bail!(
            "--nodes is at most 62500 (the added nodes' addresses are 10.16.0.1 to 10.16.249.250)"
        );
    }
    let base =
        std::fs::read(&args.base).with_context(|| format!("reading {}", args.base.display()))?;
    let mut base: Value = serde_json::from_slice(&base)
        .with_context(|| format!("{} is not JSON", args.base.display()))?;
    let Some(Value::Array(base_items)) = base.get_mut("items").map(Value::take) else {
        bail!("{} is not a kubectl List (no items)", args.base.display());
    };
    let templates = Templates::from(&base_items)?;

    let out: Box<dyn Write> = match &args.out {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    out.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[\n")?;
    let mut items = Items {
        out,
        count: 0,
        resource_version: 60_000_000,
    };
    for item in base_items {
        items.push(item)?;
    }
    let mut rng = Rng(args.seed);
    let nodes = add_nodes(&args, &templates, &mut rng, &mut items)?;
    add_workloads(&args, &templates, &nodes, &mut rng, &mut items)?;
    let mut out = items.out;
    out.write_all(b"\n]}\n")?;
    out.flush().context("writing the snapshot")?;
    Ok(())
}

/// The base objects the added ones are cloned from.
struct Templates {
    /// A Ready node of a managed node group.
    group_node: Value,
    /// A Ready Karpenter node, and its NodeClaim.
    karpenter_node: Value,
    nodeclaim: Value,
    namespace: Value,
}

impl Templates {
    fn from(items: &[Value]) -> anyhow::Result<Self> {
        let ready = |o: &&Value| {
            o["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        };
        let kind = |k: &'static str| move |o: &&Value| o["kind"] == k;
        let labelled = |l: &'static str| move |o: &&Value| o["metadata"]["labels"].get(l).is_some();
        let find = |what: &str, found: Option<&Value>| {
            found
                .cloned()
                .with_context(|| format!("the base snapshot has no {what}"))
        };
        Ok(Templates {
            group_node: find(
                "Ready node of a node group",
                items
                    .iter()
                    .filter(kind("Node"))
                    .filter(labelled("eks.amazonaws.com/nodegroup"))
                    .find(ready),
            )?,
            karpenter_node: find(
                "Ready Karpenter node (try events/cluster/voting-app-karpenter.json)",
                items
                    .iter()
                    .filter(kind("Node"))
                    .filter(labelled("karpenter.sh/nodepool"))
                    .find(ready),
            )?,
            nodeclaim: find("NodeClaim", items.iter().find(kind("NodeClaim")))?,
            namespace: find("Namespace", items.iter().find(kind("Namespace")))?,
        })
    }
}

/// Drops a cloned object's `resourceVersion`, so [`Items::push`] gives it a fresh one.
fn forget_version(metadata: &mut Value) {
    if let Some(m) = metadata.as_object_mut() {
        m.remove("resourceVersion");
    }
}

/// Adds the nodes (and NodeClaims); returns their names.
fn add_nodes<W: Write>(
    args: &Args,
    t: &Templates,
    rng: &mut Rng,
    items: &mut Items<W>,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::with_capacity(args.nodes);
    for i in 0..args.nodes {
        let (zone, zone_id) = ZONES[i % args.zones];
        let ip = format!("10.16.{}.{}", i / 250, i % 250 + 1);
        let name = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
        let instance = rng.instance_id();
        let provider = format!("aws:///{zone}/{instance}");
        let karpenter = i % 3 == 2;
        let mut node = if karpenter {
            t.karpenter_node.clone()
        } else {
            t.group_node.clone()
        };
        let meta = &mut node["metadata"];
        meta["name"] = json!(name);
        meta["uid"] = json!(rng.uid());
        meta["creationTimestamp"] = json!(CREATED);
        forget_version(meta);
        meta["annotations"]["alpha.kubernetes.io/provided-node-ip"] = json!(ip);
        let labels = &mut meta["labels"];
        labels["kubernetes.io/hostname"] = json!(name);
        for key in [
            "topology.kubernetes.io/zone",
            "failure-domain.beta.kubernetes.io/zone",
        ] {
            labels[key] = json!(zone);
        }
        labels["topology.k8s.aws/zone-id"] = json!(zone_id);
        if !karpenter {
            labels["eks.amazonaws.com/nodegroup"] =
                json!(if i % 3 == 0 { "general" } else { "compute" });
        }
        node["spec"] = json!({ "providerID": provider });
        node["status"]["addresses"] = json!([
            { "address": ip, "type": "InternalIP" },
            { "address": name, "type": "InternalDNS" },
            { "address": name, "type": "Hostname" },
        ]);
        if karpenter {
            let claim_name = format!("default-{}", rng.suffix(5));
            let claim_uid = rng.uid();
            node["metadata"]["labels"]["karpenter.sh/nodepool"] = json!("default");
            node["metadata"]["ownerReferences"] = json!([{
                "apiVersion": "karpenter.sh/v1", "blockOwnerDeletion": true,
                "kind": "NodeClaim", "name": claim_name, "uid": claim_uid,
            }]);
            let mut claim = t.nodeclaim.clone();
            let meta = &mut claim["metadata"];
            meta["name"] = json!(claim_name);
            meta["uid"] = json!(claim_uid);
            meta["creationTimestamp"] = json!(CREATED);
            forget_version(meta);
            meta["labels"]["karpenter.sh/nodepool"] = json!("default");
            meta["labels"]["topology.kubernetes.io/zone"] = json!(zone);
            claim["status"]["nodeName"] = json!(name);
            claim["status"]["providerID"] = json!(provider);
            items.push(claim)?;
        }
        items.push(node)?;
        names.push(name);
    }
    Ok(names)
}

/// Adds the namespaces, Deployments, their ReplicaSets, PDBs and pods.
fn add_workloads<W: Write>(
    args: &Args,
    t: &Templates,
    nodes: &[String],
    rng: &mut Rng,
    items: &mut Items<W>,
) -> anyhow::Result<()> {
    if args.deployments == 0 {
        return Ok(());
    }
    let namespaces: Vec<String> = (0..args.namespaces)
        .map(|i| format!("team-{i:02}"))
        .collect();
    for ns in &namespaces {
        let mut namespace = t.namespace.clone();
        namespace["metadata"] = json!({
            "name": ns, "uid": rng.uid(), "creationTimestamp": CREATED,
            "labels": { "kubernetes.io/metadata.name": ns },
        });
        items.push(namespace)?;
    }
    let mut next_node = 0;
    for d in 0..args.deployments {
        let ns = &namespaces[d % namespaces.len()];
        let app = format!("app-{d:04}");
        let replicas = args.pods / args.deployments + usize::from(d < args.pods % args.deployments);
        let deployment_uid = rng.uid();
        let image = |revision: u32| {
            format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/{app}:1.{revision}.0")
        };
        let template = |revision: u32, hash: Option<&str>| {
            let mut labels = json!({ "app": app });
            if let Some(hash) = hash {
                labels["pod-template-hash"] = json!(hash);
            }
            json!({
                "metadata": { "labels": labels },
                "spec": {
                    "containers": [{
                        "name": "app", "image": image(revision),
                        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } },
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                },
            })
        };
        let top = args.revisions;
        items.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": app, "namespace": ns, "uid": deployment_uid,
                "creationTimestamp": CREATED, "generation": top,
                "labels": { "app": app },
                "annotations": { "deployment.kubernetes.io/revision": top.to_string() },
            },
            "spec": {
                "replicas": replicas, "revisionHistoryLimit": 10,
                "selector": { "matchLabels": { "app": app } },
                "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } },
                "template": template(top, None),
            },
            "status": {
                "observedGeneration": top, "replicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas, "updatedReplicas": replicas,
                "conditions": [
                    { "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                      "lastTransitionTime": CREATED, "lastUpdateTime": CREATED },
                ],
            },
        }))?;
        items.push(json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": { "name": app, "namespace": ns, "uid": rng.uid(), "creationTimestamp": CREATED, "generation": 1 },
            "spec": { "maxUnavailable": 1, "selector": { "matchLabels": { "app": app } } },
            "status": {
                "currentHealthy": replicas, "desiredHealthy": replicas.saturating_sub(1),
                "disruptionsAllowed": usize::from(replicas > 0), "expectedPods": replicas,
                "observedGeneration": 1,
            },
        }))?;
        let mut newest = (String::new(), String::new());
        for revision in 1..=top {
            let hash = rng.suffix(10);
            let name = format!("{app}-{hash}");
            let uid = rng.uid();
            let scaled = if revision == top { replicas } else { 0 };
            items.push(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": name, "namespace": ns, "uid": uid, "creationTimestamp": CREATED,
                    "labels": { "app": app, "pod-template-hash": hash },
                    "annotations": {
                        "deployment.kubernetes.io/revision": revision.to_string(),
                        "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                    },
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                        "kind": "Deployment", "name": app, "uid": deployment_uid,
                    }],
                },
                "spec": {
                    "replicas": scaled,
                    "selector": { "matchLabels": { "app": app, "pod-template-hash": hash } },
                    "template": template(revision, Some(&hash)),
                },
                "status": { "replicas": scaled, "readyReplicas": scaled, "availableReplicas": scaled, "observedGeneration": 1 },
            }))?;
            newest = (name, uid);
        }
        let (rs_name, rs_uid) = newest;
        let hash = rs_name.rsplit('-').next().unwrap_or_default().to_owned();
        for _ in 0..replicas {
            let node = &nodes[next_node % nodes.len()];
            next_node += 1;
            let name = format!("{rs_name}-{}", rng.suffix(5));
            items.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": name, "namespace": ns, "uid": rng.uid(), "creationTimestamp": STARTED,
                    "generateName": format!("{rs_name}-"),
                    "labels": { "app": app, "pod-template-hash": hash },
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                        "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                    }],
                },
                "spec": {
                    "containers": [{
                        "name": "app", "image": image(top),
                        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } },
                    }],
                    "nodeName": node, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                },
                "status": {
                    "phase": "Running", "startTime": STARTED, "qosClass": "Burstable",
                    "conditions": [
                        { "type": "Ready", "status": "True", "lastTransitionTime": STARTED },
                        { "type": "PodScheduled", "status": "True", "lastTransitionTime": STARTED },
                    ],
                    "containerStatuses": [{
                        "name": "app", "image": image(top), "ready": true, "started": true,
                        "restartCount": 0, "state": { "running": { "startedAt": STARTED } },
                    }],
                },
            }))?;
        }
    }
    Ok(())
}
