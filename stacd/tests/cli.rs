//! Runs the built `stacd` binary and checks its command-line behaviour against upstream.

staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stacd"), staslib::daemon_cli::STACD);

staslib::daemon_preflight_tests!(env!("CARGO_BIN_EXE_stacd"), "stacd");
