//! Deserialisers for WooCommerce's loose typing: string-or-number decimals and integers, `""`/`null`
//! for "nothing", `[]` for an empty object. Floats go through their shortest round-trip text, so the
//! PHP float `3.3333333333333335` becomes exactly that decimal, never a binary approximation of it.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};

struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal as a string or a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        if !v.is_finite() {
            return Err(E::custom("non-finite number"));
        }
        // `{}` on f64 prints the shortest text that round-trips, as PHP's serialize_precision=-1 does.
        parse_decimal(&v.to_string()).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(Decimal::ZERO);
        }
        parse_decimal(t).map_err(E::custom)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Decimal, E> {
        Ok(if v { Decimal::ONE } else { Decimal::ZERO })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Decimal, E> {
        Ok(Decimal::ZERO)
    }
    fn visit_none<E: de::Error>(self) -> Result<Decimal, E> {
        Ok(Decimal::ZERO)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .map_err(|e| format!("invalid decimal {s:?}: {e}"))
}

/// A decimal from a string, an integer or a float; `""` and `null` are zero.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

/// A decimal that may be absent: `""` and `null` are `None`.
pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        other => decimal(other).map(Some).map_err(de::Error::custom),
    }
}

/// An unsigned integer from a number or a numeric string; `""`, `null` and negatives are 0.
pub fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// A string from a string, a number, a bool or `null` (→ empty).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// An optional string: `null` → `None`, anything else as [`string`].
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    Ok(match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// A bool from `true`/`false`, `"yes"`/`"no"`, `1`/`0`; anything else is false.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    Ok(match v {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => matches!(s.as_str(), "yes" | "true" | "1"),
        _ => false,
    })
}

/// WooCommerce dates: `2017-03-22T19:28:08` (no offset), sometimes with `Z` or an offset; `null`/`""` → `None`.
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => parse_datetime(s.trim())
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("invalid date {s:?}"))),
        _ => Ok(None),
    }
}

/// Parses the date formats WooCommerce emits; an offset, when present, is applied (result is UTC).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok())
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.naive_utc())
        })
}

/// A list that may arrive as `null`, `{}` or `[]`.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize_from(d)?;
    match v {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|i| serde_json::from_value(i).map_err(de::Error::custom))
            .collect(),
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(_, i)| serde_json::from_value(i).map_err(de::Error::custom))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// An object that PHP sends as `[]` when empty.
pub fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let v = serde_json::Value::deserialize_from(d)?;
    match v {
        serde_json::Value::Object(_) => serde_json::from_value(v).map_err(de::Error::custom),
        _ => Ok(T::default()),
    }
}

/// A list of ids (`[1, "2", 3.0]`); entries that are not ids are skipped.
pub fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let v = serde_json::Value::deserialize_from(d)?;
    let items = match v {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(map) => map.into_iter().map(|(_, i)| i).collect(),
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|i| uint(i).ok().filter(|id| *id != 0))
        .collect())
}

/// An order status from a string or any other shape (printed as text), so one odd value never fails
/// the whole order; `null` becomes `Other("")`, which no rule treats as paid.
pub fn order_status<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<crate::model::OrderStatus, D::Error> {
    string(d).map(crate::model::OrderStatus::from)
}

/// Writes an optional decimal as a JSON number (integer when whole), as WooCommerce writes
/// `stock_quantity`; `None` is `null`.
pub fn ser_opt_decimal_number<S: serde::Serializer>(
    v: &Option<Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use rust_decimal::prelude::ToPrimitive;
    match v {
        None => s.serialize_none(),
        Some(d) if d.fract().is_zero() => match d.to_i64() {
            Some(i) => s.serialize_i64(i),
            None => s.serialize_f64(d.to_f64().unwrap_or(0.0)),
        },
        Some(d) => s.serialize_f64(d.to_f64().unwrap_or(0.0)),
    }
}

trait DeserializeFrom: Sized {
    fn deserialize_from<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl DeserializeFrom for serde_json::Value {
    fn deserialize_from<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <serde_json::Value as serde::Deserialize>::deserialize(d)
    }
}

impl FromStr for crate::model::OrderStatus {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(crate::model::OrderStatus::from(s.to_owned()))
    }
}
