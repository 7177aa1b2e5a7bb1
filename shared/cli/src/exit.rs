//! Exit codes of the CLI contract (ARCHITECTURE section 7): 0 every input processed, 2 an
//! input was rejected (or the command line, policy or snapshot was unusable), 1 an execution
//! failed (this wins over 2: a failed action needs attention first).

/// Every input was processed, whatever the verdicts.
pub const OK: u8 = 0;
/// An execution failed.
pub const FAILED: u8 = 1;
/// An input was rejected, or the command line, policy or snapshot is unusable.
pub const REJECTED: u8 = 2;
