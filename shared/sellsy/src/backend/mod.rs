//! The Sellsy accounting backend: a [`DocumentPlan`] in, exactly one Sellsy invoice out.
//!
//! Everything the invoice refers to is resolved through the connector's [`IdCache`] first and
//! the API only on a miss, so that a returning customer with known products costs one call (the
//! create):
//! * currency — must be enabled on the account (`GET /currencies`);
//! * customer — by lower-cased email: company or individual per the plan, created as `client` when
//!   absent, converted when found as a `prospect`;
//! * addresses — the billing and shipping addresses, reused when the customer already has the same
//!   place, created otherwise;
//! * items — catalog rows by SKU (an item with that reference, a declination of the parent item, or a
//!   new product item); other lines are free (`single`) rows;
//! * taxes — the active, e-invoicing-compliant tax of the line's rate, or the compliant 0 % tax of the
//!   exemption's category (never a legacy 0 % tax, which Sellsy rejects on rows).
//!
//! Cache writes are best effort: a failed write costs a search next time, never the document. Cached ids
//! that went stale in Sellsy are looked up afresh once when Sellsy refuses the invoice ([`stale`]).

mod address;
mod stale;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use woosellsy_domain::{
    ConnectorId, ConnectorSecrets, ConnectorSettings, CustomerKind, DocumentKind, DocumentPlan,
    LineDiscount, LineSource, PlanLine, TaxSpec,
};
use woosellsy_ports::{
    AccountingBackend, BackendFactory, DocumentRef, IdCache, IdKind, PortError, PortResult,
};

use crate::client::types::{
    Address as SellsyAddress, CatalogItemType, CatalogRelated, CatalogRow, DateRange, DiscountType,
    DocumentTax, Id, Invoice, InvoiceFilters, Item, LegalFrance, NewAddress, NewCompany,
    NewContact, NewIndividual, NewInvoice, NewItem, Related, Row, RowDiscount, SingleRow,
    THIRD_PARTY_CLIENT, THIRD_PARTY_PROSPECT, Tax, ThirdPartyKind, ThirdPartyRef,
    ThirdPartySummary,
};
use crate::client::{CallRetries, Client, ClientConfig, Error};
use address::Role;

/// Maximum lengths Sellsy enforces on what the backend sends.
const ORDER_REFERENCE_MAX: usize = 100;
const NOTE_MAX: usize = 65_535;
const ROW_REFERENCE_MAX: usize = 250;
const ITEM_NAME_MAX: usize = 250;
const PERSON_NAME_MAX: usize = 200;
const COMPANY_NAME_MAX: usize = 250;

/// Creates and finds documents of one connector in its Sellsy account.
#[derive(Debug, Clone)]
pub struct SellsyBackend {
    client: Client,
    verify_with_compute: bool,
}

impl SellsyBackend {
    pub fn new(client: Client) -> Self {
        SellsyBackend {
            client,
            verify_with_compute: false,
        }
    }

    /// Asks Sellsy to compute each invoice before creating it, and refuses a total that differs from
    /// the plan's (see `ConnectorSettings::verify_totals_with_sellsy`).
    pub fn verifying_totals(mut self, verify: bool) -> Self {
        self.verify_with_compute = verify;
        self
    }

    /// The client this backend calls (shared with every backend of the same connector).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl AccountingBackend for SellsyBackend {
    async fn create_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<DocumentRef> {
        supported(plan.kind)?;
        let counted = stale::Counted::new(cache);
        match self.create_invoice(plan, &counted).await {
            Err(PortError::Permanent { message }) if counted.hits() > 0 => {
                tracing::warn!(
                    order = %plan.order_id,
                    reason = %message,
                    "Sellsy refused the invoice while remembered ids were used; looking them up afresh once"
                );
                self.create_invoice(plan, &stale::Fresh(cache)).await
            }
            other => other,
        }
    }

    async fn find_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>> {
        supported(plan.kind)?;
        self.find_invoice(plan, cache).await
    }

    /// Calls made by this connector's client (every backend of a connector shares it).
    fn calls_made(&self) -> u64 {
        self.client.calls_made()
    }
}

/// The document kinds this backend creates; the configuration refuses any other when it is loaded.
pub const CREATABLE_KINDS: &[DocumentKind] = &[DocumentKind::Invoice];

fn supported(kind: DocumentKind) -> PortResult<()> {
    if CREATABLE_KINDS.contains(&kind) {
        return Ok(());
    }
    Err(PortError::permanent(format!(
        "creating a Sellsy {kind} is not supported yet (only invoices are)"
    )))
}

/// Classifies a client error for the caller: retry later, keys refused (the connector's condition, not
/// the order's), or a reason for the merchant.
fn port_error(what: &str, e: Error) -> PortError {
    if matches!(e, Error::Auth { .. } | Error::Api { status: 401, .. }) {
        return PortError::unauthorized(format!("{what}: {e}"));
    }
    if e.is_transient() {
        PortError::Transient {
            message: format!("{what}: {e}"),
            retry_after: e.retry_after(),
        }
    } else {
        PortError::permanent(format!("{what} failed: {e}"))
    }
}

