//! CRM endpoints: individuals and companies (create with `?verify=true`, get, search, convert prospect → client,
//! addresses), contacts and the company ↔ contact link.
//!
//! Search `email` / `name` / `reference` filters are exact but case-insensitive: the spec says "exact search"
//! (and "exact search, case insensitive" for `reference`), and e-mail addresses are case-insensitive in practice.

use http::StatusCode;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Reply};
use crate::pagination::Page;
use crate::server::Ctx;
use crate::store::{Address, PartyKind, STAFF_ID, Seq, Store, now_rfc3339};
use crate::validate::{Checker, Obj, body_object, filter_range, in_range, to_obj};

const PARTY_TYPES: &[&str] = &["prospect", "client", "supplier"];
const CIVILITIES: &[&str] = &["mr", "mrs", "ms"];
const CAMPAIGNS: &[&str] = &["sms", "phone", "email", "postal_mail", "custom"];

const COMPANY_FIELDS: &[&str] = &[
    "type",
    "name",
    "email",
    "website",
    "phone_number",
    "mobile_number",
    "fax_number",
    "legal_france",
    "capital",
    "reference",
    "note",
    "auxiliary_code",
    "social",
    "rate_category_id",
    "accounting_code_id",
    "accounting_purchase_code_id",
    "owner_id",
    "is_archived",
    "business_segment",
    "number_of_employees",
    "marketing_campaigns_subscriptions",
    "created",
];

fn str_or_null(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::String)
}

/// Checks the fields individuals, companies and contacts share; returns (owner id, social, campaigns).
fn common_fields(c: &mut Checker, body: &Obj) -> (u64, Value, Value) {
    c.string(body, "", "website", false, 0, 250);
    c.string(body, "", "phone_number", false, 0, 50);
    c.string(body, "", "mobile_number", false, 0, 50);
    c.string(body, "", "fax_number", false, 0, 50);
    c.string(body, "", "note", false, 0, 65_535);
    c.string(body, "", "auxiliary_code", false, 0, 100);
    c.id(body, "", "rate_category_id", false);
    c.id(body, "", "accounting_code_id", false);
    c.id(body, "", "accounting_purchase_code_id", false);
    c.boolean(body, "", "is_archived");
    c.datetime(body, "", "created");
    let owner = match c.id(body, "", "owner_id", false) {
        Some(id) if id != STAFF_ID => {
            c.fail("owner_id", format!("staff {id} not found"));
            STAFF_ID
        }
        _ => STAFF_ID,
    };
    let mut social = json!({"twitter": null, "facebook": null, "linkedin": null, "viadeo": null});
    if let Some(s) = c.object(body, "", "social", false) {
        for k in ["twitter", "facebook", "linkedin", "viadeo"] {
            if let Some(v) = c.string(s, "social", k, false, 0, 250) {
                social[k] = json!(v);
            }
        }
    }
    let mut campaigns = Vec::new();
    if let Some(arr) = c.array(body, "", "marketing_campaigns_subscriptions", false) {
        for (i, v) in arr.iter().enumerate() {
            match v.as_str() {
                Some(s) if CAMPAIGNS.contains(&s) => campaigns.push(json!(s)),
                _ => c.fail(
                    format!("marketing_campaigns_subscriptions[{i}]"),
                    format!("must be one of: {}", CAMPAIGNS.join(", ")),
                ),
            }
        }
    }
    (owner, social, Value::Array(campaigns))
}

fn get_s(body: &Obj, key: &str) -> Value {
    body.get(key)
        .filter(|v| v.is_string())
        .cloned()
        .unwrap_or(Value::Null)
}

