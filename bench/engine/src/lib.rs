//! The journey the native benchmarks replay through the engine, with the page's work around
//! it: each observation's events written as JSON and queued, the state written when it
//! changed, and a batch body built whenever the queue is due, as `src/web/tracker.rs` does.
//!
//! The configuration is `bench/fixtures/config-100x20.json`, the one the browser benchmark
//! loads, so the two measure the same 100 triggers and 20 funnels.

use std::cell::RefCell;
use std::collections::HashMap;

use microfunnel::batch::{body, Queue, Sender};
use microfunnel::config::decode;
use microfunnel::dom::fake::FakeElement;
use microfunnel::engine::{Engine, Setup};
use microfunnel::event::Page;
use microfunnel::host::{Host, NativeHost};
use microfunnel::json::Value;
use microfunnel::trigger::{Media, MediaAction, Observation};

/// The benchmark configuration, embedded so the binaries run from anywhere.
pub const CONFIG: &str = include_str!("../../fixtures/config-100x20.json");

/// The first simulated instant, in milliseconds since the epoch.
pub const T0: f64 = 1_764_780_000_000.0;

/// The native host with compiled regexes kept, as the page's host keeps its `RegExp`s: the
/// test twin compiles a pattern on every call, which would measure the `regex` crate's
/// compiler rather than the engine.
#[derive(Default)]
pub struct CachingHost {
    inner: NativeHost,
    compiled: RefCell<HashMap<(String, bool), Option<regex::Regex>>>,
}

impl Host for CachingHost {
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool {
        self.inner.regex_is_valid(pattern, ignore_case)
    }

    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool {
        let mut compiled = self.compiled.borrow_mut();
        let regex = compiled.entry((pattern.to_owned(), ignore_case)).or_insert_with(|| {
            regex::RegexBuilder::new(pattern).case_insensitive(ignore_case).build().ok()
        });
        regex.as_ref().is_some_and(|re| re.is_match(text))
    }

    fn selector_is_valid(&self, selector: &str) -> bool {
        self.inner.selector_is_valid(selector)
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.inner.cookie(name)
    }

    fn random_id(&self) -> String {
        self.inner.random_id()
    }

    fn lowercase(&self, text: &str) -> String {
        self.inner.lowercase(text)
    }

    fn decode(&self, text: &str) -> String {
        self.inner.decode(text)
    }
}

/// The engine with the benchmark configuration on the demo's home page.
pub fn engine() -> Engine {
    let host = CachingHost::default();
    let decoded = decode(&Value::parse(CONFIG).expect("the fixture is JSON"), &host);
    assert!(decoded.errors.is_empty(), "config errors: {:?}", decoded.errors);
    assert_eq!((decoded.config.triggers.len(), decoded.config.funnels.len()), (100, 20));
    let setup = Setup {
        config: decoded.config,
        page: Page::new("http://shop.test/", "Ridgeline", ""),
        client_id: "c-bench".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored: None,
        config_version: "bench".into(),
    };
    Engine::new(setup, Box::new(host))
}

/// The elements the journey touches, built once.
pub struct Elements {
    cta: FakeElement,
    nav: FakeElement,
    text: FakeElement,
    pdf: FakeElement,
    form: FakeElement,
    video: FakeElement,
}

impl Default for Elements {
    fn default() -> Elements {
        let cta = FakeElement::new("a")
            .attr("class", "btn-primary")
            .attr("data-cta", "")
            .url("http://shop.test/product.html")
            .text("Shop the Trailrunner");
        Elements {
            cta: FakeElement::new("span").text("Shop the Trailrunner").inside(cta),
            nav: FakeElement::new("a").url("http://shop.test/pricing.html").text("Pricing"),
            text: FakeElement::new("p")
                .text("Most runners lose time on the way down")
                .inside(FakeElement::new("section")),
            pdf: FakeElement::new("a")
                .url("http://shop.test/assets/trailrunner-spec.pdf")
                .text("Spec sheet (PDF)"),
            form: FakeElement::new("form")
                .attr("id", "newsletter")
                .url("http://shop.test/thanks.html"),
            video: FakeElement::new("video").attr("title", "Trailrunner"),
        }
    }
}

/// The engine and the page's queue around it.
pub struct Page1 {
    pub engine: Engine,
    pub queue: Queue,
    pub state_text: String,
    pub bodies: usize,
    elements: Elements,
    step: u64,
}

impl Page1 {
    pub fn new() -> Page1 {
        Page1 {
            engine: engine(),
            queue: Queue::default(),
            state_text: String::new(),
            bodies: 0,
            elements: Elements::default(),
            step: 0,
        }
    }

    /// One observation of the journey at `now`, then what the page does with its events;
    /// returns how many events it made.
    pub fn step(&mut self, now: f64) -> usize {
        let i = self.step;
        self.step += 1;
        let e = &self.elements;
        let pushed;
        let observation = match i % 16 {
            0 => Observation::PageView,
            1 | 5 | 9 => Observation::Click { target: &e.cta },
            2 | 6 => Observation::Click { target: &e.text },
            3 => Observation::Click { target: &e.nav },
            4 | 8 | 12 => Observation::Scroll { percent: ((i * 7) % 100) as f64 },
            7 => Observation::Click { target: &e.pdf },
            10 | 11 | 13 => Observation::Media(Media {
                key: 1,
                action: if i % 16 == 10 { MediaAction::Play } else { MediaAction::Progress },
                current_time: ((i * 3) % 60) as f64,
                duration: 60.0,
                source: "http://shop.test/assets/trailrunner.webm",
                provider: "html5",
                title: "",
                element: &e.video,
            }),
            14 => Observation::Submit { form: &e.form, start: false },
            _ => {
                let name = ["view_item", "add_to_cart", "purchase"][(i / 16 % 3) as usize];
                pushed = Value::parse(&format!(
                    r#"{{"event":"{name}","ecommerce":{{"value":129,"currency":"EUR"}}}}"#
                ))
                .expect("valid JSON");
                Observation::DataLayer { push: &pushed }
            }
        };
        let events = self.engine.observe(&observation, now);
        for event in &events {
            self.queue.push(event.id.clone(), event.to_value().to_json(), now);
        }
        if self.engine.take_dirty() {
            self.state_text = self.engine.state().to_json();
        }
        if self.queue.is_due(&self.engine.config().batch, now) {
            self.send(now);
        }
        events.len()
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
        self.bodies += usize::from(!text.is_empty());
    }
}

impl Default for Page1 {
    fn default() -> Page1 {
        Page1::new()
    }
}
