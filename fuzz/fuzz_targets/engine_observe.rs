//! Sequences of observations, page loads and stored states built from the fuzzer's bytes:
//! see `microfunnel_fuzz::engine_observe`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    microfunnel_fuzz::engine_observe(bytes);
});
