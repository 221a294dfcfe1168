//! Funnels as state machines, advanced one event at a time.
//!
//! The rules (the README states them with examples, `tests/funnel_model.rs` restates them as an
//! independent batch evaluator that must agree with this one on random streams):
//!
//! 1. Entry: a closed funnel is entered only at step 1, an open one at any step (the lowest
//!    that matches), counted from there. An any-order funnel is entered at any step.
//! 2. One event moves an attempt by at most one step. Steps are "indirectly followed" unless a
//!    step says `follows: directly`: then only events in `ignore_between` (and repeats of the
//!    prior step's event) may come between the prior step and it.
//! 3. Time: a step's `within` bounds the time since the prior step, the window the time since
//!    entry; both inclusive. An attempt past either bound is abandoned.
//! 4. Scope: a session-scoped attempt is abandoned when a new session starts.
//! 5. Exclusions: an exclusion event ends the attempt (abandoned, steps reached kept), in the
//!    step range it names.
//! 6. Held properties: the values at entry must be the same at every later step.
//! 7. Re-entry: while an attempt is in progress, events that could enter the funnel again are
//!    ignored; once it is complete (or abandoned) the next entry starts a new attempt.
//!
//! Abandonment is noticed at the next event of the visitor (or the next page load), since a
//! page that is gone cannot report anything.

use crate::condition::{first_failure, Vars};
use crate::config::{Entry, Follows, Funnel, Order, Scope};
use crate::host::Host;
use crate::json::{obj, Value};

/// One funnel's attempt in progress (or just completed).
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The steps reached, as indexes from 0, in the order they were reached.
    pub reached: Vec<usize>,
    /// When the attempt entered the funnel.
    pub entered_at: f64,
    /// When the last step was reached.
    pub last_at: f64,
    /// The session it belongs to.
    pub session: String,
    /// Whether the funnel is complete.
    pub complete: bool,
    /// The held variables' values at entry.
    pub held: Vec<Value>,
    /// For `directly` steps: nothing but ignored events came since the prior step.
    pub armed: bool,
}

impl Attempt {
    /// The step reached last, counting from 1.
    pub fn step(&self) -> usize {
        self.reached.last().map_or(0, |i| i + 1)
    }
}

/// Why an attempt was abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The window since entry passed.
    Window,
    /// The next step's `within` passed.
    Within,
    /// An exclusion event happened.
    Exclusion,
    /// A new session started.
    Session,
}

impl Reason {
    /// The reason's name in `funnel_abandon` events.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Window => "window",
            Reason::Within => "within",
            Reason::Exclusion => "exclusion",
            Reason::Session => "session",
        }
    }
}

/// A change to a funnel caused by one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A step was reached.
    Step {
        /// The step, counting from 1.
        step: usize,
        /// How many steps this attempt has reached, this one included.
        reached: usize,
        /// Milliseconds since entry.
        elapsed_ms: f64,
        /// Milliseconds since the prior step (0 for the entry step).
        since_prior_ms: f64,
        /// Whether this step completes the funnel.
        complete: bool,
    },
    /// The attempt ended without completing.
    Abandon {
        /// Why.
        reason: Reason,
        /// The last step reached, counting from 1.
        last_step: usize,
    },
}

/// The event a funnel looks at: its name and its variables.
pub struct Seen<'a> {
    /// The event name.
    pub name: &'a str,
    /// Its variables, for the steps' conditions.
    pub vars: &'a dyn Vars,
    /// When it happened.
    pub at: f64,
    /// The session it happened in.
    pub session: &'a str,
}

/// Ends `attempt` if it has expired by `now` in `session`, returning the abandonment.
/// A complete attempt is dropped silently once its scope or window has passed.
pub fn expire(
    funnel: &Funnel,
    attempt: &mut Option<Attempt>,
    now: f64,
    session: &str,
) -> Option<Change> {
    let a = attempt.as_ref()?;
    let reason = expiry(funnel, a, now, session)?;
    let last_step = a.step();
    let complete = a.complete;
    *attempt = None;
    (!complete).then_some(Change::Abandon { reason, last_step })
}

fn expiry(funnel: &Funnel, a: &Attempt, now: f64, session: &str) -> Option<Reason> {
    if funnel.scope == Scope::Session && a.session != session {
        return Some(Reason::Session);
    }
    if funnel.window_ms.is_some_and(|w| now - a.entered_at > w) {
        return Some(Reason::Window);
    }
    if a.complete || funnel.order == Order::Any {
        return None;
    }
    let next = funnel.steps.get(a.step())?;
    next.within_ms.filter(|w| now - a.last_at > *w).map(|_| Reason::Within)
}

/// The outcome of one event for one funnel.
#[derive(Debug, Default)]
pub struct Advance {
    /// What changed, in order (an abandonment may precede a new entry).
    pub changes: Vec<Change>,
    /// Why the event did not count, when it was the event of a step the funnel waited for.
    pub why: Option<String>,
}