async fn remember(cache: &dyn IdCache, kind: IdKind, key: &str, value: &str) {
    if let Err(e) = cache.put(kind, key, value).await {
        tracing::warn!(kind = kind.as_str(), key, error = %e, "could not cache a Sellsy id; it will be looked up again");
    }
}

fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars()
            .take(max)
            .collect::<String>()
            .trim_end()
            .to_owned()
    }
}

fn customer_kind(plan: &DocumentPlan) -> ThirdPartyKind {
    match plan.customer.kind {
        CustomerKind::Individual { .. } => ThirdPartyKind::Individual,
        CustomerKind::Company { .. } => ThirdPartyKind::Company,
    }
}

fn customer_key(plan: &DocumentPlan) -> String {
    plan.customer.email.trim().to_lowercase()
}

fn order_reference(plan: &DocumentPlan) -> String {
    truncate(plan.order_reference.trim(), ORDER_REFERENCE_MAX)
}

/// The customer to invoice, among third parties found by email: a client first, else a prospect
/// (converted before use). Archived ones and suppliers cannot be invoiced and are passed over; the
/// lowest id wins among equals, so the choice is stable.
fn pick_customer(found: &[ThirdPartySummary]) -> Option<&ThirdPartySummary> {
    let best = |kind: &str| {
        found
            .iter()
            .filter(|s| !s.is_archived && s.kind == kind)
            .min_by_key(|s| s.party.id)
    };
    best(THIRD_PARTY_CLIENT).or_else(|| best(THIRD_PARTY_PROSPECT))
}

struct Customer {
    party: ThirdPartyRef,
    /// Created by this call: it has no addresses yet, no need to list them.
    created: bool,
}

/// A catalog item as the cache stores it: `product:12`, `service:4`, `product:12:declination:3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ItemRef {
    kind: CatalogItemType,
    id: Id,
    declination_id: Option<Id>,
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)?;
        if let Some(d) = self.declination_id {
            write!(f, ":declination:{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ItemRef {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let parts: Vec<&str> = s.split(':').collect();
        let kind = CatalogItemType::parse(parts.first().copied().unwrap_or_default()).ok_or(())?;
        let id = parts.get(1).ok_or(())?.parse().map_err(|_| ())?;
        let declination_id = match parts.get(2..) {
            Some([]) | None => None,
            Some(["declination", d]) => Some(d.parse().map_err(|_| ())?),
            Some(_) => return Err(()),
        };
        Ok(ItemRef {
            kind,
            id,
            declination_id,
        })
    }
}

fn usable_item(item: &Item) -> Option<ItemRef> {
    CatalogItemType::parse(&item.kind).map(|kind| ItemRef {
        kind,
        id: item.id,
        declination_id: None,
    })
}

fn tax_key(spec: TaxSpec) -> String {
    match spec {
        TaxSpec::Rate(r) => format!("rate:{}", r.normalize()),
        TaxSpec::Exempt(e) => format!("exempt:{}", e.category()),
    }
}

fn describe_tax(spec: TaxSpec) -> String {
    match spec {
        TaxSpec::Rate(r) => format!("rate {} %", r.normalize()),
        TaxSpec::Exempt(e) => format!("0 % exemption of category {} ({e:?})", e.category()),
    }
}

/// The Sellsy tax for `spec`: active, e-invoicing compliant, not an ecotax; for a rate the standard
/// category is preferred, for an exemption the category must match. Lowest id among equals.
fn choose_tax(taxes: &[Tax], spec: TaxSpec) -> Option<Id> {
    let usable = taxes
        .iter()
        .filter(|t| t.is_active && t.is_einvoicing_compliant && !t.is_ecotax);
    match spec {
        TaxSpec::Rate(rate) => usable
            .filter(|t| t.rate == Some(rate))
            .min_by_key(|t| {
                let rank = match t.category.as_deref() {
                    Some("S") => 0,
                    None => 1,
                    Some("E" | "K" | "G" | "AE" | "O") => 3,
                    Some(_) => 2,
                };
                (rank, t.id)
            })
            .map(|t| t.id),
        TaxSpec::Exempt(e) => usable
            .filter(|t| {
                t.rate == Some(Decimal::ZERO) && t.category.as_deref() == Some(e.category())
            })
            .min_by_key(|t| t.id)
            .map(|t| t.id),
    }
}

/// What is printed on a row: the name, then the longer description when there is one.
fn row_text(line: &PlanLine) -> String {
    let name = tidy(&line.name);
    let description = line.description.trim();
    let text = match (name.is_empty(), description.is_empty()) {
        (false, true) => name,
        (true, false) => description.to_owned(),
        (false, false) => format!("{name}\n{description}"),
        (true, true) => String::new(),
    };
    if !text.is_empty() {
        return text;
    }
    match &line.source {
        LineSource::Catalog { sku, .. } => sku.clone(),
        LineSource::Product { .. } => "Article".to_owned(),
        LineSource::Shipping { .. } => "Livraison".to_owned(),
        LineSource::Fee => "Frais".to_owned(),
        LineSource::Rounding => "Ajustement d'arrondi".to_owned(),
    }
}

