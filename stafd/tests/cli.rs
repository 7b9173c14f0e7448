//! Runs the built `stafd` binary and checks its command-line behaviour against upstream.

staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stafd"), staslib::daemon_cli::STAFD);

staslib::daemon_preflight_tests!(env!("CARGO_BIN_EXE_stafd"), "stafd");
