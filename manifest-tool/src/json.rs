//! Small helpers for the JSON inputs (SP set description, platform file).

/// Reads a number given as a JSON integer or as a string (`"0x2400_0000"`, `"4096"`).
pub fn number(v: &serde_json::Value) -> Result<u64, String> {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{n} is not a non-negative integer")),
        serde_json::Value::String(s) => parse_number(s),
        other => Err(format!("expected a number, found {other}")),
    }
}

/// Parses `0x`-prefixed hex or decimal, allowing `_` separators.
pub fn parse_number(s: &str) -> Result<u64, String> {
    let clean: String = s.trim().chars().filter(|&c| c != '_').collect();
    let parsed = match clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => clean.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a number"))
}
