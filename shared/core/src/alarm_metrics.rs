//! What a CloudWatch alarm watches, as the labels of its alert: one reading for every
//! decoder (the SNS notification, the alarm action, the EventBridge event) and for the
//! alarm re-check against DescribeAlarms, so the two always agree.
//!
//! The one decision to know: `metric_name` and `metric_namespace` name the metric the
//! alarm compares with its threshold, and only that. A single-metric alarm has one; so has
//! an anomaly-band alarm (its band, `ANOMALY_DETECTION_BAND(m1)` or the query
//! `ThresholdMetricId` names, is the threshold, not what is watched). A metric-math alarm
//! compares an expression (`100*m1/m2`), not a metric: it gets no `metric_name` or
//! `metric_namespace` at all, so a rule written for one metric can never match a ratio of
//! it, and instead
//!
//! - `metric_expression`: the expression the alarm compares;
//! - `query_<Id>` for every query: its expression, or `NAMESPACE NAME Dim=value ...` for a
//!   metric (dimensions sorted by name; characters of the Id other than letters, digits
//!   and `_` written `_`);
//! - a dimension under its own name only when every metric of the alarm that names it
//!   agrees on its value (otherwise it is only in the queries).
//!
//! Labels are a sorted map, so the same alarm always gives the same labels.

use std::collections::BTreeMap;

use crate::alert::Labels;

/// The label naming the watched metric.
pub const METRIC_NAME: &str = "metric_name";
/// The label naming the watched metric's namespace.
pub const METRIC_NAMESPACE: &str = "metric_namespace";
/// The label holding a metric-math alarm's expression.
pub const METRIC_EXPRESSION: &str = "metric_expression";
/// The prefix of a metric-math alarm's per-query labels (`query_m1`).
pub const QUERY_PREFIX: &str = "query_";

/// One metric: namespace, name and dimensions, as the payload gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metric {
    /// `Namespace` (`AWS/EC2`, `ContainerInsights`).
    pub namespace: Option<String>,
    /// `MetricName`.
    pub name: Option<String>,
    /// Dimensions, in payload order (the first of a repeated name counts).
    pub dimensions: Vec<(String, String)>,
}

/// One query of an alarm's `Metrics` list: a metric or an expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `Id` (`m1`, `e1`).
    pub id: Option<String>,
    /// `Expression`, for an expression query.
    pub expression: Option<String>,
    /// `MetricStat.Metric`, for a metric query.
    pub metric: Option<Metric>,
    /// `ReturnData`; absent means true, as in the API.
    pub return_data: Option<bool>,
}

/// What an alarm watches: one metric (`Trigger.MetricName` and its dimensions), or a list
/// of queries (metric math, anomaly band; they win when a payload gives both), or nothing
/// (a composite alarm).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watched {
    /// The single metric of a classic metric alarm.
    pub metric: Option<Metric>,
    /// The queries of a metric-math or anomaly-band alarm.
    pub queries: Vec<Query>,
    /// `ThresholdMetricId`: the query that is the threshold (an anomaly band).
    pub threshold_id: Option<String>,
}

