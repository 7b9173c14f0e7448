//! Fuzzes the `controller=` / `exclude=` grammar and the typed configuration built on it.
//!
//! Byte 0 picks the daemon; the rest (lossily UTF-8) is fed as one `controller=` value, one
//! `exclude=` value, a whole INI file, a whole TOML file and a file whose `[Controllers]`
//! section holds the input as `controller=` and `exclude=` lines.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use staslib::conf::controller::{
    ControllerEntry, Exclusion, ItemContext, normalize, tokenize, typed_params,
};
use staslib::conf::options::{ConfFormat, Daemon, parse_service_config};

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = data.split_at(data.len().min(1));
    let daemon = if sel.first().is_some_and(|b| b & 1 == 1) {
        Daemon::Stacd
    } else {
        Daemon::Stafd
    };
    let text = String::from_utf8_lossy(rest);
    let file = Path::new("/fuzz/stas.conf");

    // Tokenizer invariants: keys are non-empty, trimmed and contain neither ';' nor '=';
    // values are trimmed and contain no ';'.
    let tokens = tokenize(&text);
    for (k, v) in &tokens.pairs {
        assert!(!k.is_empty() && !k.contains(';') && !k.contains('='));
        assert_eq!(k.trim(), k);
        assert_eq!(v.trim(), v);
        assert!(!v.contains(';'));
    }
    let dict = typed_params(&normalize(tokens.pairs.clone()));
    assert!(dict.len() <= tokens.pairs.len());
    assert!(dict.iter().all(|(k, _)| k != "nqn"));

    let ctx = ItemContext {
        daemon,
        file,
        line: Some(1),
        option: "controller",
    };
    let (entry, _) = ControllerEntry::parse(&ctx, &text);
    if let Some(e) = entry {
        let tid = e.tid("nqn.2014-08.org.nvmexpress:uuid:fuzz", false);
        assert_eq!(tid.transport(), e.transport);
        assert!(!e.subsysnqn.is_empty());
        let _ = e.identity_extras();
        let _ = e.needs_resolution();
    }
    let xctx = ItemContext {
        option: "exclude",
        ..ctx
    };
    if let (Some(x), _) = Exclusion::parse(&xctx, &text) {
        assert!(!x.pairs.is_empty());
        assert!(x.pairs.iter().all(|(k, _)| k != "host-traddr" && k != "nqn"));
    }

    for (body, format) in [
        (text.to_string(), ConfFormat::Ini),
        (text.to_string(), ConfFormat::Toml),
        (
            format!("[Controllers]\ncontroller={text}\nexclude={text}\n"),
            ConfFormat::Ini,
        ),
    ] {
        let loaded = parse_service_config(daemon, &body, file, format);
        assert!(loaded.diagnostics.iter().all(|d| d.message.starts_with("File:")));
    }
});
