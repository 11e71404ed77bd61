//! offerline-core: the pure domain of offerline.
//!
//! No I/O, no async, no wire formats. See the module docs for what each part owns.

pub mod status;