pub(crate) fn create(st: &mut Store, ctx: &Ctx<'_>, kind: PartyKind) -> ApiResult {
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let ty = c.one_of(&body, "", "type", true, PARTY_TYPES);
    let email = c.email(&body, "", "email");
    let (owner, social, campaigns) = common_fields(&mut c, &body);
    let now = now_rfc3339();
    let created = body
        .get("created")
        .and_then(Value::as_str)
        .map_or_else(|| now.clone(), str::to_string);
    let mut obj = match kind {
        PartyKind::Individual => {
            let last = c.string(&body, "", "last_name", true, 1, 200);
            let first = c.string(&body, "", "first_name", false, 0, 200);
            let civility = c.one_of(&body, "", "civility", false, CIVILITIES);
            c.string(&body, "", "reference", false, 0, 100);
            let mut sync = json!({"mailchimp": false, "mailjet": false, "simplemail": false});
            if let Some(s) = c.object(&body, "", "sync", false) {
                for k in ["mailchimp", "mailjet", "simplemail"] {
                    if let Some(b) = c.boolean(s, "sync", k) {
                        sync[k] = json!(b);
                    }
                }
            }
            json!({
                "id": 0, "type": str_or_null(ty.clone()), "last_name": str_or_null(last), "first_name": str_or_null(first),
                "civility": str_or_null(civility), "email": str_or_null(email),
                "website": get_s(&body, "website"), "phone_number": get_s(&body, "phone_number"),
                "mobile_number": get_s(&body, "mobile_number"), "fax_number": get_s(&body, "fax_number"),
                "reference": get_s(&body, "reference"), "note": body.get("note").and_then(Value::as_str).unwrap_or(""),
                "auxiliary_code": get_s(&body, "auxiliary_code"), "social": social,
                "rate_category_id": body.get("rate_category_id").cloned().unwrap_or(Value::Null),
                "main_contact_id": null, "dunning_contact_id": null, "invoicing_contact_id": null,
                "invoicing_address_id": null, "delivery_address_id": null,
                "accounting_code_id": body.get("accounting_code_id").cloned().unwrap_or(Value::Null),
                "accounting_purchase_code_id": body.get("accounting_purchase_code_id").cloned().unwrap_or(Value::Null),
                "owner": {"id": owner, "type": "staff"}, "created": created, "updated_at": now,
                "is_archived": body.get("is_archived").and_then(Value::as_bool).unwrap_or(false),
                "marketing_campaigns_subscriptions": campaigns, "sync": sync,
            })
        }
        PartyKind::Company => {
            // The company create schema is `additionalProperties: false`.
            c.only_keys(&body, "", COMPANY_FIELDS);
            let name = c.string(&body, "", "name", true, 1, 250);
            c.string(&body, "", "capital", false, 0, 50);
            c.string(&body, "", "reference", false, 0, 100);
            c.integer(&body, "", "business_segment", false, 0);
            c.integer(&body, "", "number_of_employees", false, 0);
            let mut legal = json!({"siret": null, "siren": null, "vat": null, "ape_naf_code": null,
                "company_type": null, "rcs_immatriculation": null});
            if let Some(l) = c.object(&body, "", "legal_france", false) {
                for (k, min, max) in [
                    ("siret", 14, 14),
                    ("siren", 9, 9),
                    ("vat", 2, 15),
                    ("ape_naf_code", 5, 6),
                    ("company_type", 2, 100),
                    ("rcs_immatriculation", 3, 200),
                ] {
                    if let Some(v) = c.string(l, "legal_france", k, false, min, max) {
                        legal[k] = json!(v);
                    }
                }
            }
            json!({
                "id": 0, "type": str_or_null(ty.clone()), "name": str_or_null(name), "email": str_or_null(email),
                "website": get_s(&body, "website"), "phone_number": get_s(&body, "phone_number"),
                "mobile_number": get_s(&body, "mobile_number"), "fax_number": get_s(&body, "fax_number"),
                "legal_france": legal, "capital": get_s(&body, "capital"), "reference": get_s(&body, "reference"),
                "note": body.get("note").and_then(Value::as_str).unwrap_or(""),
                "auxiliary_code": get_s(&body, "auxiliary_code"), "social": social,
                "rate_category_id": body.get("rate_category_id").cloned().unwrap_or(Value::Null),
                "main_contact_id": null, "dunning_contact_id": null, "invoicing_contact_id": null,
                "invoicing_address_id": null, "delivery_address_id": null,
                "accounting_code_id": body.get("accounting_code_id").cloned().unwrap_or(Value::Null),
                "accounting_purchase_code_id": body.get("accounting_purchase_code_id").cloned().unwrap_or(Value::Null),
                "owner": {"id": owner, "type": "staff"}, "created": created, "updated_at": now,
                "is_archived": body.get("is_archived").and_then(Value::as_bool).unwrap_or(false),
                "business_segment": null, "number_of_employees": null,
                "marketing_campaigns_subscriptions": campaigns,
            })
        }
    };
    c.finish()?;
    if ctx.query_flag("verify") {
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    let id = st.next_id(match kind {
        PartyKind::Individual => Seq::Individual,
        PartyKind::Company => Seq::Company,
    });
    obj["id"] = json!(id);
    let map = to_obj(obj.clone());
    match kind {
        PartyKind::Individual => st.individuals.insert(id, map),
        PartyKind::Company => st.companies.insert(id, map),
    };
    Ok(Reply::created(obj))
}

fn party_label(kind: PartyKind) -> &'static str {
    match kind {
        PartyKind::Individual => "Individual",
        PartyKind::Company => "Company",
    }
}

