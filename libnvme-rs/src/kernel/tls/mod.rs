//! NVMe/TCP TLS on the kernel backend: what libnvme 3 does before it writes `keyring=` and
//! `tls_key=` to `/dev/nvme-fabrics` (`__libnvmf_import_keys_from_config` in `crypto.c`).
//!
//! * [`interchange`] — the PSK interchange format (`NVMeTLSkey-1:…`).
//! * [`derive`] — configured PSK → retained PSK → TLS PSK and its identity.
//! * [`keyring`] — `add_key(2)` / `keyctl(2)`: the `.nvme` keyring and `psk` keys.
//!
//! The kernel then hands the TLS handshake to a user-space agent (`tlshd` from ktls-utils)
//! over the netlink handshake family; without one the connect fails.

pub mod derive;
pub mod interchange;
pub mod keyring;

use std::io;

use crate::controller::TlsParams;
use interchange::{InterchangeKey, PskHash};

/// What went wrong with a TLS key. Texts never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A configured key or setting that cannot be used.
    #[error("TLS key: {0}")]
    BadKey(String),
    /// The derivation refused its input.
    #[error("TLS key derivation: {0}")]
    Derive(&'static str),
    /// A keyring operation failed.
    #[error("TLS keyring: {op} {what}")]
    Keyring {
        /// What was being done.
        op: &'static str,
        /// On what.
        what: String,
        /// The kernel's answer.
        #[source]
        source: io::Error,
    },
}

/// The kernel serials to send: `keyring=` and `tls_key=` (0 = not sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeySerials {
    /// Keyring serial.
    pub keyring: i32,
    /// TLS PSK serial.
    pub tls_key: i32,
}

/// A number as libnvme reads `keyring` / `tls_key` (`strtol(s, &end, 0)` consuming
/// something): decimal, `0x` hex or `0` octal. `None` when the text is a name or key.
pub(crate) fn serial_number(s: &str) -> Option<i32> {
    let t = s.trim();
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    i64::from_str_radix(digits, radix)
        .ok()
        .and_then(|v| i32::try_from(v).ok())
}

/// The keyring and key serials for a TLS connect from `hostnqn` to `subsysnqn`, importing an
/// interchange-format key into the keyring first, exactly as libnvme 3 does for `--tls`:
///
/// * no key configured: nothing sent (the kernel looks the PSK up by identity in `.nvme`);
/// * a key given as a number: that serial, no keyring;
/// * an interchange key: the keyring (configured name or number, else `.nvme`) is linked
///   into our session; a key already stored under a configured identity is used; otherwise
///   the key is loaded — derived (hash `00` or no identity configured: libnvme's retained and
///   TLS PSK, identity version 1) or, with hash ≠ `00` and an identity, stored as is under
///   that identity.
pub fn import_for_connect(
    tls: &TlsParams,
    hostnqn: &str,
    subsysnqn: &str,
) -> Result<KeySerials, TlsError> {
    let Some(key) = tls.key.as_deref() else {
        return Ok(KeySerials::default());
    };
    if let Some(serial) = serial_number(key) {
        return Ok(KeySerials {
            keyring: 0,
            tls_key: serial,
        });
    }
    let keyring = match tls.keyring.as_deref() {
        Some(k) => match serial_number(k) {
            Some(n) => n,
            None => keyring::find_by_type_and_description("keyring", k)?,
        },
        None => 0,
    };
    let keyring = if keyring == 0 {
        keyring::find_by_type_and_description("keyring", keyring::DEFAULT_KEYRING)?
    } else {
        keyring
    };
    keyring::link_to_session(keyring)?;
    if let Some(identity) = tls.identity.as_deref()
        && let Ok(found) = keyring::search(-3, keyring::PSK_KEY_TYPE, identity)
    {
        return Ok(KeySerials {
            keyring,
            tls_key: found,
        });
    }
    let parsed = InterchangeKey::parse(key)?;
    let tls_key = match (parsed.hash, tls.identity.as_deref()) {
        (PskHash::None, _) | (_, None) => {
            let d = derive::derive_tls_psk(
                hostnqn,
                subsysnqn,
                parsed.version,
                parsed.hash,
                parsed.key(),
                false,
            )?;
            keyring::update_key(keyring, keyring::PSK_KEY_TYPE, &d.identity, &d.psk)?
        }
        (_, Some(identity)) => {
            keyring::update_key(keyring, keyring::PSK_KEY_TYPE, identity, parsed.key())?
        }
    };
    Ok(KeySerials { keyring, tls_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_read_as_strtol_base_0() {
        for (s, want) in [
            ("123", Some(123)),
            ("0x1f", Some(31)),
            ("0X1F", Some(31)),
            ("017", Some(15)),
            ("0", Some(0)),
            (".nvme", None),
            ("NVMeTLSkey-1:01:abc:", None),
            ("0x", None),
            ("99999999999", None),
        ] {
            assert_eq!(serial_number(s), want, "{s}");
        }
    }

    #[test]
    fn no_key_or_a_numeric_key_touches_no_keyring() {
        let none = TlsParams {
            tls: true,
            ..TlsParams::default()
        };
        assert_eq!(
            import_for_connect(&none, "h", "s").unwrap(),
            KeySerials::default()
        );
        let numeric = TlsParams {
            tls: true,
            key: Some("0x2a".into()),
            keyring: Some(".nvme".into()),
            ..TlsParams::default()
        };
        assert_eq!(
            import_for_connect(&numeric, "h", "s").unwrap(),
            KeySerials {
                keyring: 0,
                tls_key: 42
            }
        );
    }
}
