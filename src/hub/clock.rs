//! The hub's clock (the crate's one) and its random identifiers.

use rand::Rng;
use rand::distr::Alphanumeric;

pub(crate) use crate::clock::now_ms;

/// Letters and digits only: safe inside connection ids, sync ids and serials.
pub(crate) fn random_id(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
