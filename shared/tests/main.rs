//! Integration tests of the core against its real stand-ins: the strict fake TikTok
//! (in-process) and moto (started on first use by `test-support`); and the services'
//! logic over the in-memory ports (`tiktok-publish-memory`, which builds on this crate, so
//! those tests live here rather than beside the code): `api_logic`, `metrics_logic`,
//! `reconnect_logic`, `tokens_logic`, and `console` (its logic, verifier and moto tests).

mod allowance;
mod api_logic;
mod client;
mod connect;
mod console;
mod facts;
mod intake;
mod legacy_items;
mod metrics_logic;
mod operations;
mod outcomes;
mod pipeline;
mod post_listing;
mod posts_api;
mod reconnect_logic;
mod recovery;
mod retention;
mod sealing;
mod source;
mod stores;
mod tokens;
mod tokens_logic;
mod tokens_profile;
mod transfer;
mod webhook;
