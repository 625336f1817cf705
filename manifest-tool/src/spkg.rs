//! FF-A SP packages ("SPKG", as TF-A's `tools/sptool/sptool.py` writes them): a header of six little-endian u32 words, then the manifest DTB and the flat image at
//! 4 KiB aligned offsets.

/// "SPKG" read as a little-endian u32.
pub const SPKG_MAGIC: u32 = 0x474B_5053;
/// The package version this tool writes; 1 is also read (OP-TEE accepts 1 or 2).
pub const SPKG_VERSION: u32 = 2;
/// Header size: six u32 words.
pub const HEADER_SIZE: usize = 24;
/// Offsets inside a package are multiples of this.
pub const SPKG_ALIGN: u32 = 0x1000;
/// sptool's default manifest offset.
pub const DEFAULT_PM_OFFSET: u32 = 0x1000;
/// sptool's default image offset.
pub const DEFAULT_IMG_OFFSET: u32 = 0x4000;

/// A parsed package, borrowing its parts from the package bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Package<'a> {
    /// Header `version` (1 or 2).
    pub version: u32,
    /// Header `pm_offset`.
    pub pm_offset: u32,
    /// Header `img_offset`.
    pub img_offset: u32,
    /// The manifest DTB.
    pub manifest: &'a [u8],
    /// The flat image.
    pub image: &'a [u8],
}

/// Tells whether `bytes` starts with the SPKG magic.
pub fn is_spkg(bytes: &[u8]) -> bool {
    word(bytes, 0) == Some(SPKG_MAGIC)
}

