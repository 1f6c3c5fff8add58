//! The build option DEFAULT_MMAP_GRANULARITY: buildscript/options.rs parses it (the same file
//! build.rs uses), and a build with a bad value stops with a clear message.

#[path = "../buildscript/options.rs"]
mod options;

use options::{granularity_setting, parse_granularity};

#[test]
fn good_values() {
    assert_eq!(parse_granularity("4096"), Ok(4096));
    assert_eq!(parse_granularity("65536"), Ok(65536));
    assert_eq!(parse_granularity("0x20000"), Ok(128 << 10));
    assert_eq!(parse_granularity("64K"), Ok(64 << 10));
    assert_eq!(parse_granularity(" 2m "), Ok(2 << 20));
    assert_eq!(parse_granularity("1G"), Ok(1 << 30));
}

#[test]
fn bad_values_say_why() {
    for (text, why) in [
        ("3000", "not a power of two"),
        ("96K", "not a power of two"),
        ("0", "not a power of two"),
        ("2048", "smaller than the page size"),
        ("", "not a number"),
        ("64KB", "not a number"),
        ("-4096", "not a number"),
        ("0x", "not a number"),
        ("99999999999999G", "too large"),
    ] {
        let message = parse_granularity(text).expect_err(text);
        assert!(message.contains(why), "{text:?}: {message}");
        assert!(message.contains("DEFAULT_MMAP_GRANULARITY"), "{message}");
        assert!(message.contains("power of two of at least 4096"), "{message}");
    }
}

#[test]
fn unset_or_blank_means_the_default() {
    assert_eq!(granularity_setting(None), Ok(None));
    assert_eq!(granularity_setting(Some("")), Ok(None));
    assert_eq!(granularity_setting(Some("  ")), Ok(None));
    assert_eq!(granularity_setting(Some("64K")), Ok(Some(64 << 10)));
    let message = granularity_setting(Some("3000")).expect_err("3000");
    assert!(message.contains("not a power of two"), "{message}");
}
