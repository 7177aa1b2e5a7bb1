//! Any bytes: `decode` must not panic, must return at least one item, and must give every
//! rejection a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reflex_core::decode::decode;

fuzz_target!(|data: &[u8]| {
    let items = decode(data);
    assert!(!items.is_empty(), "decode returned no item");
    for (index, item) in items.iter().enumerate() {
        match item {
            Ok(alert) => assert_eq!(alert.delivery.index, index),
            Err(rejection) => {
                assert_eq!(rejection.delivery.index, index);
                assert!(!rejection.reason.is_empty(), "rejection without a reason");
            }
        }
    }
});
