//! Property tests: random sequences of operations (placeholder until written).
