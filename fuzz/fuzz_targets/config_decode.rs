//! Any bytes as a configuration: see `microfunnel_fuzz::config_decode` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    microfunnel_fuzz::config_decode(bytes);
});
