//! Test helpers of the ctl tools (feature `test-support`): a check of `--json` output
//! against the committed JSON schemas, and the golden-file cases of `--pprint`.

/// Checks `value` against `#/$defs/<def>` of a JSON schema, for the keywords the ctl
/// tools' schemas use (`$ref`, `allOf`, `anyOf`, `type`, `enum`, `required`, `properties`,
/// `additionalProperties`, `items`, `minimum`); any other keyword is an error, so a schema
/// cannot rely on something this check ignores. `Err` names the failing path.
pub fn check_json_schema(
    schema: &serde_json::Value,
    def: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    let node = schema
        .pointer(&format!("/$defs/{def}"))
        .ok_or_else(|| format!("schema has no $defs/{def}"))?;
    check_node(schema, node, value, "$")
}

fn check_node(
    root: &serde_json::Value,
    node: &serde_json::Value,
    v: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value as J;
    let obj = match node {
        J::Bool(true) => return Ok(()),
        J::Bool(false) => return Err(format!("{path}: not allowed")),
        J::Object(o) => o,
        _ => return Err(format!("{path}: bad schema node")),
    };
    for (kw, arg) in obj {
        match kw.as_str() {
            "description" | "title" | "$schema" | "$id" | "$defs" => {}
            "$ref" => {
                let r = arg.as_str().and_then(|s| s.strip_prefix('#')).unwrap_or("");
                let target = root.pointer(r).ok_or_else(|| format!("bad $ref {arg}"))?;
                check_node(root, target, v, path)?;
            }
            "allOf" => {
                for sub in arg.as_array().into_iter().flatten() {
                    check_node(root, sub, v, path)?;
                }
            }
            "anyOf" => {
                let subs = arg.as_array().cloned().unwrap_or_default();
                if !subs.iter().any(|s| check_node(root, s, v, path).is_ok()) {
                    return Err(format!("{path}: matches none of anyOf"));
                }
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    J::String(s) => vec![s.as_str()],
                    J::Array(a) => a.iter().filter_map(J::as_str).collect(),
                    _ => return Err(format!("{path}: bad type keyword")),
                };
                let ok = types.iter().any(|t| match *t {
                    "string" => v.is_string(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "integer" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{path}: {v} is not of type {types:?}"));
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|a| a.contains(v)) {
                    return Err(format!("{path}: {v} not in {arg}"));
                }
            }
            "minimum" => {
                if let (Some(n), Some(min)) = (v.as_f64(), arg.as_f64())
                    && n < min
                {
                    return Err(format!("{path}: {n} < {min}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for k in arg.as_array().into_iter().flatten().filter_map(J::as_str) {
                        if !o.contains_key(k) {
                            return Err(format!("{path}: missing key {k:?}"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(o), Some(props)) = (v.as_object(), arg.as_object()) {
                    for (k, sub) in props {
                        if let Some(x) = o.get(k) {
                            check_node(root, sub, x, &format!("{path}.{k}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = obj.get("properties").and_then(J::as_object);
                    for (k, x) in o {
                        if !known.is_some_and(|p| p.contains_key(k)) {
                            check_node(root, arg, x, &format!("{path}.{k}"))?;
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        check_node(root, arg, x, &format!("{path}[{i}]"))?;
                    }
                }
            }
            other => return Err(format!("{path}: unsupported schema keyword {other:?}")),
        }
    }
    Ok(())
}

/// The value a ctl tool prints for a golden case (`tests/golden/*.input.json`: the tool, the
/// subcommand and the daemon's replies), built by the tools' own assembly code.
pub fn golden_value(case: &serde_json::Value) -> crate::pprint::PyValue {
    use super::client::{StrDict, dict_list};
    use super::status::{ControllerStatus, assemble};
    let dicts = |v: &serde_json::Value| -> Vec<StrDict> {
        serde_json::from_value(v.clone()).expect("a list of string dicts")
    };
    let parse = |v: &serde_json::Value| -> crate::pprint::PyValue {
        serde_json::from_str(v.as_str().expect("a JSON string")).expect("JSON")
    };
    match case["cmd"].as_str().expect("cmd") {
        "ls" => dict_list(&dicts(&case["list_controllers"])),
        "dlp" => dict_list(&dicts(&case["get_log_pages"])),
        "adlp" => parse(&case["get_all_log_pages"]),
        "status" => assemble(
            parse(&case["process_info"]),
            case["controllers"]
                .as_array()
                .expect("controllers")
                .iter()
                .map(|c| ControllerStatus {
                    details: serde_json::from_value(c["details"].clone()).expect("details"),
                    log_pages: c.get("log_pages").map(dicts),
                    info: parse(&c["controller_info"]),
                })
                .collect(),
        ),
        other => panic!("unknown golden command {other}"),
    }
}

/// Runs every golden case of `dir` (`<case>.input.json` → `<case>.pprint`): the `--pprint`
/// text must be byte-identical, and the `--json` value must match `schema` (definition
/// named by the case's command). Returns the number of cases.
pub fn check_golden_dir(dir: &std::path::Path, schema: &std::path::Path) -> usize {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema).expect("schema"))
            .expect("schema JSON");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("golden dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".input.json"))
        .collect();
    entries.sort();
    for input in entries {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
        let value = golden_value(&case);
        let want_path = input.to_string_lossy().replace(".input.json", ".pprint");
        let want = std::fs::read_to_string(&want_path).expect("golden .pprint file");
        assert_eq!(super::format::pprint_text(&value), want, "{want_path}");
        let json = super::format::to_json(&value);
        if let Err(e) = check_json_schema(&schema, case["cmd"].as_str().unwrap(), &json) {
            panic!("{}: --json does not match the schema: {e}", input.display());
        }
        n += 1;
    }
    n
}

/// How a name is written in mdoc source (`-` escaped as `\-`).
fn mdoc(name: &str) -> String {
    name.replace('-', "\\-")
}

/// Checks that the man page `man` (mdoc source) documents the command line `cmd`: every
/// visible subcommand (`.Cm name`), every option (`Fl x`, `Fl \-long`), and every exit
/// status of [`super::error`]; and that it names no long option the tool does not have.
pub fn check_man_page(cmd: &clap::Command, man: &str) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut longs = vec!["help".to_owned()];
    let mut check_args = |c: &clap::Command, missing: &mut Vec<String>| {
        for arg in c.get_arguments() {
            if arg.is_hide_set() {
                continue;
            }
            // Visible aliases are options too: documented like the name they stand for.
            let names = arg
                .get_long()
                .into_iter()
                .chain(arg.get_visible_aliases().into_iter().flatten());
            for l in names {
                longs.push(l.to_owned());
                if l != "help" && !man.contains(&format!("Fl \\-{}", mdoc(l))) {
                    missing.push(format!("{}: --{l}", c.get_name()));
                }
            }
            if let Some(s) = arg.get_short()
                && s != 'h'
                && !man.contains(&format!("Fl {s}"))
            {
                missing.push(format!("{}: -{s}", c.get_name()));
            }
        }
    };
    check_args(cmd, &mut missing);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if !man.contains(&format!("Cm {}", mdoc(sub.get_name()))) {
            missing.push(format!("command {}", sub.get_name()));
        }
        check_args(sub, &mut missing);
    }
    let status = man
        .split(".Sh EXIT STATUS")
        .nth(1)
        .ok_or("no EXIT STATUS section")?;
    for code in 0..=super::error::EXIT_REJECTED {
        if !status.contains(&format!(".It {code}\n")) {
            missing.push(format!("exit status {code}"));
        }
    }
    // The other way round: no stale long option in the page.
    for word in man.split(|c: char| c.is_whitespace()) {
        if let Some(l) = word.strip_prefix("\\-") {
            let l = l.replace("\\-", "-");
            let l = l.trim_end_matches([',', '.']);
            if !l.is_empty()
                && l.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && !longs.iter().any(|x| x == l)
            {
                missing.push(format!(
                    "the page names --{l}, which the tool does not have"
                ));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// `mandoc -T lint` of `page`: `None` when mandoc is not installed; `Err` with every
/// message except the one style note mandoc gives for a cross-reference to another page of
/// this package, which is not installed where the tests run.
pub fn mandoc_lint(page: &std::path::Path) -> Option<Result<(), String>> {
    const OWN_PAGES: [&str; 7] = [
        "Xr stafd 8",
        "Xr stacd 8",
        "Xr stafctl 1",
        "Xr stacctl 1",
        "Xr stafd.conf 5",
        "Xr stacd.conf 5",
        "Xr sys.conf 5",
    ];
    let out = std::process::Command::new("mandoc")
        .args(["-T", "lint"])
        .arg(page)
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            let own_xref = l.contains("STYLE: referenced manual not found")
                && OWN_PAGES.iter().any(|p| l.contains(p));
            !own_xref && !l.contains("outdated mandoc.db")
        })
        .collect();
    Some(if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::check_json_schema;
    use serde_json::json;

    #[test]
    fn the_check_rejects_what_it_should() {
        let schema = json!({"$defs": {
            "x": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0}},
                  "additionalProperties": {"type": "string"}},
            "l": {"type": "array", "items": {"$ref": "#/$defs/x"}},
            "e": {"enum": ["A", "B"]},
            "bad": {"pattern": "x"}
        }});
        assert!(check_json_schema(&schema, "l", &json!([{"a": 1, "b": "s"}])).is_ok());
        for (def, v) in [
            ("l", json!([{"b": "s"}])),
            ("l", json!([{"a": -1}])),
            ("l", json!([{"a": 1, "b": 2}])),
            ("l", json!({"a": 1})),
            ("x", json!({"a": "1"})),
            ("e", json!("C")),
            ("bad", json!("x")),
            ("missing", json!(null)),
        ] {
            assert!(check_json_schema(&schema, def, &v).is_err(), "{def} {v}");
        }
    }
}
