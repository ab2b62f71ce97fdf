//! Every request the connector sends to Sellsy, and every answer our simulator gives back, checked against the
//! official Sellsy API v2 OpenAPI spec (2.264).
//!
//! The acceptance runs use a strict simulator generated from that spec, so a request our own simulator lets
//! through but the spec does not describe would fail there. This test drives a varied set of orders through the
//! real binary, then takes the simulator's call log and checks, for each call: the operation exists (method +
//! path template); its path and query parameters are declared and valid; its JSON body validates against the
//! operation's `requestBody` schema (read-only properties may not be sent); the simulator's 2xx answer validates
//! against the documented response schema (so our simulator, the only Sellsy our client is tested against,
//! stays honest).
//!
//! The schemas come from `shared/sellsy/tests/fixtures/sellsy-openapi-connector-ops.json`, an extract of the
//! official spec (see `PROVENANCE.md` there). OpenAPI 3.0 schemas are not JSON Schema; [`translate`] bridges the
//! differences before the `jsonschema` crate (draft 7) validates.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use jsonschema::{Draft, Validator};
use rust_decimal_macros::dec;
use serde_json::{Map, Value, json};
use sim_sellsy::CallRecord;

use crate::helpers::{Options, TestApp, french_order};

const SPEC: &str =
    include_str!("../../shared/sellsy/tests/fixtures/sellsy-openapi-connector-ops.json");
const DEMO_ORDERS: &str = include_str!("../../src/demo/orders.json");
const WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema

/// Which side of the exchange a schema is used for: `readOnly` properties may only appear in answers,
/// `writeOnly` ones only in requests (OpenAPI 3.0 §4.7.24).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Side {
    Request,
    Response,
}

/// Rewrites an OpenAPI 3.0 document so that its schemas mean the same as JSON Schema (draft 7):
/// - `nullable: true` adds `null` to `type` (and to `enum`), or wraps a typeless schema in `anyOf [null, …]`;
/// - a `$ref`'s siblings are ignored, as OpenAPI 3.0 says, except `nullable` and `readOnly`/`writeOnly`, whose
///   intent is kept;
/// - a property that is `readOnly` (request side) or `writeOnly` (response side) can never validate (sending it
///   fails), and it is dropped from `required` (OpenAPI: "required" then applies to the other side only);
/// - a boolean `exclusiveMinimum`/`exclusiveMaximum` (draft 4 form) becomes the draft 7 number form.
///
/// The whole document is walked, not only its schemas: the keywords rewritten only occur in schemas. Wrapping
/// moves nodes, and the spec points deep inside schemas (`#/components/schemas/EstimateCreate/allOf/1/…`), so
/// every `$ref` is then rewritten to where its target went.
fn translate(doc: &Value, side: Side) -> Value {
    let mut moved = HashMap::new();
    let mut out = Translator {
        side,
        moved: &mut moved,
    }
    .node(doc, &mut Vec::new(), Vec::new());
    retarget(&mut out, &moved);
    out
}

/// Where each node of the original document went: JSON-pointer tokens before → after.
type Moves = HashMap<Vec<String>, Vec<String>>;

struct Translator<'a> {
    side: Side,
    moved: &'a mut Moves,
}