pub(crate) fn get(st: &Store, kind: PartyKind, id: u64) -> ApiResult {
    st.party(kind, id)
        .map(|o| Reply::ok(Value::Object(o.clone())))
        .ok_or_else(|| ApiError::not_found(party_label(kind)))
}

fn lower(o: &Obj, k: &str) -> String {
    o.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

pub(crate) fn search(st: &Store, ctx: &Ctx<'_>, kind: PartyKind) -> ApiResult {
    let page = Page::from_query(ctx.query, &["name", "id", "created_at", "updated_at"])?;
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    c.only_keys(&body, "", &["filters"]);
    let filters = c
        .object(&body, "", "filters", true)
        .cloned()
        .unwrap_or_default();
    let mut allowed = vec![
        "created",
        "updated_at",
        "name",
        "email",
        "type",
        "is_archived",
        "id",
        "favourite_filter",
        "country_code",
        "postal_code",
        "reference",
    ];
    if kind == PartyKind::Company {
        allowed.extend(["contacts", "siret", "number_of_employees"]);
    }
    c.only_keys(&filters, "filters", &allowed);
    let created = filter_range(&mut c, &filters, "created", true);
    let updated = filter_range(&mut c, &filters, "updated_at", true);
    let name = c
        .string(&filters, "filters", "name", false, 0, 250)
        .map(|s| s.to_lowercase());
    let email = c
        .string(&filters, "filters", "email", false, 0, 254)
        .map(|s| s.to_lowercase());
    let types = c.enum_or_array(&filters, "filters", "type", PARTY_TYPES);
    let archived = c.boolean(&filters, "filters", "is_archived");
    let ids = c.id_array(&filters, "filters", "id");
    c.integer(&filters, "filters", "favourite_filter", false, 0);
    let country = c
        .string(&filters, "filters", "country_code", false, 0, 2)
        .map(|s| s.to_uppercase());
    let postal: Option<Vec<String>> = c.array(&filters, "filters", "postal_code", false).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    });
    let mut references: Option<Vec<String>> = None;
    if let Some(arr) = c.array(&filters, "filters", "reference", false) {
        if arr.len() > 100 {
            c.fail("filters.reference", "must contain at most 100 items");
        }
        let mut refs = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            match v.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= 100 => refs.push(s.to_lowercase()),
                _ => c.fail(
                    format!("filters.reference[{i}]"),
                    "must be a string of 1 to 100 characters",
                ),
            }
        }
        references = Some(refs);
    }
    let contacts = c.id_array(&filters, "filters", "contacts");
    let siret = c.string(&filters, "filters", "siret", false, 0, 14);
    c.finish()?;

    let source = match kind {
        PartyKind::Individual => &st.individuals,
        PartyKind::Company => &st.companies,
    };
    let matches = |id: u64, o: &Obj| -> bool {
        let display_names = match kind {
            PartyKind::Company => vec![lower(o, "name")],
            PartyKind::Individual => vec![
                lower(o, "last_name"),
                format!("{} {}", lower(o, "first_name"), lower(o, "last_name"))
                    .trim()
                    .to_string(),
                format!("{} {}", lower(o, "last_name"), lower(o, "first_name"))
                    .trim()
                    .to_string(),
            ],
        };
        let invoicing = o
            .get("invoicing_address_id")
            .and_then(Value::as_u64)
            .and_then(|a| st.addresses.get(&a))
            .map(|a| &a.json);
        email
            .as_ref()
            .is_none_or(|e| !e.is_empty() && lower(o, "email") == *e)
            && name.as_ref().is_none_or(|n| display_names.contains(n))
            && types.as_ref().is_none_or(|t| t.contains(&lower(o, "type")))
            && archived.is_none_or(|a| o.get("is_archived").and_then(Value::as_bool) == Some(a))
            && ids.as_ref().is_none_or(|i| i.contains(&id))
            && references
                .as_ref()
                .is_none_or(|r| r.contains(&lower(o, "reference")))
            && country.as_ref().is_none_or(|cc| {
                invoicing.is_some_and(|a| lower(a, "country_code").to_uppercase() == *cc)
            })
            && postal.as_ref().is_none_or(|p| {
                invoicing.is_some_and(|a| {
                    p.iter()
                        .any(|pc| lower(a, "postal_code") == pc.to_lowercase())
                })
            })
            && contacts.as_ref().is_none_or(|cs| {
                cs.iter()
                    .any(|ct| st.company_contacts.contains_key(&(id, *ct)))
            })
            && siret.as_ref().is_none_or(|s| {
                o.get("legal_france")
                    .and_then(|l| l.get("siret"))
                    .and_then(Value::as_str)
                    == Some(s)
            })
            && in_range(o.get("created").and_then(Value::as_str), &created)
            && in_range(o.get("updated_at").and_then(Value::as_str), &updated)
    };
    let items = source
        .iter()
        .filter(|(id, o)| matches(**id, o))
        .map(|(id, o)| (*id, Value::Object(o.clone())))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

