fn main() -> std::process::ExitCode {
    stafd::run(&staslib::daemon_cli::parse(&stafd::SPEC))
}
