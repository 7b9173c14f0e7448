//! Why a table or one of its descriptors was rejected.

/// Why a table (or one of its descriptors) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NbftError {
    /// Fewer bytes than the header and control descriptor need.
    #[error("table too short: {len} bytes, at least {min} needed")]
    TooShort {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        min: usize,
    },
    /// The signature is not `NBFT`.
    #[error("bad signature {0:02x?} (expected \"NBFT\")")]
    BadSignature([u8; 4]),
    /// The header's length is larger than the data.
    #[error("header length {header} exceeds the {actual} bytes available")]
    LengthExceedsData {
        /// Length in the header.
        header: u32,
        /// Bytes available.
        actual: usize,
    },
    /// The table bytes do not sum to zero.
    #[error("bad checksum (the table sums to {0:#04x}, not 0)")]
    BadChecksum(u8),
    /// Major revision other than 1.
    #[error("unsupported major revision {0}")]
    UnsupportedRevision(u8),
    /// A structure or list lies (partly) outside the table.
    #[error("{what} at offset {offset} (+{len} bytes) exceeds the table length {table}")]
    OutOfBounds {
        /// What was located.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// Table length.
        table: usize,
    },
    /// A descriptor's structure ID is wrong.
    #[error("{what}: structure ID {found}, expected {expected}")]
    BadStructureId {
        /// The descriptor.
        what: &'static str,
        /// ID found.
        found: u8,
        /// ID expected.
        expected: u8,
    },
    /// A descriptor's version is unsupported.
    #[error("{what}: unsupported version {found}")]
    BadVersion {
        /// The descriptor.
        what: &'static str,
        /// Version found.
        found: u8,
    },
    /// The declared descriptor length is shorter than the structure.
    #[error("{what}: descriptor length {stride} is shorter than {min} bytes")]
    DescriptorTooShort {
        /// The list.
        what: &'static str,
        /// Declared length.
        stride: u16,
        /// Structure size.
        min: usize,
    },
    /// The host descriptor's valid flag is clear.
    #[error("host descriptor is not marked valid")]
    HostNotValid,
    /// A required heap object is absent (zero length).
    #[error("{what}: missing {field}")]
    Missing {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A heap reference points outside the heap.
    #[error("{what}: {field} (offset {offset}, {length} bytes) lies outside the heap")]
    HeapObjectOutOfBounds {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its offset.
        offset: u32,
        /// Its length.
        length: u16,
    },
    /// A heap object is shorter than the structure it should hold.
    #[error("{what}: {field} is {len} bytes, at least {min} needed")]
    HeapObjectTooShort {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// Needed length.
        min: usize,
    },
    /// A heap string is not UTF-8 or an address is malformed.
    #[error("{what}: {field} is malformed")]
    Malformed {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// Transport type other than NVMe/TCP.
    #[error("{what}: unsupported transport type {trtype}")]
    UnsupportedTransport {
        /// The descriptor.
        what: &'static str,
        /// The type.
        trtype: u8,
    },
    /// A sub-structure's valid flag is clear.
    #[error("{what} is not marked valid")]
    NotValid {
        /// The structure.
        what: &'static str,
    },
    /// A referenced HFI does not exist (or was skipped).
    #[error("{what}: HFI {index} not found")]
    HfiNotFound {
        /// The descriptor.
        what: &'static str,
        /// The HFI index.
        index: u8,
    },
    /// A discovery controller URI cannot be used.
    #[error("discovery URI \"{uri}\": {reason}")]
    BadUri {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: &'static str,
    },
}
