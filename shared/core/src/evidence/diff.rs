//! What a rollback changes: the containers of the revision left and the revision restored,
//! compared by name (init containers too) — images, and the *names* of environment
//! variables added, removed or changed. Values are never read into the result, so a
//! notification cannot show one.

use std::collections::BTreeMap;

use serde_json::Value;

/// The change of one container between two revisions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerChange {
    /// Container name.
    pub name: String,
    /// Image in the revision left (`None`: the container is new in the restored one).
    pub image_from: Option<String>,
    /// Image in the revision restored (`None`: the container goes away).
    pub image_to: Option<String>,
    /// Variables the restored revision has and the left one has not.
    pub env_added: Vec<String>,
    /// Variables the left revision has and the restored one has not.
    pub env_removed: Vec<String>,
    /// Variables in both whose definition differs (value or source; neither shown).
    pub env_changed: Vec<String>,
}

impl ContainerChange {
    /// Whether the image differs.
    pub fn image_changed(&self) -> bool {
        self.image_from != self.image_to
    }
}

/// What rolling back from one revision to another changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionDiff {
    /// Revision left.
    pub from_revision: u64,
    /// Revision restored.
    pub to_revision: u64,
    /// The containers that differ (unchanged ones are left out).
    pub containers: Vec<ContainerChange>,
}

/// Compares pod template `from` (revision `from_revision`, running now) with `to`
/// (revision `to_revision`, restored).
pub fn diff_templates(
    from_revision: u64,
    from: &Value,
    to_revision: u64,
    to: &Value,
) -> RevisionDiff {
    let before = containers(from);
    let after = containers(to);
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let changes = names
        .into_iter()
        .filter_map(|name| {
            let (b, a) = (before.get(name), after.get(name));
            let env_b = b.map(|c| env(c)).unwrap_or_default();
            let env_a = a.map(|c| env(c)).unwrap_or_default();
            let change = ContainerChange {
                name: name.clone(),
                image_from: b.and_then(|c| image(c)),
                image_to: a.and_then(|c| image(c)),
                env_added: env_a
                    .keys()
                    .filter(|k| !env_b.contains_key(*k))
                    .cloned()
                    .collect(),
                env_removed: env_b
                    .keys()
                    .filter(|k| !env_a.contains_key(*k))
                    .cloned()
                    .collect(),
                env_changed: env_b
                    .iter()
                    .filter(|(k, v)| env_a.get(*k).is_some_and(|w| w != *v))
                    .map(|(k, _)| k.clone())
                    .collect(),
            };
            let same = b.is_some() == a.is_some()
                && !change.image_changed()
                && change.env_added.is_empty()
                && change.env_removed.is_empty()
                && change.env_changed.is_empty();
            (!same).then_some(change)
        })
        .collect();
    RevisionDiff {
        from_revision,
        to_revision,
        containers: changes,
    }
}

/// A template's containers and init containers by name.
fn containers(template: &Value) -> BTreeMap<String, &Value> {
    ["containers", "initContainers"]
        .iter()
        .filter_map(|key| template.pointer(&format!("/spec/{key}"))?.as_array())
        .flatten()
        .filter_map(|c| Some((c.get("name")?.as_str()?.to_owned(), c)))
        .collect()
}

fn image(container: &Value) -> Option<String> {
    container.get("image")?.as_str().map(str::to_owned)
}

/// A container's variables: name to definition (compared, never shown).
fn env(container: &Value) -> BTreeMap<String, &Value> {
    container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("name")?.as_str()?.to_owned(), e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(image: &str, env: Value) -> Value {
        json!({"spec": {"containers": [
            {"name": "vote", "image": image, "env": env},
            {"name": "sidecar", "image": "envoy:1.30"}
        ]}})
    }

    #[test]
    fn images_and_env_names_differ_values_never_appear() {
        let from = template(
            "vote:v3",
            json!([
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "NEW_FLAG", "value": "on"},
                {"name": "MODE", "value": "fast"}
            ]),
        );
        let to = template(
            "vote:v2",
            json!([
                {"name": "DB_PASSWORD", "value": "swordfish"},
                {"name": "OLD_URL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                {"name": "MODE", "value": "fast"}
            ]),
        );
        let diff = diff_templates(3, &from, 2, &to);
        assert_eq!(diff.from_revision, 3);
        assert_eq!(diff.to_revision, 2);
        assert_eq!(diff.containers.len(), 1, "the sidecar did not change");
        let c = &diff.containers[0];
        assert_eq!(c.name, "vote");
        assert_eq!(c.image_from.as_deref(), Some("vote:v3"));
        assert_eq!(c.image_to.as_deref(), Some("vote:v2"));
        assert_eq!(c.env_added, ["OLD_URL"]);
        assert_eq!(c.env_removed, ["NEW_FLAG"]);
        assert_eq!(c.env_changed, ["DB_PASSWORD"]);
        let shown = format!("{diff:?}");
        for value in ["hunter2", "swordfish", "fast", "on\"", "secretKeyRef"] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
    }

    #[test]
    fn added_and_removed_containers_and_identical_revisions() {
        let from = json!({"spec": {"containers": [{"name": "a", "image": "a:1"}]}});
        let to = json!({"spec": {
            "containers": [{"name": "a", "image": "a:1"}],
            "initContainers": [{"name": "migrate", "image": "m:1"}]
        }});
        let diff = diff_templates(5, &from, 4, &to);
        assert_eq!(diff.containers.len(), 1);
        assert_eq!(diff.containers[0].name, "migrate");
        assert_eq!(diff.containers[0].image_from, None);
        assert_eq!(diff.containers[0].image_to.as_deref(), Some("m:1"));
        assert!(diff_templates(5, &from, 4, &from).containers.is_empty());
    }
}
