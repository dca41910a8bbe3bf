//! Tests of actigen's `ndarray` and `candle` adapters: see `tests/`.
