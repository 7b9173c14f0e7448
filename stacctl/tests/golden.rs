//! Golden files: `stacctl --pprint` of ls, ls -d and status is byte-identical with
//! upstream's output for the same daemon replies (expected text written by CPython with
//! upstream's code: `stafctl/tests/golden/generate.py`), and the `--json` form of each
//! matches the schema.

#[test]
fn pprint_is_byte_identical_with_upstream_and_json_matches_the_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let n = staslib::ctl::testing::check_golden_dir(
        &root.join("tests/golden"),
        &root.join("schema/stacctl.schema.json"),
    );
    assert_eq!(n, 3, "golden cases");
}
