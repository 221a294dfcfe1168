//! JavaScript values into the engine's [`Value`], defensively.

use crate::json::Value;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Deeper structures are cut here: they are never tracking data, and cyclic ones never end.
const MAX_DEPTH: u32 = 16;
/// Longer arrays and objects are cut here, for the same reason.
const MAX_ITEMS: u32 = 500;

/// Converts a JavaScript value. Functions, symbols and whatever lies past the depth and size
/// limits become `null`; a getter that throws becomes `null`. Keys named `__proto__` are
/// skipped, so no pushed object can smuggle a prototype into anything.
pub fn to_value(v: &JsValue) -> Value {
    convert(v, 0)
}

fn convert(v: &JsValue, depth: u32) -> Value {
    if let Some(s) = v.as_string() {
        return Value::Str(s);
    }
    if let Some(n) = v.as_f64() {
        return Value::Num(n);
    }
    if let Some(b) = v.as_bool() {
        return Value::Bool(b);
    }
    if depth >= MAX_DEPTH || !v.is_object() || v.is_function() {
        return Value::Null;
    }
    if Array::is_array(v) {
        let array: &Array = v.unchecked_ref();
        let n = array.length().min(MAX_ITEMS);
        return Value::Arr((0..n).map(|i| convert(&array.get(i), depth + 1)).collect());
    }
    let object: &Object = v.unchecked_ref();
    let keys = Object::keys(object);
    let n = keys.length().min(MAX_ITEMS);
    let mut pairs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = keys.get(i);
        let Some(name) = key.as_string() else { continue };
        if name == "__proto__" {
            continue;
        }
        let item = Reflect::get(object, &key).unwrap_or(JsValue::NULL);
        pairs.push((name, convert(&item, depth + 1)));
    }
    Value::Obj(pairs)
}
