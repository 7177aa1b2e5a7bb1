//! The first pass: read the top-level keys of a JSON object and tell which shape it is.
//!
//! Every value is kept as a raw, unparsed slice of the input (`&RawValue`), so the pass
//! costs one scan and no allocation beyond a few key names. It is a hand-written visitor
//! rather than a derived struct for one reason: it writes each key into [`Top`] as it goes,
//! so when the input breaks off half-way the keys read so far still tell what the payload
//! looked like (`looked like an Alertmanager webhook: alerts[2].startsAt: premature end of
//! input` rather than a bare "EOF while parsing").

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::json::Str;

/// How many key names an "unrecognized payload" reason lists.
const LISTED_KEYS: usize = 10;

/// The top-level values the decoders read, kept raw. Other keys only count as seen (which
/// is all that `orgId`, `state` and `AlarmName` are needed for) or are skipped.
#[derive(Debug, Default)]
pub(crate) struct Top<'a> {
    /// Lambda SNS event.
    pub records: Option<&'a RawValue>,
    /// SNS envelope fields (HTTP subscriber body).
    pub sns_type: Option<&'a RawValue>,
    pub message_id: Option<&'a RawValue>,
    pub topic_arn: Option<&'a RawValue>,
    pub message: Option<&'a RawValue>,
    /// When it was sent: the SNS envelope's `Timestamp`.
    pub timestamp: Option<&'a RawValue>,
    /// When it was sent: an EventBridge or alarm-action event's `time`.
    pub time: Option<&'a RawValue>,
    /// CloudWatch alarm action / EventBridge.
    pub alarm_arn: Option<&'a RawValue>,
    pub region: Option<&'a RawValue>,
    pub resources: Option<&'a RawValue>,
    pub alarm_data: Option<&'a RawValue>,
    pub detail_type: Option<&'a RawValue>,
    pub detail: Option<&'a RawValue>,
    /// Alertmanager / Grafana webhook.
    pub alerts: Option<&'a RawValue>,
    pub version: Option<&'a RawValue>,
    /// The group's own fields, which an alert that leaves something out takes from.
    pub status: Option<&'a RawValue>,
    pub common_labels: Option<&'a RawValue>,
    pub group_labels: Option<&'a RawValue>,
    pub title: Option<&'a RawValue>,
    /// The account of a CloudWatch alarm action (`accountId`) or EventBridge event
    /// (`account`).
    pub account_id: Option<&'a RawValue>,
    pub account: Option<&'a RawValue>,
    /// Keys whose value was being read when the input broke off count as seen.
    seen: Seen,
    /// The first few key names, in payload order, for "unrecognized payload" reasons.
    pub keys: Vec<Cow<'a, str>>,
    /// How many keys the object had (or had before the input broke off).
    pub key_count: usize,
}

/// Key presence, recorded before the value is read.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    records: bool,
    message: bool,
    sns: bool,
    alarm_data: bool,
    detail: bool,
    alerts: bool,
    grafana: bool,
    alarm_name: bool,
    legacy_grafana: bool,
}

