//! How an SP reads properties of its own FF-A manifest (e.g. `uuid`, `id`) from the copy the
//! boot information points at: with the workspace's one FDT reader, `fdt-walk` (bounds-checked,
//! never panics; fdt-walk/). `Fdt::new` validates the whole blob; `Fdt::property*` look a
//! property up by node path ("/", "/memory-regions/rw").
#![forbid(unsafe_code)]

pub use fdt_walk::{Fdt, FdtError, Node, Prop};