/// `POST /{individuals|companies}/{id}/convert` `{"target":"client","also_enable_custom_fields_on_target":{…}}`.
pub(crate) fn convert(st: &mut Store, ctx: &Ctx<'_>, kind: PartyKind, id: u64) -> ApiResult {
    if st.party(kind, id).is_none() {
        return Err(ApiError::not_found(party_label(kind)));
    }
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    c.only_keys(
        &body,
        "",
        &["target", "also_enable_custom_fields_on_target"],
    );
    c.one_of(&body, "", "target", true, &["client"]);
    if let Some(cf) = c.object(&body, "", "also_enable_custom_fields_on_target", true) {
        let p = "also_enable_custom_fields_on_target";
        if c.one_of(cf, p, "mode", false, &["none", "all", "partial"])
            .as_deref()
            == Some("partial")
        {
            c.array(cf, p, "ids", true);
        }
    }
    c.finish()?;
    let Some(party) = st.party_mut(kind, id) else {
        return Err(ApiError::not_found(party_label(kind)));
    };
    if party.get("type").and_then(Value::as_str) != Some("prospect") {
        return Err(
            ApiError::bad_request("Only a prospect can be converted to a client")
                .with_context("convert"),
        );
    }
    party.insert("type".into(), json!("client"));
    party.insert("updated_at".into(), json!(now_rfc3339()));
    Ok(Reply::ok(Value::Object(party.clone())))
}

// --- addresses -------------------------------------------------------------------------------------------------

fn country_name(code: &str) -> Value {
    let name = match code {
        "FR" => "France",
        "BE" => "Belgique",
        "CH" => "Suisse",
        "LU" => "Luxembourg",
        "DE" => "Allemagne",
        "ES" => "Espagne",
        "IT" => "Italie",
        "PT" => "Portugal",
        "NL" => "Pays-Bas",
        "GB" => "Royaume-Uni",
        "IE" => "Irlande",
        "US" => "États-Unis",
        "CA" => "Canada",
        "MC" => "Monaco",
        "RE" => "Réunion",
        "GP" => "Guadeloupe",
        "MQ" => "Martinique",
        _ => return Value::Null,
    };
    json!(name)
}

