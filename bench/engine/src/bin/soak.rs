//! Allocations per observation and a long soak on a simulated clock, counted by a global
//! allocator that wraps the system's. Prints one JSON object for `bench/run.mjs`.
//!
//! The soak replays the benchmark journey for a million observations, 250 ms apart, with a
//! 31-minute pause every 5,000 observations so sessions end and funnels expire, and records the
//! live heap, the queue, the stored state and the funnel explanations along the way: every one
//! of them must level off.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use microfunnel_bench::{Page1, T0};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREED.fetch_add(layout.size() as u64, Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(new_size as u64, Relaxed);
        FREED.fetch_add(layout.size() as u64, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> u64 {
    ALLOCATED.load(Relaxed).saturating_sub(FREED.load(Relaxed))
}

const PAUSE_EVERY: u64 = 5_000;
const PAUSE_MS: f64 = 31.0 * 60_000.0;

fn clock(i: u64) -> f64 {
    T0 + i as f64 * 250.0 + (i / PAUSE_EVERY) as f64 * PAUSE_MS
}

fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let checkpoints = [1_000, 10_000, 100_000, 1_000_000];

    let mut page = Page1::new();
    // Warm up one journey so one-time growth (the first session, the first attempts) is not
    // counted per observation.
    for i in 0..1_000 {
        page.step(clock(i));
    }
    let (allocs0, bytes0) = (ALLOCS.load(Relaxed), ALLOCATED.load(Relaxed));
    let mut events = 0u64;
    let started = Instant::now();
    let mut rows = Vec::new();
    for i in 1_000..total {
        events += page.step(clock(i)) as u64;
        if i == 10_999 {
            let n = 10_000.0;
            let allocs = (ALLOCS.load(Relaxed) - allocs0) as f64;
            let bytes = (ALLOCATED.load(Relaxed) - bytes0) as f64;
            rows.push(format!(
                "\"per_observation\":{{\"allocations\":{:.2},\"bytes_allocated\":{:.0},\
                 \"events\":{:.3},\"allocations_per_event\":{:.2}}}",
                allocs / n,
                bytes / n,
                events as f64 / n,
                allocs / events as f64
            ));
        }
        if checkpoints.contains(&(i + 1)) {
            rows.push(format!(
                "\"after_{}\":{{\"live_heap_bytes\":{},\"queue\":{},\"state_bytes\":{},\
                 \"bodies\":{}}}",
                i + 1,
                live(),
                page.queue.len(),
                page.state_text.len(),
                page.bodies
            ));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    rows.push(format!(
        "\"soak\":{{\"observations\":{},\"seconds\":{:.2},\"observations_per_second\":{:.0}}}",
        total - 1_000,
        secs,
        (total - 1_000) as f64 / secs
    ));
    println!("{{{}}}", rows.join(","));
}
