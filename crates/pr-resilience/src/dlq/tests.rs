//! Unit tests of the queue.
