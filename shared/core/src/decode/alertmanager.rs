//! Alertmanager webhook (version "4") and Grafana unified-alerting webhook (version "1").
//!
//! Grafana's body is Alertmanager's plus `orgId`, `state`, `title`, `message` and, per
//! alert, `values`, `silenceURL`, `dashboardURL`, `panelURL`: one wire type reads both, and
//! only the source differs. Only `alerts` is read, straight into typed structs: labels and
//! annotations into maps, every other field (`generatorURL`, `endsAt`, `values`) skipped
//! without allocation. This is the hot path: a 1,000-alert group must cost no more than
//! parsing it into a `serde_json::Value`.
//!
//! The group's own fields are read only for an alert that leaves something out, and then
//! the record notes it: an alert without `status` takes the group's; a Grafana alert
//! without `alertname` is named after its rule (the group's common or group labels, else
//! its title); a `startsAt` of Go's zero time is no start at all (`None`). `endsAt` is
//! never read, so its zero time (every firing alert's) means nothing here.

use std::cell::OnceCell;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ctx::{Ctx, Decoded};
use super::detect::Top;
use super::json::{self, Str, excerpt};
use super::time::{is_go_zero, parse_timestamp};
use crate::alert::{Alert, AlertStatus, Labels, Source, label_fingerprint};

/// One alert of the group, as sent. Every field is optional on the wire so that a missing
/// one is reported per alert, by name, instead of failing the whole group.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct WireAlert<'a> {
    status: Option<Str<'a>>,
    labels: Option<Labels>,
    annotations: Option<Labels>,
    starts_at: Option<Str<'a>>,
    /// Absent before Alertmanager 0.19; Grafana always sends it.
    fingerprint: Option<Str<'a>>,
}

/// The whole webhook body, read only to explain a payload whose first pass failed.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub(super) struct WebhookDoc<'a> {
    #[allow(dead_code)] // read by serde to locate the failing field, never used after
    alerts: Vec<WireAlert<'a>>,
}

/// Decodes every alert of a webhook group, in order, into `out`.
pub(super) fn webhook(top: &Top<'_>, source: Source, ctx: &Ctx, out: &mut Vec<Decoded>) {
    let Some(raw) = top.alerts else {
        out.push(ctx.reject("alerts: missing"));
        return;
    };
    let group = Group::new(top, source);
    // Fast path: the whole array in one typed pass.
    if let Ok(alerts) = serde_json::from_str::<Vec<WireAlert<'_>>>(raw.get()) {
        if alerts.is_empty() {
            out.push(ctx.reject("alerts: empty, the group holds no alert"));
        }
        out.extend(
            alerts
                .into_iter()
                .enumerate()
                .map(|(i, alert)| normalize(alert, i, &group, ctx)),
        );
        return;
    }
    // Some alert is malformed: read them one by one so that only that one is rejected.
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Err(e) => out.push(ctx.reject(json::explain::<Vec<WireAlert<'_>>>(
            raw.get().as_bytes(),
            "alerts",
            &e,
        ))),
        Ok(items) => {
            if items.is_empty() {
                out.push(ctx.reject("alerts: empty, the group holds no alert"));
            }
            for (i, item) in items.into_iter().enumerate() {
                match json::typed::<WireAlert<'_>>(item.get(), &format!("alerts[{i}]")) {
                    Ok(alert) => out.push(normalize(alert, i, &group, ctx)),
                    Err(reason) => out.push(ctx.reject(reason)),
                }
            }
        }
    }
}

/// What the group says of all its alerts: read only for an alert that leaves it out, so
/// a well-formed group costs nothing more.
struct Group<'t, 'a> {
    top: &'t Top<'a>,
    source: Source,
    /// The rule name a Grafana alert without `alertname` is named after, read once.
    rule_name: OnceCell<Option<(String, &'static str)>>,
}

impl<'t, 'a> Group<'t, 'a> {
    fn new(top: &'t Top<'a>, source: Source) -> Self {
        Group {
            top,
            source,
            rule_name: OnceCell::new(),
        }
    }

    /// The group's `status` (firing while any of its alerts is), if it gives one.
    fn status(&self) -> Result<Option<AlertStatus>, String> {
        match json::optional_str(self.top.status, "status")? {
            Some(s) => status_of(s.as_str(), "status").map(Some),
            None => Ok(None),
        }
    }

