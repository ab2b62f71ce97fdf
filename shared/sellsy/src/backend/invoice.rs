//! One Sellsy invoice per plan: the `NewInvoice` with its rows and note, the optional compute check,
//! Sellsy's figures compared with WooCommerce's, and the search for an invoice already made for the
//! order (Sellsy cannot filter on the order reference, so it is compared here).

use std::collections::HashMap;

use rust_decimal::Decimal;
use woosellsy_domain::{DocumentKind, DocumentPlan, LineDiscount, LineSource, PlanLine};
use woosellsy_ports::{DocumentRef, IdCache, PortError, PortResult};

use super::items::ItemRef;
use super::taxes::TaxBook;
use super::text::{tidy, truncate};
use super::{SellsyBackend, port_error};
use crate::client::Error;
use crate::client::types::{
    CatalogRelated, CatalogRow, DateRange, DiscountType, DocumentTax, Invoice, InvoiceFilters,
    NewInvoice, Related, Row, RowDiscount, SingleRow, THIRD_PARTY_CLIENT, THIRD_PARTY_PROSPECT,
    ThirdPartySummary,
};

/// Maximum lengths Sellsy enforces on what the backend sends.
const ORDER_REFERENCE_MAX: usize = 100;
const NOTE_MAX: usize = 65_535;
const ROW_REFERENCE_MAX: usize = 250;

fn order_reference(plan: &DocumentPlan) -> String {
    truncate(plan.order_reference.trim(), ORDER_REFERENCE_MAX)
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

    pub(super) async fn find_invoice(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_escaped_html() {
        assert_eq!(
            note_html(&["Coupon <SUMMER> & co".into(), " ".into(), "a\nb".into()]).as_deref(),
            Some("Coupon &lt;SUMMER&gt; &amp; co<br />a<br />b")
        );
        assert_eq!(note_html(&[]), None);
    }
}
