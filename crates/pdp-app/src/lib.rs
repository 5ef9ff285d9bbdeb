//! The application layer of PDP: what the platform does, apart from how it is asked.
//!
//! The use cases here take a [`Principal`] (who asks) and the application state, check the
//! regulations' rules through `pdp-domain`, read and write through the [`pdp_storage::Storage`]
//! trait and the lake, and answer with typed values or an [`AppError`]. The HTTP layer
//! (`pdp-web`), the command line and the demo city all call these functions; none of them
//! carries business logic of its own.

pub mod clock;
pub mod error;
pub mod principal;

pub use error::{AppError, ErrorKind, ViolationOut};
pub use principal::{Principal, Via};
