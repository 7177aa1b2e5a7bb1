//! Exit codes of the CLI contract (ARCHITECTURE section 7): 0 every input processed, 2 an
//! input was rejected (or the command line, policy or snapshot was unusable), 1 an execution
//! failed (this wins over 2: a failed action needs attention first). `policy test`
//! (section 10) uses the same three: every test passed, a test failed, a test file or policy
//! is unusable.

/// Every input was processed, whatever the verdicts (`policy test`: every test passed).
pub const OK: u8 = 0;
/// An execution failed (`policy test`: a test failed).
pub const FAILED: u8 = 1;
/// An input was rejected, or the command line, policy, snapshot or test file is unusable.
pub const REJECTED: u8 = 2;
