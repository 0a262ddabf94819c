//! Header values as Rampart reads them: Retry-After, Set-Cookie
//! attributes, Strict-Transport-Security, cache status headers, `--header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::headers(data);
});
