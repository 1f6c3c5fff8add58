// Build options read from the environment by build.rs.  tests/build_options.rs includes this
// file too, so the parsing is tested where it is written.

/// The environment variable that sets malloc.c's DEFAULT_GRANULARITY for this crate.
pub const GRANULARITY_VAR: &str = "DEFAULT_MMAP_GRANULARITY";

/// The page size a PORTABLE build assumes (malloc.c's DEFAULT_PAGE_SIZE); the granularity
/// may not be smaller, or the allocator stops at its first call.
pub const PAGE_SIZE: u64 = 4096;

/// Parse the value of DEFAULT_MMAP_GRANULARITY: a number of bytes, decimal or 0x-hexadecimal,
/// optionally followed by K, M or G (binary multiples), that must be a power of two of at
/// least [`PAGE_SIZE`].  The error is the message the build stops with.
pub fn parse_granularity(text: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        Err(format!(
            "{GRANULARITY_VAR}={text:?} {why}: it must be a power of two of at least \
             {PAGE_SIZE} bytes, written in bytes (decimal or 0x...) or with a K, M or G suffix, \
             e.g. 65536, 0x10000 or 64K"
        ))
    };
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let number = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    };
    let Ok(number) = number else {
        return bad("is not a number");
    };
    let Some(bytes) = number.checked_mul(1u64 << shift) else {
        return bad("is too large");
    };
    if !bytes.is_power_of_two() {
        return bad("is not a power of two");
    }
    if bytes < PAGE_SIZE {
        return bad("is smaller than the page size");
    }
    Ok(bytes)
}

/// The granularity that the value of DEFAULT_MMAP_GRANULARITY asks for: None (malloc.c's
/// default) when the variable is unset or blank, as a user who clears it expects; otherwise
/// [`parse_granularity`]'s answer.
pub fn granularity_setting(value: Option<&str>) -> Result<Option<u64>, String> {
    match value {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => parse_granularity(text).map(Some),
    }
}
