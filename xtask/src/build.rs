//! The release build of what a page loads:
//!
//! 1. cargo compiles the tracker to wasm32;
//! 2. wasm-bindgen writes the JS glue and the module it loads;
//! 3. wasm-opt (npm binaryen; Debian's is too old for this wasm) shrinks that module in place;
//! 4. esbuild bundles the loader and minifies the glue;
//! 5. every shipped file is measured into `size.json`.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd::{cargo, run};
use crate::config::Config;
use crate::size::Report;
use crate::tools::{node_bin, WASM_TARGET};
use crate::Repo;

/// The minified loader that the script tag loads.
const LOADER: &str = "microfunnel.js";

/// Built by a later change; shipped beside the tracker when present.
const SCHEMA: &str = "microfunnel.schema.json";

/// Builds the tracker into the output directory and writes `size.json` there.
pub fn build(repo: &Repo, config: &Config) -> Result<Report> {
    let out_dir = repo.out_dir(config);
    fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create `{}`", out_dir.display()))?;

    compile(repo)?;
    bindgen(repo, config)?;
    optimize(repo, config)?;
    bundle(repo, config)?;
    copy_schema(repo, &out_dir)?;

    let shipped = [LOADER.to_owned(), config.glue_name(), config.wasm_name()];
    let report = Report::measure(&out_dir, &shipped, config.budget.total_gzip_bytes)?;
    report.write(&out_dir.join("size.json"))?;
    println!("\n{}\n", report.table());
    Ok(report)
}

fn compile(repo: &Repo) -> Result<()> {
    run(cargo().current_dir(&repo.root).args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        "microfunnel",
        "--lib",
    ]))
}

fn bindgen(repo: &Repo, config: &Config) -> Result<()> {
    let wasm = repo.target.join(WASM_TARGET).join("release/microfunnel.wasm");
    let settings = &config.wasm_bindgen;
    run(Command::new("wasm-bindgen")
        .current_dir(&repo.root)
        .args(["--target", &settings.target, "--no-typescript"])
        .args(["--out-dir", &settings.out_dir, "--out-name", &settings.out_name])
        .args(&settings.flags)
        .arg(repo.relative(&wasm)))
    .context("wasm-bindgen failed: `cargo xtask setup` installs the version in Cargo.lock")
}

fn optimize(repo: &Repo, config: &Config) -> Result<()> {
    let wasm = Path::new(&config.wasm_bindgen.out_dir).join(config.wasm_name());
    // Never a `wasm-opt` from PATH: Debian's cannot read what wasm-bindgen writes.
    run(Command::new(node_bin(&repo.root, "wasm-opt"))
        .current_dir(&repo.root)
        .args(&config.wasm_opt.flags)
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))
}

fn bundle(repo: &Repo, config: &Config) -> Result<()> {
    let out_dir = Path::new(&config.wasm_bindgen.out_dir);
    let esbuild = node_bin(&repo.root, "esbuild");

    // A classic script, so that it runs from a plain `<script async>` in older browsers too.
    let loader_out = format!("--outfile={}", out_dir.join(LOADER).display());
    run(Command::new(&esbuild).current_dir(&repo.root).args([
        "www/src/loader.js",
        "--bundle",
        "--minify",
        "--format=iife",
        "--target=es2019",
        "--log-level=warning",
        &loader_out,
    ]))?;

    // The glue stays an ES module: the loader fetches it with a dynamic `import()`.
    let glue = out_dir.join(config.glue_name());
    let glue_out = format!("--outfile={}", glue.display());
    run(Command::new(&esbuild).current_dir(&repo.root).arg(&glue).args([
        "--minify",
        "--format=esm",
        "--allow-overwrite",
        "--log-level=warning",
        &glue_out,
    ]))
}

fn copy_schema(repo: &Repo, out_dir: &Path) -> Result<()> {
    let schema = repo.root.join(SCHEMA);
    if !schema.exists() {
        return Ok(());
    }
    println!("copying {SCHEMA} into {}", repo.relative(out_dir).display());
    fs::copy(&schema, out_dir.join(SCHEMA))
        .with_context(|| format!("failed to copy `{}`", schema.display()))?;
    Ok(())
}
