//! Invoice endpoints of the simulator: strict validation of `InvoiceCreate` (shared by `POST /invoices` and
//! `POST /invoices/compute`), amount computation through [`crate::compute`], storage, list/search and the
//! draft → due validation that assigns the legal number.
//!
//! One job per file: [`rows`] checks and prices each row, [`document`] checks the body around them and totals
//! it, [`render`] shapes the JSON answers, [`handlers`] serves the endpoints and keeps the store.

mod document;
mod handlers;
mod render;
mod rows;

pub(crate) use handlers::{compute, create, get, list, search, validate};
