//! A traffic simulator: thousands of visitors of the demo shop (`www/`, `www/config.json`) with
//! known, planted behaviour, stored through the collector's own ingestion path (each visitor's
//! events are a wire batch, validated by [`Batch::from_value`] and stored by [`Store::insert_all`], a thousand
//! visitors per transaction).
//!
//! Every visitor has one session on one of the simulated days and lands on `/`. What they do
//! next is drawn from the probabilities in [`truth`], which are what the reports must recover:
//!
//! 1. 70 % go on to the product page (`view_item`), 5 to 60 s after landing (uniformly, so the
//!    median time from Landing to Product detail is 32.5 s). 75 % of them get there through
//!    the home page's CTA (`click_cta` "Shop the Trailrunner"), the others through the menu;
//!    on [`Simulation::broken_day`] the CTA is broken and nobody clicks it.
//! 2. 30 % of product viewers watch the video. Visitors who watched are [`truth::VIDEO_LIFT`]
//!    (3) times as likely to buy as those who did not.
//! 3. Of those who add to cart, mobile visitors drop before the checkout CTA twice as often as
//!    the others ([`truth::checkout_drop`]: 40 % against 20 %); half of those who drop there
//!    look at the pricing page next, the others leave.
//! 4. Of those who reach checkout, variant `b` buys [`truth::VARIANT_B_LIFT`] (1.2) times as
//!    often as variant `a` (60 % against 50 %).
//!
//! Device, traffic source, returning and variant are drawn independently of each other, so
//! each planted ratio holds over all visitors, whatever the other factors.
//!
//! The simulated pages do not run the tracker, so no `funnel_*` events are stored: the reports
//! replay funnels from the raw events, as `/api/funnels` does. Runs are deterministic: the same
//! seed gives the same events, ids included, so running it twice stores nothing new.

use serde_json::{json, Value};

use crate::{Batch, Error, Store};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The site's origin in the simulated page URLs.
const ORIGIN: &str = "http://127.0.0.1:8080";

/// The planted truths, as the reports should find them.
pub mod truth {
    /// Share of visitors who go from the landing page to the product page.
    pub const PRODUCT: f64 = 0.7;
    /// Share of product viewers who watch the video.
    pub const WATCH: f64 = 0.3;
    /// How many times as likely to buy a visitor who watched the video is.
    pub const VIDEO_LIFT: f64 = 3.0;
    /// Add-to-cart rate of product viewers who did not watch the video.
    pub const CART_WITHOUT_VIDEO: f64 = 0.35;
    /// Share of those who drop before checkout who look at the pricing page next.
    pub const PRICING_AFTER_DROP: f64 = 0.5;
    /// Purchase rate of variant `a` among those who reached checkout.
    pub const BUY_A: f64 = 0.5;
    /// How many times as often variant `b` buys as variant `a`.
    pub const VARIANT_B_LIFT: f64 = 1.2;
    /// The shortest and longest time from landing to the product page, in milliseconds.
    pub const TO_PRODUCT_MS: (i64, i64) = (5_000, 60_000);
    /// Share of product visitors who use the home page's CTA (when it works).
    pub const CTA: f64 = 0.75;
    /// Device shares: mobile, tablet (the rest is desktop).
    pub const DEVICES: [(&str, f64); 3] = [("mobile", 0.45), ("tablet", 0.10), ("desktop", 0.45)];

    /// The share of add-to-carts that do not go on to the checkout CTA, by device: mobile
    /// visitors drop there twice as often.
    pub fn checkout_drop(device: &str) -> f64 {
        if device == "mobile" {
            0.4
        } else {
            0.2
        }
    }

    /// The add-to-cart rate of product viewers who watched the video, chosen so that, over all
    /// visitors, watchers buy [`VIDEO_LIFT`] times as often as everyone else (who include the
    /// visitors who never saw the product page).
    pub fn cart_with_video() -> f64 {
        let saw_no_video = 1.0 - PRODUCT * WATCH;
        let product_without_video = PRODUCT * (1.0 - WATCH);
        VIDEO_LIFT * CART_WITHOUT_VIDEO * product_without_video / saw_no_video
    }

