//! List/search pagination as documented in the spec's `info.description` ("Pagination on list and search
//! requests"): `limit` (default 25, max 100) and `offset`, either an opaque base64 *seek* cursor (default mode,
//! the cursor names the last object returned) or an explicit numeric *page number* (first call `offset=0`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::error::ApiError;

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    /// Objects after the one whose id the cursor names (`None` = from the start).
    Seek {
        after: Option<u64>,
        cursor: Option<String>,
    },
    /// Zero-based page number.
    Numeric(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Page {
    limit: usize,
    mode: Mode,
    descending: bool,
}

/// Seek cursors look like Sellsy's: base64 of a JSON array holding the last sort key (`["11"]` → `WyIxMSJd`).
fn encode_cursor(id: u64) -> String {
    STANDARD.encode(format!("[\"{id}\"]"))
}

fn decode_cursor(raw: &str) -> Option<u64> {
    let bytes = STANDARD.decode(raw).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    match v.as_array()?.first()? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl Page {
    /// Reads `limit`, `offset`, `order` (checked against `orders`) and `direction` from the query string.
    pub fn from_query(query: &[(String, String)], orders: &[&str]) -> Result<Page, ApiError> {
        let limit = match query_value(query, "limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<usize>() {
                Ok(l) if l <= MAX_LIMIT => l,
                Ok(_) => {
                    return Err(ApiError::field(
                        "limit",
                        format!("must be lower than or equal to {MAX_LIMIT}"),
                    ));
                }
                Err(_) => return Err(ApiError::field("limit", "must be a non-negative integer")),
            },
        };
        let mode = match query_value(query, "offset") {
            None => Mode::Seek {
                after: None,
                cursor: None,
            },
            Some(raw) if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => {
                let page = raw
                    .parse::<usize>()
                    .map_err(|_| ApiError::field("offset", "is too large"))?;
                Mode::Numeric(page)
            }
            Some(raw) => match decode_cursor(raw) {
                Some(id) => Mode::Seek {
                    after: Some(id),
                    cursor: Some(raw.to_string()),
                },
                None => {
                    return Err(ApiError::field(
                        "offset",
                        "must be a page number or a cursor returned by a previous call",
                    ));
                }
            },
        };
        if let Some(order) = query_value(query, "order")
            && !orders.contains(&order)
        {
            return Err(ApiError::field(
                "order",
                format!("must be one of: {}", orders.join(", ")),
            ));
        }
        let descending = match query_value(query, "direction") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::field("direction", "must be one of: asc, desc")),
        };
        Ok(Page {
            limit,
            mode,
            descending,
        })
    }

    /// Slices `(id, object)` pairs (any order) into `{"data": [...], "pagination": {...}}`, sorted by id.
    pub fn apply(&self, mut items: Vec<(u64, Value)>) -> Value {
        items.sort_by_key(|(id, _)| *id);
        if self.descending {
            items.reverse();
        }
        let total = items.len();
        let (data, offset): (Vec<(u64, Value)>, Value) = match &self.mode {
            Mode::Numeric(page) => {
                let start = page.saturating_mul(self.limit);
                let data = items.into_iter().skip(start).take(self.limit).collect();
                (data, json!(page))
            }
            Mode::Seek { after, cursor } => {
                let data: Vec<(u64, Value)> = items
                    .into_iter()
                    .filter(|(id, _)| match after {
                        None => true,
                        Some(a) if self.descending => id < a,
                        Some(a) => id > a,
                    })
                    .take(self.limit)
                    .collect();
                let offset = match data.last() {
                    Some((id, _)) => encode_cursor(*id),
                    None => cursor.clone().unwrap_or_else(|| STANDARD.encode("[]")),
                };
                (data, json!(offset))
            }
        };
        let data: Vec<Value> = data.into_iter().map(|(_, v)| v).collect();
        let count = data.len();
        json!({
            "data": data,
            "pagination": {"limit": self.limit, "count": count, "total": total, "offset": offset},
        })
    }
}

/// Parses a raw query string into ordered key/value pairs (PHP-style `embed[]` keys are kept verbatim).
pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn items(n: u64) -> Vec<(u64, Value)> {
        (1..=n).map(|i| (i, json!({"id": i}))).collect()
    }

    #[test]
    fn cursor_matches_the_documented_shape() {
        assert_eq!(encode_cursor(11), "WyIxMSJd");
        assert_eq!(decode_cursor("WyIxMSJd"), Some(11));
        assert_eq!(decode_cursor("not base64!"), None);
    }

    #[test]
    fn seek_mode_walks_every_object_once() {
        let mut seen = Vec::new();
        let mut query = q(&[("limit", "2")]);
        loop {
            let page = Page::from_query(&query, &["id"]).unwrap().apply(items(5));
            let data = page["data"].as_array().unwrap().clone();
            assert_eq!(page["pagination"]["total"], 5);
            seen.extend(data.iter().map(|v| v["id"].as_u64().unwrap()));
            if data.len() < 2 {
                break;
            }
            let cursor = page["pagination"]["offset"].as_str().unwrap().to_string();
            query = q(&[("limit", "2"), ("offset", &cursor)]);
        }
        assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn numeric_offset_is_a_page_number() {
        let page = Page::from_query(&q(&[("limit", "2"), ("offset", "1")]), &["id"])
            .unwrap()
            .apply(items(5));
        let ids: Vec<u64> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, vec![3, 4]);
        assert_eq!(page["pagination"]["offset"], 1);
        assert_eq!(page["pagination"]["count"], 2);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(Page::from_query(&q(&[("limit", "101")]), &["id"]).is_err());
        assert!(Page::from_query(&q(&[("limit", "-1")]), &["id"]).is_err());
        assert!(Page::from_query(&q(&[("offset", "zzz")]), &["id"]).is_err());
        assert!(Page::from_query(&q(&[("order", "name")]), &["id"]).is_err());
        assert!(Page::from_query(&q(&[("direction", "up")]), &["id"]).is_err());
        assert!(Page::from_query(&q(&[("limit", "100")]), &["id"]).is_ok());
    }
}
