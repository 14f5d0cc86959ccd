//! Injected misbehaviour: the counted faults, kept until they fire, and the standing ones
//! (an account's next upload, its status answers, its creator_info).

use std::time::Duration;

use rand::Rng;

use super::{Reject, State};
use crate::{Endpoint, Fault};

pub(super) enum CountedFault {
    Http {
        endpoint: Endpoint,
        status: u16,
        code: String,
        left: u32,
        /// `Some`: fires only on this account's requests.
        open_id: Option<String>,
        /// `Some`: fires on about this many in 100 of the requests it matches.
        percent: Option<u8>,
    },
    Body {
        fault: BodyFault,
        left: u32,
        open_id: Option<String>,
        /// `Some`: fires only on a PUT of this chunk.
        chunk: Option<u64>,
        percent: Option<u8>,
    },
}

/// Which requests an injected counted fault fires on.
#[derive(Clone, Default)]
struct FaultScope {
    open_id: Option<String>,
    chunk: Option<u64>,
    percent: Option<u8>,
}

/// Whether a fault scoped to `scope` applies to a request of `caller`.
fn in_scope(scope: &Option<String>, caller: Option<&str>) -> bool {
    scope.as_deref().is_none_or(|wanted| Some(wanted) == caller)
}

/// Whether a fault that matched a request fires on it: always, or on `percent` in 100 drawn
/// at random (drawn only once the rest of the fault matched).
fn fires(percent: Option<u8>) -> bool {
    percent.is_none_or(|percent| rand::rng().random_range(0..100) < percent)
}

/// What to do to an upload body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BodyFault {
    Reset { after_bytes: u64 },
    Stall { after_bytes: u64, stall: Duration },
}

impl State {
    pub(crate) fn inject(&mut self, fault: Fault) {
        self.inject_scoped(fault, FaultScope::default());
    }

    fn inject_scoped(&mut self, fault: Fault, scope: FaultScope) {
        match fault {
            Fault::HttpError {
                endpoint,
                status,
                code,
                times,
            } => self.faults.push(CountedFault::Http {
                endpoint,
                status,
                code,
                left: times,
                open_id: scope.open_id,
                percent: scope.percent,
            }),
            Fault::ResetMidBody { after_bytes, times } => self.faults.push(CountedFault::Body {
                fault: BodyFault::Reset { after_bytes },
                left: times,
                open_id: scope.open_id,
                chunk: scope.chunk,
                percent: scope.percent,
            }),
            Fault::StallBody {
                after_bytes,
                stall,
                times,
            } => self.faults.push(CountedFault::Body {
                fault: BodyFault::Stall { after_bytes, stall },
                left: times,
                open_id: scope.open_id,
                chunk: scope.chunk,
                percent: scope.percent,
            }),
            Fault::ForAccount { open_id, fault } => {
                let scope = FaultScope {
                    open_id: Some(open_id),
                    ..scope
                };
                self.inject_scoped(*fault, scope);
            }
            Fault::OnChunk { chunk, fault } => {
                let scope = FaultScope {
                    chunk: Some(chunk),
                    ..scope
                };
                self.inject_scoped(*fault, scope);
            }
            Fault::Sometimes { percent, fault } => {
                let scope = FaultScope {
                    percent: Some(percent),
                    ..scope
                };
                self.inject_scoped(*fault, scope);
            }
            Fault::ExpireAccessTokenOnCall { open_id, endpoint } => self
                .expire_token_on
                .entry(open_id)
                .or_default()
                .push(endpoint),
            Fault::ExpireUploadUrlAfterChunks { open_id, chunks } => {
                self.expire_url_after.insert(open_id, chunks);
            }
            Fault::ExpireUploadUrl { publish_id } => {
                for publish in self.publishes.values_mut() {
                    if publish_id
                        .as_ref()
                        .is_none_or(|id| *id == publish.publish_id)
                    {
                        publish.url_force_expired = true;
                    }
                }
            }
            Fault::ExpireAccessTokenNow { open_id } => {
                let current = self
                    .accounts
                    .get(&open_id)
                    .and_then(|a| a.access_token.clone());
                if let Some(token) = current.and_then(|t| self.access_tokens.get_mut(&t)) {
                    token.force_expired = true;
                }
            }
            Fault::DropChunk { open_id, chunk } => {
                self.drop_chunk.insert(open_id, chunk);
            }
            Fault::OmitUploadedBytes { open_id } => {
                self.omit_uploaded_bytes.insert(open_id);
            }
            Fault::CreatorCannotPost { open_id, code } => {
                self.cannot_post.insert(open_id, code);
            }
            Fault::FailPost {
                open_id,
                fail_reason,
            } => self
                .fail_posts
                .entry(open_id)
                .or_default()
                .push_back(fail_reason),
        }
    }

    /// The next HTTP fault for `endpoint` that applies to a request of `caller` (the
    /// account behind it, when known).
    pub(crate) fn take_http_fault(
        &mut self,
        endpoint: Endpoint,
        caller: Option<&str>,
    ) -> Option<Reject> {
        let index = self.faults.iter().position(|f| {
            matches!(f, CountedFault::Http { endpoint: e, left, open_id, percent, .. }
                if *e == endpoint && *left > 0 && in_scope(open_id, caller) && fires(*percent))
        })?;
        let CountedFault::Http {
            status, code, left, ..
        } = &mut self.faults[index]
        else {
            return None;
        };
        *left -= 1;
        let reject = Reject::new(*status, code, "Injected fault.");
        if *left == 0 {
            self.faults.remove(index);
        }
        Some(reject)
    }

    /// The next body fault that applies to a PUT of chunk `chunk` by `caller`.
    pub(crate) fn take_body_fault(
        &mut self,
        caller: Option<&str>,
        chunk: u64,
    ) -> Option<BodyFault> {
        let index = self.faults.iter().position(|f| {
            matches!(f, CountedFault::Body { left, open_id, chunk: only, percent, .. }
                if *left > 0 && in_scope(open_id, caller) && only.is_none_or(|c| c == chunk)
                    && fires(*percent))
        })?;
        let CountedFault::Body { fault, left, .. } = &mut self.faults[index] else {
            return None;
        };
        *left -= 1;
        let fault = *fault;
        if *left == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    /// Whether chunk `chunk` of `open_id`'s upload is to be answered 206 and then lost
    /// ([`Fault::DropChunk`]); the fault is spent when it says yes.
    pub(crate) fn take_drop_chunk(&mut self, open_id: &str, chunk: u64) -> bool {
        let fires = self.drop_chunk.get(open_id) == Some(&chunk);
        if fires {
            self.drop_chunk.remove(open_id);
        }
        fires
    }

    /// Whether `open_id`'s status answers leave `uploaded_bytes` out.
    pub(crate) fn omits_uploaded_bytes(&self, open_id: &str) -> bool {
        self.omit_uploaded_bytes.contains(open_id)
    }

    /// The refusal creator_info answers with HTTP 200, and init with 403, while the creator
    /// cannot post ([`Fault::CreatorCannotPost`]).
    pub(crate) fn cannot_post(&self, open_id: &str, status: u16) -> Option<Reject> {
        let code = self.cannot_post.get(open_id)?;
        Some(Reject::new(
            status,
            code,
            "The creator cannot post with the API at this time.",
        ))
    }
}
