//! Conditions over arbitrary data-layer values: see `microfunnel_fuzz::condition_eval`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    microfunnel_fuzz::condition_eval(bytes);
});
