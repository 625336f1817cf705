//! `manifest-tool check|build`: the command-line front of the library.
fn main() {
    eprintln!("manifest-tool: not yet implemented");
    std::process::exit(2);
}
