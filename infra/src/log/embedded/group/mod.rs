//! Consumer groups of the embedded log, shared among members in this process.

mod assignment;
mod coordinator;
mod member;

pub(super) use coordinator::Coordinator;
pub(super) use member::GroupMember;
