//! The four tasks of the state machine: init, chunk upload, status, record failure, each in
//! its own file over what they share (`common`).

mod common;
mod failure;
mod init;
mod photos;
mod pull;
mod resume;
mod status;
mod upload;

pub use failure::{FailureInput, StateMachineError, StatusAnswer, StatusTask};
