//! The kernel key retention service, as libnvme uses it for NVMe/TCP TLS (`keyutils`
//! calls made as raw `add_key(2)` / `keyctl(2)` system calls).

use std::ffi::CString;
use std::io;

use super::TlsError;

/// The session keyring of the calling process (`KEY_SPEC_SESSION_KEYRING`).
const SESSION_KEYRING: i32 = -3;
const KEYCTL_REVOKE: libc::c_long = 3;
const KEYCTL_LINK: libc::c_long = 8;
const KEYCTL_SEARCH: libc::c_long = 10;

/// The keyring libnvme uses when none is configured; the kernel's nvme-keyring module creates
/// it.
pub const DEFAULT_KEYRING: &str = ".nvme";

/// The key type the kernel's nvme-keyring module registers for TLS PSKs.
pub const PSK_KEY_TYPE: &str = "psk";

fn cstr(s: &str) -> Result<CString, TlsError> {
    CString::new(s).map_err(|_| TlsError::BadKey("a keyring name or identity holds a NUL".into()))
}

fn syscall_result(r: libc::c_long) -> io::Result<i32> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        i32::try_from(r).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
    }
}

/// `keyctl_search(keyring, type, description, 0)`: the serial of a key reachable from
/// `keyring`.
pub fn search(keyring: i32, key_type: &str, description: &str) -> Result<i32, TlsError> {
    let (t, d) = (cstr(key_type)?, cstr(description)?);
    // SAFETY: keyctl(KEYCTL_SEARCH) reads two NUL-terminated strings that live across the
    // call; the other arguments are plain integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            libc::c_long::from(keyring),
            t.as_ptr(),
            d.as_ptr(),
            0 as libc::c_long,
        )
    };
    syscall_result(r).map_err(|e| TlsError::Keyring {
        op: "search",
        what: format!("{key_type} {description:?}"),
        source: e,
    })
}

/// `keyctl_link(key, KEY_SPEC_SESSION_KEYRING)`, as libnvme's `libnvmf_set_keyring`: makes
/// the keyring's keys reachable from our session.
pub fn link_to_session(keyring: i32) -> Result<(), TlsError> {
    // SAFETY: keyctl(KEYCTL_LINK) takes two key serials.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_LINK,
            libc::c_long::from(keyring),
            libc::c_long::from(SESSION_KEYRING),
        )
    };
    syscall_result(r).map(drop).map_err(|e| TlsError::Keyring {
        op: "link",
        what: format!("keyring {keyring:#010x} into the session keyring"),
        source: e,
    })
}

fn revoke(key: i32) -> io::Result<()> {
    // SAFETY: keyctl(KEYCTL_REVOKE) takes one key serial.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_REVOKE, libc::c_long::from(key)) };
    syscall_result(r).map(drop)
}

/// libnvme's `libnvmf_update_key`: revoke a key of `key_type` named `description` in
/// `keyring` if there is one, then add the new one; its serial.
pub fn update_key(
    keyring: i32,
    key_type: &str,
    description: &str,
    payload: &[u8],
) -> Result<i32, TlsError> {
    if let Ok(old) = search(keyring, key_type, description) {
        revoke(old).map_err(|e| TlsError::Keyring {
            op: "revoke",
            what: format!("the old key {old:#010x}"),
            source: e,
        })?;
    }
    let (t, d) = (cstr(key_type)?, cstr(description)?);
    // SAFETY: add_key(2) reads two NUL-terminated strings and `payload.len()` bytes at
    // `payload`, all alive across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            t.as_ptr(),
            d.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            libc::c_long::from(keyring),
        )
    };
    syscall_result(r).map_err(|e| TlsError::Keyring {
        op: "add",
        what: format!("{key_type} {description:?} to keyring {keyring:#010x}"),
        source: e,
    })
}

/// libkeyutils' `find_key_by_type_and_desc(type, desc, 0)` as libnvme's
/// `libnvmf_lookup_keyring` calls it: a search from the session keyring first, then the
/// keys listed in `/proc/keys`.
pub fn find_by_type_and_description(key_type: &str, description: &str) -> Result<i32, TlsError> {
    if let Ok(k) = search(SESSION_KEYRING, key_type, description) {
        return Ok(k);
    }
    let text =
        crate::kernel::read_bounded(std::path::Path::new("/proc/keys"), 4 << 20).map_err(|e| {
            TlsError::Keyring {
                op: "read",
                what: "/proc/keys".into(),
                source: e,
            }
        })?;
    find_in_proc_keys(&String::from_utf8_lossy(&text), key_type, description).ok_or_else(|| {
        TlsError::Keyring {
            op: "find",
            what: format!("{key_type} {description:?}"),
            source: io::Error::from_raw_os_error(libc::ENOKEY),
        }
    })
}

/// The serial of the first `/proc/keys` line of `key_type` whose description is
/// `description` (the kernel may append `: <summary>`). Lines are
/// `serial flags usage expiry perm uid gid type description`.
pub(crate) fn find_in_proc_keys(text: &str, key_type: &str, description: &str) -> Option<i32> {
    text.lines().find_map(|line| {
        // Eight columns, then the description as the rest of the line.
        let mut rest = line;
        let mut cols = [""; 8];
        for c in &mut cols {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace)?;
            (*c, rest) = rest.split_at(end);
        }
        let serial = i32::from_str_radix(cols[0], 16).ok()?;
        if cols[7] != key_type {
            return None;
        }
        let tail = rest.trim_start().strip_prefix(description)?;
        (tail.is_empty() || tail.starts_with(':') || tail.starts_with(' ')).then_some(serial)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_KEYS: &str = "\
0a1b2c3d I--Q---     1 perm 3f010000     0     0 keyring   _ses: 1
1e2f3a4b I------     1 perm 1f0b0000     0     0 keyring   .nvme-other: empty
2c3d4e5f I------     2 perm 1f0b0000     0     0 keyring   .nvme: 1
3d4e5f60 I--Q---     1 perm 3f010000     0     0 psk       NVMe0R01 nqn.h nqn.s: 32
";

    #[test]
    fn proc_keys_lookup_matches_type_and_whole_description() {
        assert_eq!(
            find_in_proc_keys(PROC_KEYS, "keyring", ".nvme"),
            Some(0x2c3d_4e5f)
        );
        assert_eq!(
            find_in_proc_keys(PROC_KEYS, "psk", "NVMe0R01 nqn.h nqn.s"),
            Some(0x3d4e_5f60)
        );
        assert_eq!(find_in_proc_keys(PROC_KEYS, "psk", ".nvme"), None);
        assert_eq!(find_in_proc_keys(PROC_KEYS, "keyring", ".nv"), None);
        assert_eq!(find_in_proc_keys(PROC_KEYS, "keyring", "missing"), None);
        for junk in ["", "zz", "xyz I 1 perm 0 0 0 keyring .nvme", "\n\n"] {
            assert_eq!(
                find_in_proc_keys(junk, "keyring", ".nvme"),
                None,
                "{junk:?}"
            );
        }
    }
}
