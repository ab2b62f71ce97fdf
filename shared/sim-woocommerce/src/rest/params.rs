//! Argument validation the way WordPress's REST server does it (integers, enums, booleans, dates in the
//! site's timezone, id lists), and list pagination with its `X-WP-Total*` and `Link` headers.

use axum::response::Response;
use chrono::{Duration, NaiveDateTime};
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;

use super::errors::php_json;
use crate::Inner;
use crate::php::{Param, Params};
use crate::store::{Invalid, SITE_UTC_OFFSET_SECS, php_list};

pub(super) fn int_param(
    params: &Params,
    name: &str,
    default: i64,
    min: Option<i64>,
    max: Option<i64>,
    errors: &mut Vec<Invalid>,
) -> i64 {
    let Some(raw) = params.get(name) else {
        return default;
    };
    let parsed = raw.as_str().and_then(|s| {
        let s = s.trim();
        s.parse::<i64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    });
    let Some(value) = parsed else {
        errors.push(Invalid {
            param: name.into(),
            message: format!("{name} is not of type integer."),
            detail_code: "rest_invalid_type",
        });
        return default;
    };
    let out_of_bounds = match (min, max) {
        (Some(lo), Some(hi)) if value < lo || value > hi => Some(format!(
            "{name} must be between {lo} (inclusive) and {hi} (inclusive)"
        )),
        (Some(lo), None) if value < lo => {
            Some(format!("{name} must be greater than or equal to {lo}"))
        }
        _ => None,
    };
    if let Some(message) = out_of_bounds {
        errors.push(Invalid {
            param: name.into(),
            message,
            detail_code: "rest_out_of_bounds",
        });
        return default;
    }
    value
}

pub(super) fn enum_param(
    params: &Params,
    name: &str,
    default: &str,
    allowed: &[&str],
    errors: &mut Vec<Invalid>,
) -> String {
    match params.get(name) {
        None => default.to_owned(),
        Some(Param::Str(s)) if allowed.contains(&s.as_str()) => s.clone(),
        Some(_) => {
            errors.push(Invalid {
                param: name.into(),
                message: format!("{name} is not one of {}.", php_list(allowed)),
                detail_code: "rest_not_in_enum",
            });
            default.to_owned()
        }
    }
}

pub(super) fn bool_param(params: &Params, name: &str, errors: &mut Vec<Invalid>) -> bool {
    match params.get(name).map(|p| p.as_str()) {
        None => false,
        Some(Some("true" | "1")) => true,
        Some(Some("false" | "0" | "")) => false,
        Some(_) => {
            errors.push(Invalid {
                param: name.into(),
                message: format!("{name} is not of type boolean."),
                detail_code: "rest_invalid_type",
            });
            false
        }
    }
}

/// A `date-time` argument as `WP_Date_Query::build_mysql_datetime` turns it into a wall-clock value
/// in the site's timezone: without a suffix it is taken as site-local already; with `Z` or an
/// offset it is converted to site-local. Which column it is compared with is the caller's business.
pub(super) fn date_param(
    params: &Params,
    name: &str,
    errors: &mut Vec<Invalid>,
) -> Option<NaiveDateTime> {
    let raw = params.get(name)?;
    match raw.as_str().and_then(parse_rest_date) {
        Some(wall) => Some(wall),
        None => {
            errors.push(Invalid {
                param: name.into(),
                message: "Invalid date.".into(),
                detail_code: "rest_invalid_date",
            });
            None
        }
    }
}

pub(super) fn parse_rest_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(19) {
        return None;
    }
    let (head, mut rest) = s.split_at(19);
    let head = head.replacen([' ', 't'], "T", 1);
    let wall = NaiveDateTime::parse_from_str(&head, "%Y-%m-%dT%H:%M:%S").ok()?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" => return Some(wall),
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if !(digits.len() == 2 || digits.len() == 4)
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = if digits.len() == 4 {
                digits[2..].parse().ok()?
            } else {
                0
            };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let utc = wall - Duration::seconds(offset_secs);
    Some(utc + Duration::seconds(SITE_UTC_OFFSET_SECS))
}

pub(super) fn id_list(params: &Params, name: &str) -> Vec<u64> {
    params
        .get(name)
        .map(|p| {
            p.as_list()
                .iter()
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `X-WP-Total`, `X-WP-TotalPages` and `Link` (only `prev`/`next`, as `WC_REST_CRUD_Controller` sends).
pub(super) fn paginated(
    inner: &Inner,
    route: &str,
    query: &str,
    items: Vec<Value>,
    total: usize,
    page: i64,
    per_page: i64,
) -> Response {
    let per_page = usize::try_from(per_page.max(1)).unwrap_or(1);
    let max_pages = total.div_ceil(per_page);
    let mut response = php_json(StatusCode::OK, &Value::Array(items));
    let headers = response.headers_mut();
    headers.insert("X-WP-Total", HeaderValue::from(total));
    headers.insert("X-WP-TotalPages", HeaderValue::from(max_pages));
    let page = usize::try_from(page.max(1)).unwrap_or(1);
    let link = |target: usize| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        let mut replaced = false;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == "page" {
                ser.append_pair("page", &target.to_string());
                replaced = true;
            } else {
                ser.append_pair(&k, &v);
            }
        }
        if !replaced {
            ser.append_pair("page", &target.to_string());
        }
        if inner.config.plain_permalinks {
            // `rest_url()` with plain permalinks, then `add_query_arg(urlencode_deep($params))`.
            format!(
                "{}/index.php?rest_route=%2Fwc%2Fv3%2F{route}&{}",
                inner.home,
                ser.finish()
            )
        } else {
            format!("{}/wp-json/wc/v3/{route}?{}", inner.home, ser.finish())
        }
    };
    if page > 1 {
        let prev = (page - 1).min(max_pages.max(1));
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"prev\"", link(prev))) {
            headers.append(header::LINK, v);
        }
    }
    if max_pages > page
        && let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"next\"", link(page + 1)))
    {
        headers.append(header::LINK, v);
    }
    response
}

pub(super) fn page_slice<T: Clone>(
    items: &[T],
    page: i64,
    per_page: i64,
    offset: Option<i64>,
) -> Vec<T> {
    let per_page = usize::try_from(per_page).unwrap_or(10);
    let start = match offset {
        Some(o) => usize::try_from(o.max(0)).unwrap_or(0),
        None => usize::try_from(page.max(1) - 1)
            .unwrap_or(0)
            .saturating_mul(per_page),
    };
    items.iter().skip(start).take(per_page).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_dates_are_read_in_the_site_timezone() {
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        // No suffix: already site-local wall time.
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00"),
            Some(local("2024-05-01T10:00:00"))
        );
        // `Z` / offsets are converted to site-local (UTC+2).
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00Z"),
            Some(local("2024-05-01T12:00:00"))
        );
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00.123+02:00"),
            Some(local("2024-05-01T10:00:00"))
        );
        assert_eq!(
            parse_rest_date("2024-05-01 10:00:00-0100"),
            Some(local("2024-05-01T13:00:00"))
        );
        assert_eq!(parse_rest_date("2024-05-01"), None);
        assert_eq!(parse_rest_date("2024-05-01T10:00:00+2"), None);
        assert_eq!(parse_rest_date("yesterday at noon!!"), None);
    }
}
