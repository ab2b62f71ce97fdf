//! Where the converter reads and writes the shop beyond the order itself: the document links written
//! back into the order's meta data, and the parents' SKUs a variation is invoiced under.

use std::collections::BTreeMap;

use serde_json::json;
use woocommerce::Order;
use woosellsy_domain::DocumentKind;
use woosellsy_ports::{DocumentRef, IdCache, IdKind, PortResult, Shop};

/// The order meta that links the order to its documents (`woosellsy.invoice_id`, `_url`, `_number`), and
/// `woosellsy.warning` (cleared with `null` when there is nothing to warn about).
pub(super) fn link_meta(
    documents: &BTreeMap<DocumentKind, DocumentRef>,
) -> Vec<(String, serde_json::Value)> {
    let mut meta = Vec::new();
    for (kind, doc) in documents {
        let prefix = kind.meta_prefix();
        meta.push((format!("{prefix}_id"), json!(doc.id)));
        if let Some(url) = &doc.url {
            meta.push((format!("{prefix}_url"), json!(url)));
        }
        if let Some(number) = &doc.number {
            meta.push((format!("{prefix}_number"), json!(number)));
        }
    }
    // Documents created but not totalling what WooCommerce does: said where the merchant looks.
    let warnings: Vec<&str> = documents
        .values()
        .filter_map(|d| d.warning.as_deref())
        .collect();
    let warning = if warnings.is_empty() {
        serde_json::Value::Null
    } else {
        json!(warnings.join(" "))
    };
    meta.push(("woosellsy.warning".to_owned(), warning));
    meta
}

/// Variations are matched to a declination of their parent's Sellsy item, which is found by the parent's
/// SKU; the order only names the parent's id. One product read per variable product, remembered.
pub(super) async fn fill_parent_skus(
    shop: &dyn Shop,
    cache: &dyn IdCache,
    order: &mut Order,
) -> PortResult<()> {
    for item in order
        .line_items
        .iter_mut()
        .filter(|i| i.variation_id != 0 && i.product_id != 0)
    {
        let key = item.product_id.to_string();
        if let Ok(Some(sku)) = cache.get(IdKind::ParentSku, &key).await {
            item.parent_sku = Some(sku).filter(|s| !s.is_empty());
            continue;
        }
        // The parent is gone: the variation is invoiced under its own SKU.
        let sku = match shop.product(item.product_id).await? {
            Some(parent) => parent.sku.trim().to_owned(),
            None => String::new(),
        };
        let _ = cache.put(IdKind::ParentSku, &key, &sku).await;
        item.parent_sku = Some(sku).filter(|s| !s.is_empty());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_each_document_and_clear_an_old_warning() {
        let mut docs = BTreeMap::new();
        docs.insert(
            DocumentKind::Invoice,
            DocumentRef {
                kind: DocumentKind::Invoice,
                id: "501".to_owned(),
                number: Some("FA-0042".to_owned()),
                url: Some("https://sellsy.example/i/501".to_owned()),
                warning: None,
            },
        );
        let meta = link_meta(&docs);
        let keys: Vec<&str> = meta.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "woosellsy.invoice_id",
                "woosellsy.invoice_url",
                "woosellsy.invoice_number",
                "woosellsy.warning"
            ]
        );
        assert_eq!(meta[3].1, serde_json::Value::Null);
    }
}
