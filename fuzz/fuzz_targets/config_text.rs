//! Any bytes as a config file: parsed and validated, or refused with problems; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(raw) = footrackd::config::parse_raw(text)
    {
        let _ = footrackd::config::validate(raw, false);
    }
});
