//! Small PHP/WordPress behaviours the store reproduces: `rawurlencode`, `parse_str` for query strings,
//! `empty()`, what a JSON round trip through PHP arrays does to `{}`, and how scalar meta values come back
//! from the database as strings.

use serde_json::Value;

/// PHP `rawurlencode` (RFC 3986: everything but `A-Za-z0-9-_.~` is `%XX`, upper-case hex).
pub fn rawurlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// PHP `rawurldecode`: `%XX` only, `+` stays `+`; invalid escapes are kept verbatim.
pub fn rawurldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Both digits are < 16, so the byte fits.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// PHP `urldecode`: like [`rawurldecode`] but `+` is a space.
pub fn urldecode(s: &str) -> String {
    rawurldecode(&s.replace('+', " "))
}

/// A request parameter as PHP's `$_GET`/`$_POST` hold it: a string, or an array built from `k[]=` / `k[x]=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Str(String),
    Arr(Vec<(String, String)>),
}

impl Param {
    /// The string value; `None` for arrays.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Param::Str(s) => Some(s),
            Param::Arr(_) => None,
        }
    }

    /// PHP `empty()`: `""`, `"0"` and empty arrays are empty.
    pub fn is_empty(&self) -> bool {
        match self {
            Param::Str(s) => s.is_empty() || s == "0",
            Param::Arr(a) => a.is_empty(),
        }
    }

    /// Values as a list: the array's values, or a comma-separated string split (how WordPress reads
    /// list-typed REST arguments).
    pub fn as_list(&self) -> Vec<String> {
        match self {
            Param::Str(s) => s
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            Param::Arr(a) => a.iter().map(|(_, v)| v.clone()).collect(),
        }
    }
}

/// An ordered PHP array of request parameters (overwriting keeps the first position, as PHP does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Param)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&Param> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Param::as_str)
    }

    pub fn set(&mut self, key: String, value: Param) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// `array_merge($this, $other)` for string keys: later values win.
    pub fn merge(&mut self, other: Params) {
        for (k, v) in other.0 {
            self.set(k, v);
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Param> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    /// PHP `parse_str` for one level of brackets: `a=1&b[]=2&b[]=3&c[x]=4`. Spaces and dots in a
    /// top-level name become `_`, as PHP does for variable names.
    pub fn parse(query: &str) -> Params {
        let mut params = Params::default();
        for (raw_key, value) in form_urlencoded::parse(query.as_bytes()) {
            let raw_key = raw_key.into_owned();
            let value = value.into_owned();
            let (base, sub) = match raw_key.find('[') {
                Some(open) if raw_key[open..].contains(']') => {
                    let close = open + raw_key[open..].find(']').unwrap_or(0);
                    (
                        raw_key[..open].to_owned(),
                        Some(raw_key[open + 1..close].to_owned()),
                    )
                }
                _ => (raw_key.clone(), None),
            };
            let base = base.replace([' ', '.'], "_");
            if base.is_empty() {
                continue;
            }
            match sub {
                None => params.set(base, Param::Str(value)),
                Some(sub) => {
                    let mut items = match params.remove_keep(&base) {
                        Some(Param::Arr(items)) => items,
                        _ => Vec::new(),
                    };
                    let sub = if sub.is_empty() {
                        // `k[]=`: the next integer index after the largest one so far.
                        let next = items
                            .iter()
                            .filter_map(|(k, _)| k.parse::<u64>().ok())
                            .max()
                            .map_or(0, |m| m + 1);
                        next.to_string()
                    } else {
                        sub
                    };
                    match items.iter_mut().find(|(k, _)| *k == sub) {
                        Some(slot) => slot.1 = value,
                        None => items.push((sub, value)),
                    }
                    params.set(base, Param::Arr(items));
                }
            }
        }
        params
    }

    /// Takes a value out for rewriting while keeping its slot (so `set` puts it back in place).
    fn remove_keep(&mut self, key: &str) -> Option<Param> {
        self.0
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| std::mem::replace(v, Param::Arr(Vec::new())))
    }
}

/// What `json_decode(json_encode($x), true)` does to a REST response: PHP arrays cannot tell an
/// empty object from an empty list, so `{}` comes back as `[]`.
pub fn empty_objects_to_arrays(value: &mut Value) {
    match value {
        Value::Object(map) if map.is_empty() => *value = Value::Array(Vec::new()),
        Value::Object(map) => map.values_mut().for_each(empty_objects_to_arrays),
        Value::Array(items) => items.iter_mut().for_each(empty_objects_to_arrays),
        _ => {}
    }
}

/// A scalar meta value as WordPress reads it back from the meta table: always a string (`true` → "1",
/// `false` → "", numbers in PHP's text form). Arrays and objects are serialised and keep their shape.
pub fn meta_value_as_stored(value: Value) -> Value {
    match value {
        Value::Bool(true) => Value::String("1".into()),
        Value::Bool(false) => Value::String(String::new()),
        Value::Number(n) => Value::String(match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => woocommerce::php_json::php_float(f),
            _ => n.to_string(),
        }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rawurlencode_matches_php() {
        assert_eq!(rawurlencode("a b+c/~é"), "a%20b%2Bc%2F~%C3%A9");
        assert_eq!(rawurldecode("a%20b+c%2"), "a b+c%2");
        assert_eq!(urldecode("a+b%2B"), "a b+");
    }

    #[test]
    fn parse_str_handles_arrays_and_overwrites() {
        let p = Params::parse("status[]=processing&status[]=completed&a=1&b.c=2&a=3&m[x]=y");
        assert_eq!(
            p.get("status"),
            Some(&Param::Arr(vec![
                ("0".into(), "processing".into()),
                ("1".into(), "completed".into())
            ]))
        );
        assert_eq!(p.get_str("a"), Some("3"));
        assert_eq!(p.0[1].0, "a", "an overwritten key keeps its first position");
        assert_eq!(p.get_str("b_c"), Some("2"));
        assert_eq!(
            p.get("m"),
            Some(&Param::Arr(vec![("x".into(), "y".into())]))
        );
        assert_eq!(
            Param::Str("processing, completed".into()).as_list(),
            vec!["processing", "completed"]
        );
    }

    #[test]
    fn php_round_trip_turns_empty_objects_into_lists() {
        let mut v = json!({"a": {}, "b": [{"c": {}}], "d": {"e": 1}});
        empty_objects_to_arrays(&mut v);
        assert_eq!(v, json!({"a": [], "b": [{"c": []}], "d": {"e": 1}}));
    }

    #[test]
    fn scalar_meta_values_come_back_as_strings() {
        assert_eq!(meta_value_as_stored(json!(true)), json!("1"));
        assert_eq!(meta_value_as_stored(json!(false)), json!(""));
        assert_eq!(meta_value_as_stored(json!(42)), json!("42"));
        assert_eq!(meta_value_as_stored(json!(1.5)), json!("1.5"));
        assert_eq!(meta_value_as_stored(json!({"x": 1})), json!({"x": 1}));
    }
}
