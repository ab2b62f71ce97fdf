//! The Sellsy operations the connector uses, one method each, over [`Client::call`].
//!
//! Lists and searches page through everything with `limit=100` (the maximum) in seek mode: the first
//! call sends no offset and each next call sends back the cursor Sellsy returned.

use std::ops::ControlFlow;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::types::*;
use super::{Client, Error, Replay};

/// The largest `limit` Sellsy accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A hard stop against a server that keeps returning cursors: 500 pages of 100.
const MAX_PAGES: usize = 500;

/// Third parties found by email (Sellsy's filter is documented as exact; it is re-checked here,
/// ignoring case, because emails are case-insensitive in practice and the filter may not be).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailMatch {
    pub matches: Vec<ThirdPartySummary>,
}

fn to_body<T: Serialize>(operation: &str, value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Decode {
        operation: operation.to_owned(),
        message: format!("cannot encode the request: {e}"),
    })
}

fn same_email(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()))
}

/// Whether a list operation declares the `limit`/`offset` query parameters in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// `limit=100`, then the cursor: the usual case.
    Declared,
    /// `GET /items/{id}/declinations` and `GET /{companies|individuals}/{id}/addresses` declare no query
    /// parameter (spec 2.264) yet answer with `pagination`. The first request sends none (Sellsy's default
    /// page of 25 applies), so that it is valid under any reading of the spec; only when the answer says
    /// there is more does the client page on with `offset`, per Sellsy's general pagination rules.
    Undeclared,
}

