//! FF-A memory management transactions (share, lend, donate, retrieve, relinquish, reclaim).
