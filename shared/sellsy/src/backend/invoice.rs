//! One Sellsy invoice per plan: the `NewInvoice` with its rows and note, the optional compute check,
//! Sellsy's figures compared with WooCommerce's, and the search for an invoice already made for the
//! order.
//!
//! # Which invoice is ours
//!
//! Each invoice carries its **identity**, `woosellsy:<connector id>:<WooCommerce order id>`, on the first
//! line of its note, written in the create request itself (so no invoice exists without it). The order
//! reference (`WC-1042`) is for people: two connectors sharing a Sellsy account can both have a
//! `WC-1042`, and the number can be customised; the order's date and the customer's email can change
//! between a crashed create and its recovery. None of those decide.
//!
//! Sellsy's invoice search (spec 2.264) filters on none of `order_reference`, the note or custom fields, so
//! the identity is compared here, on invoices narrowed by a documented filter that depends on neither the
//! order's date nor its customer: `created` (Sellsy's creation time). Before creating, the backend records
//! in the connector's id cache when it first tried to create the order's invoice
//! ([`SellsyBackend::note_create_attempt`]); recovery lists the invoices Sellsy created since then (less a
//! margin for clock skew), stops at the one with our identity and never adopts one with another identity.
//! Without that record (expired, or a create made by an older version), the customer's invoices are
//! searched instead (any date), and an invoice without any identity — made before invoices carried one —
//! is adopted only when it is the only one of this customer, date and order reference.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use woosellsy_domain::{DocumentKind, DocumentPlan, LineDiscount, LineSource, PlanLine};
use woosellsy_ports::{DocumentRef, IdCache, IdKind, PortError, PortResult};

use super::items::ItemRef;
use super::taxes::TaxBook;
use super::text::{tidy, truncate};
use super::{SellsyBackend, port_error};
use crate::client::Error;
use crate::client::types::{
    CatalogRelated, CatalogRow, CreatedRange, DateRange, DiscountType, DocumentTax, Invoice,
    InvoiceFilters, NewInvoice, Related, Row, RowDiscount, SingleRow, THIRD_PARTY_CLIENT,
    THIRD_PARTY_PROSPECT, ThirdPartySummary,
};

/// Maximum lengths Sellsy enforces on what the backend sends.
const ORDER_REFERENCE_MAX: usize = 100;
const NOTE_MAX: usize = 65_535;
const ROW_REFERENCE_MAX: usize = 250;

fn order_reference(plan: &DocumentPlan) -> String {
    truncate(plan.order_reference.trim(), ORDER_REFERENCE_MAX)
}

/// What starts an identity in a note.
const IDENTITY_TAG: &str = "woosellsy:";
/// How much earlier than our first create attempt Sellsy's clock may date the invoice.
const CLOCK_MARGIN: chrono::Duration = chrono::Duration::hours(1);

/// The identity of the plan's document: `woosellsy:<connector>:<order id>`. Connector ids are
/// `[a-z0-9_-]`, so the text after the tag reads back unambiguously. `None` for a plan without connector.
fn identity(plan: &DocumentPlan) -> Option<String> {
    plan.connector
        .as_ref()
        .map(|c| format!("{IDENTITY_TAG}{}:{}", c.as_str(), plan.order_id.0))
}

/// The identity written on an invoice: the first one in its note (ours is the note's first line, so the
/// customer's note, printed after it, cannot supply one). `None` for an invoice made without identity.
fn identity_on(invoice: &Invoice) -> Option<&str> {
    let note = invoice.note.as_deref()?;
    let at = note.find(IDENTITY_TAG)?;
    let rest = &note[at + IDENTITY_TAG.len()..];
    let len = rest
        .find(|c: char| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == ':')
        })
        .unwrap_or(rest.len());
    Some(&note[at..at + IDENTITY_TAG.len() + len])
}