impl Translator<'_> {
    fn node(&mut self, node: &Value, old: &mut Vec<String>, new: Vec<String>) -> Value {
        self.moved.insert(old.clone(), new.clone());
        match node {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.child(v, old, &new, &[&i.to_string()], &i.to_string()))
                    .collect(),
            ),
            Value::Object(obj) => self.object(obj, old, new),
            other => other.clone(),
        }
    }

    /// Translates `old/key` (a child of the node at `old`) placed at `new/…at`.
    fn child(
        &mut self,
        v: &Value,
        old: &mut Vec<String>,
        new: &[String],
        at: &[&str],
        key: &str,
    ) -> Value {
        old.push(key.to_string());
        let mut path = new.to_vec();
        path.extend(at.iter().map(|s| s.to_string()));
        let out = self.node(v, old, path);
        old.pop();
        out
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        old: &mut Vec<String>,
        new: Vec<String>,
    ) -> Value {
        let flag = |k: &str| obj.get(k) == Some(&Value::Bool(true));
        let forbidden = match self.side {
            Side::Request => flag("readOnly"),
            Side::Response => flag("writeOnly"),
        };
        if forbidden {
            // `{"not": {}}` never validates; the schema is kept beside it for `$ref`s that point inside it.
            let mut rest = obj.clone();
            rest.remove("readOnly");
            rest.remove("writeOnly");
            self.moved.insert(old.clone(), new.clone());
            let mut kept = Map::new();
            for (k, v) in &rest {
                let at = ["x-forbidden", k.as_str()];
                kept.insert(k.clone(), self.child(v, old, &new, &at, k));
            }
            return json!({"not": {}, "x-forbidden": Value::Object(kept)});
        }
        let nullable = flag("nullable");
        if let Some(reference) = obj.get("$ref") {
            let target = json!({"$ref": reference});
            return if nullable {
                json!({"anyOf": [{"type": "null"}, target]})
            } else {
                target
            };
        }
        let typeless = nullable && !obj.contains_key("type");
        // A typeless nullable schema goes into `anyOf [null, schema]`: its content moves one level down.
        let base: Vec<String> = if typeless {
            let mut b = new.clone();
            b.extend(["anyOf".to_string(), "1".to_string()]);
            b
        } else {
            new.clone()
        };
        self.moved.insert(old.clone(), new.clone());
        let mut out = Map::new();
        for (key, value) in obj {
            match (key.as_str(), value) {
                ("nullable", _) => {}
                ("properties", Value::Object(props)) => {
                    old.push(key.clone());
                    let mut translated = Map::new();
                    for (name, schema) in props {
                        let at = [key.as_str(), name.as_str()];
                        translated.insert(name.clone(), self.child(schema, old, &base, &at, name));
                    }
                    old.pop();
                    out.insert(key.clone(), Value::Object(translated));
                }
                _ => {
                    out.insert(
                        key.clone(),
                        self.child(value, old, &base, &[key.as_str()], key),
                    );
                }
            }
        }
        // Properties that may not appear on this side are not required on it either.
        if let (Some(Value::Array(required)), Some(Value::Object(props))) =
            (out.get("required"), out.get("properties"))
        {
            let kept: Vec<Value> = required
                .iter()
                .filter(|name| {
                    name.as_str()
                        .and_then(|n| props.get(n))
                        .is_none_or(|p| p.get("x-forbidden").is_none())
                })
                .cloned()
                .collect();
            out.insert("required".into(), Value::Array(kept));
        }
        for (keyword, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if let Some(Value::Bool(exclusive)) = out.get(keyword).cloned() {
                out.remove(keyword);
                if exclusive && let Some(limit) = out.remove(bound) {
                    out.insert(keyword.into(), limit);
                }
            }
        }
        if typeless {
            return json!({"anyOf": [{"type": "null"}, Value::Object(out)]});
        }
        if nullable && let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(values)) = out.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
        }
        Value::Object(out)
    }
}