/// What the alarm compares with its threshold.
enum Compared<'a> {
    /// Nothing (a composite alarm).
    Nothing,
    /// One metric.
    Metric(&'a Metric),
    /// Metric math: the expression, when one query tells which.
    Math(Option<&'a str>),
}

impl Watched {
    /// The alert labels of what the alarm watches (see the module header).
    pub fn labels(&self) -> Labels {
        match self.compared() {
            Compared::Nothing => Labels::new(),
            Compared::Metric(metric) => single(metric),
            Compared::Math(expression) => self.math(expression),
        }
    }

    /// For a metric-math alarm, a sentence saying why its alert has no `metric_name`.
    pub fn note(&self) -> Option<String> {
        let Compared::Math(expression) = self.compared() else {
            return None;
        };
        let what = match expression {
            Some(e) => format!("compares the expression {e:?}"),
            None => "does not say which of its queries it compares".to_owned(),
        };
        Some(format!(
            "metric-math alarm: it {what}, not one metric, so it has no metric_name or metric_namespace label and no rule written for a single metric matches it; its queries are the {QUERY_PREFIX}* labels"
        ))
    }

    fn compared(&self) -> Compared<'_> {
        if self.queries.is_empty() {
            return self
                .metric
                .as_ref()
                .map_or(Compared::Nothing, Compared::Metric);
        }
        let metrics = self.queries.iter().filter(|q| q.metric.is_some()).count();
        let evaluated: Vec<&Query> = self
            .queries
            .iter()
            .filter(|q| q.return_data.unwrap_or(true) && !self.is_threshold(q))
            .collect();
        match evaluated.as_slice() {
            [
                Query {
                    metric: Some(metric),
                    ..
                },
            ] if metrics == 1 => Compared::Metric(metric),
            [query] => Compared::Math(query.expression.as_deref()),
            _ => Compared::Math(None),
        }
    }

    /// An anomaly band: the query `ThresholdMetricId` names, or an
    /// `ANOMALY_DETECTION_BAND(...)` expression (events carry no `ThresholdMetricId`).
    fn is_threshold(&self, query: &Query) -> bool {
        let named = self.threshold_id.is_some() && query.id == self.threshold_id;
        let band = query.expression.as_deref().is_some_and(|e| {
            e.trim_start()
                .to_ascii_uppercase()
                .starts_with("ANOMALY_DETECTION_BAND")
        });
        named || band
    }

    fn math(&self, expression: Option<&str>) -> Labels {
        let mut labels = Labels::new();
        // A dimension is the alert's only when no metric of the alarm says otherwise.
        let mut agreed: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for metric in self.queries.iter().filter_map(|q| q.metric.as_ref()) {
            let mut seen = Vec::new();
            for (name, value) in &metric.dimensions {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                agreed
                    .entry(name.as_str())
                    .and_modify(|v| {
                        if *v != Some(value.as_str()) {
                            *v = None;
                        }
                    })
                    .or_insert(Some(value.as_str()));
            }
        }
        for (name, value) in agreed {
            if let Some(value) = value {
                labels.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(expression) = expression {
            labels.insert(METRIC_EXPRESSION.to_owned(), expression.to_owned());
        }
        for (i, query) in self.queries.iter().enumerate() {
            let id = query.id.clone().unwrap_or_else(|| i.to_string());
            let key = format!("{QUERY_PREFIX}{}", label_safe(&id));
            let value = match (&query.expression, &query.metric) {
                (Some(expression), _) => expression.clone(),
                (None, Some(metric)) => spell(metric),
                (None, None) => continue,
            };
            labels.entry(key).or_insert(value);
        }
        labels
    }
}

/// A single metric's labels: its dimensions under their own names, its name and namespace.
fn single(metric: &Metric) -> Labels {
    let mut labels = Labels::new();
    for (name, value) in &metric.dimensions {
        labels.entry(name.clone()).or_insert_with(|| value.clone());
    }
    for (key, value) in [
        (METRIC_NAME, &metric.name),
        (METRIC_NAMESPACE, &metric.namespace),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            labels.insert(key.to_owned(), v.clone());
        }
    }
    labels
}

/// `NAMESPACE NAME Dim=value ...`, dimensions sorted by name.
fn spell(metric: &Metric) -> String {
    let mut dimensions: Vec<_> = metric.dimensions.iter().collect();
    dimensions.sort();
    dimensions.dedup_by(|a, b| a.0 == b.0);
    let mut parts: Vec<String> = [&metric.namespace, &metric.name]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect();
    parts.extend(dimensions.iter().map(|(k, v)| format!("{k}={v}")));
    parts.join(" ")
}

/// A query Id as a label name: letters, digits and `_`, anything else `_`.
fn label_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> Metric {
        Metric {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            dimensions: dimensions
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    fn query(id: &str, returns: bool) -> Query {
        Query {
            id: Some(id.into()),
            return_data: Some(returns),
            ..Query::default()
        }
    }

    fn expression(id: &str, e: &str) -> Query {
        Query {
            expression: Some(e.into()),
            ..query(id, true)
        }
    }

    fn of(id: &str, m: Metric, returns: bool) -> Query {
        Query {
            metric: Some(m),
            ..query(id, returns)
        }
    }

    fn restarts(pod: &str) -> Metric {
        metric(
            "ContainerInsights",
            "pod_number_of_container_restarts",
            &[("Namespace", "production"), ("PodName", pod)],
        )
    }

    #[test]
    fn a_single_metric_names_itself_and_its_dimensions() {
        let w = Watched {
            metric: Some(restarts("vote")),
            ..Watched::default()
        };
        let labels = w.labels();
        assert_eq!(labels[METRIC_NAME], "pod_number_of_container_restarts");
        assert_eq!(labels[METRIC_NAMESPACE], "ContainerInsights");
        assert_eq!(labels["PodName"], "vote");
        assert_eq!(labels.len(), 4);
        assert_eq!(w.note(), None);
    }

    #[test]
    fn a_ratio_of_metrics_has_no_metric_name_but_its_expression_and_every_query() {
        let running = metric(
            "ContainerInsights",
            "pod_number_of_running_containers",
            &[("PodName", "vote"), ("Namespace", "production")],
        );
        let w = Watched {
            queries: vec![
                expression("e1", "100*m1/m2"),
                of("m1", restarts("vote"), false),
                of("m2", running, false),
            ],
            ..Watched::default()
        };
        let labels = w.labels();
        assert!(!labels.contains_key(METRIC_NAME), "{labels:?}");
        assert!(!labels.contains_key(METRIC_NAMESPACE), "{labels:?}");
        assert_eq!(labels[METRIC_EXPRESSION], "100*m1/m2");
        assert_eq!(labels["query_e1"], "100*m1/m2");
        assert_eq!(
            labels["query_m1"],
            "ContainerInsights pod_number_of_container_restarts Namespace=production PodName=vote"
        );
        assert_eq!(
            labels["query_m2"],
            "ContainerInsights pod_number_of_running_containers Namespace=production PodName=vote"
        );
        assert_eq!(labels["PodName"], "vote");
        assert_eq!(labels["Namespace"], "production");
        assert!(w.note().unwrap().contains("\"100*m1/m2\""));
    }

    #[test]
    fn a_dimension_the_metrics_disagree_on_is_only_in_the_queries() {
        let w = Watched {
            queries: vec![
                expression("e1", "m1+m2"),
                of("m1", restarts("vote"), false),
                of("m2", restarts("result"), false),
            ],
            ..Watched::default()
        };
        let labels = w.labels();
        assert!(!labels.contains_key("PodName"), "{labels:?}");
        assert_eq!(labels["Namespace"], "production");
        assert!(labels["query_m2"].ends_with("PodName=result"));
    }

    #[test]
    fn an_anomaly_band_is_the_threshold_and_the_metric_is_what_is_watched() {
        for threshold_id in [Some("ad1".to_owned()), None] {
            let w = Watched {
                queries: vec![
                    of("m1", restarts("vote"), true),
                    expression("ad1", "ANOMALY_DETECTION_BAND(m1, 2)"),
                ],
                threshold_id: threshold_id.clone(),
                ..Watched::default()
            };
            let labels = w.labels();
            assert_eq!(
                labels[METRIC_NAME], "pod_number_of_container_restarts",
                "{threshold_id:?}"
            );
            assert_eq!(labels.len(), 4, "{labels:?}");
        }
    }

    #[test]
    fn one_metric_through_an_expression_is_metric_math_too() {
        let w = Watched {
            queries: vec![expression("e1", "m1*1"), of("m1", restarts("vote"), false)],
            ..Watched::default()
        };
        let labels = w.labels();
        assert!(!labels.contains_key(METRIC_NAME));
        assert_eq!(labels[METRIC_EXPRESSION], "m1*1");
        assert_eq!(labels["PodName"], "vote");
    }

    #[test]
    fn queries_that_do_not_say_which_is_compared_give_no_expression() {
        let w = Watched {
            queries: vec![
                of("m1", restarts("vote"), true),
                of("m2", restarts("vote"), true),
            ],
            ..Watched::default()
        };
        let labels = w.labels();
        assert!(!labels.contains_key(METRIC_NAME));
        assert!(!labels.contains_key(METRIC_EXPRESSION));
        assert!(w.note().unwrap().contains("does not say"));
    }

    #[test]
    fn query_ids_become_label_names_and_a_composite_watches_nothing() {
        let w = Watched {
            queries: vec![expression("e-1", "m1"), of("m.1", restarts("vote"), false)],
            ..Watched::default()
        };
        let labels = w.labels();
        assert!(labels.contains_key("query_e_1") && labels.contains_key("query_m_1"));
        assert!(Watched::default().labels().is_empty());
    }
}
