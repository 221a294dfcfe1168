//! The build driver, run as `cargo xtask <command>` from anywhere in the repository.
//!
//! It shells out to the real tools (cargo, wasm-bindgen, npm's wasm-opt and esbuild, node) and
//! installs the ones that are missing. Its settings live in `wasm-pack.toml`.

mod bench;
mod build;
mod cmd;
mod config;
mod demo;
mod load;
mod postgres;
mod size;
mod test;
mod tools;

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::config::Config;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install what is missing: the wasm32 target, wasm-bindgen-cli, npm packages
          (Chromium and PostgreSQL are installed by `test`, which needs them)
  build   build the tracker into www/dist and measure it into www/dist/size.json
  size    check www/dist/size.json against the budget in wasm-pack.toml
  demo    build, then serve the demo site with the collector (address: MF_LISTEN);
          `demo --simulate` first stores 5,000 simulated visitors for the reports
  test    native tests (the collector's on SQLite, then on PostgreSQL), browser tests, build,
          size budget and end-to-end tests
  bench   measure microfunnel beside its peers into BENCHMARKS.md (not part of `test`;
          `bench --quick` for a short run)
  load    measure the release collector's sustained ingest on SQLite and PostgreSQL, and check
          that nothing is lost (not part of `test`; `load --quick` for a short run)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let repo = Repo::locate();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["setup"] => {
            tools::setup(&repo.root)?;
            // Only `test` needs the browser, so here a missing one is advice, not a failure.
            if let Err(err) = tools::browser() {
                println!("setup: {err:#} (needed by `cargo xtask test` only)");
            }
            if let Err(err) = postgres::install() {
                println!("setup: {err:#} (needed by `cargo xtask test` and `load` only)");
            }
            Ok(())
        }
        ["build"] => {
            tools::setup(&repo.root)?;
            build::build(&repo, &Config::load(&repo.root)?).map(drop)
        }
        ["size"] => {
            let config = Config::load(&repo.root)?;
            let report = size::Report::read(&repo.out_dir(&config).join("size.json"))?;
            size::check(&report, config.budget.total_gzip_bytes, &config.budget.addon_gzip_bytes)
        }
        ["demo"] => demo::demo(&repo, false),
        ["demo", "--simulate"] => demo::demo(&repo, true),
        ["test"] => test::test(&repo),
        ["bench", rest @ ..] => bench::bench(&repo, rest),
        ["load", rest @ ..] => load::load(&repo, rest),
        [] | ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("unknown arguments `{}`\n\n{USAGE}", args.join(" ")),
    }
}

/// Where things are: the repository root and cargo's target directory.
pub struct Repo {
    pub root: PathBuf,
    pub target: PathBuf,
}

impl Repo {
    /// The root is the parent of this crate, wherever the command was started.
    fn locate() -> Repo {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("/"));
        let root = root.to_path_buf();
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => root.join(dir),
            None => root.join("target"),
        };
        Repo { root, target }
    }

    /// The output directory from `wasm-pack.toml`, e.g. `<root>/www/dist`.
    pub fn out_dir(&self, config: &Config) -> PathBuf {
        self.root.join(&config.wasm_bindgen.out_dir)
    }

    /// `path` relative to the root when it is inside it, for shorter commands and messages.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}
