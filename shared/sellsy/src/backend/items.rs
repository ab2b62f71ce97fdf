//! Catalog items, by SKU: the item whose reference it is, else the declination of the parent item that
//! carries it, else a new product item. The cache remembers each as an [`ItemRef`].

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use woosellsy_domain::PlanLine;
use woosellsy_ports::{IdCache, IdKind, PortResult};

use super::text::{tidy, truncate};
use super::{SellsyBackend, port_error, remember};
use crate::client::types::{CatalogItemType, Id, Item, NewItem};

/// Longest item name Sellsy accepts.
const ITEM_NAME_MAX: usize = 250;

/// A catalog item as the cache stores it: `product:12`, `service:4`, `product:12:declination:3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemRef {
    pub(super) kind: CatalogItemType,
    pub(super) id: Id,
    pub(super) declination_id: Option<Id>,
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

impl SellsyBackend {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn resolve_item(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
