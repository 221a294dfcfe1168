//! The fuzz corpus of `Batch::parse` on stable Rust, for CI: cargo-fuzz needs nightly, which
//! this project's machines do not have.
//!
//! Every file of `collector/fuzz/corpus/batch_parse` goes through the parser as it is (seeds
//! named `valid-*` must parse, `invalid-*` must be refused; files a fuzzer added, named by their
//! hash, must only not panic), then mutated by a small fixed-seed
//! mutator, so a run is the same every time and a failure names the iteration that caused it.
//! `MF_FUZZ_ITERATIONS` sets how many mutations (default 30,000, about a second).

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use microfunnel_collector::batch::{is_event_name, MAX_EVENTS};
use microfunnel_collector::Batch;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/batch_parse");
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

/// Parses `body`, turning a panic into a test failure that shows the input, and checks what
/// an accepted batch promises.
fn parse_checked(body: &[u8], what: &str) -> bool {
    let result = catch_unwind(AssertUnwindSafe(|| Batch::parse(body)));
    let Ok(result) = result else {
        panic!("Batch::parse panicked on {what}: {:?}", String::from_utf8_lossy(body));
    };
    let Ok(batch) = result else {
        return false;
    };
    assert!(!batch.events.is_empty() && batch.events.len() <= MAX_EVENTS, "{what}");
    assert!(batch.events.iter().all(|event| is_event_name(&event.name)), "{what}");
    true
}

#[test]
fn every_corpus_file_is_answered_without_panic() {
    for (name, body) in corpus() {
        let accepted = parse_checked(&body, &name);

        if name.starts_with("valid-") {
            assert!(accepted, "{name} is refused");
        }
        if name.starts_with("invalid-") {
            assert!(!accepted, "{name} is accepted");
        }
    }
}

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

/// Pieces that reach the parser's corners: nesting, escapes, odd numbers, the batch's keys.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"{\"a\":",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.5",
    b"null",
    b"true",
    b",",
    b":",
    b"\"events\":",
    b"\"name\":",
    b"\"v\":1",
    b"\xff",
    b"\xc0\xae",
    b"\xf0\x9f\x98",
];

fn mutate(rng: &mut Rng, body: &mut Vec<u8>, other: &[u8]) {
    let at = rng.below(body.len() + 1);
    match rng.below(6) {
        0 if !body.is_empty() => {
            let i = rng.below(body.len());
            body[i] ^= 1 << rng.below(8);
        }
        1 => body.insert(at, rng.next() as u8),
        2 if !body.is_empty() => {
            let end = (at + rng.below(16)).min(body.len());
            body.drain(at.min(end)..end);
        }
        3 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            let times = if rng.below(8) == 0 { 1 + rng.below(300) } else { 1 };
            let piece = token.repeat(times);
            body.splice(at..at, piece);
        }
        4 if !other.is_empty() => {
            // Splice a slice of another seed in.
            let from = rng.below(other.len());
            let to = (from + rng.below(64)).min(other.len());
            body.splice(at..at, other[from..to].iter().copied());
        }
        _ => body.truncate(at),
    }
}

#[test]
fn mutated_corpus_is_answered_without_panic() {
    let iterations: usize =
        std::env::var("MF_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(30_000);
    let seeds = corpus();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;

    for i in 0..iterations {
        let (name, seed) = &seeds[i % seeds.len()];
        let other = &seeds[rng.below(seeds.len())].1;
        let mut body = seed.clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut body, other);
        }
        if parse_checked(&body, &format!("iteration {i} (from {name})")) {
            accepted += 1;
        }
    }

    // Mutations that keep a batch valid prove the mutator reaches past the JSON syntax into
    // the validation; were this 0, the test would only exercise serde_json.
    assert!(iterations < 1000 || accepted > 0, "no mutation was a valid batch");
}
