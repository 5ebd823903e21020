//! registry (in progress)
use crate::error::{fail, ErrorKind, Fail};
use crate::reference::{DockerRef, Platform};
use crate::{Found, PullOptions};
pub fn open(_r: &DockerRef, _o: &PullOptions, _p: &Platform) -> Result<Found, Fail> {
    Err(fail(ErrorKind::Unsupported, "registries are not read yet"))
}
