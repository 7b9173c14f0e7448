//! Integration tests: the simulator driven PDU by PDU over real localhost sockets with a raw
//! client built on the libnvme-rs codec.

mod client;
mod discovery;
mod faults;
mod io;
mod lifecycle;
