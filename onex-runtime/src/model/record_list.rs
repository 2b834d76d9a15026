//! [`RecordList`]: a report's step records or thunks, built when first read.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a [`RecordList`] builds its values from: a run's compact log, shared by the
/// report's lists.
pub(crate) trait BuildRecords<T>: Send + Sync {
    /// Every value, in order.
    fn build(&self) -> Vec<T>;
}

/// A list of a run's records ([`WorkflowReport::steps`], [`WorkflowReport::thunks_emitted`]),
/// built the first time it is read.
///
/// A run writes a compact log on its hot path (step indices, states, counts, clock
/// readings) and leaves the rich values to its report: a report that is dropped unread
/// never builds them. The list derefs to a `Vec`, so it is read, indexed, iterated,
/// compared and pushed to like one; it serializes as a plain list, clones and compares by
/// its values, and every read of one report sees the same values (a thunk's id included).
///
/// [`WorkflowReport::steps`]: crate::WorkflowReport::steps
/// [`WorkflowReport::thunks_emitted`]: crate::WorkflowReport::thunks_emitted
///
/// # Examples
///
/// ```
/// use onex::{RecordList, Thunk, ThunkType};
///
/// let mut thunks: RecordList<Thunk> = RecordList::new();
/// assert!(thunks.is_empty());
/// thunks.push(Thunk::new(ThunkType::Compute, "NodeDoubler"));
/// assert_eq!(thunks.len(), 1);
/// assert_eq!(thunks[0].target_node_type, "NodeDoubler");
/// for thunk in &thunks {
///     assert_eq!(thunk.thunk_type, ThunkType::Compute);
/// }
/// let json = serde_json::to_string(&thunks).unwrap();
/// let back: RecordList<Thunk> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, thunks);
/// let plain: Vec<Thunk> = thunks.into();
/// assert_eq!(plain.len(), 1);
/// ```
pub struct RecordList<T> {
    /// `None` while the list is empty and has no log: a report with records off holds two
    /// such lists, and a report is moved several times per run (a `run_batch` result per
    /// input), so every byte of it costs.
    lazy: Option<Box<Lazy<T>>>,
}

/// A list's values, and what builds them until they are built.
struct Lazy<T> {
    built: OnceLock<Vec<T>>,
    log: Option<Arc<dyn BuildRecords<T>>>,
}

impl<T> Lazy<T> {
    /// The values, built now if they were not yet.
    fn values(&self) -> &Vec<T> {
        self.built.get_or_init(|| match &self.log {
            Some(log) => log.build(),
            None => Vec::new(),
        })
    }
}

impl<T> RecordList<T> {
    /// An empty list.
    ///
    /// ```
    /// assert!(onex::RecordList::<onex::Thunk>::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        RecordList { lazy: None }
    }

    /// A list built from `log` when first read.
    pub(crate) fn from_log(log: Arc<dyn BuildRecords<T>>) -> Self {
        RecordList {
            lazy: Some(Box::new(Lazy {
                built: OnceLock::new(),
                log: Some(log),
            })),
        }
    }

    /// The values, built now if they were not yet.
    fn values(&self) -> &Vec<T> {
        match &self.lazy {
            Some(lazy) => lazy.values(),
            None => const { &Vec::new() },
        }
    }

    /// The values as a `Vec`, built now if they were not yet.
    ///
    /// ```
    /// let list: onex::RecordList<u32> = vec![1, 2].into();
    /// assert_eq!(list.into_vec(), vec![1, 2]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        let Some(mut lazy) = self.lazy else {
            return Vec::new();
        };
        lazy.values();
        lazy.built.take().unwrap_or_default()
    }
}

impl<T> Default for RecordList<T> {
    fn default() -> Self {
        RecordList::new()
    }
}

impl<T> Deref for RecordList<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        self.values()
    }
}

impl<T> DerefMut for RecordList<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        let lazy = self.lazy.get_or_insert_with(|| {
            Box::new(Lazy {
                built: OnceLock::new(),
                log: None,
            })
        });
        lazy.values();
        // Edited from here on: the log no longer describes the values.
        lazy.log = None;
        lazy.built.get_or_init(Vec::new);
        match lazy.built.get_mut() {
            Some(values) => values,
            None => unreachable!("the values were just built"),
        }
    }
}

impl<T> From<Vec<T>> for RecordList<T> {
    fn from(values: Vec<T>) -> Self {
        if values.is_empty() {
            return RecordList::new();
        }
        RecordList {
            lazy: Some(Box::new(Lazy {
                built: OnceLock::from(values),
                log: None,
            })),
        }
    }
}

impl<T> From<RecordList<T>> for Vec<T> {
    fn from(list: RecordList<T>) -> Self {
        list.into_vec()
    }
}

impl<T> FromIterator<T> for RecordList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T: Clone> Clone for RecordList<T> {
    /// Clones the log, not the values, when they are not built yet: a thunk's id is
    /// derived from the log, so both copies build the same values.
    fn clone(&self) -> Self {
        let lazy = self.lazy.as_ref().map(|lazy| {
            Box::new(Lazy {
                built: lazy.built.clone(),
                log: lazy.log.clone(),
            })
        });
        RecordList { lazy }
    }
}

impl<T: fmt::Debug> fmt::Debug for RecordList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.values(), f)
    }
}

impl<T: PartialEq> PartialEq for RecordList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.values() == other.values()
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for RecordList<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.values() == other
    }
}

impl<'a, T> IntoIterator for &'a RecordList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.values().iter()
    }
}

impl<'a, T> IntoIterator for &'a mut RecordList<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.deref_mut().iter_mut()
    }
}

impl<T> IntoIterator for RecordList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<T: Serialize> Serialize for RecordList<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.values().serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RecordList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(RecordList::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counted(AtomicUsize);

    impl BuildRecords<usize> for Counted {
        fn build(&self) -> Vec<usize> {
            vec![self.0.fetch_add(1, Ordering::Relaxed)]
        }
    }

    #[test]
    fn built_once_when_first_read_and_never_when_unread() {
        let log = Arc::new(Counted(AtomicUsize::new(0)));
        let list = RecordList::<usize>::from_log(log.clone());
        drop(RecordList::<usize>::from_log(log.clone()));
        assert_eq!(log.0.load(Ordering::Relaxed), 0);
        assert_eq!(list[0], 0);
        assert_eq!(list.len(), 1);
        assert_eq!(log.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_empty_list_is_one_pointer_and_grows_on_push() {
        assert_eq!(
            std::mem::size_of::<RecordList<usize>>(),
            std::mem::size_of::<usize>()
        );
        let mut list = RecordList::<usize>::new();
        assert!(list.is_empty() && list.clone().into_vec().is_empty());
        list.push(1);
        assert_eq!(list, vec![1]);
    }

    #[test]
    fn an_edit_is_kept_and_the_log_let_go() {
        let log = Arc::new(Counted(AtomicUsize::new(7)));
        let mut list = RecordList::<usize>::from_log(log.clone());
        list.push(8);
        assert_eq!(list, vec![7, 8]);
        assert_eq!(Arc::strong_count(&log), 1);
        assert_eq!(list.clone().into_vec(), vec![7, 8]);
    }
}