pub(crate) fn list_addresses(st: &Store, ctx: &Ctx<'_>, kind: PartyKind, id: u64) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id"])?;
    if st.party(kind, id).is_none() {
        return Err(ApiError::not_found(party_label(kind)));
    }
    let items = st
        .addresses
        .iter()
        .filter(|(_, a)| a.owner == (kind, id))
        .map(|(aid, a)| (*aid, Value::Object(a.json.clone())))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

pub(crate) fn create_address(st: &mut Store, ctx: &Ctx<'_>, kind: PartyKind, id: u64) -> ApiResult {
    let Some(party) = st.party(kind, id) else {
        return Err(ApiError::not_found(party_label(kind)));
    };
    let has_invoicing = party
        .get("invoicing_address_id")
        .is_some_and(|v| !v.is_null());
    let has_delivery = party
        .get("delivery_address_id")
        .is_some_and(|v| !v.is_null());
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let name = c.string(&body, "", "name", true, 2, 200);
    let line1 = c.string(&body, "", "address_line_1", true, 1, 250);
    let lines: Vec<Option<String>> = ["address_line_2", "address_line_3", "address_line_4"]
        .iter()
        .map(|k| c.string(&body, "", k, false, 0, 250))
        .collect();
    let postal = c.string(&body, "", "postal_code", true, 2, 30);
    let city = c.string(&body, "", "city", true, 2, 250);
    let country = c.string(&body, "", "country_code", true, 2, 2);
    if let Some(cc) = &country
        && !cc.chars().all(|ch| ch.is_ascii_alphabetic())
    {
        c.fail("country_code", "must be an ISO 3166-1 alpha-2 country code");
    }
    let invoicing = c
        .boolean(&body, "", "is_invoicing_address")
        .unwrap_or(!has_invoicing);
    let delivery = c
        .boolean(&body, "", "is_delivery_address")
        .unwrap_or(!has_delivery);
    let mut geocode = json!({"lat": null, "lng": null});
    if let Some(g) = c.object(&body, "", "geocode", false) {
        for k in ["lat", "lng"] {
            match g.get(k) {
                None | Some(Value::Null) => {}
                Some(v @ Value::Number(_)) => geocode[k] = v.clone(),
                Some(_) => c.fail(format!("geocode.{k}"), "must be a number"),
            }
        }
    }
    c.finish()?;
    if ctx.query_flag("verify") {
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    let country = country.unwrap_or_default().to_ascii_uppercase();
    let aid = st.next_id(Seq::Address);
    let json = json!({
        "id": aid, "name": str_or_null(name), "address_line_1": str_or_null(line1),
        "address_line_2": str_or_null(lines[0].clone()), "address_line_3": str_or_null(lines[1].clone()),
        "address_line_4": str_or_null(lines[2].clone()), "postal_code": str_or_null(postal), "city": str_or_null(city),
        "country": country_name(&country), "country_code": country,
        "is_invoicing_address": invoicing, "is_delivery_address": delivery, "geocode": geocode,
    });
    // A new default address takes the flag away from the previous one.
    for a in st.addresses.values_mut().filter(|a| a.owner == (kind, id)) {
        if invoicing {
            a.json.insert("is_invoicing_address".into(), json!(false));
        }
        if delivery {
            a.json.insert("is_delivery_address".into(), json!(false));
        }
    }
    st.addresses.insert(
        aid,
        Address {
            owner: (kind, id),
            json: to_obj(json.clone()),
        },
    );
    if let Some(p) = st.party_mut(kind, id) {
        if invoicing {
            p.insert("invoicing_address_id".into(), json!(aid));
        }
        if delivery {
            p.insert("delivery_address_id".into(), json!(aid));
        }
        p.insert("updated_at".into(), json!(now_rfc3339()));
    }
    Ok(Reply::created(json))
}

// --- contacts --------------------------------------------------------------------------------------------------

pub(crate) fn create_contact(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let last = c.string(&body, "", "last_name", true, 1, 200);
    let first = c.string(&body, "", "first_name", false, 0, 200);
    let civility = c.one_of(&body, "", "civility", false, CIVILITIES);
    let email = c.email(&body, "", "email");
    let position = c.string(&body, "", "position", false, 0, 200);
    c.date(&body, "", "birth_date");
    c.string(&body, "", "avatar", false, 0, 200);
    let (owner, social, campaigns) = common_fields(&mut c, &body);
    c.finish()?;
    if ctx.query_flag("verify") {
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    let id = st.next_id(Seq::Contact);
    let now = now_rfc3339();
    let json = json!({
        "id": id, "civility": str_or_null(civility), "first_name": str_or_null(first), "last_name": str_or_null(last),
        "email": str_or_null(email), "website": get_s(&body, "website"), "phone_number": get_s(&body, "phone_number"),
        "mobile_number": get_s(&body, "mobile_number"), "fax_number": get_s(&body, "fax_number"),
        "position": str_or_null(position), "birth_date": get_s(&body, "birth_date"), "avatar": get_s(&body, "avatar"),
        "note": body.get("note").and_then(Value::as_str).unwrap_or(""), "invoicing_address_id": null,
        "delivery_address_id": null, "social": social,
        "sync": {"mailchimp": false, "mailjet": false, "simplemail": false},
        "owner": {"id": owner, "type": "staff"}, "created": now, "updated": now,
        "is_archived": body.get("is_archived").and_then(Value::as_bool).unwrap_or(false),
        "marketing_campaigns_subscriptions": campaigns,
    });
    st.contacts.insert(id, to_obj(json.clone()));
    Ok(Reply::created(json))
}

pub(crate) fn get_contact(st: &Store, id: u64) -> ApiResult {
    st.contacts
        .get(&id)
        .map(|o| Reply::ok(Value::Object(o.clone())))
        .ok_or_else(|| ApiError::not_found("Contact"))
}

/// `POST /companies/{companyId}/contacts/{contactId}` `{"roles":[…]}` → 201 linked, 200 already linked.
/// Both answers have an empty body (the spec defines none).
pub(crate) fn link_contact(st: &mut Store, ctx: &Ctx<'_>, company: u64, contact: u64) -> ApiResult {
    if !st.companies.contains_key(&company) {
        return Err(ApiError::not_found("Company"));
    }
    if !st.contacts.contains_key(&contact) {
        return Err(ApiError::not_found("Contact"));
    }
    let body = crate::validate::optional_body_object(ctx.body)?;
    let mut c = Checker::new();
    let mut roles: Vec<String> = Vec::new();
    if let Some(arr) = c.array(&body, "", "roles", false) {
        for (i, v) in arr.iter().enumerate() {
            match v.as_str() {
                Some(r) if ["main", "invoicing", "dunning"].contains(&r) => {
                    if roles.iter().any(|x| x == r) {
                        c.fail(format!("roles[{i}]"), "roles must be unique");
                    }
                    roles.push(r.to_string());
                }
                _ => c.fail(
                    format!("roles[{i}]"),
                    "must be one of: main, invoicing, dunning",
                ),
            }
        }
    }
    c.finish()?;
    if st.company_contacts.contains_key(&(company, contact)) {
        return Ok(Reply::empty(StatusCode::OK));
    }
    // "the first contact will get all roles by default"
    if !st.company_contacts.keys().any(|(co, _)| *co == company) {
        roles = vec!["main".into(), "invoicing".into(), "dunning".into()];
    }
    if let Some(co) = st.companies.get_mut(&company) {
        for r in &roles {
            co.insert(format!("{r}_contact_id"), json!(contact));
        }
    }
    st.company_contacts.insert((company, contact), roles);
    Ok(Reply::empty(StatusCode::CREATED))
}

/// Address ids owned by a third party (for invoice address checks).
pub(crate) fn owns_address(st: &Store, owner: (PartyKind, u64), address_id: u64) -> bool {
    st.addresses
        .get(&address_id)
        .is_some_and(|a| a.owner == owner)
}
