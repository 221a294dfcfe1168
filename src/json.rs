//! A small JSON value model shared by the engine and the glue.
//!
//! The engine must not depend on a JSON library, because every byte of the tracker ships to every
//! visitor: in the page, the browser's own `JSON.parse` builds the value (see `web::convert`) and
//! natively `serde_json` does (see [`Value::from_serde`]). Only writing is done here, since
//! writing JSON is a few lines and the wire format is ours.

/// A JSON value. Objects keep their keys in insertion order; a later insert of the same key
/// replaces the earlier value.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `null`, and what an absent value reads as.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Every number is a double, as in JavaScript.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Value>),
    /// An object, as ordered key-value pairs.
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// An empty object.
    pub fn obj() -> Value {
        Value::Obj(Vec::new())
    }

    /// The value under `key` when this is an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a dotted path (`ecommerce.items.0.id`) through objects and arrays.
    pub fn path(&self, dotted: &str) -> Option<&Value> {
        let mut here = self;
        for part in crate::text::pieces(dotted, b'.') {
            here = match here {
                Value::Obj(_) => here.get(part)?,
                Value::Arr(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(here)
    }

    /// Sets `key` on an object, replacing an existing value; does nothing on other values.
    pub fn set(&mut self, key: &str, value: Value) {
        if let Value::Obj(pairs) = self {
            match pairs.iter_mut().find(|(k, _)| k == key) {
                Some(pair) => pair.1 = value,
                None => pairs.push((key.to_string(), value)),
            }
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number inside, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The pairs inside, if this is an object.
    pub fn as_obj(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Obj(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// The value as text for conditions and templates: strings as they are, numbers and
    /// booleans as JSON writes them, `null` as the empty string, and structures as JSON.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_json(),
        }
    }

    /// A number read from this value: numbers as they are, strings parsed leniently.
    pub fn to_number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => parse_number(s.trim()),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// Merges `other` into this value the way a data layer does: objects merge key by key,
    /// recursively; every other value (arrays included) replaces what was there.
    ///
    /// GTM merges arrays index by index; we replace them instead, because a pushed `items`
    /// list that is shorter than the last one would otherwise keep stale items.
    pub fn merge(&mut self, other: &Value) {
        let Value::Obj(incoming) = other else {
            *self = other.clone();
            return;
        };
        if !matches!(self, Value::Obj(_)) {
            *self = Value::obj();
        }
        for (key, value) in incoming {
            match (self.get_mut(key), value) {
                (Some(existing @ Value::Obj(_)), Value::Obj(_)) => existing.merge(value),
                _ => self.set(key, value.clone()),
            }
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Obj(pairs) => pairs.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Writes this value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends this value as compact JSON to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Num(n) => write_number(*n, out),
            Value::Str(s) => write_string(s, out),
            Value::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Value::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// An object from literal keys. One shared function, rather than a `String` conversion per key
/// at every call site, which adds up in the wasm.
pub fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Num(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Writes a number without the float formatting machinery of `core::fmt`, which alone would
/// add kilobytes to the wasm.
fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    let n = n.abs();
    // Integers are written exactly, up to 2^64; above that, as digits and an exponent.
    if n.fract() == 0.0 && n < 1.8e19 {
        write_u64(n as u64, out);
        return;
    }
    if n >= 1.8e16 {
        let (mut mantissa, mut exponent) = (n, 0);
        while mantissa >= 1.0e15 {
            mantissa /= 10.0;
            exponent += 1;
        }
        write_u64(mantissa.round() as u64, out);
        out.push('e');
        write_u64(exponent, out);
        return;
    }
    // Other numbers keep three decimals, more than any tracked quantity (seconds of video,
    // prices) needs.
    let scaled = (n * 1000.0).round() as u64;
    write_u64(scaled / 1000, out);
    let mut frac = scaled % 1000;
    if frac == 0 {
        return;
    }
    out.push('.');
    let mut digits = 3;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let width = if frac >= 100 {
        3
    } else if frac >= 10 {
        2
    } else {
        1
    };
    for _ in width..digits {
        out.push('0');
    }
    write_u64(frac, out);
}

/// Parses a decimal number (`-12`, `3.5`, `1e3`) without `f64::from_str`, whose exact
/// algorithm brings ten kilobytes of tables into the wasm. The result may differ from the
/// correctly rounded value in the last bit, which no comparison of tracked values can notice.
pub fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative || bytes.first() == Some(&b'+') {
        i += 1;
    }
    let mut mantissa = 0f64;
    let mut scale = 0i32;
    let mut digits = 0;
    let mut seen_point = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10.0 + f64::from(b - b'0');
                digits += 1;
                if seen_point {
                    scale -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        let exponent = parse_exponent(&bytes[i + 1..])?;
        scale = scale.checked_add(exponent)?;
        i = bytes.len();
    }
    if i != bytes.len() {
        return None;
    }
    let magnitude = if scale >= 0 { mantissa * pow10(scale) } else { mantissa / pow10(-scale) };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_exponent(bytes: &[u8]) -> Option<i32> {
    let (negative, digits) = match bytes.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
    Some(if negative { -n } else { n })
}

fn pow10(n: i32) -> f64 {
    let mut result = 1.0;
    for _ in 0..n.min(400) {
        result *= 10.0;
    }
    result
}

fn write_u64(n: u64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in buf.get(i..).unwrap_or_default() {
        out.push(b as char);
    }
}

fn write_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Line and paragraph separators are valid JSON but break some JavaScript parsers.
            '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let code = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((code >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(not(target_arch = "wasm32"))]
impl Value {
    /// Converts a `serde_json` value (native builds: the collector and tests).
    pub fn from_serde(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Arr(items.iter().map(Value::from_serde).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Obj(map.iter().map(|(k, v)| (k.clone(), Value::from_serde(v))).collect())
            }
        }
    }

    /// Parses JSON text natively, with `serde_json`'s error message on failure.
    pub fn parse(text: &str) -> Result<Value, String> {
        serde_json::from_str::<serde_json::Value>(text)
            .map(|v| Value::from_serde(&v))
            .map_err(|e| e.to_string())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_without_float_formatting() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (75.0, "75"),
            (1764780000123.0, "1764780000123"),
            (3.5, "3.5"),
            (0.05, "0.05"),
            (12.3456, "12.346"),
            (-2.25, "-2.25"),
            (10000000000001.0, "10000000000001"),
            (9007199254740993.0, "9007199254740992"),
            (-123456789012345680.0, "-123456789012345680"),
            (1e300, "100000000000000e286"),
            (0.0005, "0.001"),
            (f64::NAN, "null"),
        ];
        for (n, text) in cases {
            assert_eq!(Value::Num(n).to_json(), text, "writing {n}");
        }
    }

    #[test]
    fn numbers_parse_like_javascript_number_for_plain_decimals() {
        let cases = ["0", "129", "-2.5", "3.14159", "1e3", "2.5E-2", "+7", "0.1", "100.000"];
        for text in cases {
            assert_eq!(parse_number(text), text.parse::<f64>().ok(), "{text}");
        }
        for bad in ["", "-", ".", "1.2.3", "12px", "e5", "1e", "NaN"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_are_escaped_and_round_trip_through_serde() {
        let s = "quote \" back \\ nl \n tab \t ctrl \u{1} sep \u{2028} é 🎉";
        let json = Value::from(s).to_json();
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn data_layer_merge_is_recursive_for_objects_and_replaces_the_rest() {
        let mut model = Value::parse(r#"{"a":{"x":1,"y":2},"list":[1,2,3],"k":"old"}"#).unwrap();
        model.merge(&Value::parse(r#"{"a":{"y":3,"z":4},"list":[9],"k":"new"}"#).unwrap());
        assert_eq!(model.to_json(), r#"{"a":{"x":1,"y":3,"z":4},"list":[9],"k":"new"}"#);
    }

    #[test]
    fn dotted_paths_walk_objects_and_arrays() {
        let v = Value::parse(r#"{"ecommerce":{"items":[{"id":"sku-1"}]}}"#).unwrap();
        assert_eq!(v.path("ecommerce.items.0.id"), Some(&Value::from("sku-1")));
        assert_eq!(v.path("ecommerce.items.1.id"), None);
        assert_eq!(v.path("ecommerce.missing"), None);
    }
}