    /// The purchase rate among those who reached checkout, by variant.
    pub fn buy(variant: &str) -> f64 {
        if variant == "b" {
            BUY_A * VARIANT_B_LIFT
        } else {
            BUY_A
        }
    }

    /// The expected purchase rate of a visitor on `device`, over both variants (half each).
    pub fn purchase_rate(device: &str) -> f64 {
        let cart = PRODUCT * (WATCH * cart_with_video() + (1.0 - WATCH) * CART_WITHOUT_VIDEO);
        let buy = (buy("a") + buy("b")) / 2.0;
        cart * (1.0 - checkout_drop(device)) * buy
    }
}

/// How much traffic to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Simulation {
    /// How many visitors.
    pub visitors: u64,
    /// The seed of the random generator.
    pub seed: u64,
    /// Over how many days, ending on `last_day`.
    pub days: i64,
    /// The last simulated day, in days since 1970-01-01 (UTC).
    pub last_day: i64,
}

/// What a run stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Visitors simulated.
    pub visitors: u64,
    /// Events sent.
    pub events: u64,
    /// Of those, how many the store already had.
    pub duplicates: u64,
}

impl Simulation {
    /// The day the home page's CTA is broken: five days before the last, so that it has two
    /// weeks of baseline when `days` is at least 20.
    pub fn broken_day(&self) -> i64 {
        self.last_day - 5
    }

    /// The first simulated day.
    pub fn first_day(&self) -> i64 {
        self.last_day - self.days + 1
    }

