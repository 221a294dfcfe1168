//! `cargo xtask test`: every check the project has, in order, stopping at the first failure.

use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, Result};

use crate::cmd::{cargo, run};
use crate::config::Config;
use crate::postgres::{self, Durability};
use crate::tools::{self, Browser, WASM_TARGET};
use crate::{build, size, Repo};

/// Runs the steps and ends with one line saying which passed.
pub fn test(repo: &Repo) -> Result<()> {
    let mut steps = Steps { passed: Vec::new(), started: Instant::now() };

    let browser = steps.run("setup", || {
        tools::setup(&repo.root)?;
        tools::browser()
    })?;
    steps.run("lint", || lint(repo))?;
    steps.run("native tests", || {
        run(cargo().current_dir(&repo.root).args(["test", "--workspace"]))
    })?;
    steps.run("collector on postgres", || collector_on_postgres(repo))?;
    steps.run("wasm tests", || wasm_tests(repo, &browser))?;
    let (config, report) = steps.run("build", || {
        let config = Config::load(&repo.root)?;
        build::build(repo, &config).map(|report| (config, report))
    })?;
    steps.run("size", || {
        size::check(&report, config.budget.total_gzip_bytes, &config.budget.addon_gzip_bytes)
    })?;
    steps.run("collector", || {
        run(cargo().current_dir(&repo.root).args(["build", "-p", "microfunnel-collector"]))
    })?;
    steps.run("e2e", || e2e(repo, &browser))?;

    println!(
        "test: all {} steps passed ({}) in {} s",
        steps.passed.len(),
        steps.names(),
        steps.secs()
    );
    Ok(())
}

/// Formatting and clippy, natively and for wasm32 (the glue only compiles for the browser),
/// and ESLint on the loader and its add-ons (`eslint.config.js`).
fn lint(repo: &Repo) -> Result<()> {
    run(cargo().current_dir(&repo.root).args(["fmt", "--all", "--check"]))?;
    run(Command::new(tools::node_bin(&repo.root, "eslint")).current_dir(&repo.root).args([
        "www/src/loader.js",
        "www/src/youtube.js",
        "www/src/ga4.js",
    ]))?;
    run(cargo().current_dir(&repo.root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().current_dir(&repo.root).args([
        "clippy",
        "--target",
        WASM_TARGET,
        "-p",
        "microfunnel",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The collector's storage tests again, on a real PostgreSQL server started for them (the native
/// tests above ran them on SQLite). The tests that never touch the database are not repeated.
fn collector_on_postgres(repo: &Repo) -> Result<()> {
    let server = postgres::Server::start(&postgres::install()?, Durability::Tests)?;
    run(cargo()
        .current_dir(&repo.root)
        .env("MF_TEST_BACKEND", "postgres")
        .env("MF_TEST_POSTGRES_URL", server.base_url())
        .args(["test", "-p", "microfunnel-collector"])
        .args(["--test", "http", "--test", "security", "--test", "reports", "--test", "faults"]))
}

fn wasm_tests(repo: &Repo, browser: &Browser) -> Result<()> {
    // wasm-bindgen-test-runner (from wasm-bindgen-cli) is the wasm32 runner in
    // .cargo/config.toml; with CHROMEDRIVER set it runs the tests in headless Chromium.
    run(cargo().current_dir(&repo.root).env("CHROMEDRIVER", &browser.chromedriver).args([
        "test",
        "--target",
        WASM_TARGET,
        "-p",
        "microfunnel",
    ]))
}

fn e2e(repo: &Repo, browser: &Browser) -> Result<()> {
    let collector = repo.target.join("debug/microfunnel-collector");
    run(Command::new("node")
        .current_dir(&repo.root)
        .env("MF_COLLECTOR", collector)
        .env("MF_CHROMIUM", &browser.chromium)
        .env("MF_ROOT", &repo.root)
        .args(["--test", "tests/e2e/"]))
}

/// The steps passed so far, for the summary line.
struct Steps {
    passed: Vec<&'static str>,
    started: Instant,
}

impl Steps {
    fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> test: {name}");
        let started = Instant::now();
        match step() {
            Ok(value) => {
                println!("==> test: {name} passed in {:.1} s", started.elapsed().as_secs_f64());
                self.passed.push(name);
                Ok(value)
            }
            Err(err) => Err(anyhow!(
                "test: step `{name}` failed after {} passed ({}): {err:#}",
                self.passed.len(),
                self.names()
            )),
        }
    }

    fn names(&self) -> String {
        if self.passed.is_empty() {
            return "none".to_owned();
        }
        self.passed.join(", ")
    }

    fn secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}
