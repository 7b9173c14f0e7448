fn main() -> std::process::ExitCode {
    stacd::run(&staslib::daemon_cli::parse(&stacd::SPEC))
}