/// Advances `attempt` with one event.
pub fn advance(
    funnel: &Funnel,
    attempt: &mut Option<Attempt>,
    seen: &Seen<'_>,
    host: &dyn Host,
) -> Advance {
    let mut out = Advance::default();
    out.changes.extend(expire(funnel, attempt, seen.at, seen.session));
    match attempt.as_mut().filter(|a| !a.complete) {
        Some(a) => {
            if excluded(funnel, a, seen, host) {
                let last_step = a.step();
                *attempt = None;
                out.changes.push(Change::Abandon { reason: Reason::Exclusion, last_step });
                return out;
            }
            progress(funnel, a, seen, host, &mut out);
        }
        None => enter(funnel, attempt, seen, host, &mut out),
    }
    out
}

fn excluded(funnel: &Funnel, a: &Attempt, seen: &Seen<'_>, host: &dyn Host) -> bool {
    // In sequence, "after step 2" is "step 2 reached"; in any order, "two steps reached".
    let step = match funnel.order {
        Order::Sequence => a.step(),
        Order::Any => a.reached.len(),
    };
    funnel.exclude.iter().any(|x| {
        x.event == seen.name
            && x.after_step.is_none_or(|s| step >= s)
            && x.before_step.is_none_or(|s| step < s)
            && first_failure(&x.when, &[], seen.vars, host).is_none()
    })
}

/// Whether an attempt in progress may reach step `i` (an index) next.
fn is_next(funnel: &Funnel, a: &Attempt, i: usize) -> bool {
    match funnel.order {
        Order::Sequence => i == a.step(),
        Order::Any => !a.reached.contains(&i),
    }
}

fn progress(funnel: &Funnel, a: &mut Attempt, seen: &Seen<'_>, host: &dyn Host, out: &mut Advance) {
    for (i, step) in funnel.steps.iter().enumerate() {
        if !is_next(funnel, a, i) {
            continue;
        }
        if step.event != seen.name {
            continue;
        }
        let why = match first_failure(&step.when, &[], seen.vars, host) {
            Some(why) => Some(why),
            None if !holds_constant(funnel, &a.held, seen.vars) => Some(held_mismatch(funnel)),
            None if step.follows == Follows::Directly && !a.armed => {
                Some("another event came between it and the prior step".to_string())
            }
            None => None,
        };
        if let Some(why) = why {
            out.why.get_or_insert(format!("step {} `{}`: {why}", i + 1, step.name));
            continue;
        }
        let since_prior_ms = seen.at - a.last_at;
        a.reached.push(i);
        a.last_at = seen.at;
        a.armed = true;
        a.complete = a.reached.len() == funnel.steps.len()
            || funnel.order == Order::Sequence && i + 1 == funnel.steps.len();
        out.changes.push(Change::Step {
            step: i + 1,
            reached: a.reached.len(),
            elapsed_ms: seen.at - a.entered_at,
            since_prior_ms,
            complete: a.complete,
        });
        return;
    }
    if !funnel.ignore_between.iter().any(|name| name == seen.name) {
        // A repeat of the prior step's event keeps a `directly` step within reach; anything
        // else in between puts it out of reach until the prior step happens again.
        a.armed = a.reached.last().is_some_and(|&i| repeats(funnel, i, seen, host));
    }
}

fn repeats(funnel: &Funnel, index: usize, seen: &Seen<'_>, host: &dyn Host) -> bool {
    let step = &funnel.steps[index];
    step.event == seen.name && first_failure(&step.when, &[], seen.vars, host).is_none()
}

fn holds_constant(funnel: &Funnel, held: &[Value], vars: &dyn Vars) -> bool {
    funnel.hold.iter().zip(held).all(|(name, value)| &vars.var(name).unwrap_or_default() == value)
}

fn held_mismatch(funnel: &Funnel) -> String {
    format!(
        "held properties `{}` differ from the entry step's",
        crate::text::join(&funnel.hold, "`, `")
    )
}

fn enter(
    funnel: &Funnel,
    attempt: &mut Option<Attempt>,
    seen: &Seen<'_>,
    host: &dyn Host,
    out: &mut Advance,
) {
    let candidates = match (funnel.order, funnel.entry) {
        (Order::Sequence, Entry::Closed) => 0..1,
        _ => 0..funnel.steps.len(),
    };
    for i in candidates {
        let step = &funnel.steps[i];
        if step.event != seen.name {
            continue;
        }
        if let Some(why) = first_failure(&step.when, &[], seen.vars, host) {
            out.why.get_or_insert(format!("step {} `{}`: {why}", i + 1, step.name));
            continue;
        }
        let complete = funnel.steps.len() == 1
            || funnel.order == Order::Sequence && i + 1 == funnel.steps.len();
        let held = funnel.hold.iter().map(|name| seen.vars.var(name).unwrap_or_default()).collect();
        *attempt = Some(Attempt {
            reached: vec![i],
            entered_at: seen.at,
            last_at: seen.at,
            session: seen.session.to_string(),
            complete,
            held,
            armed: true,
        });
        out.changes.push(Change::Step {
            step: i + 1,
            reached: 1,
            elapsed_ms: 0.0,
            since_prior_ms: 0.0,
            complete,
        });
        return;
    }
}

