//! Installing what the build and the tests need, each step skipped when already done.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cmd::{self, cargo, run};

/// The Rust target the tracker is compiled for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Installs the toolchain pieces that `build` needs: the wasm target, wasm-bindgen-cli and the
/// npm packages. The browser is separate (see [`browser`]) because only `test` needs it.
pub fn setup(root: &Path) -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli(root)?;
    npm_packages(root)
}

/// The browser and its driver, for the wasm tests and the end-to-end tests.
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Finds Chromium and ChromeDriver, installing them with apt when they are missing and this is
/// a Debian machine where we are root. Otherwise the error says what to install.
pub fn browser() -> Result<Browser> {
    if let Some(found) = find_browser() {
        println!("setup: chromium and chromedriver found");
        return Ok(found);
    }
    if !Path::new("/etc/debian_version").exists() {
        bail!(
            "chromium or chromedriver is missing: install Chromium and the ChromeDriver of the \
             same version, with `chromium` and `chromedriver` on PATH"
        );
    }
    if cmd::read(Command::new("id").arg("-u")).as_deref() != Some("0") {
        bail!(
            "chromium or chromedriver is missing: run \
             `sudo apt-get install chromium chromium-driver`"
        );
    }
    println!("setup: installing chromium and chromedriver with apt");
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args([
        "install",
        "-y",
        "chromium",
        "chromium-driver",
    ]))?;
    find_browser().context("apt installed chromium but `chromium` or `chromedriver` is not on PATH")
}

fn find_browser() -> Option<Browser> {
    Some(Browser { chromium: cmd::which("chromium")?, chromedriver: cmd::which("chromedriver")? })
}

fn wasm_target() -> Result<()> {
    let installed = cmd::read(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("`rustup` not found: install Rust with rustup (https://rustup.rs)")?;
    if installed.lines().any(|line| line == WASM_TARGET) {
        println!("setup: rust target {WASM_TARGET} already installed");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// wasm-bindgen-cli must be exactly the version of the `wasm-bindgen` crate in Cargo.lock: the
/// glue it writes and the custom section the crate embeds have to agree.
fn wasm_bindgen_cli(root: &Path) -> Result<()> {
    let wanted = locked_version(root, "wasm-bindgen")?;
    let found = cmd::read(Command::new("wasm-bindgen").arg("--version"));
    // It prints `wasm-bindgen 0.2.130`.
    let found = found.as_deref().and_then(|line| line.split_whitespace().nth(1));
    if found == Some(wanted.as_str()) {
        println!("setup: wasm-bindgen {wanted} already installed");
        return Ok(());
    }
    println!(
        "setup: installing wasm-bindgen-cli {wanted} (found {}); takes ~3 min",
        found.unwrap_or("none")
    );
    // Not `--locked`: its lock file names a dependency version the registry no longer has.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))
}

#[derive(Deserialize)]
struct Lockfile {
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
}

/// The one version of `name` in Cargo.lock.
fn locked_version(root: &Path, name: &str) -> Result<String> {
    let path = root.join("Cargo.lock");
    if !path.exists() {
        bail!("`{}` does not exist: run `cargo generate-lockfile`", path.display());
    }
    let text = fs::read_to_string(&path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let lock: Lockfile =
        toml::from_str(&text).with_context(|| format!("failed to parse `{}`", path.display()))?;
    version_of(&lock, name)
}

fn version_of(lock: &Lockfile, name: &str) -> Result<String> {
    let mut versions = lock.package.iter().filter(|p| p.name == name).map(|p| &p.version);
    match (versions.next(), versions.next()) {
        (Some(version), None) => Ok(version.clone()),
        (None, _) => bail!("`{name}` is not in Cargo.lock"),
        (Some(a), Some(b)) => bail!("Cargo.lock has two versions of `{name}` ({a}, {b}): keep one"),
    }
}

/// Runs `npm install` when node_modules is missing or older than package.json or its lock.
fn npm_packages(root: &Path) -> Result<()> {
    // npm rewrites this hidden lock on every install, so it dates the last one.
    let stamp = modified(&root.join("node_modules/.package-lock.json"));
    let newest_manifest = ["package.json", "package-lock.json"]
        .iter()
        .filter_map(|name| modified(&root.join(name)))
        .max();
    let binaries =
        ["wasm-opt", "esbuild", "eslint", "terser"].iter().all(|bin| node_bin(root, bin).exists());
    let reason = match stamp {
        None => "node_modules is missing",
        Some(_) if !binaries => "node_modules lacks wasm-opt, esbuild, eslint or terser",
        Some(stamp) if newest_manifest > Some(stamp) => "package.json changed",
        Some(_) => {
            println!("setup: npm packages up to date");
            return Ok(());
        }
    };
    println!("setup: npm install ({reason})");
    run(Command::new("npm").arg("install").current_dir(root))
        .context("npm install failed: is Node.js 20 or later with npm installed?")
}

/// A binary that an npm package installed, e.g. `node_modules/.bin/wasm-opt`.
pub fn node_bin(root: &Path, name: &str) -> PathBuf {
    root.join("node_modules/.bin").join(name)
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(packages: &[(&str, &str)]) -> Lockfile {
        let package = packages
            .iter()
            .map(|(name, version)| LockedPackage {
                name: name.to_string(),
                version: version.to_string(),
            })
            .collect();
        Lockfile { package }
    }

    #[test]
    fn version_of_finds_the_single_locked_version() {
        let lock = lock(&[("js-sys", "0.3.107"), ("wasm-bindgen", "0.2.130")]);
        assert_eq!(version_of(&lock, "wasm-bindgen").unwrap(), "0.2.130");
    }

    #[test]
    fn version_of_refuses_two_versions() {
        let lock = lock(&[("wasm-bindgen", "0.2.130"), ("wasm-bindgen", "0.2.100")]);
        assert!(version_of(&lock, "wasm-bindgen").unwrap_err().to_string().contains("two"));
    }

    #[test]
    fn cargo_lock_format_parses() {
        let text = "version = 4\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\
                    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                    dependencies = [\"once_cell\"]\n";
        let lock: Lockfile = toml::from_str(text).unwrap();
        assert_eq!(version_of(&lock, "wasm-bindgen").unwrap(), "0.2.130");
    }
}
