//! The Sellsy backend against a local stand-in: what it sends, what it reuses, what it costs.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal_macros::dec;
use secrecy::SecretString;
use sellsy::backend::{SellsyBackend, SellsyBackendFactory};
use serde_json::{Value, json};
use support::{MemCache, Recorded, Reply, Stub, currencies, invoice, plan};
use woosellsy_domain::{
    ConnectorSecrets, ConnectorSettings, CustomerKind, DocumentKind, Exemption, LineDiscount,
    LineSource, PlanLine, TaxSpec,
};
use woosellsy_ports::{AccountingBackend, BackendFactory, IdKind, PortError};

/// A tiny Sellsy account: what exists, and ids for what gets created.
#[derive(Default)]
struct World {
    next_id: u64,
    individuals: Vec<Value>,
    companies: Vec<Value>,
    addresses: HashMap<String, Vec<Value>>,
    items: Vec<Value>,
    declinations: HashMap<u64, Vec<Value>>,
    invoices: Vec<Value>,
    /// Page size the invoice search uses (to exercise pagination).
    invoice_page: usize,
    /// Answer to `POST /invoices` instead of creating one.
    invoice_reply: Option<(u16, Value)>,
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        7000 + self.next_id
    }
}

fn emails_match(v: &Value, filter: &Value) -> bool {
    let email = v["email"].as_str().unwrap_or("").to_lowercase();
    email == filter.as_str().unwrap_or("").to_lowercase()
}