/// What an attempt waits for next, for the console.
pub fn waiting_for(funnel: &Funnel, attempt: Option<&Attempt>) -> Vec<String> {
    let closed = funnel.entry == Entry::Closed && funnel.order == Order::Sequence;
    let wanted = |i: usize| match attempt {
        Some(a) => !a.complete && is_next(funnel, a, i),
        None => !closed || i == 0,
    };
    funnel
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| wanted(*i))
        .map(|(_, step)| {
            let mut text = step.event.clone();
            for c in &step.when {
                text.push_str(" where ");
                text.push_str(&c.describe());
            }
            if step.follows == Follows::Directly {
                text.push_str(" (directly)");
            }
            text
        })
        .collect()
}

/// A fingerprint of a funnel's definition, so that progress saved under one definition is not
/// applied to a changed one.
pub fn fingerprint(funnel: &Funnel) -> String {
    let mut text = String::new();
    let mut add = |part: &str| {
        text.push_str(part);
        text.push('|');
    };
    add(&funnel.id);
    add(match funnel.entry {
        Entry::Closed => "closed",
        Entry::Open => "open",
    });
    add(match funnel.order {
        Order::Sequence => "sequence",
        Order::Any => "any",
    });
    add(match funnel.scope {
        Scope::Session => "session",
        Scope::Visitor => "visitor",
    });
    add(&Value::Num(funnel.window_ms.unwrap_or(0.0)).to_json());
    for hold in &funnel.hold {
        add(hold);
    }
    for name in &funnel.ignore_between {
        add(name);
    }
    // Exclusions count by event and range; a change in an exclusion's conditions alone keeps
    // the progress made, which is harmless since exclusions only ever end attempts.
    for x in &funnel.exclude {
        add(&x.event);
        add(&Value::Num((x.after_step.unwrap_or(0) * 1000 + x.before_step.unwrap_or(0)) as f64)
            .to_json());
    }
    for step in &funnel.steps {
        add(&step.event);
        add(&Value::Num(step.within_ms.unwrap_or(0.0)).to_json());
        add(if step.follows == Follows::Directly { "directly" } else { "indirectly" });
        for c in &step.when {
            add(&c.describe());
        }
    }
    fnv_hex(&text)
}

/// FNV-1a as hex: stable across builds and platforms, which `DefaultHasher` does not promise.
pub fn fnv_hex(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::new();
    for shift in (0..64).step_by(4).rev() {
        out.push(char::from(b"0123456789abcdef"[(hash >> shift) as usize & 0xf]));
    }
    out
}

impl Attempt {
    /// The attempt as JSON, for storage.
    pub fn to_value(&self, fingerprint: &str) -> Value {
        obj(vec![
            ("reached", Value::Arr(self.reached.iter().map(|&i| Value::Num(i as f64)).collect())),
            ("entered_at", Value::Num(self.entered_at)),
            ("last_at", Value::Num(self.last_at)),
            ("session", self.session.as_str().into()),
            ("complete", self.complete.into()),
            ("held", Value::Arr(self.held.clone())),
            ("armed", self.armed.into()),
            ("def", fingerprint.into()),
        ])
    }

    /// Reads an attempt stored by [`Attempt::to_value`], if it was made under the same
    /// definition and is a valid position in it.
    pub fn from_value(value: &Value, funnel: &Funnel, fingerprint: &str) -> Option<Attempt> {
        if value.get("def")?.as_str()? != fingerprint {
            return None;
        }
        let Value::Arr(items) = value.get("reached")? else { return None };
        let mut reached = Vec::new();
        for item in items {
            let i = item.as_f64()?;
            if !(0.0..funnel.steps.len() as f64).contains(&i) || reached.contains(&(i as usize)) {
                return None;
            }
            // In sequence, steps are reached one after another: a stored `[1, 0]` would have
            // the attempt reach step 2 again and count more steps than the funnel has.
            let after = reached.last().map(|last| last + 1);
            if funnel.order == Order::Sequence && after.is_some_and(|next| next != i as usize) {
                return None;
            }
            reached.push(i as usize);
        }
        let held = match value.get("held") {
            Some(Value::Arr(items)) if items.len() == funnel.hold.len() => items.clone(),
            _ => return None,
        };
        // Completeness follows from the steps reached, whatever the stored flag says, so that
        // no stored state can leave an attempt waiting for a step that does not exist.
        let complete = match funnel.order {
            Order::Sequence => reached.last() == Some(&(funnel.steps.len() - 1)),
            Order::Any => reached.len() == funnel.steps.len(),
        };
        Some(Attempt {
            complete,
            reached: (!reached.is_empty()).then_some(reached)?,
            entered_at: value.get("entered_at")?.as_f64()?,
            last_at: value.get("last_at")?.as_f64()?,
            session: value.get("session")?.as_str()?.to_string(),
            held,
            armed: !matches!(value.get("armed"), Some(Value::Bool(false))),
        })
    }
}
