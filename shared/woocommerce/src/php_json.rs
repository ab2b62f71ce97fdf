//! JSON text exactly as PHP's `json_encode($value)` (flags 0) writes it, which is what WooCommerce
//! signs (`trim(wp_json_encode($payload))`).
//!
//! The differences from serde_json's compact output are small but each one changes the HMAC:
//! * `/` is escaped as `\/`;
//! * every non-ASCII character is written as `\uXXXX` (lowercase hex, UTF-16 surrogate pairs above
//!   U+FFFF), control characters other than `\b \f \n \r \t` as `\u00XX`;
//! * floats use `serialize_precision = -1`: the shortest text that round-trips, printed by
//!   `php_gcvt` with precision 17. Without `JSON_PRESERVE_ZERO_FRACTION` (flags 0) an integral
//!   float loses its fraction (`10.0` → `10`): that flag exists precisely because the default drops
//!   it, and the reference notes `10.0`→`10` as verified with PHP 8.2. Exponent form starts below
//!   `1e-4` and at `1e17` and looks like `1.0e-5` / `1.5e+20`.
//!
//! Keys are written in the map's order (serde_json's `preserve_order` is on in this workspace). An
//! empty object stays `{}`: whether PHP would have produced `[]` (an empty PHP array) depends on where
//! the value came from, which only the caller knows.

use serde_json::{Map, Number, Value};

/// Encodes `value` byte-for-byte as PHP `json_encode($value)` with flags 0 would.
pub fn encode(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, item);
    }
    out.push('}');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&php_float(f));
    } else {
        // Only reachable with serde_json's arbitrary_precision: the text is already JSON.
        out.push_str(&n.to_string());
    }
}

/// A float as PHP prints it with `serialize_precision = -1` (`php_gcvt(value, 17, '.', 'e')` fed by
/// `zend_dtoa` mode 0, i.e. the shortest round-trip digits).
pub fn php_float(f: f64) -> String {
    if !f.is_finite() {
        // json_encode fails on INF/NAN (JSON_ERROR_INF_OR_NAN) and, with partial output, writes 0.
        return "0".to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like zend_dtoa mode 0: "d.ddde-N".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // zend_dtoa's decpt: the value is 0.DIGITS × 10^decpt.
    let decpt = if digits == "0" { 1 } else { exponent + 1 };

    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    const PRECISION: i32 = 17;
    // php_gcvt: `decpt < 0 ? decpt < -3 : decpt > precision` selects the exponent form.
    if !(-3..=PRECISION).contains(&decpt) {
        let mut chars = digits.chars();
        if let Some(first) = chars.next() {
            out.push(first);
        }
        out.push('.');
        let rest: String = chars.collect();
        if rest.is_empty() {
            out.push('0');
        } else {
            out.push_str(&rest);
        }
        out.push('e');
        let e = decpt - 1;
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&e.abs().to_string());
    } else if decpt < 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let decpt = decpt as usize;
        if decpt == 0 {
            out.push('0');
        } else {
            for i in 0..decpt {
                out.push(digits.as_bytes().get(i).map_or('0', |b| *b as char));
            }
        }
        if digits.len() > decpt {
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
    out
}

fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units).iter() {
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(HEX[((unit >> shift) & 0xf) as usize] as char);
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_php_serialize_precision_minus_one() {
        let cases: &[(f64, &str)] = &[
            (10.0, "10"),
            (3.0, "3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (-1.5, "-1.5"),
            (10.0 / 3.0, "3.3333333333333335"),
            (17.647059, "17.647059"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-5"),
            (0.000123, "0.000123"),
            (1.5e-7, "1.5e-7"),
            (1e16, "10000000000000000"),
            (1e17, "1.0e+17"),
            (1.5e20, "1.5e+20"),
            (123456.789, "123456.789"),
            (1e300, "1.0e+300"),
        ];
        for (f, want) in cases {
            assert_eq!(php_float(*f), *want, "php_float({f:?})");
        }
    }

    #[test]
    fn strings_escape_like_php() {
        let v = json!({"url": "https://example.com/a", "name": "Café – 😀", "ctl": "a\u{1}\tb\"\\", "raw": "<&>'"});
        assert_eq!(
            encode(&v),
            r#"{"url":"https:\/\/example.com\/a","name":"Caf\u00e9 \u2013 \ud83d\ude00","ctl":"a\u0001\tb\"\\","raw":"<&>'"}"#
        );
    }

    #[test]
    fn delete_character_stays_raw() {
        assert_eq!(encode(&json!("a\u{7f}b")), "\"a\u{7f}b\"");
    }

    #[test]
    fn structure_is_compact_and_keeps_key_order() {
        let v: Value =
            serde_json::from_str(r#"{"z":1,"a":[],"m":{},"n":null,"t":true,"f":-2,"x":2.50}"#)
                .expect("valid json");
        assert_eq!(
            encode(&v),
            r#"{"z":1,"a":[],"m":{},"n":null,"t":true,"f":-2,"x":2.5}"#
        );
    }
}
