//! An API description (OpenAPI 3.x or Swagger 2.0, JSON or YAML), as
//! `--spec` or a published spec is read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::spec(data);
});
