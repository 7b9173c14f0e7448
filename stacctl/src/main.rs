fn main() -> std::process::ExitCode {
    stacctl::run(&stacctl::parse())
}