/// What the first pass made of the bytes.
#[derive(Debug)]
pub(crate) enum Scan<'a> {
    /// A complete JSON object.
    Object(Top<'a>),
    /// A JSON object that broke off or went wrong after some keys were read.
    Broken(Top<'a>, serde_json::Error),
    /// Valid JSON, but not an object (`"array"`, `"string"`, ...).
    NotObject(&'static str),
    /// Not JSON at all.
    NotJson(serde_json::Error),
    /// Nothing but whitespace.
    Empty,
}

/// The shape [`Top`] shows. `Webhook` covers both Alertmanager and Grafana.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    SnsLambda,
    SnsHttp,
    AlarmAction,
    EventBridge,
    Webhook,
    AlarmMessage,
    Unknown,
}

impl<'a> Top<'a> {
    /// Decides the shape from the keys present. Order matters only for payloads that carry
    /// the keys of two shapes, which no real sender produces.
    pub(crate) fn kind(&self) -> Kind {
        let s = self.seen;
        if s.records {
            Kind::SnsLambda
        } else if s.message && s.sns {
            Kind::SnsHttp
        } else if s.alarm_data {
            Kind::AlarmAction
        } else if s.detail {
            Kind::EventBridge
        } else if s.alerts {
            Kind::Webhook
        } else if s.alarm_name {
            Kind::AlarmMessage
        } else {
            Kind::Unknown
        }
    }

    /// Grafana's legacy (pre-unified) alerting webhook: `ruleName`, `evalMatches`, no labels.
    pub(crate) fn is_legacy_grafana(&self) -> bool {
        self.seen.legacy_grafana
    }

    /// A Grafana webhook is an Alertmanager webhook plus `orgId`, `state`, and version "1".
    pub(crate) fn is_grafana(&self) -> bool {
        self.seen.grafana || self.version_text().as_deref() == Some("1")
    }

    /// The webhook `version`, as text (`4` for `"4"`), when present and a string or number.
    pub(crate) fn version_text(&self) -> Option<String> {
        let raw = self.version?;
        match serde_json::from_str::<Str<'_>>(raw.get()) {
            Ok(s) => Some(s.into_string()),
            Err(_) => serde_json::from_str::<serde_json::Number>(raw.get())
                .ok()
                .map(|n| n.to_string()),
        }
    }

    /// `"[a, b, c, ... (12 more)]"`: the keys an unrecognized payload had.
    pub(crate) fn listed_keys(&self) -> String {
        let mut text = String::from("[");
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let shown: String = key.chars().take(40).collect();
            text.push_str(&shown);
        }
        if self.key_count > self.keys.len() {
            text.push_str(&format!(
                ", ... ({} more)",
                self.key_count - self.keys.len()
            ));
        }
        text.push(']');
        text
    }

    fn record(&mut self, key: &str) {
        let s = &mut self.seen;
        match key {
            "Records" => s.records = true,
            "Message" => s.message = true,
            "Type" | "MessageId" | "TopicArn" => s.sns = true,
            "alarmData" => s.alarm_data = true,
            "detail" | "detail-type" => s.detail = true,
            "alerts" => s.alerts = true,
            "orgId" | "state" => s.grafana = true,
            "AlarmName" | "NewStateValue" => s.alarm_name = true,
            "evalMatches" => s.legacy_grafana = true,
            _ => {}
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut Option<&'a RawValue>> {
        Some(match key {
            "Records" => &mut self.records,
            "Type" => &mut self.sns_type,
            "MessageId" => &mut self.message_id,
            "TopicArn" => &mut self.topic_arn,
            "Message" => &mut self.message,
            "Timestamp" => &mut self.timestamp,
            "time" => &mut self.time,
            "alarmArn" => &mut self.alarm_arn,
            "region" => &mut self.region,
            "resources" => &mut self.resources,
            "alarmData" => &mut self.alarm_data,
            "detail-type" => &mut self.detail_type,
            "detail" => &mut self.detail,
            "alerts" => &mut self.alerts,
            "version" => &mut self.version,
            "status" => &mut self.status,
            "commonLabels" => &mut self.common_labels,
            "groupLabels" => &mut self.group_labels,
            "title" => &mut self.title,
            "accountId" => &mut self.account_id,
            "account" => &mut self.account,
            _ => return None,
        })
    }
}

/// Reads `bytes` as one JSON value and, when it is an object, its top-level keys.
pub(crate) fn scan(bytes: &[u8]) -> Scan<'_> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Scan::Empty;
    }
    let mut top = Top::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = TopSeed { top: &mut top }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match result {
        Ok(()) => Scan::Object(top),
        // An object that broke off or went wrong: the keys read so far may still tell.
        Err(e) if first_byte(bytes) == Some(b'{') => Scan::Broken(top, e),
        Err(e) => match (e.classify(), first_byte(bytes)) {
            (serde_json::error::Category::Data, Some(b)) => {
                match serde_json::from_slice::<IgnoredAny>(bytes) {
                    Ok(_) => Scan::NotObject(json_type(b)),
                    Err(e) => Scan::NotJson(e),
                }
            }
            _ => Scan::NotJson(e),
        },
    }
}

fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn json_type(first: u8) -> &'static str {
    match first {
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

/// Fills a borrowed [`Top`] key by key; see the module header for why it is a seed.
struct TopSeed<'t, 'a> {
    top: &'t mut Top<'a>,
}

impl<'de, 't> DeserializeSeed<'de> for TopSeed<'t, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 't> Visitor<'de> for TopSeed<'t, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = key.0;
            self.top.key_count += 1;
            self.top.record(&key);
            if self.top.keys.len() < LISTED_KEYS {
                self.top.keys.push(key.clone());
            }
            match self.top.slot(&key) {
                Some(slot) => {
                    let raw: &'de RawValue = map.next_value()?;
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    *slot = Some(raw);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(json: &str) -> Kind {
        match scan(json.as_bytes()) {
            Scan::Object(top) | Scan::Broken(top, _) => top.kind(),
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn each_shape_is_told_by_its_keys() {
        assert_eq!(kind(r#"{"Records":[]}"#), Kind::SnsLambda);
        assert_eq!(
            kind(r#"{"Type":"Notification","Message":"x"}"#),
            Kind::SnsHttp
        );
        assert_eq!(
            kind(r#"{"source":"aws.cloudwatch","alarmData":{}}"#),
            Kind::AlarmAction
        );
        assert_eq!(
            kind(r#"{"detail-type":"x","detail":{}}"#),
            Kind::EventBridge
        );
        assert_eq!(kind(r#"{"version":"4","alerts":[]}"#), Kind::Webhook);
        assert_eq!(kind(r#"{"AlarmName":"a"}"#), Kind::AlarmMessage);
        assert_eq!(kind(r#"{"hello":1}"#), Kind::Unknown);
    }

    #[test]
    fn keys_read_before_the_input_broke_off_still_tell_the_shape() {
        match scan(br#"{"receiver":"x","alerts":[{"labels":{"a"#) {
            Scan::Broken(top, e) => {
                assert_eq!(top.kind(), Kind::Webhook);
                assert!(e.is_eof());
            }
            other => panic!("expected a broken object, got {other:?}"),
        }
    }

    #[test]
    fn grafana_is_told_by_version_one_or_its_extra_keys() {
        let Scan::Object(top) = scan(br#"{"version":"1","alerts":[]}"#) else {
            panic!("object expected")
        };
        assert!(top.is_grafana());
        let Scan::Object(top) = scan(br#"{"version":"4","alerts":[]}"#) else {
            panic!("object expected")
        };
        assert!(!top.is_grafana());
        assert_eq!(top.version_text().as_deref(), Some("4"));
    }

    #[test]
    fn non_objects_and_non_json_are_told_apart() {
        assert!(matches!(scan(b"[1,2]"), Scan::NotObject("an array")));
        assert!(matches!(scan(b"\"x\""), Scan::NotObject("a string")));
        assert!(matches!(scan(b"hello"), Scan::NotJson(_)));
        assert!(matches!(scan(b"[1,"), Scan::NotJson(_)));
        assert!(matches!(scan(b"  \n"), Scan::Empty));
    }

    #[test]
    fn duplicate_shape_keys_are_refused() {
        assert!(matches!(
            scan(br#"{"alerts":[],"alerts":[]}"#),
            Scan::Broken(_, _)
        ));
    }

    #[test]
    fn listed_keys_are_capped() {
        let json: String = format!(
            "{{{}}}",
            (0..15)
                .map(|i| format!("\"k{i}\":0"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let Scan::Object(top) = scan(json.as_bytes()) else {
            panic!("object expected")
        };
        assert_eq!(
            top.listed_keys(),
            "[k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, ... (5 more)]"
        );
    }
}
