//! `decode` holds its promises on any input: it never panics, returns at least one item,
//! numbers items by position, and gives every rejection a reason. Inputs are arbitrary
//! bytes and real payloads (the corpus) broken by flips, truncations and insertions, both
//! of the outer JSON and of the JSON inside an SNS `Message` string.
#![allow(clippy::unwrap_used)] // test code: a fixture that cannot be read should fail loudly

use proptest::prelude::*;
use reflex_core::decode::{Decoded, decode};

const CORPUS: &[&[u8]] = &[
    include_bytes!("data/corpus/alertmanager-webhook-firing.docs.json"),
    include_bytes!("data/corpus/alertmanager-webhook-resolved-old.captured.json"),
    include_bytes!("data/corpus/cloudwatch-alarm-lambda-action-composite.docs.json"),
    include_bytes!("data/corpus/cloudwatch-alarm-lambda-action-metric.docs.json"),
    include_bytes!("data/corpus/eventbridge-alarm-state-change.docs.json"),
    include_bytes!("data/corpus/grafana-webhook-firing.docs.json"),
    include_bytes!("data/corpus/sns-http-container-insights-anomaly.captured.json"),
    include_bytes!("data/corpus/sns-lambda-cloudwatch-anomaly-detection.captured.json"),
    include_bytes!("data/corpus/sns-lambda-cloudwatch-composite-alarm.captured.json"),
    include_bytes!("data/corpus/sns-lambda-cloudwatch-metric-alarm.captured.json"),
    include_bytes!("data/corpus/sns-lambda-cloudwatch-metric-math.fixture.json"),
    include_bytes!("data/corpus/sns-lambda-cloudwatch-single-metric.fixture.json"),
    include_bytes!("data/corpus/sns-lambda-ec2-status-check.captured.json"),
];

/// Bytes that, inserted, turn valid JSON into nearly-valid JSON of another type.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "0",
    "-1e999",
    "true",
    "\"\"",
    "{}",
    "[]",
    "\\",
    "\\u00",
    "\u{e9}",
    "\"alerts\":",
    "\"Records\":[{}],",
    "\"status\":\"firing\",",
];

/// Checks every promise `decode` makes about its output.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let items: Vec<Decoded> = decode(bytes);
    prop_assert!(
        !items.is_empty(),
        "no item for {:?}",
        String::from_utf8_lossy(bytes)
    );
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(alert) => {
                prop_assert_eq!(alert.delivery.index, i);
                prop_assert!(!alert.name.is_empty());
                prop_assert!(!alert.fingerprint.is_empty());
            }
            Err(rejection) => {
                prop_assert_eq!(rejection.delivery.index, i);
                prop_assert!(!rejection.reason.trim().is_empty());
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { at: usize },
    Insert { at: usize, token: usize },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *mutation {
        Mutation::Flip { at, mask } => {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
        }
        Mutation::Truncate { at } => bytes.truncate(pos(at, bytes.len())),
        Mutation::Insert { at, token } => {
            let i = pos(at, bytes.len());
            bytes.splice(i..i, TOKENS[token].bytes());
        }
        Mutation::Remove { at, len } => {
            let i = pos(at, bytes.len());
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
    }
}

/// The SNS `Message` strings of a corpus file, mutated as text and put back, so that the
/// inner document is broken while the envelope stays valid.
fn mutate_sns_message(original: &[u8], mutations: &[Mutation]) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(original).unwrap();
    let message = match value.get_mut("Records") {
        Some(records) => records.get_mut(0)?.get_mut("Sns")?.get_mut("Message")?,
        None => value.get_mut("Message")?,
    };
    let mut text = message.as_str()?.as_bytes().to_vec();
    for m in mutations {
        apply(&mut text, m);
    }
    *message = serde_json::Value::String(String::from_utf8_lossy(&text).into_owned());
    Some(serde_json::to_vec(&value).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_yield_an_item(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_text_shaped_like_json_never_panics(text in r#"[\{\}\[\]":,0-9a-zA-Z \\]{0,256}"#) {
        check(text.as_bytes())?;
    }

    #[test]
    fn mutated_corpus_payloads_never_panic(
        file in 0..CORPUS.len(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = CORPUS[file].to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&bytes)?;
    }

    #[test]
    fn mutated_sns_messages_never_panic(
        file in 0..CORPUS.len(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        if let Some(bytes) = mutate_sns_message(CORPUS[file], &mutations) {
            check(&bytes)?;
        }
    }
}

/// Prefixes of every corpus file, every 5th length (every length takes 6 s in debug): the
/// cheapest way to reach the "premature end of input" path of every field.
#[test]
fn truncations_of_every_corpus_file_are_handled() {
    for file in CORPUS {
        for len in (0..file.len()).step_by(5) {
            check(&file[..len]).unwrap();
            let items = decode(&file[..len]);
            // A JSON object cut short can never decode into an alert.
            if len + 2 < file.len() {
                assert!(items.iter().all(Result::is_err), "prefix {len} decoded");
            }
        }
    }
}
