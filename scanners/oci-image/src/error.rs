//! One error type: which reference, which step, what went wrong.

use std::fmt;

/// The kind of failure, for callers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The reference cannot be parsed or names an unknown transport.
    Reference,
    /// No such image, tag, file or blob.
    NotFound,
    /// The registry refused us (401/403), or we have no credentials for it.
    Unauthorized,
    /// A digest or size does not match its descriptor.
    DigestMismatch,
    /// Over a configured size limit.
    TooLarge,
    /// Valid but not something we read (schema 1, an unknown media type, a driver).
    Unsupported,
    /// A manifest list / index without the requested platform.
    Platform,
    /// A connection, TLS or HTTP failure.
    Network,
    /// A redirect (or token realm) off the registry that the address policy refuses.
    Refused,
    /// A request did not finish in time.
    Timeout,
    /// Malformed JSON, tar or storage metadata.
    Malformed,
    /// A local file could not be read.
    Io,
}

/// An image could not be opened or read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("image {}: {}{}", .reference, StepPrefix(.step), .message)]
pub struct ImageError {
    pub reference: String,
    /// What we were doing ("manifest latest", "config sha256:…", "layer 2 (sha256:…)").
    pub step: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl ImageError {
    pub fn new(reference: &str, step: &str, kind: ErrorKind, message: String) -> ImageError {
        ImageError {
            reference: reference.to_string(),
            step: step.to_string(),
            kind,
            message,
        }
    }
}

/// `STEP: ` before the message, nothing when no step is named.
struct StepPrefix<'a>(&'a str);

impl fmt::Display for StepPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

impl From<ImageError> for std::io::Error {
    fn from(e: ImageError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// An error inside a source, before the reference is attached.
#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub kind: ErrorKind,
    pub step: String,
    pub message: String,
}

impl Fail {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Fail {
        Fail {
            kind,
            step: String::new(),
            message: message.into(),
        }
    }

    /// Name the step, unless an inner one already did.
    pub fn step(mut self, step: impl Into<String>) -> Fail {
        if self.step.is_empty() {
            self.step = step.into();
        }
        self
    }

    pub fn at(self, reference: &str, step: &str) -> ImageError {
        let step = if self.step.is_empty() {
            step.to_string()
        } else {
            self.step
        };
        ImageError {
            reference: reference.to_string(),
            step,
            kind: self.kind,
            message: self.message,
        }
    }
}

pub(crate) fn fail(kind: ErrorKind, message: impl Into<String>) -> Fail {
    Fail::new(kind, message)
}
