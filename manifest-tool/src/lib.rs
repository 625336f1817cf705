//! manifest-tool library: manifest parsing, SP set validation and table generation.
