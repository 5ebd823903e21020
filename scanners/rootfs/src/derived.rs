//! Values derived from one root's content, computed once by whoever needs them first and then
//! shared by every judgement of that root (one slot per type).

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct Derived {
    slots: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
}

impl Derived {
    pub(crate) fn keep<T: Any + Send + Sync>(&self, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.retain(|s| !s.is::<T>());
        slots.push(Arc::clone(&value) as Arc<dyn Any + Send + Sync>);
        value
    }

    pub(crate) fn kept<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.iter().find_map(|s| Arc::clone(s).downcast::<T>().ok())
    }
}

impl fmt::Debug for Derived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.slots.lock().map_or(0, |s| s.len());
        write!(f, "Derived({n} kept)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type_shared_and_replaced() {
        let d = Derived::default();
        assert!(d.kept::<u32>().is_none());
        d.keep(1u32);
        d.keep(String::from("a"));
        assert_eq!(*d.kept::<u32>().unwrap(), 1);
        d.keep(2u32);
        assert_eq!(*d.kept::<u32>().unwrap(), 2);
        assert_eq!(d.kept::<String>().unwrap().as_str(), "a");
    }
}
