//! containers-storage (in progress)
use crate::error::{fail, ErrorKind, Fail};
use crate::reference::StorageRef;
use crate::{Found, PullOptions};
pub fn open(_r: &StorageRef, _o: &PullOptions) -> Result<Found, Fail> {
    Err(fail(ErrorKind::Unsupported, "containers-storage is not read yet"))
}
