//! Funnels as state machines, advanced one event at a time.
//!
//! Semantics (the README states them with examples):
//! - closed entry starts an attempt only at step 1; open entry at any step, counted from there;
//! - steps are "indirectly followed": other events may come between two steps;
//! - one event advances an attempt by at most one step;
//! - a step's `within` bounds the time since the prior step, inclusive; a step that comes too
//!   late ends the attempt, and the event may then start a new one;
//! - the window bounds the time from entry to completion, inclusive;
//! - an attempt belongs to one session: a new session ends it;
//! - while an attempt is in progress, a repeated step-1 event changes nothing; once it is
//!   complete (or ended), the next step-1 event starts a new attempt.

use crate::condition::{first_failure, Vars};
use crate::config::{Entry, Funnel};
use crate::host::Host;
use crate::json::Value;

/// One funnel's attempt in progress (or just completed).
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Steps reached, counting from 1: `3` means step 3 was the last reached.
    pub step: usize,
    /// When the attempt entered the funnel.
    pub entered_at: f64,
    /// When the last step was reached.
    pub last_at: f64,
    /// The session it belongs to.
    pub session: String,
    /// Whether the last step was reached.
    pub complete: bool,
}

/// A change to a funnel caused by one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The step reached, counting from 1.
    pub step: usize,
    /// Milliseconds since entry.
    pub elapsed_ms: f64,
    /// Milliseconds since the prior step (0 for the entry step).
    pub since_prior_ms: f64,
    /// Whether this step completes the funnel.
    pub complete: bool,
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

/// Whether `attempt` is still alive at `now` in `session`; ended attempts are dropped.
pub fn expire(funnel: &Funnel, attempt: &mut Option<Attempt>, now: f64, session: &str) {
    let Some(a) = attempt else { return };
    let outside_window = funnel.window_ms.is_some_and(|w| now - a.entered_at > w);
    // TODO: report the ended attempt as `funnel_abandon` (funnel semantics issue).
    if a.session != session || (outside_window && !a.complete) {
        *attempt = None;
    }
}

/// Advances `attempt` with one event. Returns the transition, if any, and a reason when the
/// event concerned the funnel's next step but did not count (for debug output).
pub fn advance(
    funnel: &Funnel,
    attempt: &mut Option<Attempt>,
    seen: &Seen<'_>,
    host: &dyn Host,
) -> (Option<Transition>, Option<String>) {
    expire(funnel, attempt, seen.at, seen.session);
    if let Some(a) = attempt.as_mut().filter(|a| !a.complete) {
        let next = &funnel.steps[a.step];
        if next.event != seen.name {
            return (None, None);
        }
        if let Some(why) = first_failure(&next.when, &[], seen.vars, host) {
            return (None, Some(format!("step {} `{}`: {why}", a.step + 1, next.name)));
        }
        let since_prior = seen.at - a.last_at;
        let in_time = next.within_ms.is_none_or(|w| since_prior <= w);
        let in_window = funnel.window_ms.is_none_or(|w| seen.at - a.entered_at <= w);
        if in_time && in_window {
            a.step += 1;
            a.last_at = seen.at;
            a.complete = a.step == funnel.steps.len();
            let t = Transition {
                step: a.step,
                elapsed_ms: seen.at - a.entered_at,
                since_prior_ms: since_prior,
                complete: a.complete,
            };
            return (Some(t), None);
        }
        // Too late for the next step: this attempt is over, and the event may start another.
        *attempt = None;
    }
    enter(funnel, attempt, seen, host)
}

fn enter(
    funnel: &Funnel,
    attempt: &mut Option<Attempt>,
    seen: &Seen<'_>,
    host: &dyn Host,
) -> (Option<Transition>, Option<String>) {
    let candidates = match funnel.entry {
        Entry::Closed => &funnel.steps[..1],
        Entry::Open => &funnel.steps[..],
    };
    let mut reason = None;
    for (i, step) in candidates.iter().enumerate() {
        if step.event != seen.name {
            continue;
        }
        if let Some(why) = first_failure(&step.when, &[], seen.vars, host) {
            reason.get_or_insert(format!("step {} `{}`: {why}", i + 1, step.name));
            continue;
        }
        let complete = i + 1 == funnel.steps.len();
        *attempt = Some(Attempt {
            step: i + 1,
            entered_at: seen.at,
            last_at: seen.at,
            session: seen.session.to_string(),
            complete,
        });
        let t = Transition { step: i + 1, elapsed_ms: 0.0, since_prior_ms: 0.0, complete };
        return (Some(t), None);
    }
    (None, reason)
}

/// A fingerprint of a funnel's definition, so that progress saved under one definition is not
/// applied to a changed one.
pub fn fingerprint(funnel: &Funnel) -> String {
    let entry = match funnel.entry {
        Entry::Closed => "closed",
        Entry::Open => "open",
    };
    let mut text = format!("{}|{entry}|", funnel.id);
    text.push_str(&Value::Num(funnel.window_ms.unwrap_or(0.0)).to_json());
    for step in &funnel.steps {
        text.push('|');
        text.push_str(&step.event);
        text.push('|');
        text.push_str(&Value::Num(step.within_ms.unwrap_or(0.0)).to_json());
        for c in &step.when {
            text.push('|');
            text.push_str(&c.describe());
        }
    }
    // FNV-1a: stable across builds and platforms, which `DefaultHasher` does not promise.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::new();
    for shift in (0..64).step_by(4).rev() {
        out.push(char::from_digit(((hash >> shift) & 0xf) as u32, 16).unwrap_or('0'));
    }
    out
}

impl Attempt {
    /// The attempt as JSON, for storage.
    pub fn to_value(&self, fingerprint: &str) -> Value {
        Value::Obj(vec![
            ("step".into(), Value::Num(self.step as f64)),
            ("entered_at".into(), Value::Num(self.entered_at)),
            ("last_at".into(), Value::Num(self.last_at)),
            ("session".into(), self.session.as_str().into()),
            ("complete".into(), self.complete.into()),
            ("def".into(), fingerprint.into()),
        ])
    }

    /// Reads an attempt stored by [`Attempt::to_value`], if it was made under the same
    /// definition and is still a valid position in it.
    pub fn from_value(value: &Value, funnel: &Funnel, fingerprint: &str) -> Option<Attempt> {
        if value.get("def")?.as_str()? != fingerprint {
            return None;
        }
        let step = value.get("step")?.as_f64()? as usize;
        if step == 0 || step > funnel.steps.len() {
            return None;
        }
        Some(Attempt {
            step,
            entered_at: value.get("entered_at")?.as_f64()?,
            last_at: value.get("last_at")?.as_f64()?,
            session: value.get("session")?.as_str()?.to_string(),
            complete: matches!(value.get("complete"), Some(Value::Bool(true))),
        })
    }
}