fn row_discount(d: Option<LineDiscount>) -> Option<RowDiscount> {
    d.map(|d| match d {
        LineDiscount::Amount(v) => RowDiscount {
            kind: DiscountType::Amount,
            value: v,
        },
        LineDiscount::Percent(v) => RowDiscount {
            kind: DiscountType::Percent,
            value: v,
        },
    })
}

/// `note` is HTML in Sellsy: escape the notes and put one per line.
fn note_html(notes: &[String]) -> Option<String> {
    let lines: Vec<String> = notes
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "<br />")
        })
        .collect();
    if lines.is_empty() {
        None
    } else {
        Some(truncate(&lines.join("<br />"), NOTE_MAX))
    }
}

fn document_ref(invoice: &Invoice) -> DocumentRef {
    DocumentRef {
        kind: DocumentKind::Invoice,
        id: invoice.id.to_string(),
        number: invoice.number.clone().filter(|n| !n.trim().is_empty()),
        url: invoice
            .public_link
            .as_ref()
            .and_then(|l| l.url.clone())
            .filter(|u| !u.trim().is_empty()),
        warning: None,
    }
}

/// Where Sellsy's own figures for an invoice (computed, or just created) differ from the plan's, which are
/// WooCommerce's: the plan was checked against a model of Sellsy's arithmetic, and this checks the model.
/// `None` when they agree. Tax is compared when Sellsy gave tax figures.
fn figures_gap(plan: &DocumentPlan, total: Decimal, taxes: &[DocumentTax]) -> Option<String> {
    if total != plan.totals.incl_tax {
        return Some(format!(
            "Sellsy totals it to {total} where WooCommerce says {} {}",
            plan.totals.incl_tax, plan.currency
        ));
    }
    let amounts: Vec<Decimal> = taxes.iter().filter_map(|t| t.amount).collect();
    let tax: Decimal = amounts.iter().sum();
    (!amounts.is_empty() && tax != plan.totals.tax).then(|| {
        format!(
            "Sellsy puts {tax} of tax on it where WooCommerce says {} {}",
            plan.totals.tax, plan.currency
        )
    })
}

/// Resolves every tax of one plan, listing Sellsy's taxes at most once.
struct TaxBook {
    all: Option<Vec<Tax>>,
    resolved: HashMap<TaxSpec, Id>,
}

