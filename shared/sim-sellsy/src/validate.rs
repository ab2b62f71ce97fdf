//! Request-body validation helpers: typed field getters that collect every problem as a
//! `details{"field.path": "message"}` entry, the way Sellsy reports validation errors (400).
//!
//! Decimal fields follow the spec convention that money, quantities and rates are JSON *strings*; a JSON number
//! there is rejected and named, because that is the most common client mistake (sellsy.md §3.5, quirk #15).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::error::ApiError;

pub(crate) type Obj = Map<String, Value>;

/// Largest magnitude accepted for a decimal string (keeps arithmetic far from `Decimal` limits).
const MAX_INT_DIGITS: usize = 13;
const MAX_FRACTION_DIGITS: usize = 10;

/// Joins a parent path and a key: `rows[0]` + `quantity` → `rows[0].quantity`.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a decimal string strictly: optional `-`, digits, optional `.digits`; no exponent, comma or spaces.
pub(crate) fn parse_decimal_str(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || int.len() > MAX_INT_DIGITS {
        return None;
    }
    if let Some(f) = frac
        && (!digits_ok(f) || f.len() > MAX_FRACTION_DIGITS)
    {
        return None;
    }
    Decimal::from_str(s).ok()
}

/// A deliberately simple e-mail check: one `@`, non-empty local part, a dotted domain, no whitespace.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
        && s.len() <= 254
}

pub(crate) fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

