//! Records-room work (HIM): the deficiency worklist and its siblings. Services over the
//! store; nothing here imports actix.

pub mod deficiency;
