//! The manifest copy an SP is given in its boot information, with every memory region's
//! address written in: stock Trusted Services SPs (`sp_config_loader`) read `base-address` of
//! each memory and device region from the manifest they are handed and refuse to start
//! without it ("load_fdt: base-address is missing"), as OP-TEE's SPMC writes it into the copy
//! it gives them. Regions placed relative to the image (`load-address-relative-offset`) only
//! get their address here, once the image is placed. TS reads the property with `dt_get_u64`,
//! which accepts exactly 8 bytes: a one-cell `base-address` is widened. The SP's own manifest
//! file is unchanged; the copy keeps every node and property in order, and every region node
//! gets one `base-address` of two cells (big-endian u64, as OP-TEE's `fdt_setprop_u64`).

use fdt_walk::writer::{build, Item};

use crate::fdt::Node;

/// Rewrites `root` as a DTB in which every node whose path `bases` lists has `base-address` =
/// that address as a u64: written in place of an existing `base-address` (of any width), or
/// added after the node's properties.
pub fn with_base_addresses(root: &Node, bases: &[(String, u64)]) -> Vec<u8> {
    let mut items = Vec::new();
    emit(root, bases, &mut items);
    build(&items)
}

fn emit<'a>(n: &'a Node, bases: &[(String, u64)], items: &mut Vec<Item<'a>>) {
    items.push(Item::Begin(&n.name));
    let base = bases
        .iter()
        .find(|(path, _)| *path == n.path)
        .map(|(_, b)| b.to_be_bytes().to_vec());
    for p in &n.props {
        match &base {
            Some(b) if p.name == "base-address" => items.push(Item::Prop(&p.name, b.clone())),
            _ => items.push(Item::Prop(&p.name, p.value.clone())),
        }
    }
    if let Some(b) = base {
        if !n.props.iter().any(|p| p.name == "base-address") {
            items.push(Item::Prop("base-address", b));
        }
    }
    for c in &n.children {
        emit(c, bases, items);
    }
    items.push(Item::End);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fdt_walk::writer::cells;

    #[test]
    fn adds_base_address_where_missing_and_keeps_the_rest() {
        let dtb = build(&[
            Item::Begin(""),
            Item::Prop("compatible", b"arm,ffa-manifest-1.0\0".to_vec()),
            Item::Begin("memory-regions"),
            Item::Begin("rw"),
            Item::Prop("pages-count", cells(&[0x80])),
            Item::Prop("load-address-relative-offset", cells(&[0x8_0000])),
            Item::End,
            Item::Begin("fixed"),
            Item::Prop("base-address", cells(&[0, 0x3000_0000])),
            Item::End,
            Item::Begin("narrow"),
            Item::Prop("base-address", cells(&[0x6004_0000])),
            Item::Prop("pages-count", cells(&[1])),
            Item::End,
            Item::End,
            Item::End,
        ]);
        let root = crate::fdt::parse(&dtb).unwrap();
        let bases = [
            ("/memory-regions/rw".to_string(), 0x2408_0000),
            ("/memory-regions/fixed".to_string(), 0x3000_0000),
            ("/memory-regions/narrow".to_string(), 0x6004_0000),
        ];
        let out = with_base_addresses(&root, &bases);
        let fdt = fdt_walk::Fdt::new(&out).unwrap();
        assert_eq!(
            fdt.property_u64("/memory-regions/rw", "base-address"),
            Some(0x2408_0000)
        );
        assert_eq!(
            fdt.property_u32("/memory-regions/rw", "load-address-relative-offset"),
            Some(0x8_0000)
        );
        // An existing 64-bit base-address stays as it was; a one-cell one is widened in place.
        assert_eq!(
            fdt.property_u64("/memory-regions/fixed", "base-address"),
            Some(0x3000_0000)
        );
        assert_eq!(
            fdt.property_u64("/memory-regions/narrow", "base-address"),
            Some(0x6004_0000)
        );
        assert_eq!(
            fdt.property_u32("/memory-regions/narrow", "pages-count"),
            Some(1)
        );
        let again = crate::fdt::parse(&out).unwrap();
        let fixed = again
            .child("memory-regions")
            .unwrap()
            .child("fixed")
            .unwrap();
        assert_eq!(
            fixed
                .props
                .iter()
                .filter(|p| p.name == "base-address")
                .count(),
            1
        );
        assert_eq!(again.prop("compatible"), root.prop("compatible"));
    }
}
