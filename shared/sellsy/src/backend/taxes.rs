//! The Sellsy tax of each row: the active, e-invoicing-compliant tax of the line's rate, or the
//! compliant 0 % tax of the exemption's category — never a legacy 0 % tax, which Sellsy rejects on rows.

use std::collections::HashMap;

use rust_decimal::Decimal;
use woosellsy_domain::TaxSpec;
use woosellsy_ports::{IdCache, IdKind, PortError, PortResult};

use super::{SellsyBackend, port_error, remember};
use crate::client::types::{Id, Tax};

/// Resolves every tax of one plan, listing Sellsy's taxes at most once.
#[derive(Default)]
pub(super) struct TaxBook {
    all: Option<Vec<Tax>>,
    resolved: HashMap<TaxSpec, Id>,
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

impl SellsyBackend {
    pub(super) async fn resolve_tax(
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
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
