fn main() -> std::process::ExitCode {
    stafd::run(&stafd::parse())
}
