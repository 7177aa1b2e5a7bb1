//! JSON helpers shared by every shape: borrowed strings, and typed parsing that names the
//! failing field.
//!
//! Parsing runs twice only when it fails: the first attempt is plain `serde_json` (fast, no
//! bookkeeping); when it errs, the same input is parsed again under `serde_path_to_error`,
//! which allocates every key it passes but yields the path (`alerts[2].startsAt`) that the
//! rejection reason names.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;

/// A JSON string that borrows from the input when it holds no escapes.
///
/// `Option<Cow<'a, str>>` always allocates under serde's derive; this newtype does not.
/// Wire structs that hold it say `#[serde(bound(deserialize = "'de: 'a"))]` once instead
/// of `#[serde(borrow)]` on every field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'a> Str<'a> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;

        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(StrVisitor)
    }
}

/// Parses `json` as `T`; on failure returns `"<prefix><path>: <what went wrong>"`.
///
/// `prefix` is the path of `json` inside the payload (`""` for the whole payload,
/// `"alerts"` for the alerts array), so the reason always names the field from the
/// payload's root.
pub(crate) fn typed<'de, T: Deserialize<'de>>(json: &'de str, prefix: &str) -> Result<T, String> {
    match serde_json::from_str::<T>(json) {
        Ok(value) => Ok(value),
        Err(first) => Err(explain::<T>(json.as_bytes(), prefix, &first)),
    }
}

/// Reads an optional top-level string field kept raw by the first pass (`null` is absent).
pub(crate) fn optional_str<'a>(
    raw: Option<&'a RawValue>,
    field: &str,
) -> Result<Option<Str<'a>>, String> {
    match raw {
        Some(raw) => typed::<Option<Str<'a>>>(raw.get(), field),
        None => Ok(None),
    }
}

/// The reason for a failed parse of `json` as `T`: re-parses with path tracking.
pub(crate) fn explain<'de, T: Deserialize<'de>>(
    json: &'de [u8],
    prefix: &str,
    first: &serde_json::Error,
) -> String {
    let mut de = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            // `?` is a key the input broke off inside: the path up to it says enough.
            let path = e.path().to_string();
            let path = path.strip_suffix(".?").unwrap_or(&path);
            let path = if path == "?" { "." } else { path };
            format!("{}: {}", join_path(prefix, path), describe_error(e.inner()))
        }
        // Trailing garbage is only seen after the value; it belongs to the root. The last
        // arm cannot happen (same input, same type) but a reason must never be lost.
        Ok(_) => match de.end() {
            Err(e) => format!("{}: {}", join_path(prefix, "."), describe_error(&e)),
            Ok(()) => format!("{}: {}", join_path(prefix, "."), describe_error(first)),
        },
    }
}

/// Joins a payload prefix and a `serde_path_to_error` path (`.` is its root).
pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path) {
        (true, ".") => "(top level)".to_owned(),
        (false, ".") => prefix.to_owned(),
        (true, _) => path.to_owned(),
        (false, p) if p.starts_with('[') => format!("{prefix}{p}"),
        (false, p) => format!("{prefix}.{p}"),
    }
}

/// A serde_json error for people: end of input said plainly, positions dropped (the path
/// locates the problem, and a position inside an embedded document would mislead).
pub(crate) fn describe_error(e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "premature end of input".to_owned();
    }
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) if e.line() > 0 => text.get(..cut).unwrap_or(&text).to_owned(),
        _ => text,
    }
}

/// A payload excerpt for a reason: at most `max` characters, quoted, with an ellipsis.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head:?}...")
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_borrows_plain_strings_and_owns_escaped_ones() {
        let plain: Str<'_> = serde_json::from_str(r#""abc""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("abc")));
        let escaped: Str<'_> = serde_json::from_str(r#""a\"c""#).unwrap();
        assert_eq!(escaped.as_str(), "a\"c");
    }

    #[test]
    fn typed_names_the_failing_field_from_the_payload_root() {
        #[derive(serde::Deserialize, Debug)]
        struct Inner {
            #[allow(dead_code)] // read only by serde
            n: u32,
        }
        let err = typed::<Vec<Inner>>(r#"[{"n":1},{"n":"x"}]"#, "alerts").unwrap_err();
        assert_eq!(
            err,
            r#"alerts[1].n: invalid type: string "x", expected u32"#
        );
        let err = typed::<Vec<Inner>>(r#"[{"n":1},{"n":"#, "alerts").unwrap_err();
        assert_eq!(err, "alerts[1].n: premature end of input");
    }

    #[test]
    fn a_key_cut_short_is_left_out_of_the_path() {
        #[derive(serde::Deserialize, Debug)]
        struct Outer {
            #[allow(dead_code)] // read only by serde
            inner: std::collections::BTreeMap<String, String>,
        }
        let err = typed::<Outer>(r#"{"inner":{"a":"b","ke"#, "").unwrap_err();
        assert_eq!(err, "inner: premature end of input");
    }

    #[test]
    fn join_path_handles_roots_and_indices() {
        assert_eq!(join_path("", "."), "(top level)");
        assert_eq!(join_path("alerts", "."), "alerts");
        assert_eq!(join_path("alerts", "[0].x"), "alerts[0].x");
        assert_eq!(join_path("Records[0]", "Sns"), "Records[0].Sns");
        assert_eq!(join_path("", "Sns.Message"), "Sns.Message");
    }

    #[test]
    fn excerpt_caps_long_text() {
        assert_eq!(excerpt("abcdef", 3), "\"abc\"...");
        assert_eq!(excerpt("ab", 3), "\"ab\"");
    }
}
