//! Black-box tests of the `woosellsy` binary: each test spawns the real process (`woosellsy serve`)
//! against the WooCommerce and Sellsy simulators and asserts what a merchant would see — invoices in
//! Sellsy, links in the order, HTTP answers at the edge — never internal state.

mod aws_register;
mod edge;
mod exactly_once;
mod helpers;
mod permalinks;
mod resilience;
mod restart;
mod sellsy_spec;
mod storm;
