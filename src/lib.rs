//! tradescreen: screens export invoices against the Common High Priority List, Russia-related
//! sanctions lists and a route policy, and keeps every verdict in an audit log.
//!
//! Layers (arrows point down only): `server` → `api` → (`screening`, `lists`, `audit`);
//! `lists` → `screening`; `audit` → `screening`. The domain (`screening`, `lists`) knows
//! nothing of tonic or sled.

pub mod api;
pub mod audit;
pub mod eval;
pub mod lists;
pub mod pb;
pub mod screening;
pub mod server;
pub mod telemetry;
