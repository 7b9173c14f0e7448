//! Identify Namespace (CNS 0) and the NVM command set's opcodes: wire formats both backends
//! use (protocol reference §4.2).

use super::identify::IDENTIFY_SIZE;

/// NVM command set opcodes.
pub mod nvm_opcode {
    /// Write (0x01).
    pub const WRITE: u8 = 0x01;
    /// Read (0x02).
    pub const READ: u8 = 0x02;
}

/// Why Identify Namespace data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceDecodeError {
    /// The buffer is shorter than [`IDENTIFY_SIZE`] bytes.
    #[error("identify namespace needs {IDENTIFY_SIZE} bytes, got {len}")]
    Short {
        /// Length of the buffer that was given, in bytes.
        len: usize,
    },
}

/// One LBA format of Identify Namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbaFormat {
    /// Metadata bytes per block.
    pub ms: u16,
    /// log2 of the data size.
    pub lbads: u8,
    /// Relative performance.
    pub rp: u8,
}

/// The Identify Namespace fields an initiator needs (CNS 0, §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyNamespace {
    /// NSZE: namespace size in logical blocks; 0 for an inactive NSID.
    pub nsze: u64,
    /// NCAP: namespace capacity in logical blocks.
    pub ncap: u64,
    /// NUSE: namespace utilization in logical blocks.
    pub nuse: u64,
    /// NSFEAT: namespace features bitmask.
    pub nsfeat: u8,
    /// 0's based number of LBA formats.
    pub nlbaf: u8,
    /// FLBAS: formatted LBA size; bits 3:0 format index low, bit 4 extended metadata, bits 6:5 index high.
    pub flbas: u8,
    /// NMIC: namespace multi-path I/O and sharing capabilities (bit 0 shared).
    pub nmic: u8,
    /// ANAGRPID: ANA group identifier.
    pub anagrpid: u32,
    /// NGUID: namespace globally unique identifier (all zeros if not reported).
    pub nguid: [u8; 16],
    /// EUI64: IEEE extended unique identifier (all zeros if not reported).
    pub eui64: [u8; 8],
    /// The `nlbaf + 1` formats (at most 64).
    pub lbaf: Vec<LbaFormat>,
}

fn le<const N: usize>(buf: &[u8], offset: usize) -> [u8; N] {
    buf.get(offset..offset + N)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .unwrap_or([0; N])
}

impl IdentifyNamespace {
    /// Decodes the 4096-byte Identify Namespace data structure.
    pub fn decode(buf: &[u8]) -> Result<Self, NamespaceDecodeError> {
        if buf.len() < IDENTIFY_SIZE {
            return Err(NamespaceDecodeError::Short { len: buf.len() });
        }
        let nlbaf = buf[25];
        let lbaf = (0..=usize::from(nlbaf).min(63))
            .map(|i| {
                let off = 128 + 4 * i;
                LbaFormat {
                    ms: u16::from_le_bytes(le(buf, off)),
                    lbads: buf[off + 2],
                    rp: buf[off + 3] & 3,
                }
            })
            .collect();
        Ok(Self {
            nsze: u64::from_le_bytes(le(buf, 0)),
            ncap: u64::from_le_bytes(le(buf, 8)),
            nuse: u64::from_le_bytes(le(buf, 16)),
            nsfeat: buf[24],
            nlbaf,
            flbas: buf[26],
            nmic: buf[30],
            anagrpid: u32::from_le_bytes(le(buf, 92)),
            nguid: le(buf, 104),
            eui64: le(buf, 120),
            lbaf,
        })
    }

    /// An inactive NSID reads as all zeros.
    pub fn is_active(&self) -> bool {
        self.nsze != 0
    }

    /// FLBAS format index: bits 3:0, plus bits 6:5 as the high bits.
    pub fn format_index(&self) -> usize {
        usize::from(self.flbas & 0xf) | (usize::from((self.flbas >> 5) & 3) << 4)
    }

    /// Data bytes per block of the current format; `None` if the format is missing or
    /// its size is implausible (below 512 bytes or above 2 GiB).
    pub fn block_size(&self) -> Option<u32> {
        let lbads = self.lbaf.get(self.format_index())?.lbads;
        (9..=31).contains(&lbads).then(|| 1u32 << lbads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_namespace_decode() {
        let mut b = vec![0u8; IDENTIFY_SIZE];
        b[0..8].copy_from_slice(&1000u64.to_le_bytes());
        b[25] = 1;
        b[26] = 1;
        b[128 + 2] = 9;
        b[132 + 2] = 12;
        b[132] = 8;
        let id = IdentifyNamespace::decode(&b).unwrap();
        assert!(id.is_active());
        assert_eq!(id.lbaf.len(), 2);
        assert_eq!(id.block_size(), Some(4096));
        assert_eq!(id.lbaf[1].ms, 8);
        b[26] = 0x20; // index 16: missing
        assert_eq!(IdentifyNamespace::decode(&b).unwrap().block_size(), None);
        assert_eq!(
            IdentifyNamespace::decode(&b[..100]),
            Err(NamespaceDecodeError::Short { len: 100 })
        );
    }
}
