//! The customer of the document: company or individual, matched by lower-cased billing email, with billing
//! and shipping addresses and the VAT number found in the order meta.

use woocommerce::Order;
use woosellsy_domain::{Address, ConnectorSettings, CustomerKind, CustomerPlan};

use crate::error::MappingError;
use crate::lines::text;

fn address(a: &woocommerce::Address, label: &str) -> Address {
    Address {
        label: label.to_owned(),
        first_name: text(&a.first_name),
        last_name: text(&a.last_name),
        company: text(&a.company),
        line1: text(&a.address_1),
        line2: text(&a.address_2),
        postal_code: a.postcode.trim().to_owned(),
        city: text(&a.city),
        state: a.state.trim().to_owned(),
        country_code: a.country.trim().to_uppercase(),
    }
}

/// The first non-empty value among the configured VAT meta keys.
fn vat_number(order: &Order, settings: &ConnectorSettings) -> Option<String> {
    settings
        .vat_meta_keys
        .iter()
        .find_map(|k| order.meta_str(k))
        .map(|v| v.split_whitespace().collect::<String>().to_uppercase())
}

pub(crate) fn customer(
    order: &Order,
    settings: &ConnectorSettings,
) -> Result<CustomerPlan, MappingError> {
    let email = order.billing.email.trim().to_lowercase();
    if email.is_empty() {
        return Err(MappingError::MissingEmail);
    }
    // Deliberately loose: WooCommerce validated it at checkout; this only catches obvious garbage.
    let valid = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(MappingError::InvalidEmail(email));
    }
    let b = &order.billing;
    let company = text(&b.company);
    let kind = if company.is_empty() {
        CustomerKind::Individual {
            first_name: text(&b.first_name),
            last_name: text(&b.last_name),
        }
    } else {
        CustomerKind::Company {
            name: company,
            vat_number: vat_number(order, settings),
            contact_first_name: text(&b.first_name),
            contact_last_name: text(&b.last_name),
        }
    };
    let phone = b.phone.trim();
    Ok(CustomerPlan {
        email,
        kind,
        phone: (!phone.is_empty()).then(|| phone.to_owned()),
        billing: address(b, "Facturation"),
        shipping: (!order.shipping.is_empty()).then(|| address(&order.shipping, "Livraison")),
    })
}
