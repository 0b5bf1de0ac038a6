//! Pure account rules: what a valid email, password, phone and name are, and turning requests
//! into validated values. No I/O and no async here.

mod fields;
mod profile;
mod registration;

pub use fields::{Email, Phone};
pub use profile::ProfileChange;
pub use registration::NewAccount;

pub use contracts::problem::FieldErrors;
