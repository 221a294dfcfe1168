//! `cargo xtask bench`: microfunnel beside its peers, written to `BENCHMARKS.md`.
//!
//! 1. the tracker is built as for a release (`build`);
//! 2. criterion measures the engine natively (`bench/engine`, a workspace of its own so that
//!    `cargo xtask test` never compiles criterion);
//! 3. the soak binary counts allocations and replays a long journey on a simulated clock;
//! 4. when `twiggy` is installed, a twin of the shipped wasm that keeps its function names is
//!    listed function by function;
//! 5. `bench/run.mjs` bundles the peers, runs every page scenario in headless Chromium and
//!    writes the report with the native figures in it.
//!
//! Not part of `cargo xtask test`: speed is reported with its method, never asserted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, cargo, run};
use crate::config::Config;
use crate::tools::{node_bin, WASM_TARGET};
use crate::{build, tools, Repo};

/// How much to measure: `--quick` for a smoke run of the whole pipeline.
struct Amount {
    /// Browser runs of every scenario for every tracker.
    runs: u32,
    /// Rounds through the demo shop per journey.
    rounds: u32,
    /// Events dispatched per per-event run.
    events: u32,
    /// Observations in the native soak.
    soak: u32,
    /// Criterion's measurement time, in seconds.
    criterion_secs: u32,
}

// Three journey rounds, not five: timed from the quick run, five would take the whole run past
// 25 minutes on 2 cores.
const FULL: Amount =
    Amount { runs: 5, rounds: 3, events: 10_000, soak: 1_000_000, criterion_secs: 15 };
const QUICK: Amount = Amount { runs: 1, rounds: 1, events: 2_000, soak: 50_000, criterion_secs: 3 };

/// Runs the benchmark with `args` (`[]` or `["--quick"]`) and writes `BENCHMARKS.md`.
pub fn bench(repo: &Repo, args: &[&str]) -> Result<()> {
    let amount = match args {
        [] => FULL,
        ["--quick"] => QUICK,
        _ => bail!("unknown arguments `{}`: `cargo xtask bench [--quick]`", args.join(" ")),
    };
    tools::setup(&repo.root)?;
    let browser = tools::browser()?;
    let config = Config::load(&repo.root)?;
    build::build(repo, &config)?;

    let target = repo.target.join("bench");
    let contents = contents(repo, &config, &target)?;
    criterion(repo, &target, &amount)?;
    let soak = soak(repo, &target, &amount)?;

    let criterion = target.join("criterion/engine/journey_100_triggers_20_funnels");
    run(Command::new("node")
        .current_dir(&repo.root)
        .env("MF_ROOT", &repo.root)
        .env("MF_CHROMIUM", &browser.chromium)
        .env("MF_BENCH_CRITERION", &criterion)
        .env("MF_BENCH_SOAK", &soak)
        .env("MF_BENCH_TWIGGY", contents.unwrap_or_default())
        .arg("bench/run.mjs")
        .args(["--runs", &amount.runs.to_string(), "--rounds", &amount.rounds.to_string()])
        .args(["--events", &amount.events.to_string()]))
}

/// The engine's workspace, built into a target directory of its own under `target`.
fn engine_cargo(repo: &Repo, target: &Path) -> Command {
    let mut command = cargo();
    command.current_dir(&repo.root).env("CARGO_TARGET_DIR", target);
    command
}

fn engine_manifest(repo: &Repo) -> PathBuf {
    repo.root.join("bench/engine/Cargo.toml")
}

/// Criterion's journey benchmark; it writes its samples under `target/criterion`.
fn criterion(repo: &Repo, target: &Path, amount: &Amount) -> Result<()> {
    run(engine_cargo(repo, target)
        .arg("bench")
        .arg("--manifest-path")
        .arg(engine_manifest(repo))
        .args(["--bench", "engine", "--", "--sample-size", "30", "--warm-up-time", "2"])
        .args(["--measurement-time", &amount.criterion_secs.to_string()]))
}

/// The soak binary's JSON, written to `target/soak.json`, whose path is returned.
fn soak(repo: &Repo, target: &Path, amount: &Amount) -> Result<PathBuf> {
    let output = engine_cargo(repo, target)
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(engine_manifest(repo))
        .args(["--bin", "soak", "--", &amount.soak.to_string()])
        .output()
        .context("failed to start the soak")?;
    if !output.status.success() {
        bail!("the soak failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let soak = target.join("soak.json");
    fs::write(&soak, &output.stdout)
        .with_context(|| format!("failed to write `{}`", soak.display()))?;
    Ok(soak)
}

/// The shipped wasm's contents by function, from `twiggy top` as JSON, or `None` when twiggy
/// is not installed (it is not installed for you: `cargo install twiggy` takes minutes).
///
/// The shipped module has no names, so a twin is built from the same cargo output with the same
/// wasm-bindgen and wasm-opt flags plus `--debuginfo`, which keeps the name section; its code
/// is that of the shipped module to within a few bytes.
fn contents(repo: &Repo, config: &Config, target: &Path) -> Result<Option<PathBuf>> {
    let Some(twiggy) = cmd::which("twiggy") else {
        println!("bench: twiggy not found, so the wasm is not listed by function");
        return Ok(None);
    };
    let named = target.join("named");
    let settings = &config.wasm_bindgen;
    run(Command::new("wasm-bindgen")
        .current_dir(&repo.root)
        .args(["--target", &settings.target, "--no-typescript"])
        .arg("--out-dir")
        .arg(&named)
        .args(["--out-name", &settings.out_name])
        .args(&settings.flags)
        .arg(repo.target.join(WASM_TARGET).join("release/microfunnel.wasm")))?;
    let wasm = named.join(config.wasm_name());
    run(Command::new(node_bin(&repo.root, "wasm-opt"))
        .args(&config.wasm_opt.flags)
        .arg("--debuginfo")
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    let output = Command::new(twiggy)
        .args(["top", "-n", "100000", "--format", "json"])
        .arg(&wasm)
        .output()
        .context("failed to start twiggy")?;
    if !output.status.success() {
        bail!("twiggy failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let listed = target.join("twiggy.json");
    fs::write(&listed, &output.stdout)
        .with_context(|| format!("failed to write `{}`", listed.display()))?;
    Ok(Some(listed))
}