impl SellsyBackend {
    async fn create_invoice(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<DocumentRef> {
        let currency = self.ensure_currency(&plan.currency, cache).await?;
        let customer = self.resolve_customer(plan, cache).await?;
        let (invoicing_address_id, delivery_address_id) =
            self.resolve_addresses(&customer, plan, cache).await?;

        let mut taxes = TaxBook {
            all: None,
            resolved: HashMap::new(),
        };
        let mut items: HashMap<String, ItemRef> = HashMap::new();
        let mut rows = Vec::with_capacity(plan.lines.len());
        for line in &plan.lines {
            let tax_id = self.resolve_tax(line.tax, &mut taxes, cache).await?;
            let description = row_text(line);
            let discount = row_discount(line.discount);
            let row = match &line.source {
                LineSource::Catalog {
                    sku,
                    parent_sku,
                    is_variation,
                } => {
                    let item = self
                        .resolve_item(
                            line,
                            sku,
                            parent_sku.as_deref(),
                            *is_variation,
                            tax_id,
                            &mut items,
                            cache,
                        )
                        .await?;
                    Row::Catalog(CatalogRow {
                        related: CatalogRelated {
                            id: item.id,
                            kind: item.kind,
                            declination_id: item.declination_id,
                        },
                        reference: Some(truncate(sku, ROW_REFERENCE_MAX)),
                        description,
                        quantity: line.quantity,
                        unit_amount: line.unit_amount,
                        tax_id,
                        discount,
                    })
                }
                other => {
                    let reference = match other {
                        LineSource::Product { reference } => reference
                            .as_deref()
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(str::to_owned),
                        LineSource::Shipping { .. } => Some("SHIPPING".to_owned()),
                        LineSource::Fee => Some("FEE".to_owned()),
                        _ => Some("ROUNDING".to_owned()),
                    };
                    Row::Single(SingleRow {
                        reference: reference.map(|r| truncate(&r, ROW_REFERENCE_MAX)),
                        description,
                        quantity: line.quantity,
                        unit_amount: line.unit_amount,
                        tax_id,
                        discount,
                    })
                }
            };
            rows.push(row);
        }

        let body = NewInvoice {
            related: vec![Related::from(customer.party)],
            date: plan.date,
            subject: plan.subject.trim().to_owned(),
            currency,
            order_reference: order_reference(plan),
            public_link_enabled: true,
            invoicing_address_id: Some(invoicing_address_id),
            delivery_address_id: Some(delivery_address_id),
            rows,
            note: note_html(&plan.notes),
        };
        if self.verify_with_compute {
            self.check_computed_totals(plan, &body).await?;
        }
        let invoice = self.client.create_invoice(&body).await.map_err(|e| {
            let what = format!("creating the Sellsy invoice for {}", body.order_reference);
            match e {
                // Sellsy answered 2xx but the body could not be read: the invoice probably exists.
                // Transient keeps the engine's claim, so the retry searches before creating again.
                Error::Decode { .. } => PortError::Transient {
                    message: format!("{what}: {e}"),
                    retry_after: None,
                },
                e => port_error(&what, e),
            }
        })?;
        tracing::info!(
            order = %plan.order_id,
            invoice_id = invoice.id,
            number = invoice.number.as_deref().unwrap_or(""),
            customer = %customer.party,
            "Sellsy invoice created"
        );
        let mut doc = document_ref(&invoice);
        let name = invoice
            .number
            .as_deref()
            .map_or_else(|| format!("#{}", invoice.id), str::to_owned);
        doc.warning = invoice
            .amounts
            .as_ref()
            .and_then(|a| a.total_incl_tax)
            .and_then(|total| figures_gap(plan, total, &invoice.taxes))
            .map(|gap| format!("draft invoice {name}: {gap}; check it before validating"));
        if let Some(warning) = &doc.warning {
            tracing::error!(order = %plan.order_id, invoice_id = invoice.id, %warning, "created Sellsy invoice does not match WooCommerce");
        }
        Ok(doc)
    }

    /// `POST /invoices/compute` and compare with the plan: Sellsy's own arithmetic, not our model of it.
    async fn check_computed_totals(
        &self,
        plan: &DocumentPlan,
        body: &NewInvoice,
    ) -> PortResult<()> {
        let computed = self
            .client
            .compute_invoice(body)
            .await
            .map_err(|e| port_error("computing the Sellsy invoice", e))?;
        let Some(total) = computed.amounts.as_ref().and_then(|a| a.total_incl_tax) else {
            return Err(PortError::permanent(
                "Sellsy computed no total for this invoice; nothing was created",
            ));
        };
        if let Some(gap) = figures_gap(plan, total, &computed.taxes) {
            return Err(PortError::permanent(format!("{gap}; nothing was created")));
        }
        Ok(())
    }

    async fn find_invoice(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>> {
        let candidates = match self.cached_customer(plan, cache).await? {
            Some(party) => vec![party],
            None => {
                let found = self.search_customers(plan).await?;
                let mut usable: Vec<&ThirdPartySummary> = found
                    .iter()
                    .filter(|s| s.kind == THIRD_PARTY_CLIENT || s.kind == THIRD_PARTY_PROSPECT)
                    .collect();
                usable.sort_by_key(|s| s.party.id);
                usable.into_iter().map(|s| s.party).collect()
            }
        };
        let wanted = order_reference(plan);
        for party in candidates {
            let filters = InvoiceFilters {
                related_objects: vec![Related::from(party)],
                date: Some(DateRange {
                    start: plan.date,
                    end: plan.date,
                }),
                ..InvoiceFilters::default()
            };
            // Sellsy cannot filter on order_reference: compare it here.
            let found = self
                .client
                .find_invoice(&filters, |i| {
                    i.order_reference.as_deref().map(str::trim) == Some(wanted.as_str())
                })
                .await
                .map_err(|e| port_error("searching Sellsy invoices", e))?;
            if let Some(found) = found {
                return Ok(Some(document_ref(&found)));
            }
        }
        Ok(None)
    }

    /// The currency code as Sellsy knows it, or a permanent error when the account has not enabled it.
    async fn ensure_currency(&self, code: &str, cache: &dyn IdCache) -> PortResult<String> {
        let code = code.trim().to_ascii_uppercase();
        let key = format!("currency:{code}");
        if cache.get(IdKind::Other, &key).await?.is_some() {
            return Ok(code);
        }
        let currencies = self
            .client
            .list_currencies()
            .await
            .map_err(|e| port_error("listing the Sellsy currencies", e))?;
        match currencies
            .iter()
            .find(|c| c.code.trim().eq_ignore_ascii_case(&code))
        {
            Some(c) => {
                remember(cache, IdKind::Other, &key, &c.id.to_string()).await;
                Ok(code)
            }
            None => {
                let enabled: Vec<&str> = currencies.iter().map(|c| c.code.as_str()).collect();
                Err(PortError::permanent(format!(
                    "currency {code} is not enabled in Sellsy (enabled: {}); enable it in Sellsy or change the shop currency",
                    if enabled.is_empty() {
                        "none".to_owned()
                    } else {
                        enabled.join(", ")
                    }
                )))
            }
        }
    }

    async fn cached_customer(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<ThirdPartyRef>> {
        let Some(value) = cache.get(IdKind::Customer, &customer_key(plan)).await? else {
            return Ok(None);
        };
        match value.parse::<ThirdPartyRef>() {
            // A customer who bought as a person and now as a company (or back) is looked up anew.
            Ok(party) if party.kind == customer_kind(plan) => Ok(Some(party)),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable cached customer");
                Ok(None)
            }
        }
    }

    async fn search_customers(&self, plan: &DocumentPlan) -> PortResult<Vec<ThirdPartySummary>> {
        let email = customer_key(plan);
        if email.is_empty() {
            return Ok(Vec::new());
        }
        let kind = customer_kind(plan);
        self.client
            .search_third_parties_by_email(kind, &email)
            .await
            .map(|m| m.matches)
            .map_err(|e| {
                port_error(
                    &format!("searching Sellsy {} by email", kind.collection()),
                    e,
                )
            })
    }

    async fn resolve_customer(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Customer> {
        if let Some(party) = self.cached_customer(plan, cache).await? {
            return Ok(Customer {
                party,
                created: false,
            });
        }
        let key = customer_key(plan);
        if key.is_empty() {
            return Err(PortError::permanent(
                "the order has no billing email, which is how customers are matched in Sellsy",
            ));
        }
        let found = self.search_customers(plan).await?;
        let customer = match pick_customer(&found) {
            Some(existing) => {
                if existing.kind == THIRD_PARTY_PROSPECT {
                    self.client
                        .convert_to_client(existing.party)
                        .await
                        .map_err(|e| {
                            port_error(
                                &format!(
                                    "converting Sellsy prospect {} to a client",
                                    existing.party
                                ),
                                e,
                            )
                        })?;
                }
                Customer {
                    party: existing.party,
                    created: false,
                }
            }
            None => Customer {
                party: self.create_customer(plan, &key).await?,
                created: true,
            },
        };
        remember(cache, IdKind::Customer, &key, &customer.party.to_string()).await;
        Ok(customer)
    }

    async fn create_customer(&self, plan: &DocumentPlan, email: &str) -> PortResult<ThirdPartyRef> {
        let phone = plan
            .customer
            .phone
            .as_deref()
            .map(tidy)
            .filter(|p| !p.is_empty());
        match &plan.customer.kind {
            CustomerKind::Individual {
                first_name,
                last_name,
            } => {
                let (first, last) = person_names(first_name, last_name, email);
                let new = NewIndividual {
                    kind: THIRD_PARTY_CLIENT.to_owned(),
                    last_name: last,
                    first_name: first,
                    email: Some(email.to_owned()),
                    phone_number: phone,
                };
                let created = self.client.create_individual(&new).await.map_err(|e| {
                    port_error(&format!("creating the Sellsy individual for {email}"), e)
                })?;
                Ok(ThirdPartyRef {
                    kind: ThirdPartyKind::Individual,
                    id: created.id,
                })
            }
            CustomerKind::Company {
                name,
                vat_number,
                contact_first_name,
                contact_last_name,
            } => {
                let name = Some(truncate(&tidy(name), COMPANY_NAME_MAX))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| email.to_owned());
                let new = NewCompany {
                    kind: THIRD_PARTY_CLIENT.to_owned(),
                    name: name.clone(),
                    email: Some(email.to_owned()),
                    phone_number: phone.clone(),
                    legal_france: vat_number
                        .as_deref()
                        .and_then(|v| vat(v, &name))
                        .map(|vat| LegalFrance { vat }),
                };
                let company =
                    self.client.create_company(&new).await.map_err(|e| {
                        port_error(&format!("creating the Sellsy company {name:?}"), e)
                    })?;
                if !(contact_first_name.trim().is_empty() && contact_last_name.trim().is_empty()) {
                    self.add_contact(
                        company.id,
                        contact_first_name,
                        contact_last_name,
                        email,
                        phone,
                    )
                    .await;
                }
                Ok(ThirdPartyRef {
                    kind: ThirdPartyKind::Company,
                    id: company.id,
                })
            }
        }
    }

    /// The person who ordered, as the company's main and invoicing contact. Best effort: the invoice
    /// does not need it, so a refusal is logged rather than failing the order.
    async fn add_contact(
        &self,
        company_id: Id,
        first: &str,
        last: &str,
        email: &str,
        phone: Option<String>,
    ) {
        let (first_name, last_name) = person_names(first, last, email);
        let new = NewContact {
            last_name,
            first_name,
            email: Some(email.to_owned()),
            phone_number: phone,
        };
        let result = match self.client.create_contact(&new).await {
            Ok(contact) => {
                self.client
                    .link_contact_to_company(company_id, contact.id, &["main", "invoicing"])
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(company_id, error = %e, "could not add the buyer as a contact of the Sellsy company");
        }
    }

    async fn resolve_addresses(
        &self,
        customer: &Customer,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<(Id, Id)> {
        let billing = address::prepare(&plan.customer.billing, Role::Billing)
            .map_err(PortError::permanent)?;
        let shipping = match &plan.customer.shipping {
            Some(s) => Some(address::prepare(s, Role::Shipping).map_err(PortError::permanent)?),
            None => None,
        };
        // A customer created just now has no addresses: no need to ask.
        let mut known: Option<Vec<SellsyAddress>> = customer.created.then(Vec::new);
        let invoicing = self
            .resolve_address(customer.party, &billing, &mut known, cache)
            .await?;
        let delivery = match shipping {
            Some(s) if address::fingerprint(&s) != address::fingerprint(&billing) => {
                self.resolve_address(customer.party, &s, &mut known, cache)
                    .await?
            }
            _ => invoicing,
        };
        Ok((invoicing, delivery))
    }

    async fn resolve_address(
        &self,
        party: ThirdPartyRef,
        wanted: &NewAddress,
        known: &mut Option<Vec<SellsyAddress>>,
        cache: &dyn IdCache,
    ) -> PortResult<Id> {
        let key = format!("{party}:{}", address::fingerprint(wanted));
        if let Some(id) = cache
            .get(IdKind::Address, &key)
            .await?
            .and_then(|v| v.parse::<Id>().ok())
        {
            return Ok(id);
        }
        if known.is_none() {
            let listed =
                self.client.list_addresses(party).await.map_err(|e| {
                    port_error(&format!("listing the addresses of Sellsy {party}"), e)
                })?;
            *known = Some(listed);
        }
        let list = known.get_or_insert_with(Vec::new);
        let id = match list.iter().find(|a| address::same_place(a, wanted)) {
            Some(existing) => existing.id,
            None => {
                let created = self
                    .client
                    .create_address(party, wanted)
                    .await
                    .map_err(|e| {
                        port_error(
                            &format!(
                                "adding the address \"{}, {} {}\" to Sellsy {party}",
                                wanted.address_line_1, wanted.postal_code, wanted.city
                            ),
                            e,
                        )
                    })?;
                let id = created.id;
                list.push(created);
                id
            }
        };
        remember(cache, IdKind::Address, &key, &id.to_string()).await;
        Ok(id)
    }

    async fn resolve_tax(
        &self,
        spec: TaxSpec,
        book: &mut TaxBook,
        cache: &dyn IdCache,
    ) -> PortResult<Id> {
        if let Some(id) = book.resolved.get(&spec) {
            return Ok(*id);
        }
        let key = tax_key(spec);
        let id = match cache
            .get(IdKind::Tax, &key)
            .await?
            .and_then(|v| v.parse::<Id>().ok())
        {
            Some(id) => id,
            None => {
                if book.all.is_none() {
                    let taxes = self
                        .client
                        .list_taxes()
                        .await
                        .map_err(|e| port_error("listing the Sellsy taxes", e))?;
                    book.all = Some(taxes);
                }
                let all = book.all.as_deref().unwrap_or_default();
                let id = choose_tax(all, spec).ok_or_else(|| {
                    PortError::permanent(format!(
                        "no active, e-invoicing-compliant Sellsy tax with {}; create or enable one in Sellsy",
                        describe_tax(spec)
                    ))
                })?;
                remember(cache, IdKind::Tax, &key, &id.to_string()).await;
                id
            }
        };
        book.resolved.insert(spec, id);
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn resolve_item(
        &self,
        line: &PlanLine,
        sku: &str,
        parent_sku: Option<&str>,
        is_variation: bool,
        tax_id: Id,
        memo: &mut HashMap<String, ItemRef>,
        cache: &dyn IdCache,
    ) -> PortResult<ItemRef> {
        let sku = sku.trim();
        if let Some(found) = memo.get(sku) {
            return Ok(*found);
        }
        let item = match self.cached_item(sku, cache).await? {
            Some(item) => item,
            None => {
                let item = match self.find_item(sku).await? {
                    Some(item) => item,
                    None => {
                        let declination = match parent_sku
                            .map(str::trim)
                            .filter(|p| is_variation && !p.is_empty())
                        {
                            Some(parent) => self.find_declination(sku, parent, cache).await?,
                            None => None,
                        };
                        match declination {
                            Some(d) => d,
                            None => self.create_item(line, sku, tax_id).await?,
                        }
                    }
                };
                remember(cache, IdKind::Item, sku, &item.to_string()).await;
                item
            }
        };
        memo.insert(sku.to_owned(), item);
        Ok(item)
    }

    async fn cached_item(&self, sku: &str, cache: &dyn IdCache) -> PortResult<Option<ItemRef>> {
        Ok(cache
            .get(IdKind::Item, sku)
            .await?
            .and_then(|v| v.parse::<ItemRef>().ok()))
    }

    /// The product or service whose reference is `sku` (lowest id when Sellsy has duplicates).
    async fn find_item(&self, sku: &str) -> PortResult<Option<ItemRef>> {
        let items = self
            .client
            .search_items_by_reference(sku)
            .await
            .map_err(|e| port_error(&format!("searching the Sellsy item {sku:?}"), e))?;
        Ok(items.iter().filter_map(usable_item).min_by_key(|i| i.id))
    }

    /// The declination of the parent item whose reference is `sku`.
    async fn find_declination(
        &self,
        sku: &str,
        parent_sku: &str,
        cache: &dyn IdCache,
    ) -> PortResult<Option<ItemRef>> {
        let parent = match self.cached_item(parent_sku, cache).await? {
            Some(p) if p.declination_id.is_none() => Some(p),
            _ => {
                let found = self.find_item(parent_sku).await?;
                if let Some(p) = found {
                    remember(cache, IdKind::Item, parent_sku, &p.to_string()).await;
                }
                found
            }
        };
        let Some(parent) = parent else {
            return Ok(None);
        };
        let declinations = self
            .client
            .list_declinations(parent.id)
            .await
            .map_err(|e| {
                port_error(
                    &format!("listing the declinations of Sellsy item {parent_sku:?}"),
                    e,
                )
            })?;
        Ok(declinations
            .iter()
            .filter(|d| d.reference.as_deref().map(str::trim) == Some(sku))
            .min_by_key(|d| d.id)
            .map(|d| ItemRef {
                declination_id: Some(d.id),
                ..parent
            }))
    }

    async fn create_item(&self, line: &PlanLine, sku: &str, tax_id: Id) -> PortResult<ItemRef> {
        let name = Some(truncate(&tidy(&line.name), ITEM_NAME_MAX))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| sku.to_owned());
        let new = NewItem {
            kind: CatalogItemType::Product,
            reference: sku.to_owned(),
            name,
            reference_price: line.unit_amount,
            is_reference_price_taxes_free: true,
            tax_id,
        };
        let item = self
            .client
            .create_item(&new)
            .await
            .map_err(|e| port_error(&format!("creating the Sellsy item {sku:?}"), e))?;
        Ok(usable_item(&item).unwrap_or(ItemRef {
            kind: CatalogItemType::Product,
            id: item.id,
            declination_id: None,
        }))
    }
}

/// First and last name for Sellsy, where the last name is required: the first name stands in when
/// there is no last name, the email when there is neither.
fn person_names(first: &str, last: &str, email: &str) -> (Option<String>, String) {
    let first = truncate(&tidy(first), PERSON_NAME_MAX);
    let last = truncate(&tidy(last), PERSON_NAME_MAX);
    match (first.is_empty(), last.is_empty()) {
        (_, false) => (Some(first).filter(|f| !f.is_empty()), last),
        (false, true) => (None, first),
        (true, true) => (None, truncate(email, PERSON_NAME_MAX)),
    }
}

/// The VAT number in the form Sellsy accepts (2–15 characters, no spaces or dots), or `None` with a
/// warning: a malformed VAT number is worth a look but not worth refusing the invoice.
fn vat(raw: &str, company: &str) -> Option<String> {
    let v: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    if v.is_empty() {
        return None;
    }
    if (2..=15).contains(&v.len()) {
        Some(v)
    } else {
        tracing::warn!(
            company,
            vat = raw,
            "VAT number not sent to Sellsy: it must be 2 to 15 characters"
        );
        None
    }
}

// ---------------------------------------------------------------------------------------------------

/// Builds one [`SellsyBackend`] per connector and keeps its [`Client`], so that every document of a
/// connector shares one token cache and one rate limiter. A connector whose Sellsy settings or keys
/// changed gets a new client.
pub struct SellsyBackendFactory {
    retry: CallRetries,
    timeout: Duration,
    clients: Mutex<HashMap<ConnectorId, (ClientIdentity, Client)>>,
}

/// What a client was built from; the secret only as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientIdentity {
    api_url: String,
    token_url: String,
    client_id: String,
    secret_digest: [u8; 32],
    requests_per_second: u32,
}

impl Default for SellsyBackendFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl SellsyBackendFactory {
    pub fn new() -> Self {
        Self::with_policy(CallRetries::default(), Duration::from_secs(30))
    }

    /// A factory whose clients retry with `retry` and time requests out after `timeout`.
    pub fn with_policy(retry: CallRetries, timeout: Duration) -> Self {
        SellsyBackendFactory {
            retry,
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client of `settings.id`, built on first use or when its identity changed.
    pub fn client(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Client> {
        let identity = ClientIdentity {
            api_url: settings.sellsy_api_url.clone(),
            token_url: settings.sellsy_token_url.clone(),
            client_id: secrets.sellsy_client_id.clone(),
            secret_digest: Sha256::digest(secrets.sellsy_client_secret.expose_secret().as_bytes())
                .into(),
            requests_per_second: settings.sellsy_requests_per_second,
        };
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| PortError::transient("the Sellsy client registry is unavailable"))?;
        if let Some((known, client)) = clients.get(&settings.id)
            && *known == identity
        {
            return Ok(client.clone());
        }
        let mut config = ClientConfig::new(
            settings.sellsy_api_url.clone(),
            settings.sellsy_token_url.clone(),
            secrets.sellsy_client_id.clone(),
            SecretString::from(secrets.sellsy_client_secret.expose_secret().to_owned()),
        );
        config.requests_per_second = settings.sellsy_requests_per_second;
        config.retry = self.retry;
        config.timeout = self.timeout;
        let client = Client::new(config)
            .map_err(|e| PortError::permanent(format!("connector {}: {e}", settings.id)))?;
        clients.insert(settings.id.clone(), (identity, client.clone()));
        Ok(client)
    }
}

impl BackendFactory for SellsyBackendFactory {
    fn backend(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn AccountingBackend>> {
        Ok(Arc::new(
            SellsyBackend::new(self.client(settings, secrets)?)
                .verifying_totals(settings.verify_totals_with_sellsy),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_is_the_connectors_condition_not_the_orders() {
        let auth = Error::Auth {
            message: "invalid_client".to_owned(),
        };
        assert!(port_error("creating the invoice", auth).is_unauthorized());
        let refused = Error::Api {
            status: 401,
            message: "Unauthorized".to_owned(),
            context: None,
            details: Default::default(),
            retry_after: None,
        };
        assert!(port_error("creating the invoice", refused).is_unauthorized());
        let invalid = Error::Api {
            status: 400,
            message: "Invalid".to_owned(),
            context: None,
            details: Default::default(),
            retry_after: None,
        };
        assert!(matches!(
            port_error("creating the invoice", invalid),
            PortError::Permanent { .. }
        ));
    }
    use rust_decimal_macros::dec;
    use woosellsy_domain::Exemption;

    fn tax(id: Id, rate: Decimal, category: &str, active: bool, compliant: bool) -> Tax {
        Tax {
            id,
            rate: Some(rate),
            label: None,
            is_active: active,
            is_ecotax: false,
            category: Some(category.to_owned()),
            vatex: None,
            is_einvoicing_compliant: compliant,
        }
    }

    #[test]
    fn taxes_are_chosen_by_decimal_rate_and_never_a_legacy_zero() {
        let taxes = vec![
            tax(1, dec!(20), "S", false, true),
            tax(2, dec!(20.00), "S", true, true),
            tax(3, dec!(5.5), "S", true, false),
            tax(4, dec!(5.50), "S", true, true),
            tax(5, dec!(0), "Z", true, false),
            tax(6, dec!(0), "K", true, true),
            tax(7, dec!(0), "E", true, true),
        ];
        assert_eq!(choose_tax(&taxes, TaxSpec::Rate(dec!(20))), Some(2));
        assert_eq!(choose_tax(&taxes, TaxSpec::Rate(dec!(5.5))), Some(4));
        assert_eq!(choose_tax(&taxes, TaxSpec::Rate(dec!(10))), None);
        assert_eq!(
            choose_tax(&taxes, TaxSpec::Exempt(Exemption::IntraEu)),
            Some(6)
        );
        assert_eq!(
            choose_tax(&taxes, TaxSpec::Exempt(Exemption::Exempt)),
            Some(7)
        );
        assert_eq!(choose_tax(&taxes, TaxSpec::Exempt(Exemption::Export)), None);
        assert_eq!(tax_key(TaxSpec::Rate(dec!(20.00))), "rate:20");
        assert_eq!(tax_key(TaxSpec::Rate(dec!(5.50))), "rate:5.5");
        assert_eq!(tax_key(TaxSpec::Exempt(Exemption::IntraEu)), "exempt:K");
    }

    #[test]
    fn item_refs_round_trip_through_the_cache_format() {
        for s in ["product:12", "service:4", "product:12:declination:3"] {
            assert_eq!(s.parse::<ItemRef>().unwrap().to_string(), s);
        }
        for bad in [
            "item:1",
            "product",
            "product:x",
            "product:1:variant:2",
            "product:1:declination",
        ] {
            assert!(bad.parse::<ItemRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn customers_prefer_clients_then_prospects_and_skip_archived_and_suppliers() {
        let s = |id, kind: &str, archived| ThirdPartySummary {
            party: ThirdPartyRef {
                kind: ThirdPartyKind::Individual,
                id,
            },
            kind: kind.to_owned(),
            email: None,
            is_archived: archived,
        };
        assert_eq!(
            pick_customer(&[
                s(1, "prospect", false),
                s(9, "client", false),
                s(4, "client", false)
            ])
            .map(|c| c.party.id),
            Some(4)
        );
        assert_eq!(
            pick_customer(&[s(1, "client", true), s(2, "prospect", false)]).map(|c| c.party.id),
            Some(2)
        );
        assert!(pick_customer(&[s(1, "supplier", false), s(2, "client", true)]).is_none());
    }

    #[test]
    fn names_and_vat_numbers_are_made_acceptable() {
        assert_eq!(
            person_names("Jean", "Martin", "j@x.fr"),
            (Some("Jean".into()), "Martin".into())
        );
        assert_eq!(person_names("Jean", " ", "j@x.fr"), (None, "Jean".into()));
        assert_eq!(person_names("", "", "j@x.fr"), (None, "j@x.fr".into()));
        assert_eq!(
            vat("FR 12.345 678 901", "ACME").as_deref(),
            Some("FR12345678901")
        );
        assert_eq!(vat("FR123456789012345678", "ACME"), None);
        assert_eq!(vat("  ", "ACME"), None);
    }

    #[test]
    fn notes_are_escaped_html() {
        assert_eq!(
            note_html(&["Coupon <SUMMER> & co".into(), " ".into(), "a\nb".into()]).as_deref(),
            Some("Coupon &lt;SUMMER&gt; &amp; co<br />a<br />b")
        );
        assert_eq!(note_html(&[]), None);
    }
}