    /// Every visitor's batch, as the tracker would post it.
    pub fn batches(&self) -> impl Iterator<Item = Value> + '_ {
        let mut rng = Rng::new(self.seed);
        (0..self.visitors).map(move |i| self.visitor(i, &mut rng))
    }

    /// Validates and stores every visitor's batch through `store`.
    pub async fn run(&self, store: &Store) -> Result<Summary, Error> {
        let mut summary = Summary { visitors: self.visitors, events: 0, duplicates: 0 };
        // A thousand visitors per transaction: one disk sync each rather than one per visitor.
        let mut pending = Vec::new();
        for body in self.batches() {
            let batch = Batch::from_value(&body)?;
            summary.events += batch.events.len() as u64;
            pending.push(batch);
            if pending.len() == 1_000 {
                summary.duplicates += store.insert_all(std::mem::take(&mut pending)).await? as u64;
            }
        }
        summary.duplicates += store.insert_all(pending).await? as u64;
        Ok(summary)
    }

    fn visitor(&self, index: u64, rng: &mut Rng) -> Value {
        let day = self.first_day() + rng.below(self.days.max(1) as u64) as i64;
        // Visits start before 23:30 so that they end on the day they started.
        let start = day * DAY_MS + rng.below((DAY_MS - 1_800_000) as u64) as i64;
        let device = pick(rng, &truth::DEVICES);
        let segment = segment(rng, device);
        let variant = if rng.chance(0.5) { "a" } else { "b" };
        let mut segment = segment;
        segment["variant"] = json!(variant);

        let mut visit = Visit { events: Vec::new(), prefix: format!("sim{}-{index}", self.seed) };
        self.walk(&mut visit, rng, start, device, variant, day == self.broken_day());

        let events: Vec<Value> = visit
            .events
            .into_iter()
            .enumerate()
            .map(|(seq, (id, name, ts, path, params))| {
                json!({
                    "id": id, "name": name, "ts": ts, "seq": seq + 1,
                    "page": { "url": format!("{ORIGIN}{path}"), "path": path,
                              "title": title(path), "referrer": "" },
                    "params": params, "segment": segment, "funnels": {}
                })
            })
            .collect();
        json!({
            "v": 1, "site": "demo-shop",
            "client_id": format!("sim-{}-{index}", self.seed),
            "session_id": format!("sim-{}-{index}-1", self.seed),
            "sent_at": events.last().map_or(start, |e| e["ts"].as_i64().unwrap_or(start)),
            "events": events
        })
    }

    /// One visit through the shop, from the landing page on.
    fn walk(
        &self,
        visit: &mut Visit,
        rng: &mut Rng,
        start: i64,
        device: &str,
        variant: &str,
        broken: bool,
    ) {
        let mut t = start;
        visit.push("page_view", t, "/", json!({}));
        for percent in [25, 50] {
            if !rng.chance(0.6) {
                break;
            }
            t += 1_000;
            visit.push("scroll_depth", t, "/", json!({ "percent_scrolled": percent }));
        }

        if !rng.chance(truth::PRODUCT) {
            if rng.chance(0.05) {
                visit.push(
                    "subscribe_newsletter",
                    t + 8_000,
                    "/",
                    json!({ "form_id": "newsletter" }),
                );
                visit.push("page_view", t + 9_000, "/thanks.html", json!({}));
            } else if rng.chance(0.2) {
                visit.push("page_view", t + 15_000, "/pricing.html", json!({}));
            }
            return;
        }

        // The product page's view_item lands exactly the drawn gap after the landing page.
        let (low, high) = truth::TO_PRODUCT_MS;
        let at_product = start + low + rng.below((high - low + 1) as u64) as i64;
        if !broken && rng.chance(truth::CTA) {
            let params = json!({ "cta_text": "Shop the Trailrunner", "cta_url": "/product.html" });
            visit.push("click_cta", at_product - 800, "/", params);
        }
        visit.push("page_view", at_product - 100, "/product.html", json!({}));
        let item = json!({ "item_id": "trailrunner-2", "price": 129 });
        visit.push("view_item", at_product, "/product.html", item);
        t = at_product;

        let watched = rng.chance(truth::WATCH);
        if watched {
            t = self.watch(visit, rng, t);
        }
        if rng.chance(0.15) {
            t += 4_000;
            let file = json!({ "file_name": "trailrunner-spec.pdf", "file_extension": "pdf" });
            visit.push("file_download", t, "/product.html", file);
        }

        let cart = if watched { truth::cart_with_video() } else { truth::CART_WITHOUT_VIDEO };
        if !rng.chance(cart) {
            if rng.chance(0.3) {
                visit.push("page_view", t + 20_000, "/pricing.html", json!({}));
            }
            return;
        }
        t += 10_000 + rng.below(110_000) as i64;
        let value = json!({ "item_id": "trailrunner-2", "value": 129 });
        visit.push("add_to_cart", t, "/product.html", value.clone());

        t += 5_000 + rng.below(55_000) as i64;
        if rng.chance(truth::checkout_drop(device)) {
            if rng.chance(truth::PRICING_AFTER_DROP) {
                visit.push("page_view", t, "/pricing.html", json!({}));
            }
            return;
        }
        let params = json!({ "cta_text": "Checkout", "cta_url": "/checkout.html" });
        visit.push("click_cta", t, "/product.html", params);
        visit.push("page_view", t + 300, "/checkout.html", json!({}));
        if rng.chance(truth::buy(variant)) {
            t += 20_000 + rng.below(100_000) as i64;
            visit.push("purchase", t, "/checkout.html", value);
        }
    }

    /// The video's events, from `t` on; answers the time after the last.
    fn watch(&self, visit: &mut Visit, rng: &mut Rng, mut t: i64) -> i64 {
        let video = |percent: u32| {
            json!({ "video_title": "Trailrunner in action", "video_url": "/assets/trailrunner.webm",
                    "video_percent": percent, "video_provider": "html5" })
        };
        t += 3_000;
        visit.push("video_start", t, "/product.html", video(0));
        for percent in [10, 25, 50, 75] {
            if !rng.chance(0.85) {
                return t;
            }
            t += 2_000;
            visit.push("video_progress", t, "/product.html", video(percent));
        }
        if rng.chance(0.8) {
            t += 3_000;
            visit.push("video_complete", t, "/product.html", video(100));
        }
        t
    }
}

