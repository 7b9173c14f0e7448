//! Kernel capability set and the `/dev/nvme-fabrics` connect option string (compat spec §5.1).
//!
//! Pure: no I/O. [`KernelCapabilities`] is parsed from the first line the kernel returns when
//! `/dev/nvme-fabrics` is read; [`ConnectOptions::build`] validates every value and produces
//! the exact string and token order libnvme 1.x writes, leaving out (and reporting) options the
//! kernel does not list.
//!
//! Validation policy: anything that could change the meaning of the comma-separated string
//! (`,`, `\n`, NUL, other control characters, whitespace, and `=` outside DH-HMAC-CHAP secrets)
//! is rejected, and so are values the kernel would refuse anyway (bad NQN length, port, UUID,
//! interface name, queue size, TOS). For tcp/rdma the target and host addresses must be **IP
//! literals**: the kernel does not resolve names, so host names must be resolved by the caller
//! first; a well-formed host name gets its own error ([`OptionsError::TraddrIsHostName`]).
//!
//! Parts: [`KernelCapabilities`] (the kernel's option list), [`ConnectOptions`] (the typed
//! parameters), the option-string builder ([`ConnectOptions::build`], [`ConnectArgs`]), the
//! validation it runs first ([`OptionsError`], value grammars), and the connect response
//! ([`parse_connect_response`]).

mod build;
mod capabilities;
mod connect;
mod response;
mod validate;

#[cfg(test)]
mod fixtures;

pub use build::{ConnectArgs, MAX_ARGS_LEN};
pub use capabilities::KernelCapabilities;
pub use connect::{ConnectOptions, DEFAULT_CTRL_LOSS_TMO};
pub use response::{ConnectResponse, ResponseError, parse_connect_response};
pub use validate::{OptionsError, is_dns_host_name, is_uuid, is_valid_ifname};