/// The key, in the connector's id cache, of when the invoice of the plan's order was first tried.
fn attempt_key(plan: &DocumentPlan) -> String {
    format!("invoice-create-attempt:{}", plan.order_id.0)
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

/// `note` is HTML in Sellsy: the identity first (never cut by the length limit, and before anything a
/// customer wrote), then the notes escaped, one per line.
fn note_html(identity: Option<&str>, notes: &[String]) -> Option<String> {
    let identity = identity.map(|id| format!("Référence connecteur : {id}"));
    let lines: Vec<String> = identity
        .into_iter()
        .chain(
            notes
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(|n| {
                    n.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('\n', "<br />")
                }),
        )
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

impl SellsyBackend {
    pub(super) async fn create_invoice(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<DocumentRef> {
        let currency = self.ensure_currency(&plan.currency, cache).await?;
        let customer = self.resolve_customer(plan, cache).await?;
        let (invoicing_address_id, delivery_address_id) =
            self.resolve_addresses(&customer, plan, cache).await?;

        let mut taxes = TaxBook::default();
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
            note: note_html(identity(plan).as_deref(), &plan.notes),
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

    /// Records, before the invoice is created, when its creation was first tried (kept across attempts,
    /// its TTL refreshed), so that recovery can list the invoices Sellsy created since. Not best effort:
    /// without it a crashed create whose order then changed email could not be found, so nothing is
    /// created when it cannot be written.
    pub(super) async fn note_create_attempt(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<()> {
        if plan.connector.is_none() {
            return Ok(());
        }
        let key = attempt_key(plan);
        let now = Utc::now();
        let first = match self.create_attempted_at(plan, cache).await? {
            Some(earlier) => earlier.min(now),
            None => now,
        };
        cache
            .put(IdKind::Other, &key, &first.to_rfc3339())
            .await
            .map_err(|e| match e {
                PortError::Permanent { message } => PortError::permanent(format!(
                    "recording the invoice attempt before creating it: {message}; nothing was created"
                )),
                other => other,
            })
    }

    async fn create_attempted_at(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let Some(value) = cache.get(IdKind::Other, &attempt_key(plan)).await? else {
            return Ok(None);
        };
        match DateTime::parse_from_rfc3339(value.trim()) {
            Ok(t) => Ok(Some(t.with_timezone(&Utc))),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable invoice attempt time");
                Ok(None)
            }
        }
    }

    pub(super) async fn find_invoice(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>> {
        let ours = identity(plan);
        let attempted = match &ours {
            Some(_) => self.create_attempted_at(plan, cache).await?,
            None => None,
        };
        if let (Some(ours), Some(since)) = (&ours, attempted) {
            let filters = InvoiceFilters {
                created: Some(CreatedRange::since(since - CLOCK_MARGIN)),
                ..InvoiceFilters::default()
            };
            let found = self
                .client
                .find_invoice(&filters, |i| identity_on(i) == Some(ours.as_str()))
                .await
                .map_err(|e| port_error("searching Sellsy invoices", e))?;
            if let Some(found) = found {
                tracing::info!(order = %plan.order_id, invoice_id = found.id, identity = %ours, "found the invoice by its identity");
                return Ok(Some(document_ref(&found)));
            }
        }

        // The customer's invoices: those with our identity when the attempt time is unknown (any date:
        // the order's may have changed), and, made before invoices carried one, those without identity.
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
        let day = plan.date.to_string();
        // Invoices with our identity were already looked for since the first attempt: only the old kind
        // is left, on the order's date.
        let any_date = ours.is_some() && attempted.is_none();
        let mut legacy: Vec<Invoice> = Vec::new();
        for party in candidates {
            let filters = InvoiceFilters {
                related_objects: vec![Related::from(party)],
                date: (!any_date).then_some(DateRange {
                    start: plan.date,
                    end: plan.date,
                }),
                ..InvoiceFilters::default()
            };
            let found = self
                .client
                .find_invoice(&filters, |i| match identity_on(i) {
                    // Another connector's or another order's: never ours, whatever its reference says.
                    Some(theirs) => ours.as_deref() == Some(theirs),
                    None => {
                        let same = i.order_reference.as_deref().map(str::trim)
                            == Some(wanted.as_str())
                            && i.date.as_deref() == Some(day.as_str());
                        if same && !legacy.iter().any(|l| l.id == i.id) {
                            legacy.push(i.clone());
                        }
                        false
                    }
                })
                .await
                .map_err(|e| port_error("searching Sellsy invoices", e))?;
            if let Some(found) = found {
                tracing::info!(order = %plan.order_id, invoice_id = found.id, "found the invoice by its identity among the customer's");
                return Ok(Some(document_ref(&found)));
            }
        }
        match legacy.as_slice() {
            [] => Ok(None),
            [one] => {
                tracing::warn!(
                    order = %plan.order_id,
                    invoice_id = one.id,
                    order_reference = %wanted,
                    "adopting an invoice without identity (made before invoices carried one): the only one of this customer, date and order reference"
                );
                Ok(Some(document_ref(one)))
            }
            many => {
                let ids: Vec<String> = many.iter().map(|i| i.id.to_string()).collect();
                tracing::warn!(
                    order = %plan.order_id,
                    order_reference = %wanted,
                    invoices = %ids.join(", "),
                    "several invoices without identity match this customer, date and order reference; adopting none"
                );
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_escaped_html() {
        assert_eq!(
            note_html(
                None,
                &["Coupon <SUMMER> & co".into(), " ".into(), "a\nb".into()]
            )
            .as_deref(),
            Some("Coupon &lt;SUMMER&gt; &amp; co<br />a<br />b")
        );
        assert_eq!(note_html(None, &[]), None);
    }

    fn with_note(note: &str) -> Invoice {
        Invoice {
            id: 1,
            note: Some(note.to_owned()),
            ..Invoice::default()
        }
    }

    #[test]
    fn the_identity_comes_first_in_the_note_and_reads_back_exactly() {
        let note = note_html(
            Some("woosellsy:shop-1:1042"),
            &["Note du client : woosellsy:shop-2:7".into()],
        )
        .unwrap();
        assert_eq!(
            note,
            "Référence connecteur : woosellsy:shop-1:1042<br />Note du client : woosellsy:shop-2:7"
        );
        assert_eq!(
            identity_on(&with_note(&note)),
            Some("woosellsy:shop-1:1042")
        );
        // Sellsy may wrap the HTML: the identity still ends where its characters end.
        assert_eq!(
            identity_on(&with_note(
                "<p>Référence connecteur : woosellsy:shop_a:10421</p>"
            )),
            Some("woosellsy:shop_a:10421")
        );
        assert_eq!(identity_on(&with_note("Coupon SUMMER")), None);
        assert_eq!(identity_on(&Invoice::default()), None);
        // A long note is cut at its end, never the identity.
        let long = note_html(Some("woosellsy:shop-1:1"), &["x".repeat(70_000)]).unwrap();
        assert_eq!(identity_on(&with_note(&long)), Some("woosellsy:shop-1:1"));
    }
}
