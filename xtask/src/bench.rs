//! `cargo xtask bench`: microfunnel beside its peers, written to `BENCHMARKS.md`.
//!
//! 1. the tracker is built as for a release (`build`);
//! 2. criterion measures the engine natively (`bench/engine`, a workspace of its own so that
//!    `cargo xtask test` never compiles criterion);
//! 3. the soak binary counts allocations and replays a long journey on a simulated clock;
//! 4. `bench/run.mjs` bundles the peers, runs every page scenario in headless Chromium and
//!    writes the report with the native figures in it.
//!
//! Not part of `cargo xtask test`: speed is reported with its method, never asserted.

use std::fs;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, run};
use crate::config::Config;
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

const FULL: Amount =
    Amount { runs: 5, rounds: 5, events: 10_000, soak: 1_000_000, criterion_secs: 15 };
const QUICK: Amount = Amount { runs: 1, rounds: 1, events: 2_000, soak: 50_000, criterion_secs: 3 };

pub fn bench(repo: &Repo, args: &[&str]) -> Result<()> {
    let amount = match args {
        [] => FULL,
        ["--quick"] => QUICK,
        _ => bail!("unknown arguments `{}`: `cargo xtask bench [--quick]`", args.join(" ")),
    };
    tools::setup(&repo.root)?;
    let browser = tools::browser()?;
    build::build(repo, &Config::load(&repo.root)?)?;

    let target = repo.target.join("bench");
    let manifest = repo.root.join("bench/engine/Cargo.toml");
    run(cargo()
        .current_dir(&repo.root)
        .env("CARGO_TARGET_DIR", &target)
        .arg("bench")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--bench", "engine", "--", "--sample-size", "30", "--warm-up-time", "2"])
        .args(["--measurement-time", &amount.criterion_secs.to_string()]))?;

    let soak = target.join("soak.json");
    let output = cargo()
        .current_dir(&repo.root)
        .env("CARGO_TARGET_DIR", &target)
        .arg("run")
        .arg("--release")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--bin", "soak", "--", &amount.soak.to_string()])
        .output()
        .context("failed to start the soak")?;
    if !output.status.success() {
        bail!("the soak failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    fs::write(&soak, &output.stdout)
        .with_context(|| format!("failed to write `{}`", soak.display()))?;

    let criterion = target.join("criterion/engine/journey_100_triggers_20_funnels");
    run(Command::new("node")
        .current_dir(&repo.root)
        .env("MF_ROOT", &repo.root)
        .env("MF_CHROMIUM", &browser.chromium)
        .env("MF_BENCH_CRITERION", &criterion)
        .env("MF_BENCH_SOAK", &soak)
        .arg("bench/run.mjs")
        .args(["--runs", &amount.runs.to_string(), "--rounds", &amount.rounds.to_string()])
        .args(["--events", &amount.events.to_string()]))
}
