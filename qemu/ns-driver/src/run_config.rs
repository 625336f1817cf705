//! The run configuration xtask writes into the driver's image: which SP set the image carries
//! (the default one or another layout), which cases to run (`cargo xtask qemu|test --case
//! NAME...`) and what to call (`cargo xtask call`). The driver reserves [`AREA_SIZE`] bytes
//! starting with [`MAGIC`] in its flat image; xtask finds the magic and writes the text after
//! it, so one driver build serves every configuration.
//!
//! The text is lines of `key value...` after the magic, ended by a NUL byte:
//!
//! ```text
//! layout default          the default set (partitions/sp_layout.json); or `layout <file name>`
//! case NAME               run only the cases named (repeatable; `prefix*` matches a prefix)
//! calls-only              run no case, only the calls
//! call KIND DEST UUID_LO UUID_HI PAGES FILL WORD...
//!                         after the cases, send one direct request (`cargo xtask call`):
//!                         KIND req32|req64|req2, DEST the SP's ID, UUID_LO/HI the REQ2
//!                         protocol UUID (x2, x3), PAGES > 0 shares that many pages (word i
//!                         of the memory = FILL + i) first, WORD a number or `hlo`/`hhi` (the
//!                         share's handle, low/high 32 bits); all numbers hex with `0x` or
//!                         decimal
//! fuzz SEED CALLS         after the cases and calls, a fuzz run (`cargo xtask fuzz`,
//!                         cases/fuzz.rs): CALLS random calls from both worlds from SEED
//! ```
//!
//! An area without the magic's text (a build nobody patched, e.g. the benchmarks) is the
//! default: every case, the default set. Plain `core` and ffa-abi only: xtask includes this file
//! too.
#![forbid(unsafe_code)]

use ffa_abi::EndpointId;

/// The first bytes of the area.
pub const MAGIC: &[u8; 16] = b"NSDRV-RUNCFG-v1\n";
/// The size of the area, magic included.
pub const AREA_SIZE: usize = 4096;

/// The area as it is linked into the image: the magic, then zeros.
pub const fn blank_area() -> [u8; AREA_SIZE] {
    let mut a = [0u8; AREA_SIZE];
    let mut i = 0;
    while i < MAGIC.len() {
        a[i] = MAGIC[i];
        i += 1;
    }
    a
}

/// Whether a `--case` pattern selects the case `name`: equal, or `prefix*` and a prefix.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// A parsed configuration (borrowing the area's text).
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    text: &'a str,
}

impl<'a> Config<'a> {
    /// Reads the area; `Err` says why it is unusable.
    pub fn parse(area: &'a [u8]) -> Result<Self, &'static str> {
        let Some(rest) = area.strip_prefix(MAGIC.as_slice()) else {
            return Err("the run-configuration area has lost its magic");
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let text =
            core::str::from_utf8(&rest[..end]).map_err(|_| "run configuration is not UTF-8")?;
        for line in text.lines() {
            match line.split_once(' ').map_or(line, |(k, _)| k) {
                "layout" | "case" | "calls-only" | "" => {}
                "fuzz" => {
                    if fuzz_args(line).is_none() {
                        return Err("run configuration: `fuzz SEED CALLS` takes two numbers");
                    }
                }
                "call" => {
                    let call = Call::parse(line.split_once(' ').map_or("", |(_, v)| v))?;
                    for w in call.words() {
                        w?;
                    }
                }
                _ => return Err("run configuration has an unknown key"),
            }
        }
        Ok(Self { text })
    }

    fn values(&self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.text.lines().filter_map(move |l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim())
        })
    }

    /// The SP set's name: `default`, or the layout file's name.
    pub fn layout(&self) -> &'a str {
        self.values("layout").next().unwrap_or("default")
    }

    /// Whether the image carries the default SP set.
    pub fn default_set(&self) -> bool {
        self.layout() == "default"
    }

    /// The `--case` patterns (none: every case).
    pub fn case_patterns(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.values("case")
    }

    /// Whether to run the calls only, no case.
    pub fn calls_only(&self) -> bool {
        self.text.lines().any(|l| l.trim() == "calls-only")
    }

    /// The `call` lines, in order (checked by [`Config::parse`]).
    pub fn calls(&self) -> impl Iterator<Item = Call<'a>> + 'a {
        self.values("call").filter_map(|v| Call::parse(v).ok())
    }

    /// The fuzz run asked for: (seed, calls).
    pub fn fuzz(&self) -> Option<(u64, u32)> {
        self.text
            .lines()
            .find(|l| l.starts_with("fuzz "))
            .and_then(fuzz_args)
    }

    /// Whether the filter selects the case `name` (no filter selects all).
    pub fn selects(&self, name: &str) -> bool {
        let mut any = false;
        for p in self.case_patterns() {
            if matches(p, name) {
                return true;
            }
            any = true;
        }
        !any
    }
}

