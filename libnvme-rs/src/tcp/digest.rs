//! CRC32C header and data digests (protocol reference §1.5).

/// CRC-32C (Castagnoli, init and final XOR 0xFFFFFFFF), as NVMe/TCP and iSCSI use it; the
/// `crc32c` crate picks the SSE4.2 / ARMv8 CRC instructions at run time.
pub fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
}

/// Continues a CRC-32C over data that arrives in pieces (scattered receive buffers).
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    ::crc32c::crc32c_append(crc, data)
}