fn handle(world: &Mutex<World>, r: &Recorded) -> Reply {
    let mut w = world.lock().unwrap();
    let path: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    match (r.method.as_str(), path.as_slice()) {
        ("GET", ["currencies"]) => Reply::page(currencies()),
        ("GET", ["taxes"]) => Reply::page(support::taxes()),
        ("POST", ["individuals", "search"]) => Reply::page(Value::Array(
            w.individuals
                .iter()
                .filter(|i| emails_match(i, &r.body["filters"]["email"]))
                .cloned()
                .collect(),
        )),
        ("POST", ["companies", "search"]) => Reply::page(Value::Array(
            w.companies
                .iter()
                .filter(|c| emails_match(c, &r.body["filters"]["email"]))
                .cloned()
                .collect(),
        )),
        ("POST", ["individuals"])
        | ("POST", ["companies"])
        | ("POST", ["contacts"])
        | ("POST", ["items"]) => {
            let id = w.id();
            let mut created = r.body.clone();
            created["id"] = json!(id);
            match path[0] {
                "individuals" => w.individuals.push(created.clone()),
                "companies" => w.companies.push(created.clone()),
                "items" => w.items.push(created.clone()),
                _ => {}
            }
            Reply::created(created)
        }
        ("POST", [coll, id, "convert"]) => {
            let list = if *coll == "individuals" {
                &mut w.individuals
            } else {
                &mut w.companies
            };
            for p in list
                .iter_mut()
                .filter(|p| p["id"].as_u64() == id.parse().ok())
            {
                p["type"] = json!("client");
            }
            Reply::ok(json!({"id": id.parse::<u64>().unwrap(), "type": "client"}))
        }
        ("POST", ["companies", _, "contacts", _]) => Reply::created(json!({})),
        ("GET", [coll, id, "addresses"]) => Reply::page(Value::Array(
            w.addresses
                .get(&format!("{coll}/{id}"))
                .cloned()
                .unwrap_or_default(),
        )),
        ("POST", [coll, id, "addresses"]) => {
            let aid = w.id();
            let mut created = r.body.clone();
            created["id"] = json!(aid);
            w.addresses
                .entry(format!("{coll}/{id}"))
                .or_default()
                .push(created.clone());
            Reply::created(created)
        }
        ("POST", ["items", "search"]) => {
            // Looser than exact on purpose: the client must re-check the reference.
            let wanted = r.body["filters"]["reference"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            Reply::page(Value::Array(
                w.items
                    .iter()
                    .filter(|i| i["reference"].as_str().unwrap_or("").contains(&wanted))
                    .cloned()
                    .collect(),
            ))
        }
        ("GET", ["items", id, "declinations"]) => Reply::page(Value::Array(
            w.declinations
                .get(&id.parse().unwrap())
                .cloned()
                .unwrap_or_default(),
        )),
        ("POST", ["invoices"]) => {
            if let Some((status, body)) = &w.invoice_reply {
                return Reply::json(*status, body.clone());
            }
            let id = w.id();
            let mut created = invoice(id, r.body["order_reference"].as_str().unwrap_or(""));
            created["related"] = r.body["related"].clone();
            created["note"] = r.body["note"].clone();
            created["created"] = json!(chrono::Utc::now().to_rfc3339());
            w.invoices.push(created.clone());
            Reply::created(created)
        }
        ("POST", ["invoices", "search"]) => {
            let f = &r.body["filters"];
            let related = &f["related_objects"][0];
            let date = &f["date"]["start"];
            let time = |v: &Value| {
                v.as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            };
            let since = time(&f["created"]["start"]);
            let all: Vec<Value> = w
                .invoices
                .iter()
                .filter(|i| {
                    (related.is_null() || i["related"][0] == *related)
                        && (date.is_null() || i["date"] == *date)
                        && (f["created"].is_null()
                            || time(&i["created"]).is_some_and(|c| since.is_none_or(|s| c >= s)))
                })
                .cloned()
                .collect();
            let size = if w.invoice_page == 0 {
                100
            } else {
                w.invoice_page
            };
            let start: usize = r
                .query
                .get("offset")
                .map_or(0, |o| o.trim_start_matches('c').parse().unwrap());
            let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
            Reply::ok(
                json!({"data": page, "pagination": {"limit": size, "count": page.len(), "total": all.len(),
                "offset": format!("c{}", start + page.len())}}),
            )
        }
        _ => Reply::not_found(),
    }
}

async fn start(world: World) -> (Stub, Arc<Mutex<World>>, SellsyBackend) {
    let world = Arc::new(Mutex::new(world));
    let w = world.clone();
    let stub = Stub::start(move |r| handle(&w, r)).await;
    let backend = SellsyBackend::new(stub.client());
    (stub, world, backend)
}

fn calls(stub: &Stub) -> Vec<String> {
    stub.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn existing_customer() -> World {
    let mut w = World::default();
    w.individuals.push(
        json!({"id": 6657, "type": "client", "last_name": "Martin", "first_name": "Jean",
        "email": "Jean.Martin@EXAMPLE.com", "is_archived": false}),
    );
    w.addresses.insert(
        "individuals/6657".into(),
        vec![json!({"id": 9987, "name": "Domicile", "address_line_1": "30 Rue de la Paix", "address_line_2": null,
            "postal_code": "75002", "city": "PARIS", "country_code": "FR"})],
    );
    w.items.push(
        json!({"id": 500, "type": "product", "reference": "TSHIRT-M-XL", "is_archived": false}),
    );
    w.items
        .push(json!({"id": 501, "type": "product", "reference": "TSHIRT-M", "is_archived": false}));
    w
}

#[tokio::test]
async fn a_new_customer_gets_a_client_record_an_address_an_item_and_the_invoice() {
    let (stub, _world, backend) = start(World::default()).await;
    let cache = MemCache::default();
    let doc = backend.create_document(&plan(), &cache).await.unwrap();

    assert_eq!(doc.kind, DocumentKind::Invoice);
    assert_eq!(
        doc.number.as_deref(),
        Some(format!("FAC-{}", doc.id).as_str())
    );
    assert_eq!(
        doc.url,
        Some(format!("https://sellsy.example/pub/{}", doc.id))
    );
    assert_eq!(
        calls(&stub),
        [
            "GET /currencies",
            "POST /individuals/search",
            "POST /individuals",
            // created just now: no need to list its addresses
            "POST /individuals/7001/addresses",
            "GET /taxes",
            "POST /items/search",
            "POST /items",
            "POST /invoices"
        ]
    );
    assert_eq!(
        stub.requests_to("POST", "/individuals")[0].body,
        json!({"type": "client", "last_name": "Martin", "first_name": "Jean", "email": "jean.martin@example.com",
               "phone_number": "+33600000000"})
    );
    assert_eq!(
        stub.requests_to("POST", "/individuals/7001/addresses")[0].body,
        json!({"name": "Facturation", "address_line_1": "30 rue de la Paix", "postal_code": "75002", "city": "Paris",
               "country_code": "FR"})
    );
    assert_eq!(
        stub.requests_to("POST", "/items")[0].body,
        json!({"type": "product", "reference": "TSHIRT-M", "name": "T-shirt bleu", "reference_price": "24.9167",
               "is_reference_price_taxes_free": true, "tax_id": 10})
    );
    assert_eq!(
        stub.requests_to("POST", "/invoices")[0].body,
        json!({
            "related": [{"type": "individual", "id": 7001}],
            "date": "2024-06-01",
            "subject": "Commande WooCommerce #1042",
            "currency": "EUR",
            "order_reference": "WC-1042",
            "public_link_enabled": true,
            "invoicing_address_id": 7002,
            "delivery_address_id": 7002,
            "rows": [
                {"type": "catalog", "related": {"id": 7003, "type": "product"}, "reference": "TSHIRT-M",
                 "description": "T-shirt bleu\nTaille M", "quantity": "2", "unit_amount": "24.9167", "tax_id": 10},
                {"type": "single", "reference": "SHIPPING", "description": "Colissimo", "quantity": "1",
                 "unit_amount": "5.00", "tax_id": 10}
            ],
            "note": "Référence connecteur : woosellsy:shop-1:1042<br />Coupon SUMMER appliqué"
        })
    );
    assert_eq!(
        cache
            .get_now(IdKind::Customer, "jean.martin@example.com")
            .as_deref(),
        Some("individual:7001")
    );
    assert_eq!(
        cache.get_now(IdKind::Item, "TSHIRT-M").as_deref(),
        Some("product:7003")
    );
    assert_eq!(cache.get_now(IdKind::Tax, "rate:20").as_deref(), Some("10"));
    assert_eq!(
        cache.get_now(IdKind::Other, "currency:EUR").as_deref(),
        Some("1")
    );
    assert_eq!(backend.calls_made(), 8);
}

#[tokio::test]
async fn a_returning_customer_with_known_products_costs_exactly_one_call() {
    let (stub, _world, backend) = start(World::default()).await;
    let cache = MemCache::default();
    backend.create_document(&plan(), &cache).await.unwrap();
    let before = backend.calls_made();

    let mut next = plan();
    next.order_id = woosellsy_domain::OrderId(1043);
    next.order_reference = "WC-1043".into();
    next.customer.email = "jean.martin@example.com".into();
    let doc = backend.create_document(&next, &cache).await.unwrap();

    assert_eq!(backend.calls_made() - before, 1);
    assert_eq!(
        calls(&stub).last().map(String::as_str),
        Some("POST /invoices")
    );
    let sent = &stub.requests_to("POST", "/invoices")[1].body;
    assert_eq!(sent["order_reference"], "WC-1043");
    assert_eq!(sent["related"], json!([{"type": "individual", "id": 7001}]));
    assert_eq!(
        sent["rows"][0]["related"],
        json!({"id": 7003, "type": "product"})
    );
    assert_ne!(doc.id, "");
}

#[tokio::test]
async fn an_existing_customer_is_found_by_email_whatever_its_case_and_its_address_and_item_reused()
{
    let (stub, _world, backend) = start(existing_customer()).await;
    let cache = MemCache::default();
    backend.create_document(&plan(), &cache).await.unwrap();

    let c = calls(&stub);
    assert!(!c.iter().any(|c| c == "POST /individuals"), "{c:?}");
    assert!(
        !c.iter()
            .any(|c| c.ends_with("/addresses") && c.starts_with("POST")),
        "{c:?}"
    );
    assert!(!c.iter().any(|c| c == "POST /items"), "{c:?}");
    assert_eq!(
        stub.requests_to("POST", "/individuals/search")[0].body,
        json!({"filters": {"email": "jean.martin@example.com"}})
    );
    let sent = &stub.requests_to("POST", "/invoices")[0].body;
    assert_eq!(sent["related"], json!([{"type": "individual", "id": 6657}]));
    assert_eq!(sent["invoicing_address_id"], 9987);
    assert_eq!(sent["delivery_address_id"], 9987);
    // TSHIRT-M-XL also matched the search; only the exact reference is used.
    assert_eq!(
        sent["rows"][0]["related"],
        json!({"id": 501, "type": "product"})
    );
    assert_eq!(
        cache
            .get_now(IdKind::Customer, "jean.martin@example.com")
            .as_deref(),
        Some("individual:6657")
    );
}

#[tokio::test]
async fn a_returning_customer_with_a_new_shipping_address_gets_it_added() {
    let (stub, world, backend) = start(existing_customer()).await;
    let cache = MemCache::default();
    backend.create_document(&plan(), &cache).await.unwrap();
    let before = stub.requests().len();

    let mut next = plan();
    next.order_reference = "WC-1050".into();
    let mut lyon = support::paris();
    lyon.label = "Livraison".into();
    lyon.line1 = "2 place Bellecour".into();
    lyon.postal_code = "69002".into();
    lyon.city = "Lyon".into();
    next.customer.shipping = Some(lyon);
    backend.create_document(&next, &cache).await.unwrap();

    let new_calls: Vec<String> = calls(&stub).split_off(before);
    assert_eq!(
        new_calls,
        [
            "GET /individuals/6657/addresses",
            "POST /individuals/6657/addresses",
            "POST /invoices"
        ]
    );
    assert_eq!(
        world.lock().unwrap().individuals.len(),
        1,
        "no second customer"
    );
    let created = stub.requests_to("POST", "/individuals/6657/addresses")[0]
        .body
        .clone();
    assert_eq!(created["city"], "Lyon");
    assert_eq!(created["name"], "Livraison");
    let sent = &stub.requests_to("POST", "/invoices")[1].body;
    assert_eq!(sent["invoicing_address_id"], 9987);
    assert_ne!(sent["delivery_address_id"], 9987);
}

#[tokio::test]
async fn a_prospect_is_converted_to_a_client_before_being_invoiced() {
    let mut w = existing_customer();
    w.individuals[0]["type"] = json!("prospect");
    let (stub, _world, backend) = start(w).await;
    backend
        .create_document(&plan(), &MemCache::default())
        .await
        .unwrap();
    let convert = stub.requests_to("POST", "/individuals/6657/convert");
    assert_eq!(convert.len(), 1);
    assert_eq!(
        convert[0].body,
        json!({"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}})
    );
    assert!(stub.requests_to("POST", "/individuals").is_empty());
}

#[tokio::test]
async fn a_company_gets_its_vat_number_and_the_buyer_as_contact() {
    let (stub, _world, backend) = start(World::default()).await;
    let mut p = plan();
    p.customer.kind = CustomerKind::Company {
        name: "ACME  SAS".into(),
        vat_number: Some("FR 12 345678901".into()),
        contact_first_name: "Jean".into(),
        contact_last_name: "Martin".into(),
    };
    backend
        .create_document(&p, &MemCache::default())
        .await
        .unwrap();

    assert_eq!(stub.requests_to("POST", "/companies/search").len(), 1);
    assert!(stub.requests_to("POST", "/individuals/search").is_empty());
    assert_eq!(
        stub.requests_to("POST", "/companies")[0].body,
        json!({"type": "client", "name": "ACME SAS", "email": "jean.martin@example.com", "phone_number": "+33600000000",
               "legal_france": {"vat": "FR12345678901"}})
    );
    assert_eq!(
        stub.requests_to("POST", "/contacts")[0].body,
        json!({"last_name": "Martin", "first_name": "Jean", "email": "jean.martin@example.com", "phone_number": "+33600000000"})
    );
    let link = stub.requests_to("POST", "/companies/7001/contacts/7002");
    assert_eq!(link[0].body, json!({"roles": ["main", "invoicing"]}));
    assert_eq!(
        stub.requests_to("POST", "/companies/7001/addresses").len(),
        1
    );
    let sent = &stub.requests_to("POST", "/invoices")[0].body;
    assert_eq!(sent["related"], json!([{"type": "company", "id": 7001}]));
}

#[tokio::test]
async fn a_variation_uses_the_declination_of_its_parent_item() {
    let mut w = World::default();
    w.items
        .push(json!({"id": 500, "type": "product", "reference": "TSHIRT", "is_declined": true}));
    w.declinations.insert(
        500,
        vec![
            json!({"id": 3, "reference": "TSHIRT-M-BLUE", "item_id": 500}),
            json!({"id": 4, "reference": "TSHIRT-L-BLUE", "item_id": 500}),
        ],
    );
    let (stub, _world, backend) = start(w).await;
    let cache = MemCache::default();
    let mut p = plan();
    p.lines[0].source = LineSource::Catalog {
        sku: "TSHIRT-M-BLUE".into(),
        parent_sku: Some("TSHIRT".into()),
        is_variation: true,
    };
    backend.create_document(&p, &cache).await.unwrap();

    assert!(stub.requests_to("POST", "/items").is_empty());
    let sent = &stub.requests_to("POST", "/invoices")[0].body;
    assert_eq!(
        sent["rows"][0]["related"],
        json!({"id": 500, "type": "product", "declination_id": 3})
    );
    assert_eq!(
        cache.get_now(IdKind::Item, "TSHIRT-M-BLUE").as_deref(),
        Some("product:500:declination:3")
    );
    assert_eq!(
        cache.get_now(IdKind::Item, "TSHIRT").as_deref(),
        Some("product:500")
    );
}

#[tokio::test]
async fn exemptions_use_the_compliant_tax_and_free_rows_carry_references_and_discounts() {
    let (stub, _world, backend) = start(existing_customer()).await;
    let mut p = plan();
    p.lines = vec![
        PlanLine {
            source: LineSource::Product {
                reference: Some("X".into()),
            },
            name: "Gravure".into(),
            description: String::new(),
            quantity: dec!(3),
            unit_amount: dec!(4.1667),
            tax: TaxSpec::Exempt(Exemption::IntraEu),
            discount: Some(LineDiscount::Percent(dec!(10))),
        },
        PlanLine {
            source: LineSource::Fee,
            name: "Frais de dossier".into(),
            description: "Dossier".into(),
            quantity: dec!(1),
            unit_amount: dec!(10.00),
            tax: TaxSpec::Rate(dec!(5.50)),
            discount: Some(LineDiscount::Amount(dec!(2.50))),
        },
        PlanLine {
            source: LineSource::Rounding,
            name: String::new(),
            description: String::new(),
            quantity: dec!(1),
            unit_amount: dec!(-0.01),
            tax: TaxSpec::Exempt(Exemption::IntraEu),
            discount: None,
        },
    ];
    backend
        .create_document(&p, &MemCache::default())
        .await
        .unwrap();
    let rows = stub.requests_to("POST", "/invoices")[0].body["rows"].clone();
    assert_eq!(
        rows,
        json!([
            {"type": "single", "reference": "X", "description": "Gravure", "quantity": "3", "unit_amount": "4.1667",
             "tax_id": 13, "discount": {"type": "percent", "value": "10"}},
            {"type": "single", "reference": "FEE", "description": "Frais de dossier\nDossier", "quantity": "1",
             "unit_amount": "10.00", "tax_id": 11, "discount": {"type": "amount", "value": "2.50"}},
            {"type": "single", "reference": "ROUNDING", "description": "Ajustement d'arrondi", "quantity": "1",
             "unit_amount": "-0.01", "tax_id": 13}
        ])
    );
    assert_eq!(
        stub.requests_to("GET", "/taxes").len(),
        1,
        "taxes are listed once per document"
    );
}

fn permanent(e: PortError) -> String {
    match e {
        PortError::Permanent { message } => message,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rate_sellsy_does_not_have_is_a_readable_permanent_error() {
    let (stub, _world, backend) = start(existing_customer()).await;
    let mut p = plan();
    p.lines[1].tax = TaxSpec::Rate(dec!(7));
    let msg = permanent(
        backend
            .create_document(&p, &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("rate 7 %"), "{msg}");
    assert!(stub.requests_to("POST", "/invoices").is_empty());
}

#[tokio::test]
async fn only_compliant_zero_taxes_of_the_right_category_are_used() {
    let (stub, _world, backend) = start(existing_customer()).await;
    let mut p = plan();
    p.lines[1].tax = TaxSpec::Exempt(Exemption::Export);
    let msg = permanent(
        backend
            .create_document(&p, &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("category G"), "{msg}");
    assert!(stub.requests_to("POST", "/invoices").is_empty());
}

#[tokio::test]
async fn a_currency_not_enabled_in_sellsy_is_refused_before_anything_is_created() {
    let (stub, _world, backend) = start(World::default()).await;
    let mut p = plan();
    p.currency = "USD".into();
    let msg = permanent(
        backend
            .create_document(&p, &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(
        msg.contains("currency USD is not enabled in Sellsy"),
        "{msg}"
    );
    assert_eq!(calls(&stub), ["GET /currencies"]);
}

#[tokio::test]
async fn an_impossible_address_fails_with_the_reason_and_creates_nothing() {
    let (stub, _world, backend) = start(World::default()).await;
    let mut p = plan();
    p.customer.billing.postal_code = String::new();
    let msg = permanent(
        backend
            .create_document(&p, &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("billing address has no postal code"), "{msg}");
    assert!(stub.requests_to("POST", "/invoices").is_empty());
}

#[tokio::test]
async fn a_validation_error_reaches_the_merchant_with_its_field_details() {
    let mut w = existing_customer();
    w.invoice_reply = Some((
        400,
        json!({"error": {"code": 400, "message": "Invalid request", "context": "",
               "details": {"rows[0].quantity": "Quantity must be positive"}}}),
    ));
    let (_stub, _world, backend) = start(w).await;
    let msg = permanent(
        backend
            .create_document(&plan(), &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(
        msg.contains("creating the Sellsy invoice for WC-1042"),
        "{msg}"
    );
    assert!(
        msg.contains("rows[0].quantity: Quantity must be positive"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_quota_that_stays_exhausted_is_a_transient_error() {
    let mut w = existing_customer();
    w.invoice_reply = Some((
        429,
        json!({"error": {"code": 429, "message": "Too many requests"}}),
    ));
    let (stub, _world, backend) = start(w).await;
    let err = backend
        .create_document(&plan(), &MemCache::default())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        stub.requests_to("POST", "/invoices").len(),
        4,
        "429 means not processed: retried, bounded"
    );
}

/// An invoice of the customer as an earlier version made it (no identity) or as another connector or order
/// made it (`identity`).
fn invoice_with(id: u64, reference: &str, identity: Option<&str>) -> Value {
    let mut i = invoice(id, reference);
    if let Some(identity) = identity {
        i["note"] = json!(format!(
            "Référence connecteur : {identity}<br />Coupon SUMMER appliqué"
        ));
    }
    i
}

#[tokio::test]
async fn find_document_adopts_an_invoice_without_identity_only_when_it_is_the_only_candidate() {
    // Made before invoices carried their identity: found by customer, date and order reference, as before.
    let mut w = existing_customer();
    w.invoice_page = 2;
    for (id, reference) in [
        (801, "WC-1040"),
        (802, "WC-10421"),
        (803, "WC-1041"),
        (804, "WC-1042"),
        (805, "WC-1043"),
    ] {
        w.invoices.push(invoice(id, reference));
    }
    let (stub, world, backend) = start(w).await;
    let found = backend
        .find_document(&plan(), &MemCache::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "804");
    assert_eq!(found.number.as_deref(), Some("FAC-804"));
    assert_eq!(found.url.as_deref(), Some("https://sellsy.example/pub/804"));
    let searches = stub.requests_to("POST", "/invoices/search");
    assert_eq!(
        searches.len(),
        3,
        "every page is read: one with our identity may come later"
    );
    assert_eq!(
        searches[0].body,
        json!({"filters": {"related_objects": [{"type": "individual", "id": 6657}]}}),
        "no attempt time known: the customer's invoices of any date"
    );
    assert_eq!(
        searches[1].query.get("offset").map(String::as_str),
        Some("c2")
    );

    let mut other = plan();
    other.order_reference = "WC-999".into();
    assert_eq!(
        backend
            .find_document(&other, &MemCache::default())
            .await
            .unwrap(),
        None
    );

    // Two of them: ambiguous, none is adopted.
    world.lock().unwrap().invoices.push(invoice(806, "WC-1042"));
    assert_eq!(
        backend
            .find_document(&plan(), &MemCache::default())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn find_document_never_adopts_an_invoice_with_another_identity() {
    // Failed before this change: another connector's WC-1042 of the same customer and date was adopted.
    let mut w = existing_customer();
    w.invoices
        .push(invoice_with(801, "WC-1042", Some("woosellsy:shop-2:1042")));
    w.invoices
        .push(invoice_with(802, "WC-1042", Some("woosellsy:shop-1:10420")));
    let (_stub, world, backend) = start(w).await;
    assert_eq!(
        backend
            .find_document(&plan(), &MemCache::default())
            .await
            .unwrap(),
        None
    );
    // Ours is found whatever its reference or date now say.
    let mut ours = invoice_with(803, "WC-renamed", Some("woosellsy:shop-1:1042"));
    ours["date"] = json!("2024-05-30");
    world.lock().unwrap().invoices.push(ours);
    let found = backend
        .find_document(&plan(), &MemCache::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "803");
}

#[tokio::test]
async fn find_document_after_an_attempt_lists_the_invoices_created_since_and_matches_the_identity()
{
    let (stub, _world, backend) = start(World::default()).await;
    let cache = MemCache::default();
    let before = chrono::Utc::now();
    let created = backend.create_document(&plan(), &cache).await.unwrap();
    // The order's customer changed email and its date moved: the search depends on neither.
    let mut changed = plan();
    changed.customer.email = "jean.martin@new.example".into();
    changed.date = changed.date.succ_opt().unwrap();
    let found = backend.find_document(&changed, &cache).await.unwrap();
    assert_eq!(found, Some(created));
    let searches = stub.requests_to("POST", "/invoices/search");
    assert_eq!(searches.len(), 1, "{searches:?}");
    let start = searches[0].body["filters"]["created"]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = chrono::DateTime::parse_from_rfc3339(&start).unwrap();
    assert!(
        start <= before && start > before - chrono::Duration::hours(2),
        "{start}"
    );
    assert_eq!(
        searches[0].body["filters"].as_object().unwrap().len(),
        1,
        "created only: {searches:?}"
    );
}

#[tokio::test]
async fn find_document_for_an_unknown_customer_is_none_without_searching_invoices() {
    let (stub, _world, backend) = start(World::default()).await;
    assert_eq!(
        backend
            .find_document(&plan(), &MemCache::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(calls(&stub), ["POST /individuals/search"]);
}

#[tokio::test]
async fn find_document_finds_what_create_document_made() {
    let (_stub, _world, backend) = start(World::default()).await;
    let cache = MemCache::default();
    let created = backend.create_document(&plan(), &cache).await.unwrap();
    let found = backend.find_document(&plan(), &cache).await.unwrap();
    assert_eq!(found, Some(created));
}

#[tokio::test]
async fn other_document_kinds_are_not_supported_yet() {
    let (stub, _world, backend) = start(World::default()).await;
    let mut p = plan();
    p.kind = DocumentKind::CreditNote;
    let msg = permanent(
        backend
            .create_document(&p, &MemCache::default())
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("not supported yet"), "{msg}");
    assert!(stub.requests().is_empty());
}

fn settings(stub: &Stub, id: &str) -> ConnectorSettings {
    // Through serde, so that settings fields added later take their defaults here.
    serde_json::from_value(json!({
        "id": id,
        "woocommerce_url": "https://shop.example.fr",
        "sellsy_api_url": format!("{}/v2", stub.url),
        "sellsy_token_url": format!("{}/oauth2/access-tokens", stub.url),
        "sellsy_requests_per_second": 50
    }))
    .unwrap()
}

fn secrets(secret: &str) -> ConnectorSecrets {
    ConnectorSecrets {
        woocommerce_consumer_key: SecretString::from("ck"),
        woocommerce_consumer_secret: SecretString::from("cs"),
        webhook_secret: SecretString::from("wh"),
        sellsy_client_id: "client-42".into(),
        sellsy_client_secret: SecretString::from(secret),
    }
}

#[tokio::test]
async fn the_factory_keeps_one_client_per_connector() {
    let (stub, _world, _backend) = start(World::default()).await;
    let factory = SellsyBackendFactory::new();
    let shop = settings(&stub, "shop-1");
    let a = factory.backend(&shop, &secrets("s3cret")).unwrap();
    let b = factory.backend(&shop, &secrets("s3cret")).unwrap();
    a.find_document(&plan(), &MemCache::default())
        .await
        .unwrap();
    b.find_document(&plan(), &MemCache::default())
        .await
        .unwrap();
    assert_eq!(stub.tokens_issued(), 1, "one token cache per connector");
    assert_eq!(b.calls_made(), 2);

    let other = factory
        .backend(&settings(&stub, "shop-2"), &secrets("s3cret"))
        .unwrap();
    assert_eq!(other.calls_made(), 0);
    let rotated = factory.backend(&shop, &secrets("rotated")).unwrap();
    assert_eq!(rotated.calls_made(), 0, "new keys, new client");
}
