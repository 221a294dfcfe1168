//! The release build of what a page loads:
//!
//! 1. cargo compiles the tracker to wasm32;
//! 2. wasm-bindgen writes the JS glue and the module it loads;
//! 3. the module's imports get one- or two-letter names, in the module and in the glue (see
//!    [`shorten_imports`]), and wasm-opt (npm binaryen; Debian's is too old for this wasm)
//!    shrinks the module in place;
//! 4. esbuild bundles the loader, minifies the glue and the YouTube add-on, and terser
//!    compresses all three again;
//! 5. every shipped file is measured into `size.json`.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, run};
use crate::config::Config;
use crate::size::Report;
use crate::tools::{node_bin, WASM_TARGET};
use crate::Repo;

/// The minified loader that the script tag loads.
const LOADER: &str = "microfunnel.js";
/// The add-ons, source and output, each a module the loader imports only on pages that need
/// it: the YouTube add-on where a player talks, the GA4 preset where the config names it.
const ADDONS: [(&str, &str); 2] =
    [("www/src/youtube.js", "mf-youtube.js"), ("www/src/ga4.js", "mf-ga4.js")];

/// Built by a later change; shipped beside the tracker when present.
const SCHEMA: &str = "microfunnel.schema.json";

/// Builds the tracker into the output directory and writes `size.json` there.
pub fn build(repo: &Repo, config: &Config) -> Result<Report> {
    let out_dir = repo.out_dir(config);
    fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create `{}`", out_dir.display()))?;

    compile(repo)?;
    bindgen(repo, config)?;
    shorten_imports(config)?;
    optimize(repo, config)?;
    bundle(repo, config)?;
    copy_schema(repo, &out_dir)?;

    let shipped = [LOADER.to_owned(), config.glue_name(), config.wasm_name()];
    let addons = ADDONS.map(|(_, name)| name.to_owned());
    let report = Report::measure(&out_dir, &shipped, &addons, config.budget.total_gzip_bytes)?;
    report.write(&out_dir.join("size.json"))?;
    println!("\n{}\n", report.table());
    Ok(report)
}

fn compile(repo: &Repo) -> Result<()> {
    let mut build = cargo();
    build.current_dir(&repo.root).args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        "microfunnel",
        "--lib",
    ]);
    // Panic locations carry their file's path: a crate's under cargo's registry is 70 bytes of
    // prefix (`/root/.cargo/registry/src/index.crates.io-<hash>/`) that says nothing. Each
    // registry folder is renamed `c` in the module (−57 B gzip). The flags are added to those
    // of `.cargo/config.toml` and are the same on every build, so the build stays cached.
    // (The standard library's `/rustc/<hash>/` paths come precompiled: a remap cannot reach
    // them.)
    let flags: Vec<String> = registry_sources()
        .iter()
        .map(|dir| format!("\"--remap-path-prefix={}=c\"", dir.display()))
        .collect();
    if !flags.is_empty() {
        let rustflags = format!("target.{WASM_TARGET}.rustflags=[{}]", flags.join(","));
        build.args(["--config", &rustflags]);
    }
    run(&mut build)
}

/// The folders under cargo's home where crates from registries are unpacked.
fn registry_sources() -> Vec<std::path::PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(Ok(entries)) = home.map(|h| fs::read_dir(h.join("registry/src"))) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    dirs
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

/// Renames every import of the module to a short name, in the module and in the glue alike.
///
/// wasm-bindgen names each import after what it calls plus a 16-digit hash
/// (`__wbg_getItem_1b0c3d5e7f9a2b4c`), and every name is shipped twice, in the wasm import
/// section and as a key of the glue's import object. The hashes are random, so gzip cannot
/// shrink them: the 53 names cost about 1 KB of the gzip budget. The glue is the only reader of
/// those names, so they can be anything both sides agree on.
fn shorten_imports(config: &Config) -> Result<()> {
    let out_dir = Path::new(&config.wasm_bindgen.out_dir);
    let wasm_path = out_dir.join(config.wasm_name());
    let glue_path = out_dir.join(config.glue_name());
    let mut module = walrus::Module::from_file(&wasm_path)
        .with_context(|| format!("failed to read `{}`", wasm_path.display()))?;
    let mut glue = fs::read_to_string(&glue_path)
        .with_context(|| format!("failed to read `{}`", glue_path.display()))?;

    for (index, import) in module.imports.iter_mut().enumerate() {
        let short = short_name(index);
        let key = format!("{}:", import.name);
        // Each name is a key of the glue's import object exactly once; anything else means the
        // glue's shape changed, and renaming blindly could break it.
        if glue.matches(&key).count() != 1 {
            anyhow::bail!("the glue does not have exactly one `{key}`: cannot rename imports");
        }
        glue = glue.replacen(&key, &format!("{short}:"), 1);
        import.name = short;
    }

    module
        .emit_wasm_file(&wasm_path)
        .with_context(|| format!("failed to write `{}`", wasm_path.display()))?;
    fs::write(&glue_path, glue)
        .with_context(|| format!("failed to write `{}`", glue_path.display()))
}

