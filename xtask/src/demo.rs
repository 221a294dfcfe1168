//! `cargo xtask demo`: a fresh build served by the collector, with the demo site.

use std::env;

use anyhow::{Context, Result};

use crate::cmd::{cargo, run};
use crate::config::Config;
use crate::{build, tools, Repo};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Builds, then runs the collector in the foreground until it is stopped; with `simulate`,
/// first stores simulated visitors (the same seed each time, so a second run adds nothing).
pub fn demo(repo: &Repo, simulate: bool) -> Result<()> {
    tools::setup(&repo.root)?;
    build::build(repo, &Config::load(&repo.root)?)?;
    if simulate {
        let args = ["simulate", "--db", "microfunnel.sqlite", "--visitors", "5000", "--seed", "1"];
        run(cargo()
            .current_dir(&repo.root)
            .args(["run", "-p", "microfunnel-collector", "--"])
            .args(args))
        .context("the simulator failed")?;
    }

    let listen = env::var("MF_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.to_owned());
    println!("demo: open http://{listen}/ once the collector is listening, then in the console:");
    println!("  microfunnel.progress()    where this visitor is in each funnel");
    println!("  microfunnel.debug(true)   explain every event, trigger and funnel step");
    println!("  microfunnel.explain(\"cta\") why the CTA trigger did or did not fire");
    println!("  microfunnel.events()      this page's recent events");
    println!("demo: stored events are at http://{listen}/api/events, funnels at /api/funnels,");
    println!(
        "      reports at /api/reports/<name> (funnel, impact, segments, experiments, dropoff,"
    );
    println!("      anomalies; add .csv for CSV);");
    println!("      stop with Ctrl-C\n");

    run(cargo().current_dir(&repo.root).args([
        // The same (debug) build `cargo xtask test` makes, so that neither waits for the other.
        "run",
        "-p",
        "microfunnel-collector",
        "--",
        "--listen",
        &listen,
        "--db",
        "microfunnel.sqlite",
        "--static",
        "www",
        "--config",
        "www/config.json",
    ]))
    .context("the collector stopped")
}
