//! What a merchant does in Sellsy's own interface, behind the connector's back: deleting a customer or an
//! item the connector has already used (merging duplicates, tidying the catalogue). Tests use it to prove
//! that ids the connector remembered can go stale without blocking later orders.

use crate::SellsySim;
use crate::store::PartyKind;

impl SellsySim {
    /// Deletes an individual and its addresses, as the Sellsy interface does. Returns whether it existed.
    pub fn delete_individual(&self, id: u64) -> bool {
        self.delete_party(PartyKind::Individual, id)
    }

    /// Deletes a company, its addresses and its contact links. Returns whether it existed.
    pub fn delete_company(&self, id: u64) -> bool {
        self.delete_party(PartyKind::Company, id)
    }

    /// Deletes an item and its declinations. Returns whether it existed.
    pub fn delete_item(&self, id: u64) -> bool {
        let mut st = self.shared.lock();
        st.declinations.retain(|_, d| d.item_id != id);
        st.items.remove(&id).is_some()
    }

    fn delete_party(&self, kind: PartyKind, id: u64) -> bool {
        let mut st = self.shared.lock();
        st.addresses.retain(|_, a| a.owner != (kind, id));
        match kind {
            PartyKind::Individual => st.individuals.remove(&id).is_some(),
            PartyKind::Company => {
                st.company_contacts.retain(|(company, _), _| *company != id);
                st.companies.remove(&id).is_some()
            }
        }
    }
}
