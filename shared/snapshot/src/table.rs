//! The objects of one kind, decoded on first use.
//!
//! Loading a snapshot only skims it: each item is indexed by its key and its place in the
//! file ([`Raw`]), and decoded into its typed object the first time a read or a simulated
//! change touches it; the object then replaces its place in the table. A decision reads a
//! handful of objects, so a large file costs its skim, not the decoding of every item.
//! Reads that select by label or by node first test the item's `metadata.labels` or
//! `spec.nodeName` (kept as places in the file too) and decode only the items that may
//! match. An item that does not decode is reported, with its index, kind, name and field
//! path, by the read that needed it.

use std::collections::BTreeMap;
use std::ops::Range;

use reflex_core::objects::LabelSelector;
use reflex_core::vocab::target::TargetKind;
use serde::de::DeserializeOwned;

use crate::error::SnapshotError;

/// Where an item, or one of its fields, is in the file's text.
pub(crate) type Span = Range<usize>;

/// An item not decoded yet: its place in the file and what the skim learnt of it.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// Position in `items`.
    pub index: usize,
    /// Its `kind`.
    pub kind: &'static str,
    /// The whole item.
    pub item: Span,
    /// What the skim found of `metadata.labels` and `spec.nodeName`; `None` when the
    /// skim could not read them (then every selecting read decodes the item).
    pub hints: Option<Hints>,
}

/// `metadata.labels` and `spec.nodeName` of an item, as places in the file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hints {
    pub labels: Option<Span>,
    pub node_name: Option<Span>,
}

impl Raw {
    fn decode<T: DeserializeOwned>(&self, text: &str, name: &str) -> Result<T, SnapshotError> {
        let raw = &text[self.item.clone()];
        // A plain decode, and only for an item that fails, a second one that tracks the
        // field path for the message: items that decode do not pay for path tracking.
        serde_json::from_str(raw).or_else(|_| {
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw)).map_err(
                |source| SnapshotError::Item {
                    index: self.index,
                    kind: self.kind.to_owned(),
                    name: name.to_owned(),
                    source,
                },
            )
        })
    }

    /// Whether the item's labels may satisfy `selector`: false only when the skimmed
    /// labels decode and do not.
    pub fn may_match(&self, text: &str, selector: &LabelSelector) -> bool {
        let Some(hints) = &self.hints else {
            return true;
        };
        let labels = match &hints.labels {
            None => Ok(BTreeMap::new()),
            Some(span) => serde_json::from_str::<BTreeMap<String, String>>(&text[span.clone()]),
        };
        labels.map_or(true, |labels| selector.matches(&labels))
    }

    /// Whether the item may be a pod bound to `node`: false only when the skimmed
    /// `spec.nodeName` is absent or a different string.
    pub fn may_be_on(&self, text: &str, node: &str) -> bool {
        let Some(hints) = &self.hints else {
            return true;
        };
        match &hints.node_name {
            None => false,
            Some(span) => serde_json::from_str::<std::borrow::Cow<'_, str>>(&text[span.clone()])
                .map_or(true, |name| name == node),
        }
    }
}

/// An item of the table: its place in the file, and its object once decoded (a simulated
/// object has an empty place and is decoded from the start).
#[derive(Debug, Clone)]
struct Entry<T> {
    raw: Raw,
    value: Option<Box<T>>,
}

impl<T: DeserializeOwned> Entry<T> {
    fn force(&mut self, text: &str, name: &str) -> Result<&mut T, SnapshotError> {
        let value = match self.value.take() {
            Some(value) => value,
            None => Box::new(self.raw.decode(text, name)?),
        };
        Ok(self.value.insert(value))
    }

    fn into_value(self, text: &str, name: &str) -> Result<T, SnapshotError> {
        match self.value {
            Some(value) => Ok(*value),
            None => self.raw.decode(text, name),
        }
    }
}

/// A table key: it names the item for messages.
pub(crate) trait ItemKey: Ord + Clone {
    /// The item's `metadata.name`.
    fn name(&self) -> &str;
}

impl ItemKey for String {
    fn name(&self) -> &str {
        self
    }
}

impl ItemKey for (String, String) {
    fn name(&self) -> &str {
        &self.1
    }
}

impl ItemKey for (TargetKind, String, String) {
    fn name(&self) -> &str {
        &self.2
    }
}

/// The objects of one kind by key, each decoded on first use.
#[derive(Debug, Clone)]
pub(crate) struct Table<K, T> {
    entries: BTreeMap<K, Entry<T>>,
}

impl<K, T> Default for Table<K, T> {
    fn default() -> Self {
        Table {
            entries: BTreeMap::new(),
        }
    }
}

impl<K: ItemKey, T: DeserializeOwned> Table<K, T> {
    /// Indexes an item of the file (a later item with the same key replaces it, as a
    /// decoded one would).
    pub fn insert_raw(&mut self, key: K, raw: Raw) {
        self.entries.insert(key, Entry { raw, value: None });
    }

    /// Puts a (simulated) object in the table.
    pub fn insert(&mut self, key: K, value: T) {
        let raw = Raw {
            index: usize::MAX,
            kind: "",
            item: 0..0,
            hints: None,
        };
        self.entries.insert(
            key,
            Entry {
                raw,
                value: Some(Box::new(value)),
            },
        );
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn get(&mut self, text: &str, key: &K) -> Result<Option<&T>, SnapshotError> {
        Ok(self.get_mut(text, key)?.map(|v| &*v))
    }

    pub fn get_mut(&mut self, text: &str, key: &K) -> Result<Option<&mut T>, SnapshotError> {
        match self.entries.get_mut(key) {
            None => Ok(None),
            Some(entry) => entry.force(text, key.name()).map(Some),
        }
    }

    pub fn remove(&mut self, text: &str, key: &K) -> Result<Option<T>, SnapshotError> {
        self.entries
            .remove(key)
            .map(|entry| entry.into_value(text, key.name()))
            .transpose()
    }

    /// The entries whose key passes `key` and, for an item not decoded yet, whose skim
    /// passes `raw`, decoded, with their keys. The caller tests the decoded objects again.
    pub fn select(
        &mut self,
        text: &str,
        key: impl Fn(&K) -> bool,
        raw: impl Fn(&Raw) -> bool,
    ) -> Result<Vec<(&K, &mut T)>, SnapshotError> {
        self.entries
            .iter_mut()
            .filter(|(k, entry)| key(k) && (entry.value.is_some() || raw(&entry.raw)))
            .map(|(k, entry)| Ok((k, entry.force(text, k.name())?)))
            .collect()
    }

    /// Every object, decoded.
    pub fn values(&mut self, text: &str) -> Result<Vec<&T>, SnapshotError> {
        Ok(self
            .select(text, |_| true, |_| true)?
            .into_iter()
            .map(|(_, v)| &*v)
            .collect())
    }
}
