//! A whole response (`STATUS`, `Name: value` lines, an empty line, the
//! body) through every passive check, every target-wide judgment, the
//! fingerprint and evidence finalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::response(data);
});
