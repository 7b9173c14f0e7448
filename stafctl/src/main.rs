fn main() -> std::process::ExitCode {
    stafctl::run(&stafctl::parse())
}
