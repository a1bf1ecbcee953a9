//! Values made once per process. A child of `fork()` has none of its
//! parent's threads: the I/O runtime made before the fork would take the
//! child's requests and never run them, and the HTTP client's pooled
//! connections are driven by that runtime's tasks. So the child makes its
//! own, and leaves the inherited value alone: dropping it could wait on
//! threads that do not exist there.

use std::sync::Mutex;

type Make<T> = dyn Fn() -> Result<T, String> + Send + Sync;

/// A value of this process, made by `make` (again in a child of `fork()`).
pub(crate) struct PerProcess<T> {
    make: Box<Make<T>>,
    current: Mutex<Option<(u32, T)>>,
}

impl<T> PerProcess<T> {
    /// Made on first use.
    pub fn lazy(make: impl Fn() -> Result<T, String> + Send + Sync + 'static) -> Self {
        Self {
            make: Box::new(make),
            current: Mutex::new(None),
        }
    }

    /// Made now, so that its settings fail at once, and again in a child.
    pub fn eager(
        make: impl Fn() -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let value = make()?;
        Ok(Self {
            make: Box::new(make),
            current: Mutex::new(Some((std::process::id(), value))),
        })
    }

    /// `read` of this process's value, made first if need be.
    pub fn with<R>(&self, read: impl FnOnce(&T) -> R) -> Result<R, String> {
        let pid = std::process::id();
        let mut slot = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
            if let Some((_, inherited)) = slot.take() {
                std::mem::forget(inherited);
            }
        }
        if slot.is_none() {
            *slot = Some((pid, (self.make)()?));
        }
        slot.as_ref()
            .map(|(_, value)| read(value))
            .ok_or_else(|| "no value".to_owned())
    }

    /// This process's value, taken out (for a shutdown of its own); an
    /// inherited one is forgotten.
    pub fn take(&mut self) -> Option<T> {
        let slot = self.current.get_mut().unwrap_or_else(|e| e.into_inner());
        match slot.take() {
            Some((owner, value)) if owner == std::process::id() => Some(value),
            Some((_, inherited)) => {
                std::mem::forget(inherited);
                None
            }
            None => None,
        }
    }
}

impl<T> Drop for PerProcess<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}
