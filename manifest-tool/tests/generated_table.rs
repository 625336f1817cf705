//! Proves that the checked-in generated table compiles against spmc-table (the same way the
//! SPMC includes it) and carries what the golden inputs say; `golden.rs` proves the generator
//! still produces exactly these files.

mod golden {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/expected/partition_table.rs"
    ));
}

use golden::TABLE;
use spmc_table::{EndpointId, PhysAddr, Uuid};

#[test]
fn table_compiles_and_matches_inputs() {
    assert_eq!(TABLE.check_shape(), Ok(()));
    let names: Vec<&str> = TABLE.partitions.iter().map(|p| p.name).collect();
    assert_eq!(names, ["uart", "echo", "ts-stock"]);
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/input/");
    for (name, image) in [
        ("echo", "sp1.bin"),
        ("uart", "sp2.bin"),
        ("ts-stock", "sp3.bin"),
    ] {
        let p = TABLE.partitions.iter().find(|p| p.name == name).unwrap();
        let want = std::fs::read(format!("{input}{image}")).unwrap();
        assert_eq!(TABLE.image_bytes(p).unwrap(), &want[..], "{name}");
        let dtb = TABLE.manifest_bytes(p).unwrap();
        assert_eq!(
            &dtb[..4],
            &[0xd0, 0x0d, 0xfe, 0xed],
            "{name} manifest is a DTB"
        );
    }
    let uart = TABLE.by_id(EndpointId(0x8010)).unwrap();
    assert_eq!(uart.image.base, PhysAddr(0x2800_0000));
    assert_eq!(uart.device_regions[0].interrupts[0].id, 40);
    assert!(uart.capabilities.owns_interrupt(40));
    let echo = TABLE.by_id(EndpointId(0x8001)).unwrap();
    assert!(echo.capabilities.may_send_direct_to(uart.id));
    assert!(!uart.capabilities.may_send_direct_to(echo.id));
    let ts_rpc = Uuid::from_words([0xd776_cdbd, 0x5147_5e82, 0xd486_3b96, 0xac43_49f8]);
    let sharing: Vec<&str> = TABLE.by_uuid(ts_rpc).map(|p| p.name).collect();
    assert_eq!(sharing, ["echo", "ts-stock"]);
    // The stock-style SP declares no gp-register-num: it still gets its boot info in x0.
    let stock = TABLE
        .partitions
        .iter()
        .find(|p| p.name == "ts-stock")
        .unwrap();
    assert_eq!(stock.gp_register_num, Some(0));
    let rxtx = echo.rx_tx.unwrap();
    // The RX/TX buffers are only in `rx_tx`, so the kernel maps each page once.
    let regions: Vec<&str> = echo.memory_regions.iter().map(|r| r.name).collect();
    assert_eq!(regions, ["data", "ns-buffer"]);
    assert_eq!(
        (rxtx.rx, rxtx.tx),
        (PhysAddr(0x2402_0000), PhysAddr(0x2402_1000))
    );
}
