//! Hours of simulated traffic through the engine and the page's queue, on a simulated clock:
//! memory and every buffer must level off, not grow with time.
//!
//! The page is never reloaded, as in a single-page application left open all day, which is
//! the worst case for what the engine keeps per page: it navigates by route changes instead.
//!
//! This is a bounded version of `bench/engine/src/bin/soak.rs` (which `cargo xtask bench` runs
//! for a million observations and only reports): it runs in `cargo test` and fails when
//! something grows. A counting allocator measures this thread's live heap and allocations.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use microfunnel::batch::{body, outcome, Outcome, Queue, Sender, MAX_QUEUED};
use microfunnel::config::decode;
use microfunnel::dom::fake::FakeElement;
use microfunnel::engine::{Engine, Setup};
use microfunnel::event::Page;
use microfunnel::host::NativeHost;
use microfunnel::json::{obj, Value};
use microfunnel::trigger::{Media, MediaAction, Observation};

struct Counting;

thread_local! {
    // Per thread, so that the test harness's own threads are not counted.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: i64, allocs: u64) {
    // `try_with`: the allocator also runs while a thread's locals are being torn down.
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
    let _ = ALLOCS.try_with(|n| n.set(n.get() + allocs));
}

// SAFETY: every call is forwarded to the system allocator unchanged; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64, 1);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64), 0);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64, 1);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CONFIG: &str = include_str!("../fuzz/configs/every-feature.json");
const T0: f64 = 1_764_780_000_000.0;
/// Observations between two pauses long enough to end the session and every funnel window.
const VISIT: u64 = 2_000;
/// Observations per measured window: a whole number of visits, so windows are alike.
const WINDOW: u64 = 2 * VISIT;
const WINDOWS: u64 = 6;

fn clock(i: u64) -> f64 {
    // 250 ms apart, and 31 minutes (past the idle time) between visits.
    T0 + i as f64 * 250.0 + (i / VISIT) as f64 * 31.0 * 60_000.0
}

fn engine(stored: Option<Value>, url: &str) -> Engine {
    let decoded = decode(&Value::parse(CONFIG).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "config errors");
    let setup = Setup {
        config: decoded.config,
        page: Page::new(url, "Soak", ""),
        client_id: "c-soak".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored,
        config_version: "soak".into(),
    };
    let mut engine = Engine::new(setup, Box::new(NativeHost::default()));
    // Debug output on, so that its lines are part of what must not pile up.
    engine.set_debug(true);
    engine
}

/// The engine and what the page keeps around it, as `src/web/tracker.rs` does.
struct Tab {
    engine: Engine,
    queue: Queue,
    state_text: String,
    sends: u64,
    log_lines: usize,
}

impl Tab {
    fn step(&mut self, i: u64, elements: &[FakeElement]) {
        let now = clock(i);
        let pushed;
        let observation = match i % 12 {
            0 => Observation::PageView,
            1 => Observation::Click { target: &elements[(i % 4) as usize] },
            5 => Observation::Visible {
                element: &elements[(i / 12 % 4) as usize],
                // Once per element, and every time (which must remember nothing).
                trigger: ["seen_each", "seen_always"][(i / 12 % 2) as usize],
                key: (i / 12 % 16) as f64,
            },
            2 => Observation::Scroll { percent: (i * 7 % 101) as f64 },
            6 => Observation::Route {
                old_url: "https://s.test/",
                new_url: ["https://s.test/a", "https://s.test/b#reviews"][(i / 12 % 2) as usize],
                title: "Route",
                source: "pushState",
                page_view: i / 12 % 2 == 0,
            },
            3 | 7 => Observation::Media(Media {
                // A new video element every so often, as on a page of many videos.
                key: (i / 48 % 8) as u32,
                action: [MediaAction::Play, MediaAction::Progress, MediaAction::Ended]
                    [(i / 12 % 3) as usize],
                current_time: (i % 61) as f64,
                duration: 60.0,
                source: "https://s.test/v.webm",
                provider: "html5",
                title: "",
                element: &elements[4],
            }),
            4 => Observation::Submit { form: &elements[5], start: false },
            _ => {
                let name = ["view_item", "add_to_cart", "purchase", "sign_up", "begin_checkout"]
                    [(i / 12 % 5) as usize];
                pushed = obj(vec![
                    ("event", name.into()),
                    ("item", format!("sku-{}", i % 3).into()),
                    ("value", Value::Num(129.0)),
                    ("ecommerce", obj(vec![("currency", "EUR".into())])),
                    ("user", obj(vec![("plan", "pro".into())])),
                ]);
                Observation::DataLayer { push: &pushed }
            }
        };
        for event in self.engine.observe(&observation, now) {
            self.queue.push(event.id.clone(), event.to_value().to_json(), now);
        }
        self.log_lines = self.log_lines.max(self.engine.take_log().len());
        if self.engine.take_dirty() {
            self.state_text = self.engine.state().to_json();
        }
        if self.queue.is_due(&self.engine.config().batch, now) {
            self.send(now);
        }
    }

