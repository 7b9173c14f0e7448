//! The ctl tools' failures and their exit codes (documented in stafctl(1) and stacctl(1)).

use std::process::ExitCode;

/// Exit status of success.
pub const EXIT_OK: u8 = 0;
/// Any other failure (upstream's only failure status: D-Bus errors, no subcommand).
pub const EXIT_FAILURE: u8 = 1;
/// A bad command line (argparse and clap).
pub const EXIT_USAGE: u8 = 2;
/// The daemon is not on the bus, or the bus cannot be reached.
pub const EXIT_NOT_RUNNING: u8 = 3;
/// The bus policy or the daemon refused the call: root privileges are needed.
pub const EXIT_ACCESS_DENIED: u8 = 4;
/// The daemon has no controller with that identity.
pub const EXIT_UNKNOWN_CONTROLLER: u8 = 5;
/// The daemon rejected the request (invalid or conflicting controller parameters).
pub const EXIT_REJECTED: u8 = 6;

/// The exit status section of `--help` (and of the man pages).
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  other failure (a D-Bus error; no subcommand given)
  2  bad command line
  3  the daemon is not running (not on the bus, or no bus)
  4  permission denied (tron, troff, add, remove need root)
  5  unknown controller (remove)
  6  the daemon rejected the request (invalid or conflicting controller parameters)";

/// Why a ctl subcommand failed. The `Display` text is the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The daemon's name has no owner, or there is no bus to ask.
    #[error("Unable to communicate with {daemon} over D-Bus. Is {daemon} running?")]
    NotRunning {
        /// `stafd` or `stacd`.
        daemon: &'static str,
    },
    /// `AccessDenied` from the bus policy or the daemon.
    #[error("Permission denied: {what} needs root privileges")]
    AccessDenied {
        /// What was attempted (`tron`, `add`...).
        what: String,
    },
    /// No controller matches the identity given.
    #[error("{daemon} has no controller {identity}")]
    UnknownController {
        /// `stafd` or `stacd`.
        daemon: &'static str,
        /// The identity as typed.
        identity: String,
    },
    /// The daemon refused the request, with its reason.
    #[error("{daemon} rejected the request: {reason}")]
    Rejected {
        /// `stafd` or `stacd`.
        daemon: &'static str,
        /// The daemon's message.
        reason: String,
    },
    /// The daemon does not have the member (e.g. the Python nvme-stas has no
    /// `Controllers1` interface for `stats`, `add`, `remove`).
    #[error("{daemon} does not support {what} (no such D-Bus interface or method)")]
    Unsupported {
        /// `stafd` or `stacd`.
        daemon: &'static str,
        /// The subcommand.
        what: String,
    },
    /// Any other D-Bus failure.
    #[error("D-Bus error talking to {daemon}: {detail}")]
    Bus {
        /// `stafd` or `stacd`.
        daemon: &'static str,
        /// The error.
        detail: String,
    },
    /// A reply that does not have the documented shape.
    #[error("unexpected reply from {daemon}: {detail}")]
    BadReply {
        /// `stafd` or `stacd`.
        daemon: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The host NQN (default of `-q/--host-nqn`) cannot be determined.
    #[error("{0}")]
    HostNqn(String),
    /// A command-line value clap cannot check (e.g. `-o` without `=`).
    #[error("error: {0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl CtlError {
    /// The exit status this failure ends the program with.
    pub fn exit_status(&self) -> u8 {
        match self {
            CtlError::NotRunning { .. } => EXIT_NOT_RUNNING,
            CtlError::AccessDenied { .. } => EXIT_ACCESS_DENIED,
            CtlError::UnknownController { .. } => EXIT_UNKNOWN_CONTROLLER,
            CtlError::Rejected { .. } => EXIT_REJECTED,
            CtlError::Usage(_) => EXIT_USAGE,
            CtlError::Bus { .. }
            | CtlError::Unsupported { .. }
            | CtlError::BadReply { .. }
            | CtlError::HostNqn(_)
            | CtlError::Output(_) => EXIT_FAILURE,
        }
    }

    /// Prints the one-line message on stderr and returns the exit status.
    pub fn report(&self) -> ExitCode {
        eprintln!("{self}");
        ExitCode::from(self.exit_status())
    }

    /// Classifies a zbus error of a call to `daemon` made for `what`.
    pub fn from_zbus(daemon: &'static str, what: &str, e: zbus::Error) -> Self {
        let name = match &e {
            zbus::Error::MethodError(name, _, _) => Some(name.as_str().to_owned()),
            zbus::Error::FDO(fdo) => Some(fdo_name(fdo).to_owned()),
            _ => None,
        };
        let message = match &e {
            zbus::Error::MethodError(_, Some(m), _) => m.clone(),
            zbus::Error::FDO(fdo) => fdo_message(fdo),
            other => other.to_string(),
        };
        match name.as_deref() {
            Some(
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner"
                | "org.freedesktop.DBus.Error.Disconnected",
            ) => CtlError::NotRunning { daemon },
            Some("org.freedesktop.DBus.Error.AccessDenied") => CtlError::AccessDenied {
                what: what.to_owned(),
            },
            Some(
                "org.freedesktop.DBus.Error.UnknownMethod"
                | "org.freedesktop.DBus.Error.UnknownInterface"
                | "org.freedesktop.DBus.Error.UnknownObject"
                | "org.freedesktop.DBus.Error.UnknownProperty",
            ) => CtlError::Unsupported {
                daemon,
                what: what.to_owned(),
            },
            Some("org.freedesktop.DBus.Error.InvalidArgs") => CtlError::Rejected {
                daemon,
                reason: message,
            },
            Some(_) => CtlError::Bus {
                daemon,
                detail: message,
            },
            None => match e {
                // No bus to talk to at all: the daemon cannot be reached either.
                zbus::Error::Address(_)
                | zbus::Error::InputOutput(_)
                | zbus::Error::Handshake(_) => CtlError::NotRunning { daemon },
                other => CtlError::Bus {
                    daemon,
                    detail: other.to_string(),
                },
            },
        }
    }
}

