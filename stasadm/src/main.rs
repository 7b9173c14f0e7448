fn main() -> std::process::ExitCode {
    stasadm::run(&stasadm::parse())
}
