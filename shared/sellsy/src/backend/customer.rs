//! The third party an invoice is made out to, matched by lower-cased email: a client, else a prospect
//! (converted), else a new company (with the buyer as its contact) or individual. Names and VAT numbers
//! are made acceptable to Sellsy rather than refused.

use woosellsy_domain::{CustomerKind, DocumentPlan};
use woosellsy_ports::{IdCache, IdKind, PortError, PortResult};

use super::text::{tidy, truncate};
use super::{SellsyBackend, port_error, remember};
use crate::client::types::{
    Id, LegalFrance, NewCompany, NewContact, NewIndividual, THIRD_PARTY_CLIENT,
    THIRD_PARTY_PROSPECT, ThirdPartyKind, ThirdPartyRef, ThirdPartySummary,
};

/// Longest names Sellsy accepts.
const PERSON_NAME_MAX: usize = 200;
const COMPANY_NAME_MAX: usize = 250;

/// The third party an invoice is made out to.
pub(super) struct Customer {
    pub(super) party: ThirdPartyRef,
    /// Created by this call: it has no addresses yet, no need to list them.
    pub(super) created: bool,
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

impl SellsyBackend {
    pub(super) async fn cached_customer(
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

    pub(super) async fn search_customers(
        &self,
        plan: &DocumentPlan,
    ) -> PortResult<Vec<ThirdPartySummary>> {
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

    pub(super) async fn resolve_customer(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
