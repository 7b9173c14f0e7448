//! What benchmarks read of a process from /proc: memory and CPU time.

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    user_system_ticks(pid).map(|(u, s)| u + s)
}

/// utime and stime of `pid`, in clock ticks.
pub fn user_system_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some((f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?))
}

/// Clock ticks per second.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).unwrap_or(100).max(1)
}

/// CPU seconds `pid` has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    cpu_ticks(pid).unwrap_or(0) as f64 / ticks_per_second() as f64
}

/// Resident KiB of `pid` by kind of mapping, largest first: `[heap]`, `[stack]`,
/// `anonymous` (other threads' stacks and malloc arenas), and each mapped file by name.
pub fn rss_by_mapping(pid: u32) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    rss_by_mapping_of(&text)
}

fn rss_by_mapping_of(smaps: &str) -> Vec<(String, u64)> {
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    let mut current = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // A mapping's header: "start-end perms offset dev inode [path]".
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            current = fields
                .get(5)
                .map_or("anonymous", |p| p.rsplit('/').next().unwrap_or(p))
                .to_owned();
        } else if fields.first() == Some(&"Rss:") {
            *by.entry(current.clone()).or_default() += fields
                .get(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    let mut v: Vec<(String, u64)> = by.into_iter().filter(|(_, k)| *k > 0).collect();
    v.sort_by_key(|m| std::cmp::Reverse(m.1));
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn smaps_grouped_by_mapping() {
        let smaps = "\
55d0-55e0 r-xp 00000000 00:1f 12 /run/stafd-vm/stacd
Size: 64 kB
Rss: 40 kB
55f0-5600 rw-p 00000000 00:00 0 [heap]
Rss: 300 kB
7f00-7f10 rw-p 00000000 00:00 0
Rss: 8 kB
7f20-7f30 rw-p 00000000 00:00 0
Rss: 4 kB
7f40-7f50 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss: 0 kB
";
        assert_eq!(
            super::rss_by_mapping_of(smaps),
            vec![
                ("[heap]".to_owned(), 300),
                ("stacd".to_owned(), 40),
                ("anonymous".to_owned(), 12)
            ]
        );
    }
}
