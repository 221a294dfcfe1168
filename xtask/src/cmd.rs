//! Running the real tools: every command is echoed before it runs, and a failure names the
//! command that failed.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// A `cargo` command; under `cargo xtask` this is the cargo that started us.
pub fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cmd` with inherited output and fails unless it exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd.status().with_context(|| format!("failed to start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its standard output, or `None` when it cannot start or fails.
pub fn read(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Finds an executable on `PATH`, like `command -v`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|file| is_executable(file))
}

#[cfg(unix)]
fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(file: &Path) -> bool {
    file.is_file()
}

/// The command as a shell line: the variables it sets, the program's name and its arguments.
fn show(cmd: &Command) -> String {
    let vars = cmd.get_envs().filter_map(|(key, value)| {
        value.map(|value| format!("{}={}", key.to_string_lossy(), value.to_string_lossy()))
    });
    let program = Path::new(cmd.get_program());
    let relative = cmd.get_current_dir().and_then(|dir| program.strip_prefix(dir).ok());
    let program: OsString = match relative {
        Some(relative) => relative.into(),
        // The cargo from `CARGO` is an absolute path into the toolchain.
        None if env::var_os("CARGO").as_deref() == Some(program.as_os_str()) => "cargo".into(),
        None => program.into(),
    };
    let args = cmd.get_args().map(|arg| arg.to_string_lossy().into_owned());
    let words: Vec<String> =
        vars.chain([program.to_string_lossy().into_owned()]).chain(args).collect();
    words.join(" ")
}
