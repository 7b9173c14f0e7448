fn main() {
    println!("{}", staslib::version_line());
}
