use std::path::PathBuf;

use super::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn effective_line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
}

#[test]
fn valid_file_is_ok_and_shows_sources() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "stafd.conf",
        "[Global]\nkato=abc\nip-family=ipv4\n[Controllers]\n\
         controller=transport=tcp;traddr=1.1.1.1;dhchap-secret=DHHC-1:00:abc==:;kato=5;foo=bar\n\
         exclude=traddr=2.2.2.2\n",
    );
    let r = check_config(Daemon::Stafd, &p);
    assert!(r.ok, "{}", r.text);
    assert_eq!(r.diagnostics.len(), 1);
    let t = &r.text;
    assert!(t.starts_with(&format!(
        "stafd configuration file: {} (INI)\n",
        p.display()
    )));
    assert!(t.contains(&format!(
        "{}:2: warning: File:{} [Global]: kato - Data converter found invalid value \"['abc']\". \
         Default will be used\n",
        p.display(),
        p.display()
    )));
    assert!(effective_line(t, "kato").ends_with("(default; invalid value at line 2)"));
    assert!(effective_line(t, "ip-family").starts_with("ip-family = ipv4 "));
    assert!(effective_line(t, "ip-family").ends_with("(line 3)"));
    assert!(effective_line(t, "tron").ends_with("(default)"));
    assert!(effective_line(t, "pleo").starts_with("pleo = enabled"));
    assert!(effective_line(t, "zeroconf-connections-persistence").contains("= 259200 "));
    assert!(t.contains("\n[Service Discovery]\n"));
    assert!(!t.contains("nr-io-queues"));
    assert_eq!(
        effective_line(t, "controller"),
        "controller = transport=tcp;traddr=1.1.1.1;trsvcid=8009;\
         subsysnqn=nqn.2014-08.org.nvmexpress.discovery;dhchap-secret=********;kato=5;foo=bar    \
         (line 5)"
    );
    assert_eq!(
        effective_line(t, "exclude"),
        "exclude = traddr=2.2.2.2    (line 6)"
    );
    assert!(t.ends_with("\nResult: OK (0 errors, 1 warning)\n"), "{t}");
}

#[test]
fn errors_make_the_check_fail() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "stacd.conf",
        "[Global]\nnr-io-queues=4\npleo=enabled\n[global]\n",
    );
    let r = check_config(Daemon::Stacd, &p);
    assert!(!r.ok);
    assert!(r.text.contains(&format!(
        "{}:3: error: File:{} [Global] contains invalid options: {{'pleo'}}\n",
        p.display(),
        p.display()
    )));
    assert!(r.text.contains(&format!("{}:4: error: ", p.display())));
    assert!(effective_line(&r.text, "nr-io-queues").ends_with("(line 2)"));
    assert!(
        r.text
            .contains("\n[I/O controller connection management]\n")
    );
    assert!(r.text.contains("\n(none)\n"));
    assert!(r.text.ends_with("Result: FAILED (2 errors, 0 warnings)\n"));

    // Unparsable files are errors too; stafd shows nr-* only when the file sets them.
    let p = write(&dir, "bad.conf", "kato=1\n");
    let r = check_config(Daemon::Stafd, &p);
    assert!(!r.ok);
    let p = write(&dir, "nr.conf", "[Global]\nnr-poll-queues=2\n");
    let r = check_config(Daemon::Stafd, &p);
    assert!(!r.ok, "nr-poll-queues is invalid in stafd.conf");
    assert!(effective_line(&r.text, "nr-poll-queues").starts_with("nr-poll-queues = 2 "));
    let r = check_config(Daemon::Stafd, dir.path());
    assert!(!r.ok, "a directory cannot be read");
}

#[test]
fn missing_file_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let r = check_config(Daemon::Stacd, &dir.path().join("none.conf"));
    assert!(r.ok);
    assert!(
        r.text
            .contains("\nFile not found: built-in defaults apply.\n")
    );
    assert!(effective_line(&r.text, "kato").starts_with("kato = (unset) "));
    assert!(effective_line(&r.text, "disconnect-trtypes").starts_with("disconnect-trtypes = tcp "));
}

#[test]
fn secrets_are_masked_and_toml_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "stacd.toml",
        "[[Controllers.controller]]\ntransport = \"tcp\"\ntraddr = \"1.2.3.4\"\nnqn = \"nqn.io\"\n\
         dhchap-secret = \"TOPSECRET1\"\ndhchap-ctrl-secret = \"TOPSECRET2\"\nmy-key = \"TOPSECRET3\"\n\
         [Controllers]\nexclude = \"dhchap-secret=TOPSECRET4\"\n",
    );
    let r = check_config(Daemon::Stacd, &p);
    assert!(r.ok, "{}", r.text);
    assert!(r.text.contains("(TOML)"));
    assert!(!r.text.contains("TOPSECRET"), "{}", r.text);
    assert!(r.text.contains("dhchap-ctrl-secret=********"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["ok"], true);
}

#[test]
fn sys_conf_check() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path();
    write(&dir, "hostnqn", "nqn.2014-08.org.nvmexpress:uuid:1 extra\n");
    let sys = dir.path().join("sys.conf");
    let r = check_sys_config(&sys, etc);
    assert!(!r.ok, "no host ID file");
    assert!(
        r.text
            .contains("host NQN: nqn.2014-08.org.nvmexpress:uuid:1\n")
    );
    assert!(
        r.text
            .contains("host ID: Error reading mandatory Host ID (see stasadm --help): ")
    );
    assert!(
        r.text.ends_with("Result: FAILED (1 error, 0 warnings)\n"),
        "{}",
        r.text
    );

    write(&dir, "hostid", "56529e15-0f3e-4ede-87e2-63932a4adb99\n");
    write(
        &dir,
        "sys.conf",
        "[Host]\nkey=DHHC-1:03:SECRETKEY:\nsymname=my host\n",
    );
    let r = check_sys_config(&sys, etc);
    assert!(r.ok, "{}", r.text);
    assert!(!r.text.contains("SECRETKEY"));
    assert!(effective_line(&r.text, "key").ends_with("(line 2)"));
    assert!(r.text.contains("symbolic name: my host\n"));
    assert!(r.text.contains("host key: ******** (set)\n"));

    write(&dir, "sys.conf", "[Host]\nnqn=qnq.bad\n");
    let r = check_sys_config(&sys, etc);
    assert!(!r.ok);
    assert!(
        r.text
            .contains("host NQN: Error Host NQN \"qnq.bad\" should start with \"nqn.\"\n")
    );
}
