//! Runs the built `stacd` binary and checks its command-line behaviour against upstream.

staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stacd"), staslib::daemon_cli::STACD);

mod stub {
    staslib::daemon_stub_tests!(env!("CARGO_BIN_EXE_stacd"), staslib::daemon_cli::STACD);
}
