//! Records-room (HIM) services built on the store: the master patient index and the
//! classic registers (disease, procedure and physician indexes). Never imports actix.

pub mod csv;
pub mod indexes;
pub mod mpi;