    /// Grafana names an alert after its rule: `alertname` of the group's common labels or
    /// group labels (every alert of the group has them), else the group's `title`. With
    /// where it was found, for the record's note.
    fn rule_name(&self) -> Option<&(String, &'static str)> {
        self.rule_name
            .get_or_init(|| {
                let label = |raw: Option<&RawValue>| {
                    raw.and_then(|r| serde_json::from_str::<Option<Labels>>(r.get()).ok())
                        .flatten()
                        .and_then(|mut labels| labels.remove("alertname"))
                        .filter(|name| !name.trim().is_empty())
                };
                let title = || {
                    json::optional_str(self.top.title, "title")
                        .ok()
                        .flatten()
                        .map(|t| t.as_str().trim().to_owned())
                        .filter(|t| !t.is_empty())
                };
                label(self.top.common_labels)
                    .map(|n| (n, "commonLabels.alertname"))
                    .or_else(|| label(self.top.group_labels).map(|n| (n, "groupLabels.alertname")))
                    .or_else(|| title().map(|n| (n, "title")))
            })
            .as_ref()
    }
}

/// `firing` or `resolved`; the error names `field`.
fn status_of(text: &str, field: &str) -> Result<AlertStatus, String> {
    match text {
        "firing" => Ok(AlertStatus::Firing),
        "resolved" => Ok(AlertStatus::Resolved),
        other => Err(format!(
            "{field}: {} is neither \"firing\" nor \"resolved\"",
            excerpt(other, 40)
        )),
    }
}

fn normalize(alert: WireAlert<'_>, i: usize, group: &Group<'_, '_>, ctx: &Ctx) -> Decoded {
    let mut notes = Vec::new();
    let status = match alert.status.as_ref().map(Str::as_str) {
        Some(text) => match status_of(text, &format!("alerts[{i}].status")) {
            Ok(status) => status,
            Err(reason) => return ctx.reject(reason),
        },
        // Senders that build the body by hand leave it out: the group's status covers it.
        None => match group.status() {
            Ok(Some(status)) => {
                notes.push(format!(
                    "alerts[{i}] has no status of its own; it takes the group's status ({status})"
                ));
                status
            }
            Ok(None) => {
                return ctx.reject(format!(
                    "alerts[{i}].status: missing, and the group has no status either"
                ));
            }
            Err(reason) => {
                return ctx.reject(format!(
                    "alerts[{i}].status: missing, and the group's {reason}"
                ));
            }
        },
    };
    let labels = alert.labels.unwrap_or_default();
    let name = match labels.get("alertname") {
        Some(name) if !name.is_empty() => name.clone(),
        given => match (group.source, group.rule_name()) {
            (Source::Grafana, Some((name, from))) => {
                notes.push(format!(
                    "the Grafana alert carries no alertname label; named {name:?} after the group's {from}"
                ));
                name.clone()
            }
            _ => {
                let what = if given.is_some() { "empty" } else { "missing" };
                return ctx.reject(format!("alerts[{i}].labels.alertname: {what}"));
            }
        },
    };
    let starts_at = match alert
        .starts_at
        .as_ref()
        .map(|s| parse_timestamp(s.as_str()))
    {
        Some(Ok(t)) if is_go_zero(t) => {
            notes.push(format!(
                "alerts[{i}].startsAt is Go's zero time ({}): the alert does not say when it started",
                alert.starts_at.as_ref().map_or("", Str::as_str)
            ));
            None
        }
        Some(Ok(t)) => Some(t),
        Some(Err(why)) => return ctx.reject(format!("alerts[{i}].startsAt: {why}")),
        None => return ctx.reject(format!("alerts[{i}].startsAt: missing")),
    };
    let fingerprint = match alert.fingerprint {
        Some(f) if !f.as_str().is_empty() => f.into_string(),
        _ => label_fingerprint(&labels),
    };
    Ok(Alert {
        source: group.source,
        name,
        status,
        fingerprint,
        starts_at,
        labels,
        annotations: alert.annotations.unwrap_or_default(),
        delivery: ctx.delivery(),
        actions_suppressed: None,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use crate::alert::{AlertStatus, Shape, Source, label_fingerprint};
    use crate::decode::{Decoded, decode};

    fn webhook(alerts: &[&str]) -> String {
        format!(
            r#"{{"receiver":"r","status":"firing","alerts":[{}],"groupLabels":{{}},
               "commonLabels":{{}},"commonAnnotations":null,"externalURL":"http://am",
               "version":"4","groupKey":"{{}}:{{}}"}}"#,
            alerts.join(",")
        )
    }

    fn alert(name: &str, status: &str, extra: &str) -> String {
        format!(
            r#"{{"status":"{status}","labels":{{"alertname":"{name}","namespace":"production","pod":"vote-1"}},
               "annotations":{{"summary":"s"}},"startsAt":"2024-05-01T10:00:00.123456789Z",
               "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p"{extra}}}"#
        )
    }

    fn reasons(items: &[Decoded]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| i.as_ref().err().map(|r| r.reason.clone()))
            .collect()
    }

    #[test]
    fn a_group_yields_one_alert_per_entry_in_order() {
        let body = webhook(&[
            &alert("KubePodCrashLooping", "firing", r#","fingerprint":"aaa""#),
            &alert("KubePodNotReady", "resolved", r#","fingerprint":"bbb""#),
        ]);
        let items = decode(body.as_bytes());
        assert_eq!(items.len(), 2);
        let a = items[0].as_ref().unwrap();
        let b = items[1].as_ref().unwrap();
        assert_eq!(
            (a.name.as_str(), a.status),
            ("KubePodCrashLooping", AlertStatus::Firing)
        );
        assert_eq!(
            (b.name.as_str(), b.status),
            ("KubePodNotReady", AlertStatus::Resolved)
        );
        assert_eq!((a.delivery.index, b.delivery.index), (0, 1));
        assert_eq!(a.fingerprint, "aaa");
        assert_eq!(a.source, Source::Alertmanager);
        assert_eq!(a.delivery.shape, Some(Shape::AlertmanagerWebhook));
        assert_eq!(a.labels["pod"], "vote-1");
        assert_eq!(a.annotations["summary"], "s");
    }

    #[test]
    fn missing_or_empty_fingerprint_falls_back_to_the_label_hash() {
        let body = webhook(&[
            &alert("A", "firing", ""),
            &alert("B", "firing", r#","fingerprint":"""#),
        ]);
        for item in decode(body.as_bytes()) {
            let a = item.unwrap();
            assert_eq!(a.fingerprint, label_fingerprint(&a.labels));
        }
    }

    #[test]
    fn an_unknown_status_rejects_that_alert_only() {
        let body = webhook(&[
            &alert("A", "firing", ""),
            &alert("B", "pending", ""),
            &alert("C", "resolved", ""),
        ]);
        let items = decode(body.as_bytes());
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[2].is_ok());
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[1].status: "pending" is neither "firing" nor "resolved""#
            ]
        );
        assert_eq!(items[1].as_ref().unwrap_err().delivery.index, 1);
    }

    #[test]
    fn an_alert_without_status_takes_the_group_status_and_says_so() {
        let body = webhook(&[
            &alert("A", "firing", ""),
            r#"{"labels":{"alertname":"B"},"startsAt":"2024-05-01T10:00:00Z"}"#,
        ]);
        let items = decode(body.as_bytes());
        assert_eq!(reasons(&items), Vec::<String>::new());
        let b = items[1].as_ref().unwrap();
        assert_eq!(b.status, AlertStatus::Firing);
        assert_eq!(
            b.notes,
            ["alerts[1] has no status of its own; it takes the group's status (firing)"]
        );
        assert!(items[0].as_ref().unwrap().notes.is_empty());
        let resolved = body.replace(
            r#""status":"firing","alerts""#,
            r#""status":"resolved","alerts""#,
        );
        let items = decode(resolved.as_bytes());
        assert_eq!(items[1].as_ref().unwrap().status, AlertStatus::Resolved);
    }

    #[test]
    fn without_a_status_of_its_own_or_of_the_group_an_alert_is_rejected_alone() {
        let lone = r#"{"labels":{"alertname":"B"},"startsAt":"2024-05-01T10:00:00Z"}"#;
        let body = format!(
            r#"{{"version":"4","alerts":[{},{lone}]}}"#,
            alert("A", "firing", "")
        );
        let items = decode(body.as_bytes());
        assert!(items[0].is_ok());
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[1].status: missing, and the group has no status either"#
            ]
        );
        let body = format!(r#"{{"version":"4","status":"pending","alerts":[{lone}]}}"#);
        assert_eq!(
            reasons(&decode(body.as_bytes())),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[0].status: missing, and the group's status: "pending" is neither "firing" nor "resolved""#
            ]
        );
    }

    fn grafana(alerts: &str, group: &str) -> String {
        format!(
            r#"{{"receiver":"r","status":"firing","orgId":1,"version":"1","state":"alerting",{group}"alerts":[{alerts}]}}"#
        )
    }

    const NAMELESS: &str = r#"{"status":"firing","labels":{"grafana_folder":"device","debug":"true"},"startsAt":"2024-03-01T02:09:00Z","fingerprint":"e6"}"#;

    #[test]
    fn a_grafana_alert_without_alertname_is_named_after_its_rule_and_the_record_says_so() {
        let body = grafana(
            &format!(
                r#"{NAMELESS},{{"status":"firing","labels":{{"alertname":"Disk"}},"startsAt":"2024-03-01T02:09:00Z"}}"#
            ),
            r#""groupLabels":{"grafana_folder":"device"},"commonLabels":{"alertname":"Memory (copy)","grafana_folder":"device"},"title":"[FIRING:1] Memory (copy) device","#,
        );
        let items = decode(body.as_bytes());
        assert_eq!(reasons(&items), Vec::<String>::new());
        let a = items[0].as_ref().unwrap();
        assert_eq!(a.source, Source::Grafana);
        assert_eq!(a.name, "Memory (copy)");
        assert!(!a.labels.contains_key("alertname"));
        assert_eq!(a.fingerprint, "e6");
        assert_eq!(
            a.notes,
            [
                r#"the Grafana alert carries no alertname label; named "Memory (copy)" after the group's commonLabels.alertname"#
            ]
        );
        assert_eq!(items[1].as_ref().unwrap().name, "Disk");
    }

    #[test]
    fn a_grafana_rule_name_comes_from_the_group_labels_else_the_title() {
        let by_group = grafana(
            NAMELESS,
            r#""groupLabels":{"alertname":"Memory"},"title":"t","#,
        );
        let a = decode(by_group.as_bytes()).remove(0).unwrap();
        assert_eq!(a.name, "Memory");
        assert!(
            a.notes[0].ends_with("groupLabels.alertname"),
            "{:?}",
            a.notes
        );
        let by_title = grafana(
            NAMELESS,
            r#""commonLabels":{},"title":" [FIRING:1] Memory device ","#,
        );
        let a = decode(by_title.as_bytes()).remove(0).unwrap();
        assert_eq!(a.name, "[FIRING:1] Memory device");
        assert!(a.notes[0].ends_with("title"), "{:?}", a.notes);
        let nothing = grafana(NAMELESS, "");
        assert_eq!(
            reasons(&decode(nothing.as_bytes())),
            [r#"looked like a Grafana webhook (version "1"): alerts[0].labels.alertname: missing"#]
        );
    }

    #[test]
    fn an_alertmanager_alert_without_alertname_is_not_named_from_its_group() {
        let body = webhook(&[
            &alert("A", "firing", ""),
            r#"{"status":"firing","labels":{"job":"x"},"startsAt":"2024-05-01T10:00:00Z"}"#,
        ])
        .replace(
            r#""commonLabels":{}"#,
            r#""commonLabels":{"alertname":"A"}"#,
        );
        let items = decode(body.as_bytes());
        assert!(items[0].is_ok());
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[1].labels.alertname: missing"#
            ]
        );
    }

    #[test]
    fn go_zero_time_as_start_is_no_start_and_the_record_says_so() {
        let body = webhook(&[&alert("A", "firing", "")
            .replace("2024-05-01T10:00:00.123456789Z", "0001-01-01T00:00:00Z")]);
        let a = decode(body.as_bytes()).remove(0).unwrap();
        assert_eq!(a.starts_at, None);
        assert_eq!(
            a.notes,
            [
                "alerts[0].startsAt is Go's zero time (0001-01-01T00:00:00Z): the alert does not say when it started"
            ]
        );
        assert_eq!(
            a.instance_key(),
            format!("alertmanager:{}:unknown", a.fingerprint)
        );
    }

    #[test]
    fn a_missing_alertname_is_named_by_its_path() {
        let body = webhook(&[
            r#"{"status":"firing","labels":{"job":"x"},"startsAt":"2024-05-01T10:00:00Z"}"#,
        ]);
        assert_eq!(
            reasons(&decode(body.as_bytes())),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[0].labels.alertname: missing"#
            ]
        );
    }

    #[test]
    fn a_bad_start_time_is_named_by_its_path() {
        let body = webhook(&[
            &alert("A", "firing", "").replace("2024-05-01T10:00:00.123456789Z", "last tuesday")
        ]);
        let reasons = reasons(&decode(body.as_bytes()));
        assert!(
            reasons[0].starts_with(
                r#"looked like an Alertmanager webhook (version "4"): alerts[0].startsAt: not a timestamp: "last tuesday""#
            ),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_wrong_type_deep_inside_one_alert_rejects_that_alert_with_its_path() {
        let body = webhook(&[
            &alert("A", "firing", ""),
            r#"{"status":"firing","labels":{"alertname":"B","replicas":3},"startsAt":"2024-05-01T10:00:00Z"}"#,
        ]);
        let items = decode(body.as_bytes());
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts[1].labels.replicas: invalid type: integer `3`, expected a string"#
            ]
        );
    }

    #[test]
    fn a_truncated_webhook_names_the_field_it_broke_in() {
        let body = webhook(&[&alert("A", "firing", ""), &alert("B", "firing", "")]);
        // Cut inside the second alert's startsAt value.
        let second = body.match_indices(r#""startsAt":"2024"#).nth(1).unwrap().0;
        let items = decode(&body.as_bytes()[..second + 16]);
        assert_eq!(
            reasons(&items),
            ["looked like an Alertmanager webhook: alerts[1].startsAt: premature end of input"]
        );
        assert_eq!(
            items[0].as_ref().unwrap_err().shape,
            Some(Shape::AlertmanagerWebhook)
        );
    }

    #[test]
    fn alerts_that_are_not_an_array_are_rejected() {
        let items = decode(br#"{"version":"4","alerts":{"a":1}}"#);
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts: invalid type: map, expected a sequence"#
            ]
        );
    }

    #[test]
    fn an_empty_group_is_one_rejection() {
        let items = decode(br#"{"version":"4","alerts":[]}"#);
        assert_eq!(
            reasons(&items),
            [
                r#"looked like an Alertmanager webhook (version "4"): alerts: empty, the group holds no alert"#
            ]
        );
    }

    #[test]
    fn null_labels_annotations_and_common_annotations_are_accepted() {
        let body = webhook(&[
            r#"{"status":"firing","labels":{"alertname":"A"},"annotations":null,"startsAt":"2024-05-01T10:00:00Z"}"#,
        ]);
        let a = decode(body.as_bytes()).remove(0).unwrap();
        assert!(a.annotations.is_empty());
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let body = webhook(&[
            r#"{"status":"firing","labels":{"alertname":"A\u00e9\"q"},"startsAt":"2024-05-01T10:00:00Z","fingerprint":"f\/1"}"#,
        ]);
        let a = decode(body.as_bytes()).remove(0).unwrap();
        assert_eq!(a.name, "Aé\"q");
        assert_eq!(a.fingerprint, "f/1");
    }

    #[test]
    fn grafana_is_told_from_alertmanager_by_org_id_and_version() {
        let body = r#"{"receiver":"r","status":"firing","orgId":1,"version":"1","state":"alerting",
            "alerts":[{"status":"firing","labels":{"alertname":"G"},"startsAt":"2021-10-12T09:51:03.157076+02:00",
            "fingerprint":"c6","values":{"B":44.2,"C":1},"silenceURL":"x","dashboardURL":"","panelURL":""}]}"#;
        let a = decode(body.as_bytes()).remove(0).unwrap();
        assert_eq!(a.source, Source::Grafana);
        assert_eq!(a.delivery.shape, Some(Shape::GrafanaWebhook));
    }
}
