//! Validation of every [`ConnectOptions`] field before anything is written
//! ([`OptionsError`]), and the value grammars it uses.

use super::ConnectOptions;
use super::build::MAX_ARGS_LEN;
use super::connect::is_unset;
use crate::spec::NQN_MAX_LEN;
use crate::trid::{IpLiteral, Transport};

/// Why a [`ConnectOptions`] was refused. Nothing is written to the kernel in that case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// `nqn` is empty.
    #[error("subsystem NQN is empty")]
    EmptyNqn,
    /// `nqn` or `hostnqn` exceeds 223 bytes.
    #[error("{option} is {len} bytes long (max {NQN_MAX_LEN})")]
    NqnTooLong {
        /// `nqn` or `hostnqn`.
        option: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A value contains `,`, `\n` or `=` (the kernel's separators).
    #[error("{option} value contains the separator {ch:?}")]
    Separator {
        /// Option name.
        option: &'static str,
        /// The offending character.
        ch: char,
    },
    /// A value contains NUL, another control character or whitespace.
    #[error("{option} value contains a control or whitespace character {ch:?}")]
    ControlOrSpace {
        /// Option name.
        option: &'static str,
        /// The offending character.
        ch: char,
    },
    /// tcp/rdma without a target address.
    #[error("traddr is required for {0}")]
    MissingTraddr(Transport),
    /// tcp/rdma `traddr` is a host name; the kernel needs an IP literal (resolve it first).
    #[error("traddr {0:?} is a host name; {1} needs an IP address (resolve it first)")]
    TraddrIsHostName(String, Transport),
    /// tcp/rdma `traddr` is neither an IP literal nor a host name.
    #[error("traddr {0:?} is not a valid IP address")]
    InvalidTraddr(String),
    /// tcp/rdma `host_traddr` is not an IP literal.
    #[error("host_traddr {0:?} is not a valid IP address")]
    InvalidHostTraddr(String),
    /// tcp/rdma `trsvcid` is not a decimal port in 1..=65535.
    #[error("trsvcid {0:?} is not a port number (1-65535)")]
    InvalidTrsvcid(String),
    /// `hostid` is not a UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    #[error("hostid {0:?} is not a UUID")]
    InvalidHostId(String),
    /// `host_iface` is not a valid Linux interface name.
    #[error("host_iface {0:?} is not a valid interface name")]
    InvalidHostIface(String),
    /// `queue_size` outside 16..=1024.
    #[error("queue_size {0} is outside 16-1024")]
    InvalidQueueSize(u32),
    /// `tos` outside 0..=255.
    #[error("tos {0} is outside 0-255")]
    InvalidTos(i32),
    /// `ctrl_loss_tmo` below -1.
    #[error("ctrl_loss_tmo {0} is below -1")]
    InvalidCtrlLossTmo(i32),
    /// The whole string exceeds [`MAX_ARGS_LEN`] (long DH-HMAC-CHAP secrets).
    #[error("option string is {0} bytes long (max {MAX_ARGS_LEN})")]
    TooLong(usize),
    /// `tls` together with `concat` (libnvme: "cannot specify --tls and --concat together").
    #[error("tls and concat cannot be used together")]
    TlsWithConcat,
    /// `concat` without `dhchap_secret`.
    #[error("concat needs a DH-HMAC-CHAP host secret")]
    ConcatWithoutSecret,
    /// A TLS option on a transport other than tcp.
    #[error("{0} is only for the tcp transport")]
    TlsNotTcp(&'static str),
    /// A TLS option this kernel does not list: sending the rest would connect without the
    /// protection that was asked for.
    #[error("the kernel does not support the {0} option (NVMe/TCP TLS)")]
    TlsUnsupported(&'static str),
    /// An integer option above `i32::MAX` (the kernel parses `%d`).
    #[error("{option} value {value} is too large")]
    IntegerTooLarge {
        /// Option name.
        option: &'static str,
        /// The value.
        value: u32,
    },
}

impl ConnectOptions {
    /// libnvme's TLS checks (`tls` with `concat`, `concat` without a host secret), and every
    /// TLS option asked for must be one the kernel takes. [`ConnectOptions::build`] runs it;
    /// callers that prepare keys first run it before they touch the keyring.
    pub fn check_tls(&self, caps: &super::KernelCapabilities) -> Result<(), OptionsError> {
        if self.tls && self.concat {
            return Err(OptionsError::TlsWithConcat);
        }
        if self.concat && is_unset(&self.dhchap_secret) {
            return Err(OptionsError::ConcatWithoutSecret);
        }
        let wanted = [
            ("keyring", self.keyring.is_some_and(|k| k != 0)),
            ("tls_key", self.tls_key.is_some_and(|k| k != 0)),
            ("tls", self.tls),
            ("concat", self.concat),
        ];
        for (name, _) in wanted.into_iter().filter(|(_, on)| *on) {
            if self.transport != Transport::Tcp {
                return Err(OptionsError::TlsNotTcp(name));
            }
            if !caps.supports(name) {
                return Err(OptionsError::TlsUnsupported(name));
            }
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), OptionsError> {
        if self.nqn.is_empty() {
            return Err(OptionsError::EmptyNqn);
        }
        for (option, value) in [("nqn", &self.nqn), ("hostnqn", &self.hostnqn)] {
            if value.len() > NQN_MAX_LEN {
                return Err(OptionsError::NqnTooLong {
                    option,
                    len: value.len(),
                });
            }
        }
        for (option, value, allow_eq) in [
            ("nqn", &self.nqn, false),
            ("traddr", &self.traddr, false),
            ("trsvcid", &self.trsvcid, false),
            ("host_traddr", &self.host_traddr, false),
            ("host_iface", &self.host_iface, false),
            ("hostnqn", &self.hostnqn, false),
            ("hostid", &self.hostid, false),
            // Base64 padding of 48/64-byte keys ends in '='; the kernel's "%s" pattern takes
            // the rest of the token, so '=' is safe (and necessary) here.
            ("dhchap_secret", &self.dhchap_secret, true),
            ("dhchap_ctrl_secret", &self.dhchap_ctrl_secret, true),
        ] {
            check_chars(option, value, allow_eq)?;
        }

        if self.transport.is_ip() {
            if is_unset(&self.traddr) {
                return Err(OptionsError::MissingTraddr(self.transport));
            }
            if IpLiteral::parse(&self.traddr).is_none() {
                return Err(if is_dns_host_name(&self.traddr) {
                    OptionsError::TraddrIsHostName(self.traddr.clone(), self.transport)
                } else {
                    OptionsError::InvalidTraddr(self.traddr.clone())
                });
            }
            if !is_unset(&self.host_traddr) && IpLiteral::parse(&self.host_traddr).is_none() {
                return Err(OptionsError::InvalidHostTraddr(self.host_traddr.clone()));
            }
            if !is_unset(&self.trsvcid) && !is_port(&self.trsvcid) {
                return Err(OptionsError::InvalidTrsvcid(self.trsvcid.clone()));
            }
        }
        if !is_unset(&self.hostid) && !is_uuid(&self.hostid) {
            return Err(OptionsError::InvalidHostId(self.hostid.clone()));
        }
        if !is_unset(&self.host_iface) && !is_valid_ifname(&self.host_iface) {
            return Err(OptionsError::InvalidHostIface(self.host_iface.clone()));
        }
        if let Some(q) = self.queue_size
            && !(16..=1024).contains(&q)
        {
            return Err(OptionsError::InvalidQueueSize(q));
        }
        if let Some(t) = self.tos
            && !(0..=255).contains(&t)
        {
            return Err(OptionsError::InvalidTos(t));
        }
        if let Some(t) = self.ctrl_loss_tmo
            && t < -1
        {
            return Err(OptionsError::InvalidCtrlLossTmo(t));
        }
        for (option, value) in [
            ("nr_io_queues", self.nr_io_queues),
            ("nr_write_queues", self.nr_write_queues),
            ("nr_poll_queues", self.nr_poll_queues),
            ("keep_alive_tmo", self.keep_alive_tmo),
            ("reconnect_delay", self.reconnect_delay),
            ("fast_io_fail_tmo", self.fast_io_fail_tmo),
        ] {
            if let Some(value) = value
                && i32::try_from(value).is_err()
            {
                return Err(OptionsError::IntegerTooLarge { option, value });
            }
        }
        Ok(())
    }
}

fn check_chars(option: &'static str, value: &str, allow_eq: bool) -> Result<(), OptionsError> {
    for ch in value.chars() {
        if ch == ',' || ch == '\n' || (ch == '=' && !allow_eq) {
            return Err(OptionsError::Separator { option, ch });
        }
        if ch.is_control() || ch.is_whitespace() {
            return Err(OptionsError::ControlOrSpace { option, ch });
        }
    }
    Ok(())
}

/// A decimal port 1..=65535 (ASCII digits only, no sign).
fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

/// The kernel's `uuid_parse` format: 36 characters, hex digits with dashes at 8, 13, 18, 23.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The kernel's `dev_valid_name`: 1..=15 bytes, not `.`/`..`, no `/`, `:` or whitespace
/// (`eth0:1` is an address label, not an interface).
pub fn is_valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

/// An RFC 1123 host name: dot-separated labels of 1..=63 letters, digits and `-` (not at
/// either end), at most 253 bytes, optional trailing dot. An all-numeric last label is refused
/// so that malformed IPv4 literals (`1.2.3.256`) are not mistaken for names.
pub fn is_dns_host_name(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    labels_ok
        && name
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{caps, tcp};
    use super::*;

    fn err(o: ConnectOptions) -> OptionsError {
        o.build(&caps()).unwrap_err()
    }

    #[test]
    fn rejects_bad_nqns() {
        assert_eq!(err(tcp("", "1.2.3.4")), OptionsError::EmptyNqn);
        let long = format!("nqn.{}", "a".repeat(220));
        assert_eq!(
            err(tcp(&long, "1.2.3.4")),
            OptionsError::NqnTooLong {
                option: "nqn",
                len: 224
            }
        );
        let ok = format!("nqn.{}", "a".repeat(219));
        assert!(tcp(&ok, "1.2.3.4").build(&caps()).is_ok());
        let o = ConnectOptions {
            hostnqn: long.clone(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            err(o),
            OptionsError::NqnTooLong {
                option: "hostnqn",
                len: 224
            }
        );
    }

    #[test]
    fn rejects_separators_and_control_chars() {
        let cases: Vec<(ConnectOptions, OptionsError)> = vec![
            (
                tcp("nqn.a,b", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: ',',
                },
            ),
            (
                tcp("nqn.a=b", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: '=',
                },
            ),
            (
                tcp("nqn.a\nb", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: '\n',
                },
            ),
            (
                tcp("nqn.a\0b", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\0',
                },
            ),
            (
                tcp("nqn.a b", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: ' ',
                },
            ),
            (
                tcp("nqn.a\tb", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\t',
                },
            ),
            (
                tcp("nqn.a\u{7f}", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\u{7f}',
                },
            ),
            (
                tcp("nqn.a\u{a0}", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\u{a0}',
                },
            ),
            (
                tcp("nqn.s", "1.2.3.4,x"),
                OptionsError::Separator {
                    option: "traddr",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    hostnqn: "nqn.h,tos=1".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "hostnqn",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    dhchap_secret: "DHHC-1:00:a,b:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "dhchap_secret",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    dhchap_ctrl_secret: "DHHC-1:00:a\nb:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "dhchap_ctrl_secret",
                    ch: '\n',
                },
            ),
            (
                ConnectOptions {
                    dhchap_secret: "DHHC-1:00:a b:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::ControlOrSpace {
                    option: "dhchap_secret",
                    ch: ' ',
                },
            ),
            (
                ConnectOptions {
                    host_iface: "et\nh0".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "host_iface",
                    ch: '\n',
                },
            ),
        ];
        for (o, want) in cases {
            assert_eq!(err(o), want);
        }
        // '=' is fine inside DH-HMAC-CHAP secrets (base64 padding).
        let o = ConnectOptions {
            dhchap_secret: "DHHC-1:03:YWJjZA==:".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(
            o.build(&caps())
                .unwrap()
                .as_str()
                .contains(",dhchap_secret=DHHC-1:03:YWJjZA==:")
        );
    }

    #[test]
    fn rejects_bad_addresses() {
        assert_eq!(
            err(tcp("nqn.s", "")),
            OptionsError::MissingTraddr(Transport::Tcp)
        );
        assert_eq!(
            err(tcp("nqn.s", "none")),
            OptionsError::MissingTraddr(Transport::Tcp)
        );
        assert_eq!(
            err(tcp("nqn.s", "array.example.com")),
            OptionsError::TraddrIsHostName("array.example.com".into(), Transport::Tcp)
        );
        assert_eq!(
            err(ConnectOptions {
                transport: Transport::Rdma,
                ..tcp("nqn.s", "localhost")
            }),
            OptionsError::TraddrIsHostName("localhost".into(), Transport::Rdma)
        );
        for bad in [
            "1.2.3.256",
            "-host",
            "a..b",
            "[::1]",
            "1.2.3.4%eth0",
            "fe80::1%",
            "_x.example",
        ] {
            assert_eq!(
                err(tcp("nqn.s", bad)),
                OptionsError::InvalidTraddr(bad.into()),
                "{bad}"
            );
        }
        for good in [
            "1.2.3.4",
            "::1",
            "fe80::1%eth0",
            "FE80::AAAA",
            "::ffff:1.2.3.4",
        ] {
            assert!(tcp("nqn.s", good).build(&caps()).is_ok(), "{good}");
        }
        let o = ConnectOptions {
            host_traddr: "myhost".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidHostTraddr("myhost".into()));
        // fc/loop addresses are not IP literals.
        let fc = ConnectOptions {
            traddr: "nn-0x1:pn-0x2".into(),
            ..ConnectOptions::new(Transport::Fc, "nqn.s")
        };
        assert!(fc.build(&caps()).is_ok());
    }

    #[test]
    fn rejects_bad_trsvcid() {
        for bad in [
            "0", "65536", "99999", "123456", "abc", "+80", "-1", "80a", "0x50",
        ] {
            let o = ConnectOptions {
                trsvcid: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidTrsvcid(bad.into()), "{bad}");
        }
        for good in ["1", "4420", "8009", "65535"] {
            let o = ConnectOptions {
                trsvcid: good.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert!(o.build(&caps()).is_ok());
        }
        let o = ConnectOptions {
            trsvcid: "abc".into(),
            transport: Transport::Rdma,
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidTrsvcid("abc".into()));
    }

    #[test]
    fn rejects_bad_hostid() {
        for bad in [
            "not-a-uuid",
            "4b4c4c45-0044-4d10-8039-b6c04f4c333",
            "4b4c4c45-0044-4d10-8039-b6c04f4c33333",
            "4b4c4c450044-4d10-8039-b6c04f4c3333-",
            "4b4c4c45-0044-4d10-8039-b6c04f4c333g",
            "{4b4c4c45-0044-4d10-8039-b6c04f4c33}",
        ] {
            let o = ConnectOptions {
                hostid: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidHostId(bad.into()), "{bad}");
        }
        let o = ConnectOptions {
            hostid: "4B4C4C45-0044-4D10-8039-B6C04F4C3333".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(o.build(&caps()).is_ok());
    }

    #[test]
    fn rejects_bad_host_iface() {
        for bad in ["eth0:1", "a/b", ".", "..", "abcdefghijklmnop"] {
            let o = ConnectOptions {
                host_iface: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidHostIface(bad.into()), "{bad}");
        }
        for good in [
            "eth0",
            "enp0s8",
            "abcdefghijklmno",
            "br-lan.10",
            "wlp0s20f3",
        ] {
            let o = ConnectOptions {
                host_iface: good.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert!(o.build(&caps()).is_ok(), "{good}");
        }
    }

    #[test]
    fn rejects_out_of_range_numbers() {
        for q in [0, 15, 1025] {
            let o = ConnectOptions {
                queue_size: Some(q),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidQueueSize(q));
        }
        for q in [16, 1024] {
            assert!(
                ConnectOptions {
                    queue_size: Some(q),
                    ..tcp("nqn.s", "1.2.3.4")
                }
                .build(&caps())
                .is_ok()
            );
        }
        for t in [-1, 256, i32::MIN] {
            let o = ConnectOptions {
                tos: Some(t),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidTos(t));
        }
        let o = ConnectOptions {
            ctrl_loss_tmo: Some(-2),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidCtrlLossTmo(-2));
        let o = ConnectOptions {
            keep_alive_tmo: Some(u32::MAX),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            err(o),
            OptionsError::IntegerTooLarge {
                option: "keep_alive_tmo",
                value: u32::MAX
            }
        );
    }

    #[test]
    fn rejects_overlong_string() {
        let key = format!("DHHC-1:00:{}:", "A".repeat(4000));
        let o = ConnectOptions {
            dhchap_secret: key,
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(matches!(err(o), OptionsError::TooLong(n) if n > MAX_ARGS_LEN));
    }

    #[test]
    fn host_name_and_helpers() {
        for good in [
            "localhost",
            "a",
            "a-b.example.com",
            "example.com.",
            "x1",
            "1a.example",
        ] {
            assert!(is_dns_host_name(good), "{good}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            ".",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "1.2.3.4",
            "1.2.3.256",
            long_label.as_str(),
            "a b",
        ] {
            assert!(!is_dns_host_name(bad), "{bad}");
        }
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(is_valid_ifname("lo"));
        assert!(!is_valid_ifname(""));
    }
}