fn fdo_name(e: &zbus::fdo::Error) -> &'static str {
    use zbus::fdo::Error as E;
    match e {
        E::ServiceUnknown(_) => "org.freedesktop.DBus.Error.ServiceUnknown",
        E::NameHasNoOwner(_) => "org.freedesktop.DBus.Error.NameHasNoOwner",
        E::Disconnected(_) => "org.freedesktop.DBus.Error.Disconnected",
        E::AccessDenied(_) => "org.freedesktop.DBus.Error.AccessDenied",
        E::InvalidArgs(_) => "org.freedesktop.DBus.Error.InvalidArgs",
        E::UnknownMethod(_) => "org.freedesktop.DBus.Error.UnknownMethod",
        E::UnknownInterface(_) => "org.freedesktop.DBus.Error.UnknownInterface",
        E::UnknownObject(_) => "org.freedesktop.DBus.Error.UnknownObject",
        E::UnknownProperty(_) => "org.freedesktop.DBus.Error.UnknownProperty",
        _ => "org.freedesktop.DBus.Error.Failed",
    }
}

fn fdo_message(e: &zbus::fdo::Error) -> String {
    use zbus::DBusError;
    e.description().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method_error(name: &str, msg: &str) -> zbus::Error {
        zbus::Error::FDO(Box::new(match name {
            "ServiceUnknown" => zbus::fdo::Error::ServiceUnknown(msg.into()),
            "AccessDenied" => zbus::fdo::Error::AccessDenied(msg.into()),
            "InvalidArgs" => zbus::fdo::Error::InvalidArgs(msg.into()),
            "UnknownInterface" => zbus::fdo::Error::UnknownInterface(msg.into()),
            _ => zbus::fdo::Error::Failed(msg.into()),
        }))
    }

    #[test]
    fn errors_map_to_distinct_exit_codes() {
        let e = CtlError::from_zbus("stafd", "ls", method_error("ServiceUnknown", "x"));
        assert_eq!(e.exit_status(), EXIT_NOT_RUNNING);
        assert_eq!(
            e.to_string(),
            "Unable to communicate with stafd over D-Bus. Is stafd running?"
        );
        let e = CtlError::from_zbus("stacd", "tron", method_error("AccessDenied", "policy"));
        assert_eq!(e.exit_status(), EXIT_ACCESS_DENIED);
        assert_eq!(
            e.to_string(),
            "Permission denied: tron needs root privileges"
        );
        let e = CtlError::from_zbus("stafd", "add", method_error("InvalidArgs", "bad key"));
        assert_eq!(e.exit_status(), EXIT_REJECTED);
        assert_eq!(e.to_string(), "stafd rejected the request: bad key");
        let e = CtlError::from_zbus("stafd", "stats", method_error("UnknownInterface", "x"));
        assert_eq!(e.exit_status(), EXIT_FAILURE);
        assert_eq!(
            e.to_string(),
            "stafd does not support stats (no such D-Bus interface or method)"
        );
        let e = CtlError::from_zbus("stafd", "ls", method_error("Failed", "boom"));
        assert_eq!(e.exit_status(), EXIT_FAILURE);
        let e = CtlError::from_zbus(
            "stafd",
            "ls",
            zbus::Error::InputOutput(std::io::Error::other("no socket").into()),
        );
        assert_eq!(e.exit_status(), EXIT_NOT_RUNNING);
        let codes = [
            EXIT_OK,
            EXIT_FAILURE,
            EXIT_USAGE,
            EXIT_NOT_RUNNING,
            EXIT_ACCESS_DENIED,
            EXIT_UNKNOWN_CONTROLLER,
            EXIT_REJECTED,
        ];
        let mut sorted = codes.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
    }
}