/// A visit's events as they are drawn: id, name, time, path, params.
struct Visit {
    events: Vec<(String, &'static str, i64, &'static str, Value)>,
    prefix: String,
}

impl Visit {
    fn push(&mut self, name: &'static str, ts: i64, path: &'static str, params: Value) {
        let id = format!("{}-{}", self.prefix, self.events.len() + 1);
        self.events.push((id, name, ts, path, params));
    }
}

fn segment(rng: &mut Rng, device: &str) -> Value {
    let sources = [
        (("google", "cpc", Some("spring")), 0.3),
        (("google", "organic", None), 0.25),
        (("newsletter", "email", Some("winter")), 0.15),
        (("(direct)", "(none)", None), 0.3),
    ];
    let (source, medium, campaign) = pick(rng, &sources);
    let mut segment = json!({
        "device": device, "source": source, "medium": medium,
        "returning": rng.chance(0.3), "landing": "/"
    });
    if let Some(campaign) = campaign {
        segment["campaign"] = json!(campaign);
    }
    segment
}

fn title(path: &str) -> &'static str {
    match path {
        "/product.html" => "Trailrunner 2",
        "/pricing.html" => "Pricing",
        "/checkout.html" => "Checkout",
        "/thanks.html" => "Thanks",
        _ => "Ridgeline Running Co.",
    }
}

/// Picks one of `choices` by weight (the weights sum to 1; the last takes any rounding).
fn pick<T: Copy>(rng: &mut Rng, choices: &[(T, f64)]) -> T {
    let mut draw = rng.unit();
    for &(choice, weight) in choices {
        if draw < weight {
            return choice;
        }
        draw -= weight;
    }
    choices[choices.len() - 1].0
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator, plenty for simulated traffic,
/// and the same on every platform, so a seed always gives the same events.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1), from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform integer in [0, n); the modulo bias is below 2⁻⁴⁰ for the n used here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulation() -> Simulation {
        Simulation { visitors: 200, seed: 7, days: 28, last_day: 20_000 }
    }

    #[test]
    fn every_batch_is_valid_and_stays_on_its_day() {
        let sim = simulation();
        for body in sim.batches() {
            let batch = Batch::from_value(&body).unwrap();
            let day = batch.events[0].ts.div_euclid(DAY_MS);
            assert!((sim.first_day()..=sim.last_day).contains(&day));
            assert!(batch.events.iter().all(|e| e.ts.div_euclid(DAY_MS) == day));
            assert!(batch.events.windows(2).all(|w| w[0].ts <= w[1].ts), "events in time order");
            assert_eq!(batch.events[0].name, "page_view");
        }
    }

    #[test]
    fn a_seed_gives_the_same_traffic() {
        let one: Vec<Value> = simulation().batches().collect();
        let two: Vec<Value> = simulation().batches().collect();
        assert_eq!(one, two);
        let other: Vec<Value> = Simulation { seed: 8, ..simulation() }.batches().collect();
        assert_ne!(one, other);
    }

    #[test]
    fn nobody_clicks_the_home_cta_on_the_broken_day() {
        let sim = Simulation { visitors: 2_000, ..simulation() };
        let mut clicks_on_broken_day = 0;
        let mut clicks = 0;
        for body in sim.batches() {
            let batch = Batch::from_value(&body).unwrap();
            for event in batch.events.iter().filter(|e| e.name == "click_cta" && e.page.path == "/")
            {
                clicks += 1;
                clicks_on_broken_day += u32::from(event.ts.div_euclid(DAY_MS) == sim.broken_day());
            }
        }
        assert!(clicks > 500, "{clicks}");
        assert_eq!(clicks_on_broken_day, 0);
    }

    #[test]
    fn the_planted_rates_are_probabilities() {
        assert!(truth::cart_with_video() < 1.0);
        let ratio = truth::purchase_rate("mobile") / truth::purchase_rate("desktop");
        assert!((ratio - 0.6 / 0.8).abs() < 1e-12);
    }
}
