//! A response body through every detector (secrets, PII, password
//! hashes, debug output) and the masking built on them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::detectors(data);
});
