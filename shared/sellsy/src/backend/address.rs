//! Turning a plan address into a Sellsy `AddressCreate`, and recognising an address Sellsy already has.
//!
//! Sellsy requires `name` 2–200 characters, `address_line_1`, `postal_code` 2–30, `city` 2–250 and a
//! 2-letter `country_code`. WooCommerce requires none of this, so values are tidied (whitespace,
//! length) and derived where an honest value exists (the city of a city-state, "N/A" as the postal
//! code of a country that has none); otherwise the order fails with a reason the merchant can act on.
//!
//! Two addresses are "the same" when their street lines, postal code, city and country match ignoring
//! case and spacing; the label is left out, so one address can serve as both invoicing and delivery
//! address.
//!
//! The backend reuses an address the customer already has (remembered by fingerprint, else found in the
//! customer's list, which is fetched at most once per invoice) and creates it otherwise.

use sha2::{Digest, Sha256};
use woosellsy_domain::{Address, DocumentPlan};
use woosellsy_ports::{IdCache, IdKind, PortError, PortResult};

use super::customer::Customer;
use super::text::{tidy, truncate};
use super::{SellsyBackend, port_error, remember};
use crate::client::types::{Address as SellsyAddress, Id, NewAddress, ThirdPartyRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Billing,
    Shipping,
}

impl Role {
    fn noun(self) -> &'static str {
        match self {
            Role::Billing => "billing",
            Role::Shipping => "shipping",
        }
    }
    fn default_label(self) -> &'static str {
        match self {
            Role::Billing => "Facturation",
            Role::Shipping => "Livraison",
        }
    }
}

/// Countries without postal codes (ISO 3166-1), where WooCommerce leaves the field empty.
const NO_POSTAL_CODE: &[&str] = &[
    "AE", "AG", "AN", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI",
    "CK", "CM", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "HM", "JM", "KI",
    "KM", "KN", "KP", "LC", "ML", "MO", "MR", "MW", "NR", "NU", "QA", "RW", "SB", "SC", "SL", "SR",
    "ST", "SY", "TD", "TF", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW",
];

/// City-states where the country is the city.
fn city_state(country: &str) -> Option<&'static str> {
    Some(match country {
        "SG" => "Singapore",
        "HK" => "Hong Kong",
        "MO" => "Macao",
        "MC" => "Monaco",
        "VA" => "Vatican City",
        "GI" => "Gibraltar",
        _ => return None,
    })
}

/// The Sellsy address for `a`, or why none can be made.
pub(crate) fn prepare(a: &Address, role: Role) -> Result<NewAddress, String> {
    let what = role.noun();
    let country = tidy(&a.country_code).to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(if country.is_empty() {
            format!("the {what} address has no country; Sellsy needs one")
        } else {
            format!("the {what} address country {country:?} is not a 2-letter ISO code")
        });
    }

    let mut line1 = tidy(&a.line1);
    let mut line2 = tidy(&a.line2);
    if line1.is_empty() {
        std::mem::swap(&mut line1, &mut line2);
    }
    if line1.is_empty() {
        return Err(format!(
            "the {what} address has no street line; Sellsy needs one"
        ));
    }
    let state = tidy(&a.state);

    let mut postal = tidy(&a.postal_code);
    if postal.is_empty() && NO_POSTAL_CODE.contains(&country.as_str()) {
        postal = "N/A".to_owned();
    }
    let postal_len = postal.chars().count();
    if postal_len == 0 {
        return Err(format!(
            "the {what} address has no postal code; Sellsy needs one"
        ));
    }
    if postal_len < 2 {
        return Err(format!(
            "the {what} address postal code {postal:?} is too short for Sellsy (2 characters at least)"
        ));
    }
    if postal_len > 30 {
        return Err(format!(
            "the {what} address postal code {postal:?} is too long for Sellsy (30 characters at most)"
        ));
    }

    let mut city = tidy(&a.city);
    if city.is_empty() {
        city = city_state(&country).map(str::to_owned).unwrap_or_default();
    }
    match city.chars().count() {
        0 => return Err(format!("the {what} address has no city; Sellsy needs one")),
        // One-letter places exist (Y, in the Somme); the country makes it long enough and stays true.
        1 => city = format!("{city}, {country}"),
        _ => {}
    }

    let mut name = tidy(&a.label);
    if name.chars().count() < 2 {
        name = role.default_label().to_owned();
    }

    Ok(NewAddress {
        name: truncate(&name, 200),
        address_line_1: truncate(&line1, 250),
        address_line_2: Some(truncate(&line2, 250)).filter(|s| !s.is_empty()),
        address_line_3: Some(truncate(&state, 250)).filter(|s| !s.is_empty()),
        postal_code: postal,
        city: truncate(&city, 250),
        country_code: country,
    })
}

/// The comparable form of an address: everything but the label, lower case, single spaces.
fn comparable(
    line1: &str,
    line2: &str,
    line3: &str,
    postal: &str,
    city: &str,
    country: &str,
) -> [String; 6] {
    [line1, line2, line3, postal, city, country].map(|s| tidy(s).to_lowercase())
}

fn comparable_new(a: &NewAddress) -> [String; 6] {
    comparable(
        &a.address_line_1,
        a.address_line_2.as_deref().unwrap_or(""),
        a.address_line_3.as_deref().unwrap_or(""),
        &a.postal_code,
        &a.city,
        &a.country_code,
    )
}

