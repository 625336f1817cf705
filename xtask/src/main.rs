mod flash;
mod runner;

fn main() {}