pub(crate) fn is_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// Collects field errors; [`Checker::finish`] turns them into one 400.
#[derive(Default)]
pub(crate) struct Checker {
    details: Map<String, Value>,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    pub fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.details
            .entry(path.into())
            .or_insert(Value::String(message.into()));
    }

    pub fn has_errors(&self) -> bool {
        !self.details.is_empty()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.details.is_empty() {
            return Ok(());
        }
        let first = self
            .details
            .iter()
            .next()
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .unwrap_or_default();
        let mut e = ApiError::bad_request(format!("Invalid request: {first}"));
        e.context = Some("validation");
        e.details = Box::new(self.details);
        Err(e)
    }

    /// Present, non-null value, or records "required" when `required`.
    fn present<'a>(
        &mut self,
        obj: &'a Obj,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a Value> {
        match obj.get(key) {
            None => {
                if required {
                    self.fail(join(prefix, key), "This field is required");
                }
                None
            }
            Some(Value::Null) => {
                if required {
                    self.fail(join(prefix, key), "This field must not be null");
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    /// Rejects keys outside `allowed` (schemas with `additionalProperties: false`).
    pub fn only_keys(&mut self, obj: &Obj, prefix: &str, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.fail(join(prefix, k), "This field is not allowed");
            }
        }
    }

    pub fn string(
        &mut self,
        obj: &Obj,
        prefix: &str,
        key: &str,
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        let v = self.present(obj, prefix, key, required)?;
        let Some(s) = v.as_str() else {
            self.fail(
                join(prefix, key),
                format!("must be a string, got {}", json_type(v)),
            );
            return None;
        };
        let len = s.chars().count();
        if required && s.trim().is_empty() {
            self.fail(
                join(prefix, key),
                "This field is required and must not be empty",
            );
            return None;
        }
        if len < min {
            self.fail(
                join(prefix, key),
                format!("must be at least {min} characters long"),
            );
            return None;
        }
        if len > max {
            self.fail(
                join(prefix, key),
                format!("must be at most {max} characters long"),
            );
            return None;
        }
        Some(s.to_string())
    }

    pub fn integer(
        &mut self,
        obj: &Obj,
        prefix: &str,
        key: &str,
        required: bool,
        min: i64,
    ) -> Option<i64> {
        let v = self.present(obj, prefix, key, required)?;
        match v.as_i64() {
            Some(i) if i >= min => Some(i),
            Some(_) => {
                self.fail(
                    join(prefix, key),
                    format!("must be greater than or equal to {min}"),
                );
                None
            }
            None => {
                self.fail(
                    join(prefix, key),
                    format!("must be an integer, got {}", json_type(v)),
                );
                None
            }
        }
    }

    /// An id: a JSON integer ≥ 1.
    pub fn id(&mut self, obj: &Obj, prefix: &str, key: &str, required: bool) -> Option<u64> {
        self.integer(obj, prefix, key, required, 1)
            .and_then(|i| u64::try_from(i).ok())
    }

    pub fn boolean(&mut self, obj: &Obj, prefix: &str, key: &str) -> Option<bool> {
        let v = self.present(obj, prefix, key, false)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.fail(
                    join(prefix, key),
                    format!("must be a boolean, got {}", json_type(v)),
                );
                None
            }
        }
    }

    pub fn one_of(
        &mut self,
        obj: &Obj,
        prefix: &str,
        key: &str,
        required: bool,
        allowed: &[&str],
    ) -> Option<String> {
        let s = self.string(obj, prefix, key, required, 0, usize::MAX)?;
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            self.fail(
                join(prefix, key),
                format!("must be one of: {}", allowed.join(", ")),
            );
            None
        }
    }

    /// A decimal sent as a JSON string (`"12.50"`); a JSON number is an error naming the field.
    pub fn decimal(
        &mut self,
        obj: &Obj,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<Decimal> {
        let v = self.present(obj, prefix, key, required)?;
        match v {
            Value::String(s) => match parse_decimal_str(s) {
                Some(d) => Some(d),
                None => {
                    self.fail(
                        join(prefix, key),
                        format!("\"{s}\" is not a valid decimal number"),
                    );
                    None
                }
            },
            Value::Number(_) => {
                self.fail(
                    join(prefix, key),
                    "must be a string (decimal values are sent as JSON strings, e.g. \"12.50\"), got a number",
                );
                None
            }
            other => {
                self.fail(
                    join(prefix, key),
                    format!("must be a decimal string, got {}", json_type(other)),
                );
                None
            }
        }
    }

    pub fn email(&mut self, obj: &Obj, prefix: &str, key: &str) -> Option<String> {
        let s = self.string(obj, prefix, key, false, 0, 254)?;
        if is_email(&s) {
            Some(s)
        } else {
            self.fail(
                join(prefix, key),
                format!("\"{s}\" is not a valid email address"),
            );
            None
        }
    }

    pub fn date(&mut self, obj: &Obj, prefix: &str, key: &str) -> Option<String> {
        let s = self.string(obj, prefix, key, false, 0, 10)?;
        if is_date(&s) {
            Some(s)
        } else {
            self.fail(join(prefix, key), "must be a date formatted YYYY-MM-DD");
            None
        }
    }

    pub fn datetime(&mut self, obj: &Obj, prefix: &str, key: &str) -> Option<String> {
        let s = self.string(obj, prefix, key, false, 0, 64)?;
        if is_datetime(&s) {
            Some(s)
        } else {
            self.fail(
                join(prefix, key),
                "must be an ISO 8601 date-time with offset",
            );
            None
        }
    }

    pub fn object<'a>(
        &mut self,
        obj: &'a Obj,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a Obj> {
        let v = self.present(obj, prefix, key, required)?;
        match v.as_object() {
            Some(o) => Some(o),
            None => {
                self.fail(
                    join(prefix, key),
                    format!("must be an object, got {}", json_type(v)),
                );
                None
            }
        }
    }

    pub fn array<'a>(
        &mut self,
        obj: &'a Obj,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a Vec<Value>> {
        let v = self.present(obj, prefix, key, required)?;
        match v.as_array() {
            Some(a) => Some(a),
            None => {
                self.fail(
                    join(prefix, key),
                    format!("must be an array, got {}", json_type(v)),
                );
                None
            }
        }
    }

    /// An array of integer ids.
    pub fn id_array(&mut self, obj: &Obj, prefix: &str, key: &str) -> Option<Vec<u64>> {
        let arr = self.array(obj, prefix, key, false)?;
        let mut out = Vec::with_capacity(arr.len());
        for (i, v) in arr.iter().enumerate() {
            match v.as_u64() {
                Some(id) => out.push(id),
                None => self.fail(format!("{}[{i}]", join(prefix, key)), "must be an integer"),
            }
        }
        Some(out)
    }

    /// A string or an array of strings, every value in `allowed`.
    pub fn enum_or_array(
        &mut self,
        obj: &Obj,
        prefix: &str,
        key: &str,
        allowed: &[&str],
    ) -> Option<Vec<String>> {
        let v = self.present(obj, prefix, key, false)?;
        let values: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for v in values {
            match v.as_str() {
                Some(s) if allowed.contains(&s) => out.push(s.to_string()),
                _ => {
                    self.fail(
                        join(prefix, key),
                        format!("values must be among: {}", allowed.join(", ")),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// The object inside `v`; anything else gives an empty object. For `json!` literals known to be objects.
pub(crate) fn to_obj(v: Value) -> Obj {
    match v {
        Value::Object(o) => o,
        _ => Obj::new(),
    }
}

/// The value of `key`, `null` when absent: optional request fields are echoed as `null`.
pub(crate) fn opt_value(obj: &Obj, key: &str) -> Value {
    obj.get(key).cloned().unwrap_or(Value::Null)
}

/// A search filter `filters.{key}: {"start"?, "end"?}` of dates, or of date-times when `datetime`;
/// `None` when absent.
pub(crate) fn filter_range(
    c: &mut Checker,
    filters: &Obj,
    key: &str,
    datetime: bool,
) -> Option<(Option<String>, Option<String>)> {
    let p = format!("filters.{key}");
    let o = c.object(filters, "filters", key, false)?;
    if datetime {
        Some((c.datetime(o, &p, "start"), c.datetime(o, &p, "end")))
    } else {
        Some((c.date(o, &p, "start"), c.date(o, &p, "end")))
    }
}

/// Whether an RFC 3339 `value` falls within a date-time [`filter_range`] (bounds included); no range matches
/// everything, a missing or unparsable value matches no range.
pub(crate) fn in_range(
    value: Option<&str>,
    range: &Option<(Option<String>, Option<String>)>,
) -> bool {
    let Some((start, end)) = range else {
        return true;
    };
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    let Some(v) = value.and_then(parse) else {
        return false;
    };
    start.as_deref().and_then(parse).is_none_or(|s| v >= s)
        && end.as_deref().and_then(parse).is_none_or(|e| v <= e)
}

/// Body of a JSON request: must be an object.
pub(crate) fn body_object(body: &[u8]) -> Result<Obj, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Request body is required").with_context("invalid_body"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")
            .with_context("invalid_body")),
        Err(e) => {
            Err(ApiError::bad_request(format!("Malformed JSON body: {e}"))
                .with_context("invalid_body"))
        }
    }
}

/// Body of a request whose body is optional (e.g. validate): empty → empty object.
pub(crate) fn optional_body_object(body: &[u8]) -> Result<Obj, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Obj::new());
    }
    body_object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_are_strict() {
        assert_eq!(parse_decimal_str("12.50"), Some(Decimal::new(1250, 2)));
        assert_eq!(parse_decimal_str("-4.17"), Some(Decimal::new(-417, 2)));
        assert_eq!(parse_decimal_str("7"), Some(Decimal::from(7)));
        for bad in [
            "",
            "1,5",
            "1e3",
            " 1",
            "1.",
            ".5",
            "--1",
            "abc",
            "12345678901234",
        ] {
            assert_eq!(parse_decimal_str(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn email_check_rejects_obvious_garbage() {
        assert!(is_email("jean.martin@example.fr"));
        for bad in [
            "",
            "jean",
            "@example.fr",
            "a@b",
            "a b@c.fr",
            "a@@c.fr",
            "a@c..fr",
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }
}
