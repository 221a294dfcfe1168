//! The live funnel evaluator against an independent batch evaluator, on random streams.
//!
//! `model` below is written from the rules as the README states them, over a whole stream at
//! once, without the engine's code. Thousands of random funnels and event streams (random order,
//! gaps, repeats, exclusions, session breaks, times on and around every bound) go through both;
//! they must report the same changes, event by event.
#![cfg(not(target_arch = "wasm32"))]

use microfunnel::condition::Vars;
use microfunnel::config::{decode, Entry, Follows, Funnel, Order, Scope};
use microfunnel::funnel::{advance, Attempt, Change, Seen};
use microfunnel::host::{Host, NativeHost};
use microfunnel::json::Value;

/// One event of a random stream.
#[derive(Clone, Debug)]
struct E {
    name: &'static str,
    p: &'static str,
    k: &'static str,
    at: f64,
    session: u32,
}

impl Vars for E {
    fn var(&self, name: &str) -> Option<Value> {
        match name {
            "params.p" => Some(self.p.into()),
            "params.k" => Some(self.k.into()),
            _ => None,
        }
    }
    fn element_matches(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
}

/// A small, seedable generator (xorshift64*), so that a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &["a", "b", "c", "d", "x", "i"];

fn random_funnel(rng: &mut Rng) -> (String, Funnel) {
    let order = if rng.chance(25) { "any" } else { "sequence" };
    let n = 1 + rng.below(4) as usize;
    let mut steps = Vec::new();
    for i in 0..n {
        let mut step = format!(r#"{{ "event": "{}""#, rng.pick(&["a", "b", "c", "d"]));
        if rng.chance(30) {
            step.push_str(r#", "when": [ { "var": "params.p", "op": "equals", "value": "1" } ]"#);
        }
        if order == "sequence" && i > 0 && rng.chance(40) {
            step.push_str(&format!(r#", "within": {}"#, rng.pick(&[2, 5, 10])));
        }
        if order == "sequence" && i > 0 && rng.chance(30) {
            step.push_str(r#", "follows": "directly""#);
        }
        step.push_str(" }");
        steps.push(step);
    }
    let mut json = format!(
        r#"{{ "id": "f", "order": "{order}", "entry": "{}", "scope": "{}", "steps": [ {} ]"#,
        rng.pick(&["closed", "open"]),
        rng.pick(&["session", "visitor"]),
        steps.join(", ")
    );
    if rng.chance(50) {
        json.push_str(&format!(r#", "window": {}"#, rng.pick(&[10, 20, 40])));
    }
    if rng.chance(35) {
        let mut x = r#"{ "event": "x""#.to_string();
        if rng.chance(40) {
            x.push_str(&format!(r#", "after_step": {}"#, 1 + rng.below(n as u64)));
        }
        if rng.chance(40) {
            x.push_str(&format!(r#", "before_step": {}"#, 1 + rng.below(n as u64)));
        }
        if rng.chance(30) {
            x.push_str(r#", "when": [ { "var": "params.p", "op": "not_equals", "value": "1" } ]"#);
        }
        json.push_str(&format!(r#", "exclude": [ {x} }} ]"#));
    }
    if rng.chance(30) {
        json.push_str(r#", "hold": ["params.k"]"#);
    }
    if rng.chance(30) {
        json.push_str(r#", "ignore_between": ["i", "x"]"#);
    }
    json.push_str(" }");
    let config = format!(r#"{{ "site": "s", "funnels": [ {json} ] }}"#);
    let decoded = decode(&Value::parse(&config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "generated config {json}");
    (json, decoded.config.funnels.into_iter().next().unwrap())
}

fn random_stream(rng: &mut Rng) -> Vec<E> {
    let mut at = 0.0;
    let mut session = 1;
    let len = rng.below(40);
    (0..len)
        .map(|_| {
            // Gaps of 0 to 11: every bound (2, 5, 10, 20, 40) is hit exactly, and just missed.
            at += rng.below(12) as f64;
            if rng.chance(5) {
                session += 1;
            }
            E {
                name: rng.pick(NAMES),
                p: rng.pick(&["0", "1"]),
                k: rng.pick(&["0", "1"]),
                at,
                session,
            }
        })
        .collect()
}

fn describe(change: &Change) -> String {
    match change {
        Change::Step { step, reached, elapsed_ms, since_prior_ms, complete } => {
            format!("step {step} reached {reached} elapsed {elapsed_ms} prior {since_prior_ms} complete {complete}")
        }
        Change::Abandon { reason, last_step } => {
            format!("abandon {} at {last_step}", reason.name())
        }
    }
}

/// The live evaluator: the engine's state machine, one event at a time.
fn live(f: &Funnel, stream: &[E]) -> Vec<(usize, String)> {
    let host = NativeHost::default();
    let mut attempt: Option<Attempt> = None;
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        let session = e.session.to_string();
        let seen = Seen { name: e.name, vars: e, at: e.at, session: &session };
        for change in advance(f, &mut attempt, &seen, &host).changes {
            out.push((i, describe(&change)));
        }
    }
    out
}

/// The model: the README's rules over the whole stream.
fn model(f: &Funnel, stream: &[E]) -> Vec<(usize, String)> {
    struct Run {
        steps: Vec<(usize, f64)>,
        entered_at: f64,
        session: u32,
        held: Option<&'static str>,
        interrupted: bool,
        done: bool,
    }
    let host = NativeHost::default();
    let holds = |e: &E, i: usize| f.steps[i].when.iter().all(|c| c.holds(e, &host as &dyn Host));
    let n = f.steps.len();
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    for (idx, e) in stream.iter().enumerate() {
        // The bounds: session, window, and the next step's `within`.
        if let Some(r) = &run {
            let last_at = r.steps.last().map_or(r.entered_at, |s| s.1);
            let next =
                if f.order == Order::Sequence { r.steps.last().map(|s| s.0 + 1) } else { None };
            let within = next.and_then(|i| f.steps.get(i)).and_then(|s| s.within_ms);
            let reason = if f.scope == Scope::Session && r.session != e.session {
                Some("session")
            } else if f.window_ms.is_some_and(|w| e.at - r.entered_at > w) {
                Some("window")
            } else if !r.done && within.is_some_and(|w| e.at - last_at > w) {
                Some("within")
            } else {
                None
            };
            if let Some(reason) = reason {
                if !r.done {
                    out.push((
                        idx,
                        format!("abandon {reason} at {}", r.steps.last().unwrap().0 + 1),
                    ));
                }
                run = None;
            }
        }
        if let Some(r) = run.as_mut().filter(|r| !r.done) {
            let last = r.steps.last().unwrap().0 + 1;
            let progress = if f.order == Order::Any { r.steps.len() } else { last };
            let excluded = f.exclude.iter().any(|x| {
                x.event == e.name
                    && x.after_step.is_none_or(|s| progress >= s)
                    && x.before_step.is_none_or(|s| progress < s)
                    && x.when.iter().all(|c| c.holds(e, &host as &dyn Host))
            });
            if excluded {
                out.push((idx, format!("abandon exclusion at {last}")));
                run = None;
                continue;
            }
            let open: Vec<usize> = match f.order {
                Order::Sequence => vec![last],
                Order::Any => (0..n).filter(|i| r.steps.iter().all(|s| s.0 != *i)).collect(),
            };
            let same_hold = f.hold.is_empty() || r.held == Some(e.k);
            let hit = open.into_iter().find(|&i| {
                f.steps[i].event == e.name
                    && holds(e, i)
                    && same_hold
                    && !(f.steps[i].follows == Follows::Directly && r.interrupted)
            });
            match hit {
                Some(i) => {
                    let prior = r.steps.last().unwrap().1;
                    r.steps.push((i, e.at));
                    r.interrupted = false;
                    r.done = r.steps.len() == n || (f.order == Order::Sequence && i + 1 == n);
                    out.push((
                        idx,
                        format!(
                            "step {} reached {} elapsed {} prior {} complete {}",
                            i + 1,
                            r.steps.len(),
                            e.at - r.entered_at,
                            e.at - prior,
                            r.done
                        ),
                    ));
                }
                None if f.ignore_between.iter().any(|name| name == e.name) => {}
                None => {
                    let (prior, _) = *r.steps.last().unwrap();
                    r.interrupted = !(f.steps[prior].event == e.name && holds(e, prior));
                }
            }
            continue;
        }
        // Entry.
        let first = if f.order == Order::Sequence && f.entry == Entry::Closed { 1 } else { n };
        if let Some(i) = (0..first).find(|&i| f.steps[i].event == e.name && holds(e, i)) {
            let done = n == 1 || (f.order == Order::Sequence && i + 1 == n);
            run = Some(Run {
                steps: vec![(i, e.at)],
                entered_at: e.at,
                session: e.session,
                held: Some(e.k),
                interrupted: false,
                done,
            });
            out.push((idx, format!("step {} reached 1 elapsed 0 prior 0 complete {done}", i + 1)));
        }
    }
    out
}

#[test]
fn live_and_batch_evaluators_agree_on_random_streams() {
    let streams: u64 =
        std::env::var("MF_FUNNEL_STREAMS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut steps_seen = 0;
    let mut abandons_seen = 0;
    for n in 0..streams {
        let (json, f) = random_funnel(&mut rng);
        let stream = random_stream(&mut rng);
        let (got, want) = (live(&f, &stream), model(&f, &stream));
        if got != want {
            panic!("stream {n} differs\nfunnel: {json}\nstream: {stream:#?}\nlive:  {got:#?}\nmodel: {want:#?}");
        }
        steps_seen += got.iter().filter(|(_, c)| c.starts_with("step")).count();
        abandons_seen += got.iter().filter(|(_, c)| c.starts_with("abandon")).count();
    }
    // The streams must exercise both kinds of change, or the comparison proves little.
    assert!(steps_seen > 10 * streams as usize / 10, "only {steps_seen} steps");
    assert!(abandons_seen > streams as usize / 20, "only {abandons_seen} abandonments");
}