/// A short stable key for the id cache (the full text could exceed store key limits).
pub(crate) fn fingerprint(a: &NewAddress) -> String {
    let mut h = Sha256::new();
    for part in comparable_new(a) {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether Sellsy's `existing` address is the one we would create.
pub(crate) fn same_place(existing: &SellsyAddress, wanted: &NewAddress) -> bool {
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    existing
        .address_line_4
        .as_deref()
        .unwrap_or("")
        .trim()
        .is_empty()
        && comparable(
            &o(&existing.address_line_1),
            &o(&existing.address_line_2),
            &o(&existing.address_line_3),
            &o(&existing.postal_code),
            &o(&existing.city),
            &o(&existing.country_code),
        ) == comparable_new(wanted)
}

impl SellsyBackend {
    pub(super) async fn resolve_addresses(
        &self,
        customer: &Customer,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<(Id, Id)> {
        let billing =
            prepare(&plan.customer.billing, Role::Billing).map_err(PortError::permanent)?;
        let shipping = match &plan.customer.shipping {
            Some(s) => Some(prepare(s, Role::Shipping).map_err(PortError::permanent)?),
            None => None,
        };
        // A customer created just now has no addresses: no need to ask.
        let mut known: Option<Vec<SellsyAddress>> = customer.created.then(Vec::new);
        let invoicing = self
            .resolve_address(customer.party, &billing, &mut known, cache)
            .await?;
        let delivery = match shipping {
            Some(s) if fingerprint(&s) != fingerprint(&billing) => {
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
        let key = format!("{party}:{}", fingerprint(wanted));
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
        let id = match list.iter().find(|a| same_place(a, wanted)) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Address {
        Address {
            label: "Facturation".into(),
            first_name: "Jean".into(),
            last_name: "Martin".into(),
            company: String::new(),
            line1: " 30  rue de la Paix ".into(),
            line2: String::new(),
            postal_code: "75002".into(),
            city: "Paris".into(),
            state: String::new(),
            country_code: "fr".into(),
        }
    }

    #[test]
    fn a_plain_french_address_is_tidied() {
        let a = prepare(&addr(), Role::Billing).unwrap();
        assert_eq!(a.name, "Facturation");
        assert_eq!(a.address_line_1, "30 rue de la Paix");
        assert_eq!(a.address_line_2, None);
        assert_eq!(a.country_code, "FR");
        assert_eq!(a.postal_code, "75002");
    }

    #[test]
    fn missing_values_are_derived_when_honest() {
        let mut a = addr();
        a.label = "x".into();
        a.line1 = String::new();
        a.line2 = "Bât. B".into();
        a.postal_code = String::new();
        a.city = String::new();
        a.country_code = "HK".into();
        let p = prepare(&a, Role::Shipping).unwrap();
        assert_eq!(p.name, "Livraison");
        assert_eq!(p.address_line_1, "Bât. B");
        assert_eq!(p.postal_code, "N/A");
        assert_eq!(p.city, "Hong Kong");

        let mut y = addr();
        y.city = "Y".into();
        y.postal_code = "80190".into();
        assert_eq!(prepare(&y, Role::Billing).unwrap().city, "Y, FR");
    }

    #[test]
    fn impossible_addresses_say_why() {
        let mut a = addr();
        a.postal_code = String::new();
        assert!(
            prepare(&a, Role::Billing)
                .unwrap_err()
                .contains("no postal code")
        );
        let mut a = addr();
        a.country_code = String::new();
        assert!(
            prepare(&a, Role::Shipping)
                .unwrap_err()
                .contains("shipping address has no country")
        );
        let mut a = addr();
        a.line1 = " ".into();
        assert!(
            prepare(&a, Role::Billing)
                .unwrap_err()
                .contains("no street line")
        );
        let mut a = addr();
        a.city = String::new();
        assert!(prepare(&a, Role::Billing).unwrap_err().contains("no city"));
        let mut a = addr();
        a.postal_code = "1".repeat(31);
        assert!(prepare(&a, Role::Billing).unwrap_err().contains("too long"));
    }

    #[test]
    fn long_values_are_cut_to_sellsy_limits() {
        let mut a = addr();
        a.label = "L".repeat(300);
        a.line1 = "é".repeat(400);
        let p = prepare(&a, Role::Billing).unwrap();
        assert_eq!(p.name.chars().count(), 200);
        assert_eq!(p.address_line_1.chars().count(), 250);
    }

    #[test]
    fn the_label_does_not_change_the_place() {
        let billing = prepare(&addr(), Role::Billing).unwrap();
        let mut s = addr();
        s.label = "Livraison".into();
        s.line1 = "30 RUE de la paix".into();
        let shipping = prepare(&s, Role::Shipping).unwrap();
        assert_eq!(fingerprint(&billing), fingerprint(&shipping));
        let mut other = addr();
        other.postal_code = "75003".into();
        assert_ne!(
            fingerprint(&billing),
            fingerprint(&prepare(&other, Role::Billing).unwrap())
        );

        let existing = SellsyAddress {
            id: 9,
            name: Some("Siège".into()),
            address_line_1: Some("30 rue de la Paix".into()),
            postal_code: Some("75002".into()),
            city: Some("PARIS".into()),
            country_code: Some("FR".into()),
            ..Default::default()
        };
        assert!(same_place(&existing, &billing));
        let moved = SellsyAddress {
            postal_code: Some("75003".into()),
            ..existing
        };
        assert!(!same_place(&moved, &billing));
    }
}