/// `a`..`z`, `A`..`Z`, then `aa`, `ab`, ...: valid JS identifiers, none a reserved word.
fn short_name(mut index: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = Vec::new();
    loop {
        name.push(LETTERS[index % LETTERS.len()]);
        index /= LETTERS.len();
        if index == 0 {
            break;
        }
        index -= 1;
    }
    name.reverse();
    String::from_utf8(name).expect("letters are ASCII")
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
    // The loader is one function expression with no import or export, so the ES module format
    // emits it as it is, without the IIFE format's second wrapper around it (−6 B gzip).
    let loader_out = format!("--outfile={}", out_dir.join(LOADER).display());
    run(Command::new(&esbuild).current_dir(&repo.root).args([
        "www/src/loader.js",
        "--bundle",
        "--minify",
        "--format=esm",
        "--target=es2019",
        "--log-level=warning",
        &loader_out,
    ]))?;

    // The glue stays an ES module: the loader fetches it with a dynamic `import()`. It is
    // bundled from an entry that re-exports the module's functions and brings its own `default`
    // init in place of wasm-bindgen's, which the loader would reach only through `initSync`,
    // argument forms it never uses and a long warning (−78 B gzip for `initSync`, −200 B for
    // the rest): `INIT` below, on the glue's own `__wbg_get_imports` and `__wbg_finalize_init`.
    let glue = out_dir.join(config.glue_name());
    let source = fs::read_to_string(&glue)
        .with_context(|| format!("failed to read `{}`", glue.display()))?;
    let exports: Vec<String> = source
        .lines()
        .filter_map(|line| line.strip_prefix("export function "))
        .filter_map(|rest| rest.split('(').next())
        .map(String::from)
        .collect();
    let internals = ["function __wbg_get_imports(", "function __wbg_finalize_init("];
    if exports.is_empty() || !internals.iter().all(|name| source.contains(name)) {
        bail!("the glue's exports are not what this build expects: check wasm-bindgen's output");
    }
    fs::write(&glue, source + "\nexport { __wbg_get_imports, __wbg_finalize_init };\n")
        .with_context(|| format!("failed to write `{}`", glue.display()))?;
    let entry = out_dir.join("mf.entry.js");
    let glue_name = config.glue_name();
    let entry_text = format!(
        "export {{ {} }} from './{glue_name}';\nimport {{ __wbg_get_imports as imports, \
         __wbg_finalize_init as finish }} from './{glue_name}';\n{INIT}",
        exports.join(", ")
    );
    fs::write(&entry, entry_text)
        .with_context(|| format!("failed to write `{}`", entry.display()))?;
    let glue_out = format!("--outfile={}", glue.display());
    let bundled = run(Command::new(&esbuild).current_dir(&repo.root).arg(&entry).args([
        "--bundle",
        "--minify",
        "--format=esm",
        "--allow-overwrite",
        "--log-level=warning",
        &glue_out,
    ]));
    fs::remove_file(&entry).with_context(|| format!("failed to remove `{}`", entry.display()))?;
    bundled?;

    for (source, name) in ADDONS {
        let out = format!("--outfile={}", out_dir.join(name).display());
        run(Command::new(&esbuild).current_dir(&repo.root).args([
            source,
            "--minify",
            "--format=esm",
            "--target=es2019",
            "--log-level=warning",
            &out,
        ]))?;
        shrink(repo, &out_dir.join(name), true)?;
    }
    shrink(repo, &out_dir.join(LOADER), false)?;
    shrink(repo, &glue, true)
}

/// A second minifier over esbuild's output: terser's compressor, three passes, finds what
/// esbuild's single pass leaves (measured on the build of 2026-12-04: loader 4,274 → 4,170 B
/// gzip, glue 1,996 → 1,951 B). The loader is a classic script, so only the glue and the
/// add-ons are minified as modules. With `unsafe_arrows` it writes a function expression that
/// reads neither `this` nor `arguments` as an arrow (every browser with WebAssembly has them;
/// none of ours is called with `new`): −35 B gzip on the loader and the glue.
fn shrink(repo: &Repo, file: &Path, module: bool) -> Result<()> {
    let mut terser = Command::new(node_bin(&repo.root, "terser"));
    terser.current_dir(&repo.root).arg(file).args([
        "--ecma",
        "2020",
        "--compress",
        "passes=3,ecma=2020,unsafe_arrows=true",
        "--mangle",
    ]);
    if module {
        terser.arg("--module");
    }
    run(terser.arg("--output").arg(file))
}

/// The glue's `default`: fetches and instantiates the module at `url` (compiled as it
/// downloads), and falls back to compiling the bytes when the server does not send
/// `application/wasm`, which streaming requires, or when the browser cannot stream (Safari
/// before 15). A failed download says its HTTP status. The
/// loader tells a Content Security Policy that refuses WebAssembly by the error's text, which
/// both ways keep.
const INIT: &str = r#"export default function (url) {
  return Promise.resolve()
    .then(function () {
      return WebAssembly.instantiateStreaming(fetch(url), imports());
    })
    .catch(function () {
      return fetch(url).then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' for ' + url);
        return response.arrayBuffer().then(function (bytes) {
          return WebAssembly.instantiate(bytes, imports());
        });
      });
    })
    .then(function (result) {
      return finish(result.instance, result.module);
    });
}
"#;

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