impl Client {
    /// Walks the pages of a list (`GET`) or search (`POST` with `body`), handing each page to `visit`
    /// until it breaks or the pages run out.
    async fn scan<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        paging: Paging,
        mut visit: impl FnMut(Vec<T>) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let mut offset: Option<Offset> = None;
        let mut seen = 0u64;
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if paging == Paging::Declared {
                query.push(("limit", MAX_PAGE_SIZE.to_string()));
            }
            if let Some(o) = &offset {
                query.push(("offset", o.to_string()));
            }
            let page: Page<T> = self
                .call(method.clone(), path, &query, body, Replay::Safe)
                .await?;
            let got = page.data.len() as u64;
            seen += got;
            if visit(page.data).is_break() {
                return Ok(());
            }
            let p = page.pagination;
            // The answer's `limit` is the page size Sellsy actually applied (it may cap ours).
            let page_size = if p.limit > 0 {
                p.limit
            } else {
                u64::from(MAX_PAGE_SIZE)
            };
            let short = got == 0 || got < page_size;
            let complete = p.total > 0 && seen >= p.total;
            match p.offset {
                Some(next) if !short && !complete && Some(&next) != offset.as_ref() => {
                    offset = Some(next)
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Every item of every page.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<T>, Error> {
        self.all_pages_with(method, path, body, Paging::Declared)
            .await
    }

    async fn all_pages_with<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        paging: Paging,
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        self.scan(method, path, body, paging, |page: Vec<T>| {
            out.extend(page);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(out)
    }

    // --- third parties -------------------------------------------------------------------------

    /// Individuals whose email is `email` (case-insensitive).
    pub async fn search_individuals_by_email(&self, email: &str) -> Result<Vec<Individual>, Error> {
        let body = json!({"filters": {"email": email.trim()}});
        let found: Vec<Individual> = self
            .all_pages(Method::POST, "/individuals/search", Some(&body))
            .await?;
        Ok(found
            .into_iter()
            .filter(|i| same_email(i.email.as_deref(), email))
            .collect())
    }

    /// Companies whose email is `email` (case-insensitive).
    pub async fn search_companies_by_email(&self, email: &str) -> Result<Vec<Company>, Error> {
        let body = json!({"filters": {"email": email.trim()}});
        let found: Vec<Company> = self
            .all_pages(Method::POST, "/companies/search", Some(&body))
            .await?;
        Ok(found
            .into_iter()
            .filter(|c| same_email(c.email.as_deref(), email))
            .collect())
    }

    /// Companies or individuals (per `kind`) whose email is `email`, as summaries.
    pub async fn search_third_parties_by_email(
        &self,
        kind: ThirdPartyKind,
        email: &str,
    ) -> Result<EmailMatch, Error> {
        let matches = match kind {
            ThirdPartyKind::Individual => self
                .search_individuals_by_email(email)
                .await?
                .iter()
                .map(ThirdPartySummary::from)
                .collect(),
            ThirdPartyKind::Company => self
                .search_companies_by_email(email)
                .await?
                .iter()
                .map(ThirdPartySummary::from)
                .collect(),
        };
        Ok(EmailMatch { matches })
    }

    pub async fn create_individual(&self, new: &NewIndividual) -> Result<Individual, Error> {
        let body = to_body("POST /individuals", new)?;
        self.call(
            Method::POST,
            "/individuals",
            &[],
            Some(&body),
            Replay::Unsafe,
        )
        .await
    }

    pub async fn create_company(&self, new: &NewCompany) -> Result<Company, Error> {
        let body = to_body("POST /companies", new)?;
        self.call(Method::POST, "/companies", &[], Some(&body), Replay::Unsafe)
            .await
    }

    /// Converts a prospect into a client (invoices only accept clients).
    pub async fn convert_to_client(&self, party: ThirdPartyRef) -> Result<(), Error> {
        let path = format!("/{}/{}/convert", party.kind.collection(), party.id);
        let body =
            json!({"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}});
        // Sellsy refuses to convert a client (400), so a replay after a lost answer would fail the
        // order; a transient error instead leads to a fresh search that finds the client.
        self.execute(Method::POST, &path, &[], Some(&body), Replay::Unsafe)
            .await?;
        Ok(())
    }

    pub async fn create_contact(&self, new: &NewContact) -> Result<Contact, Error> {
        let body = to_body("POST /contacts", new)?;
        self.call(Method::POST, "/contacts", &[], Some(&body), Replay::Unsafe)
            .await
    }

    /// Links a contact to a company with `roles` (`main`, `invoicing`, `dunning`). 200 ("already
    /// linked") and 201 are both success.
    pub async fn link_contact_to_company(
        &self,
        company_id: Id,
        contact_id: Id,
        roles: &[&str],
    ) -> Result<(), Error> {
        let path = format!("/companies/{company_id}/contacts/{contact_id}");
        let body = json!({"roles": roles});
        self.execute(Method::POST, &path, &[], Some(&body), Replay::Safe)
            .await?;
        Ok(())
    }

    // --- addresses -----------------------------------------------------------------------------

    pub async fn list_addresses(&self, party: ThirdPartyRef) -> Result<Vec<Address>, Error> {
        let path = format!("/{}/{}/addresses", party.kind.collection(), party.id);
        self.all_pages_with(Method::GET, &path, None, Paging::Undeclared)
            .await
    }

    pub async fn create_address(
        &self,
        party: ThirdPartyRef,
        new: &NewAddress,
    ) -> Result<Address, Error> {
        let path = format!("/{}/{}/addresses", party.kind.collection(), party.id);
        let body = to_body(&format!("POST {path}"), new)?;
        self.call(Method::POST, &path, &[], Some(&body), Replay::Unsafe)
            .await
    }

    // --- items ---------------------------------------------------------------------------------

    /// Non-archived products and services whose reference is exactly `reference` (Sellsy does not
    /// document whether its filter is exact, so equality is checked here).
    pub async fn search_items_by_reference(&self, reference: &str) -> Result<Vec<Item>, Error> {
        let body = json!({"filters": {"reference": reference, "type": ["product", "service"], "is_archived": false}});
        let found: Vec<Item> = self
            .all_pages(Method::POST, "/items/search", Some(&body))
            .await?;
        Ok(found
            .into_iter()
            .filter(|i| i.reference == reference && !i.is_archived)
            .collect())
    }

    pub async fn create_item(&self, new: &NewItem) -> Result<Item, Error> {
        let body = to_body("POST /items", new)?;
        self.call(Method::POST, "/items", &[], Some(&body), Replay::Unsafe)
            .await
    }

    pub async fn list_declinations(&self, item_id: Id) -> Result<Vec<Declination>, Error> {
        let path = format!("/items/{item_id}/declinations");
        self.all_pages_with(Method::GET, &path, None, Paging::Undeclared)
            .await
    }

    // --- reference data ------------------------------------------------------------------------

    pub async fn list_taxes(&self) -> Result<Vec<Tax>, Error> {
        self.all_pages(Method::GET, "/taxes", None).await
    }

    /// The currencies enabled on the account.
    pub async fn list_currencies(&self) -> Result<Vec<Currency>, Error> {
        self.all_pages(Method::GET, "/currencies", None).await
    }

    // --- invoices ------------------------------------------------------------------------------

    pub async fn create_invoice(&self, new: &NewInvoice) -> Result<Invoice, Error> {
        let body = to_body("POST /invoices", new)?;
        self.call(Method::POST, "/invoices", &[], Some(&body), Replay::Unsafe)
            .await
    }

    pub async fn get_invoice(&self, id: Id) -> Result<Invoice, Error> {
        self.call(
            Method::GET,
            &format!("/invoices/{id}"),
            &[],
            None,
            Replay::Safe,
        )
        .await
    }

    /// Every invoice matching `filters`.
    pub async fn search_invoices(&self, filters: &InvoiceFilters) -> Result<Vec<Invoice>, Error> {
        let body = json!({"filters": to_body("POST /invoices/search", filters)?});
        self.all_pages(Method::POST, "/invoices/search", Some(&body))
            .await
    }

    /// The first invoice matching `filters` that `wanted` accepts, reading no more pages than needed.
    pub async fn find_invoice(
        &self,
        filters: &InvoiceFilters,
        mut wanted: impl FnMut(&Invoice) -> bool,
    ) -> Result<Option<Invoice>, Error> {
        let body = json!({"filters": to_body("POST /invoices/search", filters)?});
        let mut found = None;
        self.scan(
            Method::POST,
            "/invoices/search",
            Some(&body),
            Paging::Declared,
            |page: Vec<Invoice>| match page.into_iter().find(|i| wanted(i)) {
                Some(i) => {
                    found = Some(i);
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            },
        )
        .await?;
        Ok(found)
    }

    /// The totals Sellsy would give `new`, without creating anything.
    pub async fn compute_invoice(&self, new: &NewInvoice) -> Result<ComputedInvoice, Error> {
        let body = to_body("POST /invoices/compute", new)?;
        self.call(
            Method::POST,
            "/invoices/compute",
            &[],
            Some(&body),
            Replay::Safe,
        )
        .await
    }
}
