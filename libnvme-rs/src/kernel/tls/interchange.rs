//! The NVMe TLS PSK interchange format (NVMe/TCP transport spec 3.6.1.5, libnvme
//! `libnvmf_import_tls_key_versioned` / `..._export_...`):
//! `NVMeTLSkey-1:<hh>:<base64 of key || CRC-32(key) little-endian>:` where `<hh>` is the hash
//! that turns the configured PSK into the retained one (00 none, 01 SHA-256, 02 SHA-384) and
//! the key is 32 or 48 bytes.

use std::fmt;

use super::TlsError;

/// The retained-key transform of an interchange key (`<hh>`), which also names the cipher
/// suite's hash when it is not `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PskHash {
    /// `00`: the configured PSK is used as the retained PSK.
    None,
    /// `01`: SHA-256 (TLS_AES_128_GCM_SHA256).
    Sha256,
    /// `02`: SHA-384 (TLS_AES_256_GCM_SHA384).
    Sha384,
}

impl PskHash {
    /// The two-digit code of the interchange format and of PSK identities.
    pub fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Sha256 => 1,
            Self::Sha384 => 2,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Self::None),
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha384),
            _ => None,
        }
    }
}

/// A PSK read from its interchange form. The key bytes are zeroed on drop and never shown
/// by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct InterchangeKey {
    /// Format version (only 1 exists).
    pub version: u8,
    /// Retained-key transform.
    pub hash: PskHash,
    key: Vec<u8>,
}

const PREFIX: &str = "NVMeTLSkey-";

impl InterchangeKey {
    /// A key of `version` 1 with `hash`; 32 or 48 bytes (exactly 32 for SHA-256, 48 for
    /// SHA-384), as libnvme's export checks.
    pub fn new(hash: PskHash, key: &[u8]) -> Result<Self, TlsError> {
        let ok = match hash {
            PskHash::None => key.len() == 32 || key.len() == 48,
            PskHash::Sha256 => key.len() == 32,
            PskHash::Sha384 => key.len() == 48,
        };
        if !ok {
            return Err(TlsError::BadKey(format!(
                "a {}-byte key does not go with hash {:02}",
                key.len(),
                hash.code()
            )));
        }
        Ok(Self {
            version: 1,
            hash,
            key: key.to_vec(),
        })
    }

    /// Parses `NVMeTLSkey-1:<hh>:<base64>:` with libnvme's checks: version 1, hash 00/01/02,
    /// total length 65 (32-byte key) or 89 (48-byte key), matching the hash, CRC-32 correct.
    /// Error texts never contain the key.
    pub fn parse(text: &str) -> Result<Self, TlsError> {
        let bad =
            |why: &str| TlsError::BadKey(format!("not a TLS PSK in interchange format: {why}"));
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("no NVMeTLSkey- prefix"))?;
        let b = rest.as_bytes();
        if b.len() < 5 || b[0] != b'1' || b[1] != b':' || b[4] != b':' {
            return Err(bad("version must be 1 and the hash two digits"));
        }
        let hash = std::str::from_utf8(&b[2..4])
            .ok()
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .and_then(PskHash::from_code)
            .ok_or_else(|| bad("unknown hash (00, 01 or 02)"))?;
        let len_ok = match hash {
            PskHash::None => text.len() == 65 || text.len() == 89,
            PskHash::Sha256 => text.len() == 65,
            PskHash::Sha384 => text.len() == 89,
        };
        if !len_ok {
            return Err(bad("wrong length for its hash"));
        }
        let body = &text[PREFIX.len() + 5..];
        let body = body
            .strip_suffix(':')
            .ok_or_else(|| bad("no closing ':'"))?;
        let raw = base64_decode(body).ok_or_else(|| bad("bad base64"))?;
        if raw.len() != 36 && raw.len() != 52 {
            return Err(bad("the key is neither 32 nor 48 bytes"));
        }
        let (key, crc) = raw.split_at(raw.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if stored != crc32(key) {
            return Err(bad("CRC mismatch"));
        }
        Ok(Self {
            version: 1,
            hash,
            key: key.to_vec(),
        })
    }

    /// The interchange form (libnvme's export).
    pub fn encode(&self) -> String {
        let mut raw = self.key.clone();
        raw.extend_from_slice(&crc32(&self.key).to_le_bytes());
        let s = format!(
            "{PREFIX}{:x}:{:02x}:{}:",
            self.version,
            self.hash.code(),
            base64_encode(&raw)
        );
        raw.fill(0);
        s
    }

    /// The key bytes (the configured or retained PSK).
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl Drop for InterchangeKey {
    fn drop(&mut self) {
        self.key.fill(0);
    }
}

impl fmt::Debug for InterchangeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterchangeKey")
            .field("version", &self.version)
            .field("hash", &self.hash)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .finish()
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with `=` padding; `None` for anything else (length not a multiple of 4,
/// stray characters, padding inside).
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk[..4 - pad].iter().enumerate() {
            let v = B64.iter().position(|&x| x == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian's `nvme check-tls-key -k` (nvme-cli 2.3) on this key: "Key is valid (HMAC 1,
    /// length 32, CRC d9baf45f)".
    const VALID: &str = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";

    #[test]
    fn reads_a_key_nvme_cli_accepts() {
        let k = InterchangeKey::parse(VALID).unwrap();
        assert_eq!((k.version, k.hash, k.key().len()), (1, PskHash::Sha256, 32));
        assert_eq!(crc32(k.key()), 0xd9ba_f45f);
        assert_eq!(k.encode(), VALID);
        assert!(!format!("{k:?}").contains("VRLb"));
    }

    #[test]
    fn crc32_and_base64_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        for (plain, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain), enc);
            assert_eq!(base64_decode(enc).as_deref(), Some(plain));
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9*", "Zm 9"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_every_hash_and_length() {
        for (hash, len) in [
            (PskHash::None, 32),
            (PskHash::None, 48),
            (PskHash::Sha256, 32),
            (PskHash::Sha384, 48),
        ] {
            let key: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let k = InterchangeKey::new(hash, &key).unwrap();
            let text = k.encode();
            assert_eq!(text.len(), if len == 32 { 65 } else { 89 });
            assert_eq!(InterchangeKey::parse(&text).unwrap(), k);
        }
        assert!(InterchangeKey::new(PskHash::Sha256, &[0; 48]).is_err());
        assert!(InterchangeKey::new(PskHash::Sha384, &[0; 32]).is_err());
        assert!(InterchangeKey::new(PskHash::None, &[0; 16]).is_err());
    }

    #[test]
    fn malformed_keys_are_refused_without_showing_them() {
        let crc_off = VALID.replacen("VRL", "WRL", 1);
        let cases = [
            "",
            "NVMeTLSkey-1:01:",
            "NVMeTLSkey-2:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
            "NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
            "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
            "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ",
            "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9Lr*:",
            "NVMeTLSkey-1:1:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ::",
            "DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
            &crc_off,
        ];
        for c in cases {
            let e = InterchangeKey::parse(c).expect_err(c).to_string();
            assert!(!e.contains("VRLb") && !e.contains("WRLb"), "{e}");
        }
        assert!(
            InterchangeKey::parse(&crc_off)
                .unwrap_err()
                .to_string()
                .contains("CRC")
        );
    }
}
