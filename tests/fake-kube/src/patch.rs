//! The three patch types a client can send, applied to an object's JSON.
//!
//! JSON patch (RFC 6902) and merge patch (RFC 7386) are exact, through the `json-patch`
//! crate. Strategic merge patch is applied as a merge patch: the two agree on every field
//! reflex touches (`metadata.annotations`, `spec.unschedulable`,
//! `spec.template.metadata.annotations`) and differ only on lists merged by key, such as
//! containers. A strategic patch that uses `$patch`-style directives, whose meaning only
//! the real schema-aware merge knows, is refused rather than half-applied.

use serde_json::Value;

use crate::status::ApiError;

/// A patch body, decoded according to its `Content-Type`.
#[derive(Debug, Clone)]
pub(crate) enum Patch {
    /// `application/json-patch+json`.
    Json(json_patch::Patch),
    /// `application/merge-patch+json`.
    Merge(Value),
    /// `application/strategic-merge-patch+json`, applied as a merge patch.
    Strategic(Value),
}

impl Patch {
    /// Decodes a request body; `content_type` may carry parameters (`; charset=utf-8`).
    pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let media_type = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let value = || -> Result<Value, ApiError> {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
        };
        match media_type.as_str() {
            "application/json-patch+json" => serde_json::from_value(value()?)
                .map(Self::Json)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}"))),
            "application/merge-patch+json" => Ok(Self::Merge(object(value()?)?)),
            "application/strategic-merge-patch+json" => {
                let patch = object(value()?)?;
                if let Some(directive) = find_directive(&patch) {
                    return Err(ApiError::bad_request(format!(
                        "strategic merge directive {directive} is not supported by this server; send a merge or JSON patch"
                    )));
                }
                Ok(Self::Strategic(patch))
            }
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }

    /// Applies the patch to a copy of `current`.
    pub fn apply(&self, current: &Value) -> Result<Value, ApiError> {
        let mut patched = current.clone();
        match self {
            Self::Json(patch) => {
                json_patch::patch(&mut patched, patch)
                    .map_err(|_| ApiError::patch_not_applied())?;
            }
            Self::Merge(patch) | Self::Strategic(patch) => json_patch::merge(&mut patched, patch),
        }
        Ok(patched)
    }
}

fn object(value: Value) -> Result<Value, ApiError> {
    if value.is_object() {
        Ok(value)
    } else {
        Err(ApiError::bad_request(
            "error decoding patch: the patch is not a JSON object",
        ))
    }
}

/// The first `$`-prefixed key (a strategic merge directive), if any.
fn find_directive(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, child)| {
            if key.starts_with('$') {
                Some(key.clone())
            } else {
                find_directive(child)
            }
        }),
        Value::Array(items) => items.iter().find_map(find_directive),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on bad fixtures.

    use serde_json::json;

    use super::*;

    const JSON: Option<&str> = Some("application/json-patch+json");

    #[test]
    fn merge_patch_sets_and_removes_fields() {
        let patch = Patch::decode(
            Some("application/merge-patch+json; charset=utf-8"),
            br#"{"spec":{"unschedulable":true},"metadata":{"labels":{"gone":null}}}"#,
        )
        .unwrap();
        let patched = patch
            .apply(&json!({"metadata":{"labels":{"gone":"x","kept":"y"}},"spec":{}}))
            .unwrap();
        assert_eq!(
            patched,
            json!({"metadata":{"labels":{"kept":"y"}},"spec":{"unschedulable":true}})
        );
    }

    #[test]
    fn failed_json_patch_test_is_422_invalid() {
        let patch = Patch::decode(
            JSON,
            br#"[{"op":"test","path":"/metadata/resourceVersion","value":"1"},{"op":"replace","path":"/spec/x","value":2}]"#,
        )
        .unwrap();
        let current = json!({"metadata":{"resourceVersion":"2"},"spec":{"x":1}});
        let error = patch.apply(&current).unwrap_err();
        assert_eq!((error.code, error.reason), (422, "Invalid"));
    }

    #[test]
    fn malformed_patches_are_400_and_unknown_types_415() {
        assert_eq!(Patch::decode(JSON, b"{").unwrap_err().code, 400);
        assert_eq!(
            Patch::decode(JSON, br#"[{"op":"jump"}]"#).unwrap_err().code,
            400
        );
        assert_eq!(
            Patch::decode(Some("application/apply-patch+yaml"), b"a: b")
                .unwrap_err()
                .code,
            415
        );
    }

    #[test]
    fn strategic_directives_are_refused() {
        let error = Patch::decode(
            Some("application/strategic-merge-patch+json"),
            br#"{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}"#,
        )
        .unwrap_err();
        assert_eq!(error.code, 400);
    }
}
