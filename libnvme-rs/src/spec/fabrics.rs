//! Fabrics command set constants (NVMe over Fabrics specification; protocol reference §2):
//! the opcode and command types, the controller properties and their bits, Connect's data
//! size, CNTLID and status values. Shared by the native host and the simulator.

/// Opcode of every Fabrics command.
pub const OPCODE: u8 = 0x7f;

/// Fabrics Command Types.
pub mod fctype {
    /// 0x00 Property Set.
    pub const PROPERTY_SET: u8 = 0x00;
    /// 0x01 Connect.
    pub const CONNECT: u8 = 0x01;
    /// 0x04 Property Get.
    pub const PROPERTY_GET: u8 = 0x04;
    /// 0x05 Authentication Send (DH-HMAC-CHAP).
    pub const AUTH_SEND: u8 = 0x05;
    /// 0x06 Authentication Receive (DH-HMAC-CHAP).
    pub const AUTH_RECEIVE: u8 = 0x06;
    /// 0x08 Disconnect (I/O queues only).
    pub const DISCONNECT: u8 = 0x08;
}

/// Controller property offsets.
pub mod property {
    /// 8 bytes; nvmet only accepts 8-byte reads of it.
    pub const CAP: u32 = 0x00;
    /// VS: version, 4 bytes.
    pub const VS: u32 = 0x08;
    /// CC: controller configuration, 4 bytes.
    pub const CC: u32 = 0x14;
    /// CSTS: controller status, 4 bytes.
    pub const CSTS: u32 = 0x1c;
}

/// CC bits (§2.3).
pub mod cc {
    /// EN (bit 0): enable the controller.
    pub const EN: u32 = 1 << 0;
    /// CSS = 110b: all supported I/O command sets (when CAP.CSS bit 43 is set).
    pub const CSS_ALL_IO: u32 = 6 << 4;
    /// SHN = 01b (bits 15:14): normal shutdown notification.
    pub const SHN_NORMAL: u32 = 1 << 14;
    /// SHN field mask (bits 15:14).
    pub const SHN_MASK: u32 = 3 << 14;
    /// IOSQES = 6 (64-byte SQEs); nvmet sets CFS otherwise.
    pub const IOSQES: u32 = 6 << 16;
    /// IOCQES = 4 (16-byte CQEs).
    pub const IOCQES: u32 = 4 << 20;
}

/// CSTS bits.
pub mod csts {
    /// RDY (bit 0): controller ready.
    pub const RDY: u32 = 1 << 0;
    /// CFS (bit 1): controller fatal status.
    pub const CFS: u32 = 1 << 1;
    /// SHST field mask (bits 3:2): shutdown status.
    pub const SHST_MASK: u32 = 3 << 2;
    /// SHST = 10b: shutdown processing complete.
    pub const SHST_COMPLETE: u32 = 2 << 2;
}

/// Connect CATTR bit 2: disable SQ flow control.
pub const CATTR_DISABLE_SQFLOW: u8 = 1 << 2;
/// Size of the Connect data.
pub const CONNECT_DATA_SIZE: usize = 1024;
/// Admin Connect CNTLID: any controller of the dynamic model.
pub const CNTLID_DYNAMIC: u16 = 0xffff;
/// Connect response DW0 bit: authentication required on this queue.
pub const CONNECT_ATR: u32 = 1 << 17;
/// Command specific status: Connect Invalid Parameters.
pub const SC_CONNECT_INVALID_PARAMETERS: u8 = 0x82;
