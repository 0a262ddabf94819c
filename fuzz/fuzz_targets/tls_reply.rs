//! A TLS server's reply (records, handshake messages, ServerHello,
//! certificate chain) as the handshake prober reads it; the first byte picks
//! the size of the chunks it arrives in.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::tls_reply(data);
});
