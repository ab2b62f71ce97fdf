//! Whether an order should become a document now: only paid orders are invoiced, and orders in a state that
//! says "no money taken" (pending, on hold, failed, cancelled, draft, trash) are skipped even if a payment
//! date lingers from an earlier state.

use woocommerce::{Order, OrderStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    /// Paid: create the documents.
    Create,
    /// Not now (maybe later, when the order is paid); `reason` is readable.
    Skip { reason: String },
}

/// Decides from the status and the payment date. Refunded orders were paid, so they are invoiced (a refund
/// is a credit note against the invoice, not the absence of one).
pub fn eligibility(order: &Order) -> Eligibility {
    let blocked = match order.status {
        OrderStatus::Pending => Some("the order is pending payment"),
        OrderStatus::OnHold => Some("the order is on hold (payment not confirmed)"),
        OrderStatus::Failed => Some("the payment failed"),
        OrderStatus::Cancelled => Some("the order was cancelled"),
        OrderStatus::CheckoutDraft => Some("the order is a checkout draft"),
        OrderStatus::Trash => Some("the order is in the trash"),
        _ => None,
    };
    if let Some(reason) = blocked {
        return Eligibility::Skip {
            reason: reason.to_owned(),
        };
    }
    if order.is_paid() {
        Eligibility::Create
    } else {
        Eligibility::Skip {
            reason: format!(
                "the order is not paid yet (status {:?}, no payment date)",
                order.status.as_str()
            ),
        }
    }
}
