//! The core's vocabulary: the words every stage speaks, below all of them.
//!
//! [`target`] names objects, [`action`] says what was decided, [`op`] is one API call of a
//! plan, [`verdict`] says what came of it, [`record`] is a Route 53 weighted record set, [`annotations`] lists the annotation keys
//! reflex reads and writes, and [`labels`] the node labels that say who provisioned a
//! node. Nothing here imports a stage (decode, policy, plan, guard, execute, audit), so
//! every stage can import it.

pub mod action;
pub mod annotations;
pub mod labels;
pub mod op;
pub mod record;
pub mod target;
pub mod verdict;
