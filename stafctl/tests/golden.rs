//! Golden files: `stafctl --pprint` of ls, ls -d, dlp, adlp, adlp -d and status is
//! byte-identical with upstream's output for the same daemon replies (inputs derived from
//! the compatibility spec's examples, expected text written by CPython with upstream's code:
//! `tests/golden/generate.py`), and the `--json` form of each matches the schema.

#[test]
fn pprint_is_byte_identical_with_upstream_and_json_matches_the_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let n = staslib::ctl::testing::check_golden_dir(
        &root.join("tests/golden"),
        &root.join("schema/stafctl.schema.json"),
    );
    assert_eq!(n, 7, "golden cases");
}

/// The spec's sample `stafctl ls` output (compat §3.2) is one of the golden files verbatim.
#[test]
fn the_spec_sample_is_a_golden_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ls = std::fs::read_to_string(root.join("tests/golden/ls.pprint")).unwrap();
    assert_eq!(
        ls,
        "[{'device': 'nvme0',\n  'host-iface': 'eth0',\n  'host-nqn': 'nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964',\n  'host-traddr': '',\n  'subsysnqn': 'nqn.2014-08.org.nvmexpress.discovery',\n  'traddr': '192.168.1.10',\n  'transport': 'tcp',\n  'trsvcid': '8009'}]\n"
    );
}
