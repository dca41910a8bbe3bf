//! Custom activations shared by the examples.
