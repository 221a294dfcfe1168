//! The tracker's fuzz corpora on stable Rust, for CI: the config decoder, conditions over
//! data-layer values, and the engine fed observation sequences (see `fuzz/`).
//!
//! cargo-fuzz runs on this project's machines only with `RUSTC_BOOTSTRAP=1` on stable (or a
//! nightly toolchain), and a fuzzing run is open-ended, so CI does not fuzz. Instead every file
//! of `fuzz/corpus/<target>` goes through the same checks as the fuzz targets (the targets and
//! this test share `fuzz/src/lib.rs`), then mutated copies of them do, made by a small
//! fixed-seed mutator: a run is the same every time, and a failure names the iteration and
//! shows the input. `MF_FUZZ_ITERATIONS` sets how many mutations each target gets (by default
//! about a second's worth per target in a debug build).
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> =
        fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    let seeds: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    assert!(seeds.len() >= 5, "the corpus at {} is missing", dir.display());
    seeds
}

/// Runs `check` on `input`, turning a panic into a failure that shows the input.
fn checked<T>(check: fn(&[u8]) -> T, input: &[u8], what: &str) -> T {
    let result = catch_unwind(AssertUnwindSafe(|| check(input)));
    match result {
        Ok(value) => value,
        Err(_) => match std::str::from_utf8(input) {
            Ok(text) => panic!("{what} broke an invariant (the panic is above); input: {text:?}"),
            Err(_) => panic!("{what} broke an invariant (the panic is above); input: {input:?}"),
        },
    }
}

fn iterations(default: usize) -> usize {
    std::env::var("MF_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// The longest mutated input, in bytes.
const MAX_INPUT: usize = 4_096;

/// xorshift64*: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that reach the config decoder's and the conditions' corners: its keys and values,
/// nesting, escapes, odd numbers and keys a JavaScript object would treat specially.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"0.5",
    b"4294967296",
    b"\\u0000",
    b"\\ud800",
    b"\"__proto__\":",
    b"\"constructor\":",
    b"\"prototype\":",
    b"\"id\":\"x\",",
    b"\"on\":\"video\",",
    b"\"on\":\"data_layer\",\"name\":\"e\",",
    b"\"event\":\"funnel_x\",",
    b"\"event\":\"e\",",
    b"\"steps\":[{\"event\":\"e\"}],",
    b"\"when\":[{\"var\":\"dl.a\",\"op\":\"matches_regex\",\"value\":\"(a+)+$\"}],",
    b"\"op\":\"not_gte\",",
    b"\"order\":\"any\",",
    b"\"within\":\"1m\",",
    b"\"follows\":\"directly\",",
    b"\"exclude\":[{\"event\":\"e\",\"after_step\":2}],",
    b"\"hold\":[\"params.a\"],",
    b"\"var\":\"dl.a.0.b\",",
    b"\"{{\"",
    b"}}",
    b"\n",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8], tokens: &[&[u8]]) {
    let at = rng.below(input.len() + 1);
    match rng.below(7) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 => input.insert(at, rng.next() as u8),
        2 if !input.is_empty() => {
            let end = (at + rng.below(16)).min(input.len());
            input.drain(at.min(end)..end);
        }
        3 if !tokens.is_empty() => {
            let token = tokens[rng.below(tokens.len())];
            let times = if rng.below(8) == 0 { 1 + rng.below(200) } else { 1 };
            input.splice(at..at, token.repeat(times));
        }
        4 if !other.is_empty() => {
            // Splice a slice of another seed in.
            let from = rng.below(other.len());
            let to = (from + rng.below(64)).min(other.len());
            input.splice(at..at, other[from..to].iter().copied());
        }
        5 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = rng.next() as u8;
        }
        _ => input.truncate(at.max(1)),
    }
}

/// Mutates the corpus of `target` `iterations` times through `check`, returning how many
/// mutated inputs `check` answered `true` for.
fn mutated(target: &str, iterations: usize, tokens: &[&[u8]], check: fn(&[u8]) -> bool) -> usize {
    let seeds = corpus(target);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut yes = 0;
    for i in 0..iterations {
        let (name, seed) = &seeds[i % seeds.len()];
        let other = &seeds[rng.below(seeds.len())].1;
        let mut input = seed.clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut input, other, tokens);
        }
        // Longer inputs find little more and cost a debug build dearly.
        input.truncate(MAX_INPUT);
        yes +=
            usize::from(checked(check, &input, &format!("{target} iteration {i} (from {name})")));
    }
    yes
}

#[test]
fn config_corpus_decodes_or_names_each_error_by_its_path() {
    for (name, bytes) in corpus("config_decode") {
        let clean = checked(harness::config_decode, &bytes, &name);
        if name.starts_with("valid-") {
            assert!(clean, "{name} has errors");
        }
        if name.starts_with("invalid-") {
            assert!(!clean, "{name} decodes without errors");
        }
    }
}

#[test]
fn mutated_configs_never_panic_and_keep_every_decoding_invariant() {
    let clean = mutated("config_decode", iterations(6_000), TOKENS, harness::config_decode);
    // Mutations that still decode cleanly show the mutator reaches past the JSON syntax.
    assert!(iterations(6_000) < 500 || clean > 0, "no mutation decoded cleanly");
}

fn condition_eval(bytes: &[u8]) -> bool {
    harness::condition_eval(bytes);
    true
}

#[test]
fn condition_corpus_evaluates_hostile_data_layer_values_consistently() {
    for (name, bytes) in corpus("condition_eval") {
        checked(condition_eval, &bytes, &name);
    }
}

#[test]
fn mutated_conditions_and_pushes_never_panic() {
    mutated("condition_eval", iterations(1_500), TOKENS, condition_eval);
}

fn engine_observe(bytes: &[u8]) -> bool {
    harness::engine_observe(bytes);
    true
}

#[test]
fn engine_corpus_keeps_funnel_steps_in_range_and_output_valid() {
    for (name, bytes) in corpus("engine_observe") {
        checked(engine_observe, &bytes, &name);
    }
}

#[test]
fn mutated_observation_sequences_never_panic() {
    mutated("engine_observe", iterations(100), &[], engine_observe);
}
