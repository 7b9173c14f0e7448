fn main() -> std::process::ExitCode {
    stacd::run(&stacd::parse())
}
