//! Measuring what a page downloads, and holding it to the budget in `wasm-pack.toml`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use flate2::{write::GzEncoder, Compression};
use serde::{Deserialize, Serialize};

/// The contents of `size.json`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub files: Vec<FileSize>,
    pub total_raw: u64,
    pub total_gzip: u64,
    pub budget_gzip: u64,
    /// Files loaded only on pages that need them (the YouTube add-on), outside the total:
    /// each is held to its own budget.
    #[serde(default)]
    pub addons: Vec<FileSize>,
}

/// One shipped file, in bytes.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct FileSize {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

impl Report {
    /// Measures `names` (every page loads them) and `addons` (some pages do) in `dir`, raw
    /// and gzipped at level 9.
    pub fn measure(
        dir: &Path,
        names: &[String],
        addons: &[String],
        budget_gzip: u64,
    ) -> Result<Report> {
        let files = sizes(dir, names)?;
        let total_raw = files.iter().map(|f| f.raw).sum();
        let total_gzip = files.iter().map(|f| f.gzip).sum();
        Ok(Report { files, total_raw, total_gzip, budget_gzip, addons: sizes(dir, addons)? })
    }

    /// The table printed after a build.
    pub fn table(&self) -> String {
        let mut out = format!("{:<20} {:>10} {:>10}\n", "file", "raw B", "gzip -9 B");
        for file in &self.files {
            out += &format!("{:<20} {:>10} {:>10}\n", file.name, file.raw, file.gzip);
        }
        out += &format!("{:<20} {:>10} {:>10}\n", "total", self.total_raw, self.total_gzip);
        out += &format!("{:<20} {:>10} {:>10}", "budget", "", self.budget_gzip);
        for file in &self.addons {
            out += &format!("\n{:<20} {:>10} {:>10}", file.name, file.raw, file.gzip);
            out += "  (add-on, outside the total)";
        }
        out
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)? + "\n";
        fs::write(path, json).with_context(|| format!("failed to write `{}`", path.display()))
    }

    pub fn read(path: &Path) -> Result<Report> {
        if !path.exists() {
            bail!("`{}` does not exist: run `cargo xtask build` first", path.display());
        }
        let text = fs::read_to_string(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("failed to parse `{}`", path.display()))
    }
}

fn sizes(dir: &Path, names: &[String]) -> Result<Vec<FileSize>> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let bytes =
                fs::read(&path).with_context(|| format!("failed to read `{}`", path.display()))?;
            Ok(FileSize { name: name.clone(), raw: bytes.len() as u64, gzip: gzip_len(&bytes) })
        })
        .collect()
}

/// Holds the measured total to `budget` bytes and each add-on to its own budget in
/// `addon_budgets` (an add-on without one fails), printing the comparison either way.
pub fn check(report: &Report, budget: u64, addon_budgets: &BTreeMap<String, u64>) -> Result<()> {
    for addon in &report.addons {
        let Some(&limit) = addon_budgets.get(&addon.name) else {
            bail!("the add-on `{}` has no size budget in wasm-pack.toml", addon.name);
        };
        if addon.gzip > limit {
            bail!(
                "the add-on `{}` is over its size budget: {} B gzip > {limit} B",
                addon.name,
                addon.gzip
            );
        }
        println!("size budget: {} {} B gzip <= {limit} B", addon.name, addon.gzip);
    }
    let total = report.total_gzip;
    if total > budget {
        println!("size budget: {total} B gzip > {budget} B");
        bail!(
            "over the size budget by {} B gzip: shrink the tracker (see the table from \
             `cargo xtask build`); the budget in wasm-pack.toml only goes down",
            total - budget
        );
    }
    println!("size budget: {total} B gzip <= {budget} B");
    Ok(())
}

/// The length of `bytes` after `gzip -9`.
fn gzip_len(bytes: &[u8]) -> u64 {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    encoder.write_all(bytes).and_then(|()| encoder.finish()).map_or(0, |gz| gz.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(gzips: &[u64], budget: u64) -> Report {
        let files: Vec<FileSize> = gzips
            .iter()
            .enumerate()
            .map(|(i, &gzip)| FileSize { name: format!("f{i}"), raw: gzip * 3, gzip })
            .collect();
        let total_raw = files.iter().map(|f| f.raw).sum();
        Report {
            files,
            total_raw,
            total_gzip: gzips.iter().sum(),
            budget_gzip: budget,
            addons: Vec::new(),
        }
    }

    #[test]
    fn check_passes_at_exactly_the_budget() {
        assert!(check(&report(&[100, 200], 300), 300, &BTreeMap::new()).is_ok());
    }

    #[test]
    fn check_fails_one_byte_over_the_budget() {
        let err = check(&report(&[100, 201], 300), 300, &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("by 1 B"), "{err}");
    }

    #[test]
    fn check_fails_for_an_addon_over_its_own_budget() {
        let mut measured = report(&[100], 300);
        measured.addons.push(FileSize { name: "mf-youtube.js".into(), raw: 900, gzip: 501 });
        let budgets = |n| BTreeMap::from([("mf-youtube.js".to_string(), n)]);
        assert!(check(&measured, 300, &budgets(501)).is_ok());
        let err = check(&measured, 300, &budgets(500)).unwrap_err();
        assert!(err.to_string().contains("mf-youtube.js"), "{err}");
        let err = check(&measured, 300, &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("no size budget"), "{err}");
    }

    #[test]
    fn gzip_shrinks_repetitive_input_and_counts_its_header() {
        assert!(gzip_len(&[b'a'; 10_000]) < 100);
        // A gzip stream has an 18-byte header and trailer around even empty input.
        assert!(gzip_len(b"") >= 18);
    }

    #[test]
    fn measure_sums_files_and_round_trips_through_json() {
        let dir = std::env::temp_dir().join(format!("xtask-size-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.js"), "x".repeat(1000)).unwrap();
        fs::write(dir.join("b.wasm"), [0u8, 97, 115, 109]).unwrap();
        let names = ["a.js".to_string(), "b.wasm".to_string()];
        let measured = Report::measure(&dir, &names[..1], &names[1..], 60_000).unwrap();
        assert_eq!(measured.total_raw, 1000);
        assert_eq!(measured.total_gzip, measured.files[0].gzip);
        assert_eq!(measured.addons[0].raw, 4);

        measured.write(&dir.join("size.json")).unwrap();
        assert_eq!(Report::read(&dir.join("size.json")).unwrap(), measured);
        fs::remove_dir_all(&dir).unwrap();
    }
}