/// The numbers of a `fuzz SEED CALLS` line.
fn fuzz_args(line: &str) -> Option<(u64, u32)> {
    let mut it = line.split_whitespace().skip(1);
    let seed = number(it.next()?)?;
    let calls = u32::try_from(number(it.next()?)?).ok()?;
    it.next().is_none().then_some((seed, calls))
}

/// Which direct request a `call` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Req32,
    Req64,
    Req2,
}

impl CallKind {
    /// The configuration's name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Req32 => "req32",
            CallKind::Req64 => "req64",
            CallKind::Req2 => "req2",
        }
    }

    /// Payload words the request carries (x3..x7, or x4..x17 for REQ2).
    pub fn payload_len(self) -> usize {
        match self {
            CallKind::Req32 | CallKind::Req64 => 5,
            CallKind::Req2 => 14,
        }
    }
}

/// One payload word of a `call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    Value(u64),
    /// The low 32 bits of the memory handle of the call's share.
    HandleLo,
    /// The high 32 bits of that handle.
    HandleHi,
}

/// One `call` line.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub kind: CallKind,
    pub dest: EndpointId,
    /// REQ2's protocol UUID in x2, x3 (0, 0: nil).
    pub uuid: [u64; 2],
    /// Pages to share with `dest` before the request (0: none).
    pub share_pages: u32,
    /// The first word of the shared memory; word i holds `fill + i`.
    pub fill: u32,
    words: &'a str,
}

/// Reads a number: `0x` hex (with `_` allowed) or decimal.
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => {
            let mut v: u64 = 0;
            let mut any = false;
            for c in h.chars().filter(|&c| c != '_') {
                v = v.checked_mul(16)?.checked_add(u64::from(c.to_digit(16)?))?;
                any = true;
            }
            any.then_some(v)
        }
        None => s.parse().ok(),
    }
}

impl<'a> Call<'a> {
    /// The most pages a call may share (the driver's call buffer).
    pub const MAX_SHARE_PAGES: u64 = 16;

    fn parse(v: &'a str) -> Result<Self, &'static str> {
        let mut it = v.split_whitespace();
        let kind = match it.next() {
            Some("req32") => CallKind::Req32,
            Some("req64") => CallKind::Req64,
            Some("req2") => CallKind::Req2,
            _ => return Err("call: kind must be req32, req64 or req2"),
        };
        let mut num = |what: &'static str| it.next().and_then(number).ok_or(what);
        let dest = num("call: bad destination ID")?;
        let uuid = [num("call: bad UUID word")?, num("call: bad UUID word")?];
        let pages = num("call: bad page count")?;
        let fill = num("call: bad fill word")?;
        let dest = u16::try_from(dest)
            .map(EndpointId)
            .map_err(|_| "call: destination ID above 0xFFFF")?;
        if pages > Self::MAX_SHARE_PAGES {
            return Err("call: at most 16 pages can be shared");
        }
        let fill = u32::try_from(fill).map_err(|_| "call: fill word above 32 bits")?;
        // The words are what is left after the six fields.
        let mut rest = v;
        for _ in 0..6 {
            rest = rest.trim_start();
            rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
        }
        let call = Self {
            kind,
            dest,
            uuid,
            share_pages: pages as u32,
            fill,
            words: rest.trim(),
        };
        if call.words().count() > kind.payload_len() {
            return Err("call: more words than the request carries (5, REQ2 14)");
        }
        Ok(call)
    }

    /// The payload words.
    pub fn words(&self) -> impl Iterator<Item = Result<Word, &'static str>> + 'a {
        self.words.split_whitespace().map(|w| match w {
            "hlo" => Ok(Word::HandleLo),
            "hhi" => Ok(Word::HandleHi),
            n => number(n)
                .map(Word::Value)
                .ok_or("call: a word is not a number, hlo or hhi"),
        })
    }
}