fn word(bytes: &[u8], i: usize) -> Option<u32> {
    let b = bytes.get(4 * i..4 * i + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn range(bytes: &[u8], off: u32, size: u32, what: &str) -> Result<(usize, usize), String> {
    let start = usize::try_from(off).map_err(|_| format!("{what} offset too large"))?;
    let len = usize::try_from(size).map_err(|_| format!("{what} size too large"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| format!("{what} offset + size overflows"))?;
    if end > bytes.len() {
        return Err(format!(
            "{what} [{start:#x}, {end:#x}) exceeds the {:#x}-byte package",
            bytes.len()
        ));
    }
    Ok((start, end))
}

/// Parses a package, checking every header rule; the error is a one-line reason.
pub fn parse(bytes: &[u8]) -> Result<Package<'_>, String> {
    if bytes.len() < HEADER_SIZE {
        return Err(format!(
            "{} bytes is shorter than the {HEADER_SIZE}-byte header",
            bytes.len()
        ));
    }
    let w = |i| word(bytes, i).unwrap_or(0);
    let (magic, version, pm_offset, pm_size, img_offset, img_size) =
        (w(0), w(1), w(2), w(3), w(4), w(5));
    if magic != SPKG_MAGIC {
        return Err(format!(
            "magic {magic:#010x} is not SPKG ({SPKG_MAGIC:#010x})"
        ));
    }
    if version != 1 && version != 2 {
        return Err(format!("version {version} is not 1 or 2"));
    }
    if pm_offset % SPKG_ALIGN != 0 || img_offset % SPKG_ALIGN != 0 {
        return Err(format!(
            "offsets pm {pm_offset:#x} / image {img_offset:#x} are not 4 KiB aligned"
        ));
    }
    if pm_offset == 0 {
        return Err("pm_offset 0 overlaps the header".into());
    }
    if pm_offset >= img_offset {
        return Err(format!(
            "pm_offset {pm_offset:#x} is not below img_offset {img_offset:#x}"
        ));
    }
    if pm_size == 0 || img_size == 0 {
        return Err(format!(
            "empty part: pm_size {pm_size:#x}, img_size {img_size:#x}"
        ));
    }
    let (pm_start, pm_end) = range(bytes, pm_offset, pm_size, "manifest")?;
    if pm_end > usize::try_from(img_offset).unwrap_or(usize::MAX) {
        return Err(format!(
            "manifest [{pm_start:#x}, {pm_end:#x}) runs into the image at {img_offset:#x}"
        ));
    }
    let (img_start, img_end) = range(bytes, img_offset, img_size, "image")?;
    Ok(Package {
        version,
        pm_offset,
        img_offset,
        manifest: &bytes[pm_start..pm_end],
        image: &bytes[img_start..img_end],
    })
}

fn round_up(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

/// Writes a version 2 package: the manifest at 0x1000, the image at 0x4000 or at the first
/// 4 KiB boundary after the manifest if that is larger (sptool's layout).
pub fn write(manifest: &[u8], image: &[u8]) -> Result<Vec<u8>, String> {
    if manifest.is_empty() || image.is_empty() {
        return Err("manifest and image must not be empty".into());
    }
    let pm_offset = usize::try_from(DEFAULT_PM_OFFSET).unwrap_or(0x1000);
    let align = usize::try_from(SPKG_ALIGN).unwrap_or(0x1000);
    let img_offset = round_up(pm_offset + manifest.len(), align)
        .max(usize::try_from(DEFAULT_IMG_OFFSET).unwrap_or(0x4000));
    let to32 = |v: usize, what: &str| {
        u32::try_from(v).map_err(|_| format!("{what} does not fit the 32-bit package header"))
    };
    let header = [
        SPKG_MAGIC,
        SPKG_VERSION,
        to32(pm_offset, "manifest offset")?,
        to32(manifest.len(), "manifest size")?,
        to32(img_offset, "image offset")?,
        to32(image.len(), "image size")?,
    ];
    to32(img_offset + image.len(), "package size")?;
    let mut out = Vec::with_capacity(img_offset + image.len());
    for w in header {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.resize(pm_offset, 0);
    out.extend_from_slice(manifest);
    out.resize(img_offset, 0);
    out.extend_from_slice(image);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(words: [u32; 6], len: usize) -> Vec<u8> {
        let mut v: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        v.resize(len, 0xEE);
        v
    }

    #[test]
    fn round_trip() {
        let pm = vec![0xd0; 100];
        let img = vec![0x42; 5000];
        let pkg = write(&pm, &img).unwrap();
        assert_eq!(&pkg[..4], b"SPKG");
        let p = parse(&pkg).unwrap();
        assert_eq!((p.version, p.pm_offset, p.img_offset), (2, 0x1000, 0x4000));
        assert_eq!(p.manifest, &pm[..]);
        assert_eq!(p.image, &img[..]);
        // A large manifest pushes the image to the next 4 KiB boundary.
        let big = vec![1u8; 0x3001];
        let p2 = write(&big, &img).unwrap();
        let p2 = parse(&p2).unwrap();
        assert_eq!(p2.img_offset, 0x5000);
        assert_eq!(p2.manifest, &big[..]);
    }

    #[test]
    fn rejects_bad_headers() {
        let ok = [SPKG_MAGIC, 2, 0x1000, 0x10, 0x2000, 0x10];
        assert!(parse(&header(ok, 0x2010)).is_ok());
        let cases: [([u32; 6], usize, &str); 10] = [
            (
                [0x474B_5054, 2, 0x1000, 0x10, 0x2000, 0x10],
                0x2010,
                "magic",
            ),
            (
                [SPKG_MAGIC, 3, 0x1000, 0x10, 0x2000, 0x10],
                0x2010,
                "version",
            ),
            (
                [SPKG_MAGIC, 2, 0x1001, 0x10, 0x2000, 0x10],
                0x2010,
                "aligned",
            ),
            (
                [SPKG_MAGIC, 2, 0x1000, 0x10, 0x2800, 0x10],
                0x2810,
                "aligned",
            ),
            (
                [SPKG_MAGIC, 2, 0x2000, 0x10, 0x1000, 0x10],
                0x2010,
                "not below",
            ),
            ([SPKG_MAGIC, 2, 0, 0x10, 0x1000, 0x10], 0x1010, "header"),
            (
                [SPKG_MAGIC, 2, 0x1000, 0x1001, 0x2000, 0x10],
                0x2010,
                "runs into",
            ),
            (
                [SPKG_MAGIC, 2, 0x1000, 0x10, 0x2000, 0x11],
                0x2010,
                "exceeds",
            ),
            ([SPKG_MAGIC, 2, 0x1000, 0, 0x2000, 0x10], 0x2010, "empty"),
            (
                [SPKG_MAGIC, 2, 0x1000, 0x10, 0xFFFF_F000, 0xFFFF_FFFF],
                0x2010,
                "exceeds",
            ),
        ];
        for (words, len, want) in cases {
            let err = parse(&header(words, len)).unwrap_err();
            assert!(err.contains(want), "{words:x?}: {err}");
        }
        assert!(parse(b"SPKG").unwrap_err().contains("shorter"));
        assert!(!is_spkg(b"SPK"));
    }

    #[test]
    fn version_1_is_read() {
        let mut pkg = write(b"m", b"i").unwrap();
        pkg[4] = 1;
        assert_eq!(parse(&pkg).unwrap().version, 1);
    }
}
