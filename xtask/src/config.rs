//! The settings in `wasm-pack.toml`: how wasm-bindgen and wasm-opt run, and the size budget.
//!
//! wasm-pack itself never reads that file; only this crate does.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The whole of `wasm-pack.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How `wasm-bindgen` turns the cargo output into glue and a `.wasm`.
    #[serde(rename = "wasm-bindgen")]
    pub wasm_bindgen: WasmBindgen,
    /// How `wasm-opt` shrinks that `.wasm`.
    #[serde(rename = "wasm-opt")]
    pub wasm_opt: WasmOpt,
    /// The most the shipped files may weigh.
    pub budget: Budget,
}

/// The `[wasm-bindgen]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmBindgen {
    /// The `--target` of wasm-bindgen, e.g. `web`.
    pub target: String,
    /// The `--out-name`: the glue is `<out_name>.js`, the module `<out_name>_bg.wasm`.
    pub out_name: String,
    /// The `--out-dir`, relative to the repository root; every build output lands here.
    pub out_dir: String,
    /// Further flags, passed as they are.
    #[serde(default)]
    pub flags: Vec<String>,
}

/// The `[wasm-opt]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmOpt {
    /// Passed to `wasm-opt` as they are, before the input file.
    pub flags: Vec<String>,
}

/// The `[budget]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The most the shipped files may weigh together, gzipped at level 9.
    pub total_gzip_bytes: u64,
    /// The most each add-on (a file loaded only by the pages that need it) may weigh, gzipped,
    /// by file name; an add-on without a budget fails the check.
    pub addon_gzip_bytes: std::collections::BTreeMap<String, u64>,
}

impl Config {
    /// Reads `wasm-pack.toml` at the repository root.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join("wasm-pack.toml");
        let text = fs::read_to_string(&path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        toml::from_str(&text).with_context(|| format!("failed to parse `{}`", path.display()))
    }

    /// The glue file that wasm-bindgen writes, e.g. `mf.js`.
    pub fn glue_name(&self) -> String {
        format!("{}.js", self.wasm_bindgen.out_name)
    }

    /// The module that wasm-bindgen writes and wasm-opt rewrites, e.g. `mf_bg.wasm`.
    pub fn wasm_name(&self) -> String {
        format!("{}_bg.wasm", self.wasm_bindgen.out_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_wasm_pack_toml_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let config = Config::load(root).unwrap();
        assert_eq!(config.wasm_name(), format!("{}_bg.wasm", config.wasm_bindgen.out_name));
        assert!(config.wasm_opt.flags.iter().any(|flag| flag.starts_with("-O")));
        assert!(config.budget.total_gzip_bytes > 0);
    }

    #[test]
    fn unknown_keys_are_rejected_rather_than_ignored() {
        let text = "[wasm-bindgen]\ntarget = \"web\"\nout_name = \"mf\"\nout_dir = \"d\"\n\
                    [wasm-opt]\nflags = []\n[budget]\ntotal_gzip_bytes = 1\naddon_gzip_bytes = {}\ngzip = 2\n";
        let err = toml::from_str::<Config>(text).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }
}