    fn send(&mut self, now: f64) {
        let taken = self.queue.take(self.engine.config().batch.max_events);
        let sender = Sender {
            site: &self.engine.config().site,
            client_id: self.engine.client_id(),
            session_id: self.engine.session_id(),
            config_version: self.engine.config_version(),
        };
        let text = body(&sender, now, &taken);
        assert!(text.len() < 60_000, "a batch body of {} bytes", text.len());
        self.sends += 1;
        // Every seventh send fails and its events wait for the next one, as offline.
        let status = if self.sends % 7 == 0 { 0 } else { 204 };
        if outcome(status) == Outcome::Retry {
            self.queue.restore(taken, now);
        }
    }
}

/// What one window ended with.
#[derive(Debug)]
struct Window {
    live: i64,
    allocs: u64,
    queue: usize,
    state: usize,
}

#[test]
fn hours_of_simulated_traffic_keep_memory_and_every_buffer_bounded() {
    let elements = vec![
        FakeElement::new("span")
            .text("Checkout")
            .inside(FakeElement::new("a").attr("data-cta", "").url("https://s.test/checkout")),
        FakeElement::new("a").url("https://s.test/files/spec.pdf").text("Spec"),
        FakeElement::new("p").text("Most runners lose time on the way down"),
        FakeElement::new("a").url("https://s.test/pricing").text("Pricing"),
        FakeElement::new("video").attr("title", "Trailrunner"),
        FakeElement::new("form").attr("id", "newsletter").url("https://s.test/thanks"),
    ];
    let mut tab = Tab {
        engine: engine(None, "https://s.test/"),
        queue: Queue::default(),
        state_text: String::new(),
        sends: 0,
        log_lines: 0,
    };
    let mut windows = Vec::new();
    for w in 0..WINDOWS {
        let allocs_before = ALLOCS.with(Cell::get);
        for i in w * WINDOW..(w + 1) * WINDOW {
            tab.step(i, &elements);
        }
        windows.push(Window {
            live: LIVE.with(Cell::get),
            allocs: ALLOCS.with(Cell::get) - allocs_before,
            queue: tab.queue.len(),
            state: tab.state_text.len(),
        });
    }
    let hours = (clock(WINDOWS * WINDOW) - T0) / 3_600_000.0;
    assert!(hours > 6.0, "only {hours:.1} simulated hours");

    // The first window holds one-time growth (the first session, the first attempts, buffers
    // reaching their working size); from the second on, every window must end alike.
    let (first, last) = (&windows[1], &windows[windows.len() - 1]);
    assert!(
        last.live <= first.live + 16 * 1024,
        "the live heap grew from {} to {} bytes: {windows:?}",
        first.live,
        last.live
    );
    assert!(
        last.allocs <= first.allocs + first.allocs / 10,
        "allocations per window grew from {} to {}: {windows:?}",
        first.allocs,
        last.allocs
    );
    for w in &windows {
        assert!(w.queue < 100, "{} events wait: {windows:?}", w.queue);
        assert!(w.state < 8 * 1024, "the stored state is {} bytes: {windows:?}", w.state);
    }
    assert!(tab.queue.len() <= MAX_QUEUED && tab.queue.dropped == 0, "events were dropped");
    assert!(tab.log_lines < 200, "{} debug lines at once", tab.log_lines);
    assert!(tab.sends > 1_000, "only {} batches were sent", tab.sends);

    // And the state the page stored last loads into the next page as it was.
    let next = engine(Value::parse(&tab.state_text).ok(), "https://s.test/");
    assert_eq!(next.state().to_json(), tab.engine.state().to_json());
}

/// Threat: a visibility trigger that fires every time remembers each sighting, and a page that
/// never changes route (an infinite feed) grows without end. 20,000 sightings on one page.
#[test]
fn an_every_time_visibility_trigger_remembers_nothing_per_sighting() {
    let config = r#"{ "site": "s", "triggers": [
        { "id": "seen", "on": "visibility", "selector": ".item", "fire": "every_time" } ] }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let setup = Setup {
        config: decoded.config,
        page: Page::new("https://s.test/feed", "Feed", ""),
        client_id: "c-feed".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored: None,
        config_version: "feed".into(),
    };
    let mut engine = Engine::new(setup, Box::new(NativeHost::default()));
    let item = FakeElement::new("div").attr("class", "item");
    let mut live_at = Vec::new();
    for i in 0..20_000u32 {
        let seen = Observation::Visible { element: &item, trigger: "seen", key: f64::from(i) };
        let events = engine.observe(&seen, T0 + f64::from(i) * 100.0);
        assert_eq!(events.len(), 1);
        if i == 1_000 || i == 19_999 {
            live_at.push(LIVE.with(Cell::get));
        }
    }
    // A remembered sighting costs 16 bytes: 19,000 of them would be 300 KB.
    assert!(live_at[1] - live_at[0] < 16 * 1024, "live heap {live_at:?}");
}