/// Rewrites every `$ref` to the new place of its target.
fn retarget(node: &mut Value, moved: &Moves) {
    match node {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get_mut("$ref")
                && let Some(tokens) = r.strip_prefix("#/").map(|p| {
                    p.split('/')
                        .map(|t| percent_decode(t).replace("~1", "/").replace("~0", "~"))
                        .collect::<Vec<_>>()
                })
                && let Some(to) = moved.get(&tokens)
            {
                let to: Vec<&str> = to.iter().map(String::as_str).collect();
                *r = pointer(&to);
            }
            obj.values_mut().for_each(|v| retarget(v, moved));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget(v, moved)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The spec and its validators

/// A JSON pointer (as a URI fragment) to `tokens` inside the spec document.
fn pointer(tokens: &[&str]) -> String {
    let mut p = String::from("#");
    for t in tokens {
        p.push('/');
        p.push_str(
            &t.replace('~', "~0")
                .replace('/', "~1")
                .replace('{', "%7B")
                .replace('}', "%7D"),
        );
    }
    p
}

/// Decodes `%XX` escapes (a path segment or a JSON pointer; query strings go through `form_urlencoded`).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

struct Spec {
    raw: Value,
    translated: HashMap<Side, Value>,
    validators: Mutex<HashMap<(Side, String), std::sync::Arc<Validator>>>,
}

/// A parameter of an operation, with the pointer to its schema.
struct Param {
    name: String,
    location: String,
    required: bool,
    schema: String,
}

impl Spec {
    fn load() -> Spec {
        let raw: Value = serde_json::from_str(SPEC).expect("the spec extract is JSON");
        let translated = [Side::Request, Side::Response]
            .into_iter()
            .map(|side| (side, translate(&raw, side)))
            .collect();
        Spec {
            raw,
            translated,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The node a `#/…` pointer designates in the raw spec.
    fn at(&self, reference: &str) -> Option<&Value> {
        let decoded = percent_decode(reference.strip_prefix('#')?);
        self.raw.pointer(&decoded)
    }

    /// Follows `$ref`s; returns the node and the pointer to it.
    fn deref(&self, node: &Value, at: String) -> (Value, String) {
        let mut node = node.clone();
        let mut at = at;
        for _ in 0..16 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    at = r.to_string();
                    node = self.at(r).cloned().unwrap_or(Value::Null);
                }
                None => break,
            }
        }
        (node, at)
    }

    /// Errors of `instance` against the schema at `schema_ptr`, each as `instance path: message`.
    fn check(&self, side: Side, schema_ptr: &str, instance: &Value) -> Vec<String> {
        let validator = {
            let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .entry((side, schema_ptr.to_string()))
                .or_insert_with(|| {
                    // The root holds the whole document so that every `#/components/…` and `#/paths/…` resolves.
                    let mut root = self.translated[&side].clone();
                    root["$ref"] = json!(schema_ptr);
                    std::sync::Arc::new(
                        jsonschema::options()
                            .with_draft(Draft::Draft7)
                            .should_validate_formats(true)
                            .build(&root)
                            .unwrap_or_else(|e| {
                                panic!("schema {schema_ptr} does not compile: {e}")
                            }),
                    )
                })
                .clone()
        };
        validator
            .iter_errors(instance)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() { "/".into() } else { path };
                format!("{path}: {e}")
            })
            .collect()
    }

    /// The spec path template matching `path` (without `/v2`), preferring literal segments over `{params}`.
    fn match_path(&self, path: &str) -> Option<(String, BTreeMap<String, String>)> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut best: Option<(usize, String, BTreeMap<String, String>)> = None;
        for template in self.raw["paths"].as_object()?.keys() {
            let tsegs: Vec<&str> = template.trim_matches('/').split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let mut params = BTreeMap::new();
            let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    params.insert(name.to_string(), percent_decode(s));
                    true
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, template.clone(), params));
            }
        }
        best.map(|(_, t, p)| (t, p))
    }

    /// Path-level and operation-level parameters (the operation's win on a name clash).
    fn params(&self, template: &str, method: &str) -> Vec<Param> {
        let mut out: Vec<Param> = Vec::new();
        for level in [
            vec!["paths", template, "parameters"],
            vec!["paths", template, method, "parameters"],
        ] {
            let base = pointer(&level);
            let Some(list) = self.at(&base).and_then(Value::as_array) else {
                continue;
            };
            for (i, p) in list.iter().enumerate() {
                let (p, at) = self.deref(p, format!("{base}/{i}"));
                let name = p["name"].as_str().unwrap_or_default().to_string();
                let location = p["in"].as_str().unwrap_or_default().to_string();
                out.retain(|q| !(q.name == name && q.location == location));
                out.push(Param {
                    name,
                    location,
                    required: p["required"] == json!(true),
                    schema: format!("{at}/schema"),
                });
            }
        }
        out
    }

    /// A parameter value as it came over the wire is a string; it is valid if one of its readings is.
    fn check_param(&self, param: &Param, values: &[String]) -> Vec<String> {
        let reading = |v: &str| -> Vec<Value> {
            let mut r = vec![json!(v)];
            if let Ok(i) = v.parse::<i64>() {
                r.push(json!(i));
            } else if let Ok(f) = v.parse::<f64>() {
                r.push(json!(f));
            }
            if v == "true" || v == "false" {
                r.push(json!(v == "true"));
            }
            r
        };
        let is_array = self
            .at(&param.schema)
            .map(|s| self.deref(s, param.schema.clone()).0)
            .is_some_and(|s| s["type"] == "array");
        let candidates: Vec<Value> = if is_array {
            // Each item read as a number when it looks like one (good enough for the arrays Sellsy declares).
            vec![Value::Array(
                values
                    .iter()
                    .map(|v| reading(v).pop().unwrap_or_default())
                    .collect(),
            )]
        } else if values.len() == 1 {
            reading(&values[0])
        } else {
            return vec![format!(
                "{} {:?}: repeated, but not an array",
                param.location, param.name
            )];
        };
        let mut errors = Vec::new();
        for candidate in &candidates {
            let e = self.check(Side::Request, &param.schema, candidate);
            if e.is_empty() {
                return Vec::new();
            }
            errors = e;
        }
        errors
            .into_iter()
            .map(|e| {
                format!(
                    "{} parameter {:?} = {values:?}: {e}",
                    param.location, param.name
                )
            })
            .collect()
    }

    /// Everything wrong with one recorded call, as readable lines.
    fn violations(&self, call: &CallRecord) -> Vec<String> {
        let Some(path) = call.path.strip_prefix("/v2") else {
            return vec!["not under /v2".into()];
        };
        let Some((template, path_values)) = self.match_path(path) else {
            return vec![format!("no path of the spec matches {path}")];
        };
        let method = call.method.to_ascii_lowercase();
        let op_ptr = pointer(&["paths", &template, &method]);
        let Some(op) = self.at(&op_ptr).cloned() else {
            return vec![format!(
                "{} {template}: no such operation in the spec",
                call.method
            )];
        };
        let mut out = Vec::new();
        let params = self.params(&template, &method);

        // Path parameters.
        for (name, value) in &path_values {
            match params
                .iter()
                .find(|p| p.location == "path" && &p.name == name)
            {
                Some(p) => out.extend(self.check_param(p, std::slice::from_ref(value))),
                None => out.push(format!("path parameter {{{name}}} is not declared")),
            }
        }

        // Query parameters: `name[]=a&name[]=b` is the array `name`.
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(call.query.as_bytes()) {
            let k = k.strip_suffix("[]").unwrap_or(&k).to_string();
            query.entry(k).or_default().push(v.into_owned());
        }
        for (name, values) in &query {
            match params
                .iter()
                .find(|p| p.location == "query" && &p.name == name)
            {
                Some(p) => out.extend(self.check_param(p, values)),
                None => out.push(format!(
                    "query parameter {name:?} is not declared by {} {template} (declared: {:?})",
                    call.method,
                    params
                        .iter()
                        .filter(|p| p.location == "query")
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                )),
            }
        }
        for p in params
            .iter()
            .filter(|p| p.location == "query" && p.required)
        {
            if !query.contains_key(&p.name) {
                out.push(format!("required query parameter {:?} missing", p.name));
            }
        }

        // Request body.
        let body_ptr = format!("{op_ptr}/requestBody/content/application~1json/schema");
        match (&op.get("requestBody"), &call.body) {
            (None, Some(_)) => out.push("a body was sent, the operation takes none".into()),
            (Some(rb), None) if rb["required"] == json!(true) => {
                out.push("no body, the operation requires one".into())
            }
            (Some(_), Some(body)) => {
                if self.at(&body_ptr).is_none() {
                    out.push("a JSON body was sent, the operation takes no JSON".into());
                } else {
                    out.extend(
                        self.check(Side::Request, &body_ptr, body)
                            .into_iter()
                            .map(|e| format!("request body {e}")),
                    );
                }
            }
            _ => {}
        }

        // The simulator's answer, when it is a success.
        if (200..300).contains(&call.status) {
            let status = call.status.to_string();
            match op["responses"].get(&status) {
                None => out.push(format!(
                    "answered {status}, which the operation does not document (documented: {:?})",
                    op["responses"]
                        .as_object()
                        .map(|r| r.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                )),
                Some(r) => {
                    let schema_ptr =
                        format!("{op_ptr}/responses/{status}/content/application~1json/schema");
                    let declared = r.get("content").is_some() && self.at(&schema_ptr).is_some();
                    match (&call.response, declared) {
                        (Some(resp), true) => out.extend(
                            self.check(Side::Response, &schema_ptr, resp)
                                .into_iter()
                                .map(|e| format!("simulator answer {status} {e}")),
                        ),
                        (None, true) => {
                            out.push(format!("simulator answered {status} without a body"))
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }
}

/// All violations of `calls`, grouped by message, or `None` when there is none.
fn report(spec: &Spec, calls: &[CallRecord]) -> Option<String> {
    let mut grouped: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for call in calls {
        let what = format!("{} {}", call.method, call.path);
        for v in spec.violations(call) {
            // Ids differ from call to call; the message, with the templated operation, is what matters.
            let key = format!("{} {v}", call.method);
            let entry = grouped.entry(key).or_insert((0, what.clone()));
            entry.0 += 1;
        }
    }
    if grouped.is_empty() {
        return None;
    }
    let mut text = format!(
        "{} distinct spec violation(s) in {} calls:\n",
        grouped.len(),
        calls.len()
    );
    for (v, (n, example)) in grouped {
        text.push_str(&format!("  - [{n}× e.g. {example}] {v}\n"));
    }
    Some(text)
}

// ---------------------------------------------------------------------------------------------------------------
// The validator itself is checked: it must reject what the spec rejects.

fn call(method: &str, path: &str, query: &str, body: Option<Value>) -> CallRecord {
    CallRecord {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        body,
        status: 400,
        response: None,
    }
}

fn invoice_body() -> Value {
    json!({
        "related": [{"type": "individual", "id": 7}], "date": "2026-11-20", "subject": "Commande WC-1",
        "currency": "EUR", "order_reference": "WC-1", "public_link_enabled": true,
        "rows": [{"type": "single", "description": "Livre", "quantity": "1", "unit_amount": "10.00", "tax_id": 3}]
    })
}

#[test]
fn the_validator_accepts_a_good_request_and_rejects_bad_ones() {
    let spec = Spec::load();
    let good = call("POST", "/v2/invoices", "", Some(invoice_body()));
    assert_eq!(spec.violations(&good), Vec::<String>::new());

    // A decimal as a JSON number.
    let mut body = invoice_body();
    body["rows"][0]["unit_amount"] = json!(10.5);
    let v = spec.violations(&call("POST", "/v2/invoices", "", Some(body)));
    assert!(v.iter().any(|e| e.contains("/rows/0")), "{v:#?}");

    // An unknown field on an `additionalProperties: false` schema.
    let v = spec.violations(&call(
        "POST",
        "/v2/individuals/search",
        "limit=100",
        Some(json!({"filters": {"email": "a@b.fr"}, "foo": 1})),
    ));
    assert!(v.iter().any(|e| e.contains("foo")), "{v:#?}");

    // A read-only property in a request (`ContactCreateItem` takes `id` from the read model, read-only).
    let contact = json!({"last_name": "Durand", "first_name": "Camille"});
    assert_eq!(
        spec.violations(&call("POST", "/v2/contacts", "", Some(contact.clone()))),
        Vec::<String>::new()
    );
    let mut with_id = contact;
    with_id["id"] = json!(4);
    let v = spec.violations(&call("POST", "/v2/contacts", "", Some(with_id)));
    assert!(v.iter().any(|e| e.contains("/id")), "{v:#?}");

    // An undeclared query parameter, a query parameter out of its schema, an unknown operation.
    let v = spec.violations(&call("GET", "/v2/items/12/declinations", "limit=100", None));
    assert!(v.iter().any(|e| e.contains("\"limit\"")), "{v:#?}");
    let v = spec.violations(&call("GET", "/v2/taxes", "limit=500", None));
    assert!(v.iter().any(|e| e.contains("limit")), "{v:#?}");
    let v = spec.violations(&call("DELETE", "/v2/invoices/3", "", None));
    assert!(v.iter().any(|e| e.contains("no such operation")), "{v:#?}");
    let v = spec.violations(&call("GET", "/v2/invoices/abc", "", None));
    assert!(v.iter().any(|e| e.contains("path parameter")), "{v:#?}");

    // A response missing a required field, and a nullable field that is null (allowed).
    let mut answer = call("GET", "/v2/taxes", "limit=100", None);
    answer.status = 200;
    answer.response = Some(json!({"data": []}));
    let v = spec.violations(&answer);
    assert!(v.iter().any(|e| e.contains("pagination")), "{v:#?}");
}

#[test]
fn nullable_ref_and_read_only_translate_as_openapi_means_them() {
    let t = translate(
        &json!({"type": "object", "required": ["id", "name"], "properties": {
            "id": {"type": "integer", "readOnly": true},
            "name": {"type": "string", "nullable": true, "enum": ["a"]},
            "owner": {"$ref": "#/properties/parent/oneOf/0", "nullable": true, "description": "ignored"},
            "parent": {"nullable": true, "oneOf": [{"type": "integer"}]}
        }}),
        Side::Request,
    );
    assert_eq!(
        t,
        json!({"type": "object", "required": ["name"], "properties": {
            "id": {"not": {}, "x-forbidden": {"type": "integer"}},
            "name": {"type": ["string", "null"], "enum": ["a", null]},
            "owner": {"anyOf": [{"type": "null"}, {"$ref": "#/properties/parent/anyOf/1/oneOf/0"}]},
            "parent": {"anyOf": [{"type": "null"}, {"oneOf": [{"type": "integer"}]}]}
        }})
    );
}

// ---------------------------------------------------------------------------------------------------------------
// End to end: a realistic variety of orders, then every call checked.

fn paid(app: &TestApp, id: u64) -> bool {
    app.order_meta(id, "woosellsy.invoice_id").is_some()
}

/// A French order with, besides the 20 % and 5.5 % lines and shipping, a 0 % line (no WooCommerce tax: the
/// exemption tax in Sellsy) and a 10 % line.
fn three_rates_and_an_exempt_line(email: &str) -> Value {
    let mut order = french_order(email);
    let lines = order["line_items"].as_array_mut().expect("lines");
    lines.push(json!({"id": 3, "name": "Carte cadeau", "product_id": 13, "variation_id": 0, "quantity": 1,
        "tax_class": "zero-rate", "subtotal": "15.00", "subtotal_tax": "0.00", "total": "15.00", "total_tax": "0.00",
        "taxes": [], "meta_data": [], "sku": "GIFT-15", "price": 15}));
    lines.push(json!({"id": 4, "name": "Repas à emporter", "product_id": 14, "variation_id": 0, "quantity": 3,
        "tax_class": "intermediate-rate", "subtotal": "12.00", "subtotal_tax": "1.20", "total": "12.00",
        "total_tax": "1.20", "taxes": [{"id": 3, "total": "1.2", "subtotal": "1.2"}], "meta_data": [],
        "sku": "", "price": 4}));
    order["tax_lines"].as_array_mut().expect("tax lines").push(json!({"id": 12,
        "rate_code": "FR-TVA INTERMEDIAIRE-3", "rate_id": 3, "label": "TVA intermédiaire", "compound": false,
        "tax_total": "1.20", "shipping_tax_total": "0.00", "rate_percent": 10, "meta_data": []}));
    // Items 60 + 15 + 12 = 87.00, item tax 10.55 + 1.20 = 11.75, shipping 5.00 + 1.00.
    order["cart_tax"] = json!("11.75");
    order["total_tax"] = json!("12.75");
    order["total"] = json!("104.75");
    order
}

/// A prospect the merchant created in Sellsy (through the API, as the merchant's other tools would).
async fn create_prospect(app: &TestApp, email: &str) {
    let defaults = sim_sellsy::SimConfig::default();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(app.sellsy.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", defaults.client_id.as_str()),
            ("client_secret", defaults.client_secret.as_str()),
        ])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("token")
        .json()
        .await
        .expect("token json");
    let created = http
        .post(format!("{}/individuals", app.sellsy.api_url()))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .json(&json!({"type": "prospect", "last_name": "Prospect", "first_name": "Paul", "email": email}))
        .send()
        .await
        .expect("create prospect");
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn every_request_to_sellsy_and_every_simulated_answer_follow_the_official_spec() {
    let mut app = TestApp::spawn(Options {
        verify_totals_with_sellsy: true,
        ..Options::default()
    })
    .await;
    // A catalogue item with declinations, for the variation.
    let item = app
        .sellsy
        .add_item("TEE-VAR", "T-shirt", dec!(25), dec!(20));
    app.sellsy.add_declination(item, "TEE-VAR-S", "Taille S");
    app.sellsy.add_declination(item, "TEE-VAR-M", "Taille M");
    let parent = app.woo.add_product(json!({
        "id": 50, "name": "T-shirt", "type": "variable", "sku": "TEE-VAR", "price": "25",
        "regular_price": "25", "variations": [51, 52]
    }));

    // The demo orders: a new individual, the same customer again, a company with a VAT number (its contact),
    // a coupon, a product without SKU and a fee, prices including tax.
    let mut orders: Vec<Value> = serde_json::from_str(DEMO_ORDERS).expect("demo orders");
    let mut variation = french_order("variation@example.fr");
    variation["line_items"][0]["product_id"] = json!(parent);
    variation["line_items"][0]["variation_id"] = json!(51);
    variation["line_items"][0]["sku"] = json!("TEE-VAR-M");
    variation["line_items"][0]["name"] = json!("T-shirt - M");
    orders.push(variation);
    orders.push(three_rates_and_an_exempt_line("Multi.Taux@example.fr"));

    // One after the other, so that a returning customer is found rather than raced.
    let mut ids = Vec::new();
    for order in orders {
        let id = app.woo.create_order(order);
        app.wait_until(&format!("the invoice of order {id}"), WAIT, |a| paid(a, id))
            .await;
        ids.push(id);
    }
    assert_eq!(app.sellsy.invoices().len(), ids.len());

    // The connector forgets what it knew (a new data directory): returning customers are now found in Sellsy
    // (their addresses listed), and a prospect there is converted to a client.
    let prospect = "prospect@example.fr";
    create_prospect(&app, prospect).await;
    app.kill();
    std::fs::remove_dir_all(app.dir.path().join("data")).expect("data dir");
    // And it crashes right after creating an invoice: on restart it finds that invoice in Sellsy.
    app.start(&Options {
        crash_at: Some("after-document-create"),
        ..Options::default()
    })
    .await;
    let returning = app
        .woo
        .create_order(french_order("camille.durand@example.fr"));
    assert!(app.wait_exit(WAIT).await, "no crash:\n{}", app.logs());
    app.start(&Options::default()).await;
    app.wait_until("the invoice after the crash", WAIT, |a| paid(a, returning))
        .await;
    let converted = app.woo.create_order(french_order(prospect));
    app.wait_until("the prospect's invoice", WAIT, |a| paid(a, converted))
        .await;
    ids.extend([returning, converted]);
    assert_eq!(app.sellsy.invoices().len(), ids.len());

    let calls = app.sellsy.calls();
    let spec = Spec::load();
    // The scenario must reach every operation the connector uses.
    let used: std::collections::BTreeSet<String> = calls
        .iter()
        .filter_map(|c| {
            let (template, _) = spec.match_path(c.path.strip_prefix("/v2")?)?;
            Some(format!("{} {template}", c.method))
        })
        .collect();
    let wanted = [
        "GET /currencies",
        "GET /taxes",
        "POST /individuals/search",
        "POST /individuals",
        "POST /individuals/{id}/convert",
        "GET /individuals/{individualId}/addresses",
        "POST /individuals/{individualId}/addresses",
        "POST /companies/search",
        "POST /companies",
        "POST /companies/{companyId}/addresses",
        "POST /contacts",
        "POST /companies/{companyId}/contacts/{contactId}",
        "POST /items/search",
        "POST /items",
        "GET /items/{id}/declinations",
        "POST /invoices/compute",
        "POST /invoices",
        "POST /invoices/search",
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !used.contains(*w))
        .collect();
    assert!(
        missing.is_empty(),
        "never called: {missing:?}; called: {used:#?}"
    );

    if let Some(text) = report(&spec, &calls) {
        panic!("{text}");
    }
}
