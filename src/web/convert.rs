//! JavaScript values into the engine's [`Value`], defensively.

use crate::json::Value;
use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// How much of a value is converted. Whatever lies past a limit becomes `null`: tracking data
/// never needs it, and an object graph with back-references would otherwise take exponential
/// time (a node reached twice is walked twice, since JavaScript has no cheap identity here).
#[derive(Clone, Copy)]
pub struct Limits {
    /// Nesting depth.
    depth: u32,
    /// Nodes in all, across the whole value.
    nodes: u32,
    /// Characters of one string.
    chars: u32,
}

impl Limits {
    /// For the configuration and stored state: generous, since they are the site's own.
    pub const CONFIG: Limits = Limits { depth: 32, nodes: 100_000, chars: 100_000 };
    /// For data-layer pushes, which may carry anything a page holds.
    pub const PUSH: Limits = Limits { depth: 10, nodes: 2_000, chars: 10_000 };
}

/// Converts a JavaScript value. Functions, symbols and whatever lies past the limits become
/// `null`; a getter that throws becomes `null`. Keys named `__proto__` are skipped, so no pushed
/// object can smuggle a prototype into anything.
pub fn to_value(v: &JsValue, limits: Limits) -> Value {
    let mut budget = limits.nodes;
    convert(v, 0, &limits, &mut budget)
}

fn convert(v: &JsValue, depth: u32, limits: &Limits, budget: &mut u32) -> Value {
    if *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    if v.is_string() {
        // Cut on the JavaScript side, so that a huge string is never copied into the wasm.
        let s: &JsString = v.unchecked_ref();
        return Value::Str(s.slice(0, limits.chars).into());
    }
    if let Some(n) = v.as_f64() {
        return Value::Num(n);
    }
    if let Some(b) = v.as_bool() {
        return Value::Bool(b);
    }
    if depth >= limits.depth || !v.is_object() || v.is_function() {
        return Value::Null;
    }
    if Array::is_array(v) {
        let array: &Array = v.unchecked_ref();
        let n = array.length().min(*budget);
        return Value::Arr(
            (0..n).map(|i| convert(&array.get(i), depth + 1, limits, budget)).collect(),
        );
    }
    let object: &Object = v.unchecked_ref();
    let keys = Object::keys(object);
    let n = keys.length().min(*budget);
    let mut pairs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = keys.get(i);
        let Some(name) = key.as_string() else { continue };
        if name == "__proto__" {
            continue;
        }
        let item = Reflect::get(object, &key).unwrap_or(JsValue::NULL);
        pairs.push((name, convert(&item, depth + 1, limits, budget)));
    }
    Value::Obj(pairs)
}
