//! Fuzzes the configuration reader (`staslib::conf::ini::parse`) and the time-span parser
//! on every value it yields: no input may panic, and a parsed document must keep the
//! reader's invariants.
//!
//! Invalid UTF-8 is decoded lossily: the reader only ever sees `&str` (`read_file`
//! rejects bad UTF-8 before parsing).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use staslib::conf::{ini, timespan};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = timespan::parse_timespan(s);
    }
    let text = String::from_utf8_lossy(data);
    let Ok(doc) = ini::parse(&text, Path::new("fuzz.conf")) else {
        return;
    };
    let mut names = std::collections::HashSet::new();
    for section in &doc.sections {
        assert!(!section.name.is_empty(), "empty section name");
        assert!(names.insert(&section.name), "duplicate section not merged");
        assert!(section.origin.line >= 1);
        let mut keys = std::collections::HashSet::new();
        for option in &section.options {
            assert!(!option.key.is_empty(), "empty option name accepted");
            assert!(keys.insert(&option.key), "duplicate option not merged");
            assert!(!option.key.contains(['\n', '\r']));
            assert!(!option.values.is_empty());
            if option.values.iter().any(|v| v.value.is_none()) {
                assert_eq!(option.values.len(), 1, "value-less occurrence not alone");
            }
            assert!(
                option
                    .values
                    .windows(2)
                    .all(|w| w[0].origin.line < w[1].origin.line),
                "occurrences out of file order"
            );
            for value in &option.values {
                assert!(value.origin.line >= section.origin.line);
                assert!(!value.value.as_deref().unwrap_or("").contains('\r'));
                for item in value.items() {
                    let _ = timespan::parse_timespan(item);
                }
            }
        }
    }
});
