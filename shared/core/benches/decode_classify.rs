//! Decoding a large Alertmanager group must cost about what parsing it does.
//!
//! A 1,000-alert webhook (the size an alert storm produces) is decoded three ways: into a
//! `serde_json::Value` (the baseline any JSON consumer pays), with `decode`, and with
//! `decode` followed by classification against the default policy. The budget is
//! `reflex/decode_classify` at most 1.5x `baseline/serde_json_value`.
//!
//! Run: `cargo bench -p reflex-core --bench decode_classify -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)] // benchmark set-up: a failure should stop the run loudly

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reflex_core::decode::decode;
use reflex_core::policy::Policy;
use serde_json::{Value, json};

const ALERTS: usize = 1_000;

/// A tiny deterministic generator, so every run benchmarks the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// A webhook body shaped like a real alert storm: mostly pod alerts for the voting app,
/// some node and deployment alerts, 6-10 labels and 2 annotations per alert.
fn storm_webhook() -> Vec<u8> {
    const NAMES: &[&str] = &[
        "KubePodCrashLooping",
        "KubePodCrashLooping",
        "KubePodNotReady",
        "KubePodNotReady",
        "KubeDeploymentReplicasMismatch",
        "KubeNodeNotReady",
        "KubeContainerWaiting",
        "CPUThrottlingHigh",
        "TargetDown",
        "KubeJobFailed",
    ];
    const NAMESPACES: &[&str] = &["production", "staging", "monitoring", "default"];
    const APPS: &[&str] = &["vote", "result", "worker", "redis", "db"];
    let mut rng = Lcg(42);
    let alerts: Vec<Value> = (0..ALERTS)
        .map(|i| {
            let name = NAMES[rng.next(NAMES.len())];
            let namespace = NAMESPACES[rng.next(NAMESPACES.len())];
            let app = APPS[rng.next(APPS.len())];
            let pod = format!("{app}-{:08x}-{:05x}", rng.next(1 << 30), rng.next(1 << 20));
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!(name));
            labels.insert("namespace".into(), json!(namespace));
            labels.insert("pod".into(), json!(pod));
            labels.insert("container".into(), json!(app));
            labels.insert("job".into(), json!("kube-state-metrics"));
            labels.insert("severity".into(), json!(["warning", "critical"][i % 2]));
            let extra = [
                ("prometheus", json!("monitoring/kube-prometheus-stack-prometheus")),
                ("endpoint", json!("http")),
                ("instance", json!(format!("10.0.{}.{}:8080", rng.next(256), rng.next(256)))),
                ("service", json!("kube-prometheus-stack-kube-state-metrics")),
            ];
            for (key, value) in extra.into_iter().take(rng.next(5)) {
                labels.insert(key.into(), value);
            }
            json!({
                "status": if i % 10 == 9 { "resolved" } else { "firing" },
                "labels": labels,
                "annotations": {
                    "description": format!("Pod {namespace}/{pod} ({app}) is restarting 2.1 times / 10 minutes."),
                    "summary": "Pod is crash looping.",
                },
                "startsAt": format!("2024-05-01T10:{:02}:{:02}.{:09}Z", rng.next(60), rng.next(60), rng.next(1_000_000_000)),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": format!("http://prometheus.monitoring:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Bjob%3D%22kube-state-metrics%22%2Cnamespace%3D~%22.%2A%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1&i={i}"),
                "fingerprint": format!("{:016x}", (rng.next(1 << 31) as u64) << 32 | rng.next(1 << 31) as u64),
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "receiver": "reflex",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"namespace": "production"},
        "commonLabels": {"job": "kube-state-metrics"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring:9093",
        "version": "4",
        "groupKey": "{}:{namespace=\"production\"}",
        "truncatedAlerts": 0,
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let body = storm_webhook();
    let policy = Policy::default_policy();
    // The benchmark is only meaningful if every alert decodes.
    assert!(decode(&body).iter().all(Result::is_ok));
    assert_eq!(decode(&body).len(), ALERTS);

    let mut group = c.benchmark_group("webhook_1000_alerts");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("baseline/serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).unwrap())
    });
    group.bench_function("reflex/decode", |b| b.iter(|| decode(black_box(&body))));
    group.bench_function("reflex/decode_classify", |b| {
        b.iter(|| {
            let items = decode(black_box(&body));
            items
                .iter()
                .filter_map(|item| item.as_ref().ok())
                .filter(|alert| policy.classify(alert).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
