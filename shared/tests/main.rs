//! Integration tests of the core against its real stand-ins: the strict fake TikTok
//! (in-process) and moto (started on first use by `test-support`).

mod allowance;
mod client;
mod connect;
mod facts;
mod intake;
mod legacy_items;
mod operations;
mod outcomes;
mod pipeline;
mod posts_api;
mod recovery;
mod retention;
mod sealing;
mod source;
mod stores;
mod tokens;
mod transfer;
mod webhook;
