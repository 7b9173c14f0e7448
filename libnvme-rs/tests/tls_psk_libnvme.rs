//! Differential test of `kernel::tls` against **libnvme's own code**: nvme-cli's
//! `libnvme/src/nvme/crypto.c` (vendored in `tests/vendor/nvme-cli`), built with OpenSSL by
//! `tests/scripts/libnvme-psk-vectors.sh`. The same derivations, imports and exports are
//! asked of both, over a fixed matrix and generated inputs.
//!
//! Without gcc, the sources or OpenSSL's headers the test prints `SKIPPED: <why>` and
//! passes, unless `STAS_REQUIRE_SYSTEM_TESTS=1`.

use std::io::Write;
use std::process::Stdio;

use libnvme_rs::kernel::tls::derive::derive_tls_psk;
use libnvme_rs::kernel::tls::interchange::{InterchangeKey, PskHash};

mod common;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// libnvme's answers, one line per request line.
fn libnvme(harness: &common::Harness, requests: &[String]) -> Vec<String> {
    let mut child = harness
        .command("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = requests.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "run: {out:?}");
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), requests.len(), "one answer per request");
    lines
}

fn hash_of(code: u8) -> PskHash {
    match code {
        0 => PskHash::None,
        1 => PskHash::Sha256,
        _ => PskHash::Sha384,
    }
}

/// xorshift: reproducible inputs without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn nqn(&mut self) -> String {
        let len = 1 + (self.next() % 200) as usize;
        let tail: String = (0..len)
            .map(|_| {
                char::from(b"abcdefghijklmnopqrstuvwxyz0123456789.:-"[(self.next() % 39) as usize])
            })
            .collect();
        format!("nqn.2024-01.io.example:{tail}")
    }
}

#[test]
fn derivation_import_and_export_match_libnvme() {
    const HOST: &str = "nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
    const SUBSYS: &str = "nqn.2024-01.io.example:subsys1";
    let k32: Vec<u8> = (0..32).collect();
    let k48: Vec<u8> = (0..48).collect();
    // (hostnqn, subsysnqn, version, hash code, key, compat)
    let mut cases: Vec<(String, String, u8, u8, Vec<u8>, bool)> = Vec::new();
    for version in [0u8, 1] {
        for code in [0u8, 1, 2] {
            for key in [&k32, &k48] {
                for compat in [false, true] {
                    cases.push((
                        HOST.into(),
                        SUBSYS.into(),
                        version,
                        code,
                        key.clone(),
                        compat,
                    ));
                }
            }
        }
    }
    let seed = std::env::var("STAS_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (STAS_DIFF_SEED replays it)");
    let mut rng = Rng(seed);
    for _ in 0..200 {
        let code = (rng.next() % 3) as u8;
        let len = if rng.next().is_multiple_of(2) { 32 } else { 48 };
        cases.push((
            rng.nqn(),
            rng.nqn(),
            (rng.next() % 2) as u8,
            code,
            rng.bytes(len),
            rng.next().is_multiple_of(4),
        ));
    }
    let mut requests: Vec<String> = cases
        .iter()
        .map(|(h, s, v, c, k, compat)| {
            format!(
                "derive\t{h}\t{s}\t{v}\t{c}\t{}\t{}",
                hex(k),
                u8::from(*compat)
            )
        })
        .collect();
    // Interchange keys: every valid (hash, length) pair with random keys, exported by
    // libnvme and by us, and imported back by both.
    let mut keys = Vec::new();
    for _ in 0..50 {
        let (code, len) = [(0u8, 32usize), (0, 48), (1, 32), (2, 48)][(rng.next() % 4) as usize];
        keys.push((code, rng.bytes(len)));
    }
    for (code, key) in &keys {
        requests.push(format!("export\t1\t{code}\t{}", hex(key)));
    }
    let Some(harness) = common::Harness::build("libnvme-psk-vectors.sh") else {
        return;
    };
    let answers = libnvme(&harness, &requests);

    let mut compared = 0;
    for ((h, s, v, c, k, compat), answer) in cases.iter().zip(&answers) {
        let ours = derive_tls_psk(h, s, *v, hash_of(*c), k, *compat);
        let f: Vec<&str> = answer.split('\t').collect();
        match (f.as_slice(), ours) {
            (["ok", identity, psk], Ok(d)) => {
                assert_eq!(
                    d.identity,
                    *identity,
                    "identity of {v}/{c}/{}/{compat}",
                    k.len()
                );
                assert_eq!(
                    hex(&d.psk),
                    *psk,
                    "PSK of {v}/{c}/{}/{compat} {h} {s}",
                    k.len()
                );
                compared += 1;
            }
            (["err", _], Err(_)) => {}
            (theirs, ours) => panic!(
                "{v}/{c}/{}/{compat} {h} {s}: libnvme {theirs:?}, ours {:?}",
                k.len(),
                ours.map(|d| d.identity.clone())
            ),
        }
    }
    // Long NQNs make some identities too long for both: most still derive.
    assert!(compared > 100, "only {compared} derivations compared");
    println!(
        "{compared} of {} derivations compared, the rest refused by both",
        cases.len()
    );

    for ((code, key), answer) in keys.iter().zip(&answers[cases.len()..]) {
        let theirs = answer.strip_prefix("ok\t").expect(answer);
        let ours = InterchangeKey::new(hash_of(*code), key).unwrap();
        assert_eq!(ours.encode(), theirs);
        let back = InterchangeKey::parse(theirs).unwrap();
        assert_eq!((back.hash.code(), back.key()), (*code, key.as_slice()));
    }

    // libnvme's import of our exports (and of the key Debian's nvme-cli checks).
    let mut imports: Vec<String> = keys
        .iter()
        .map(|(c, k)| {
            format!(
                "import\t{}",
                InterchangeKey::new(hash_of(*c), k).unwrap().encode()
            )
        })
        .collect();
    imports
        .push("import\tNVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:".into());
    let answers = libnvme(&harness, &imports);
    for (req, answer) in imports.iter().zip(&answers) {
        let f: Vec<&str> = answer.split('\t').collect();
        let ["ok", "1", code, key] = f.as_slice() else {
            panic!("libnvme refused {req}: {answer}")
        };
        let ours = InterchangeKey::parse(req.strip_prefix("import\t").unwrap()).unwrap();
        assert_eq!(ours.hash.code().to_string(), *code);
        assert_eq!(ours.key(), unhex(key).as_slice());
    }
}
