//! Webhook topics and the WordPress hooks behind them (`WC_Webhook::get_default_topic_hooks()`), and the
//! topic validation of `wc_is_webhook_valid_topic()`. The simulator fires hook names, not topics, so a
//! topic listening to several hooks (`product.updated`) behaves as it does in WooCommerce.

/// Resources whose webhooks the simulator can deliver or at least store.
const RESOURCES: [&str; 4] = ["coupon", "customer", "order", "product"];
const EVENTS: [&str; 4] = ["created", "updated", "deleted", "restored"];
const ACTION_BLACKLIST: [&str; 3] = [
    "woocommerce_login_credentials",
    "woocommerce_product_csv_importer_check_import_file_path",
    "woocommerce_webhook_should_deliver",
];

/// `wc_is_webhook_valid_topic()`: `resource.event` from the fixed lists, or `action.woocommerce_*` /
/// `action.wc_*` outside the blacklist.
pub fn is_valid_topic(topic: &str) -> bool {
    if let Some(hook) = topic.strip_prefix("action.") {
        return (hook.starts_with("woocommerce_") || hook.starts_with("wc_"))
            && !ACTION_BLACKLIST.contains(&hook);
    }
    match topic.split_once('.') {
        Some((resource, event)) => RESOURCES.contains(&resource) && EVENTS.contains(&event),
        None => false,
    }
}

/// The part before the first `.` (`X-WC-Webhook-Resource`).
pub fn resource(topic: &str) -> &str {
    topic.split_once('.').map_or(topic, |(r, _)| r)
}

/// The part after the first `.` (`X-WC-Webhook-Event`).
pub fn event(topic: &str) -> &str {
    topic.split_once('.').map_or("", |(_, e)| e)
}

/// The hooks a topic listens to, as WooCommerce 9.8 registers them.
pub fn hooks_for_topic(topic: &str) -> Vec<String> {
    if let Some(hook) = topic.strip_prefix("action.") {
        return vec![hook.to_owned()];
    }
    let hooks: &[&str] = match topic {
        "order.created" => &["woocommerce_new_order"],
        "order.updated" => &["woocommerce_update_order", "woocommerce_order_refunded"],
        "order.deleted" => &["wp_trash_post", "woocommerce_trash_order"],
        "order.restored" => &["untrashed_post", "woocommerce_untrash_order"],
        "product.created" => &[
            "woocommerce_process_product_meta",
            "woocommerce_new_product",
            "woocommerce_new_product_variation",
        ],
        "product.updated" => &[
            "woocommerce_process_product_meta",
            "woocommerce_update_product",
            "woocommerce_update_product_variation",
        ],
        "product.deleted" => &["wp_trash_post"],
        "product.restored" => &["untrashed_post"],
        "coupon.created" => &[
            "woocommerce_process_shop_coupon_meta",
            "woocommerce_new_coupon",
        ],
        "coupon.updated" => &[
            "woocommerce_process_shop_coupon_meta",
            "woocommerce_update_coupon",
        ],
        "coupon.deleted" => &["wp_trash_post"],
        "coupon.restored" => &["untrashed_post"],
        "customer.created" => &[
            "user_register",
            "woocommerce_created_customer",
            "woocommerce_new_customer",
        ],
        "customer.updated" => &["profile_update", "woocommerce_update_customer"],
        "customer.deleted" => &["delete_user"],
        _ => &[],
    };
    hooks.iter().map(|h| (*h).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_validate_like_woocommerce() {
        assert!(is_valid_topic("order.updated"));
        assert!(is_valid_topic("action.woocommerce_order_status_completed"));
        assert!(is_valid_topic("action.wc_custom"));
        assert!(!is_valid_topic("action.save_post"));
        assert!(!is_valid_topic("action.woocommerce_login_credentials"));
        assert!(!is_valid_topic("order.paid"));
        assert!(!is_valid_topic("refund.created"));
        assert!(!is_valid_topic("order"));
        assert_eq!(resource("action.woocommerce_x"), "action");
        assert_eq!(event("action.woocommerce_x"), "woocommerce_x");
    }
}
