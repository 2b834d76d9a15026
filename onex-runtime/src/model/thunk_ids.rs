//! [`ThunkIds`]: the dependency list of a thunk.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use uuid::Uuid;

/// The ids of the thunks a [`Thunk`](crate::Thunk) depends on.
///
/// A list that keeps one id inline and moves to the heap from two on. Most calls read a
/// single step and a run emits a thunk per call, so the common case allocates nothing. It
/// derefs to `[Uuid]`, pushes and collects like a `Vec`, compares equal to a `Vec`, slice
/// or array with the same ids, and serializes as a plain list.
///
/// # Examples
///
/// ```
/// use onex::ThunkIds;
/// use uuid::Uuid;
///
/// let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
/// let mut ids = ThunkIds::new();
/// ids.push(a);
/// assert_eq!(ids, [a]);
/// ids.push(b);
/// assert_eq!(ids, vec![a, b]);
/// assert_eq!(ids.len(), 2);
/// assert_eq!(serde_json::to_string(&ids).unwrap(), serde_json::to_string(&[a, b]).unwrap());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThunkIds(SmallVec<[Uuid; 1]>);

impl ThunkIds {
    /// An empty list.
    ///
    /// ```
    /// assert!(onex::ThunkIds::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        ThunkIds(SmallVec::new_const())
    }

    /// An empty list with room for `n` ids.
    ///
    /// ```
    /// let ids = onex::ThunkIds::with_capacity(3);
    /// assert!(ids.is_empty());
    /// ```
    pub fn with_capacity(n: usize) -> Self {
        ThunkIds(SmallVec::with_capacity(n))
    }

    /// Appends an id.
    ///
    /// ```
    /// let mut ids = onex::ThunkIds::new();
    /// ids.push(uuid::Uuid::nil());
    /// assert_eq!(ids.len(), 1);
    /// ```
    pub fn push(&mut self, id: Uuid) {
        self.0.push(id);
    }

    /// The ids as a `Vec`.
    ///
    /// ```
    /// let ids: onex::ThunkIds = [uuid::Uuid::nil()].into_iter().collect();
    /// assert_eq!(ids.into_vec(), vec![uuid::Uuid::nil()]);
    /// ```
    pub fn into_vec(self) -> Vec<Uuid> {
        self.0.into_vec()
    }
}

impl fmt::Debug for ThunkIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Deref for ThunkIds {
    type Target = [Uuid];

    fn deref(&self) -> &[Uuid] {
        &self.0
    }
}

impl DerefMut for ThunkIds {
    fn deref_mut(&mut self) -> &mut [Uuid] {
        &mut self.0
    }
}

impl From<Vec<Uuid>> for ThunkIds {
    fn from(ids: Vec<Uuid>) -> Self {
        ThunkIds(SmallVec::from_vec(ids))
    }
}

impl<const N: usize> From<[Uuid; N]> for ThunkIds {
    fn from(ids: [Uuid; N]) -> Self {
        ids.into_iter().collect()
    }
}

impl From<ThunkIds> for Vec<Uuid> {
    fn from(ids: ThunkIds) -> Self {
        ids.into_vec()
    }
}

impl FromIterator<Uuid> for ThunkIds {
    fn from_iter<I: IntoIterator<Item = Uuid>>(iter: I) -> Self {
        ThunkIds(iter.into_iter().collect())
    }
}

impl Extend<Uuid> for ThunkIds {
    fn extend<I: IntoIterator<Item = Uuid>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for ThunkIds {
    type Item = Uuid;
    type IntoIter = smallvec::IntoIter<[Uuid; 1]>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ThunkIds {
    type Item = &'a Uuid;
    type IntoIter = std::slice::Iter<'a, Uuid>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq<[Uuid]> for ThunkIds {
    fn eq(&self, other: &[Uuid]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[Uuid]> for ThunkIds {
    fn eq(&self, other: &&[Uuid]) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<[Uuid; N]> for ThunkIds {
    fn eq(&self, other: &[Uuid; N]) -> bool {
        **self == other[..]
    }
}

impl PartialEq<Vec<Uuid>> for ThunkIds {
    fn eq(&self, other: &Vec<Uuid>) -> bool {
        **self == other[..]
    }
}

impl PartialEq<ThunkIds> for Vec<Uuid> {
    fn eq(&self, other: &ThunkIds) -> bool {
        self[..] == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_id_stays_inline_and_more_spill_to_the_heap() {
        let mut ids = ThunkIds::new();
        ids.push(Uuid::new_v4());
        assert!(!ids.0.spilled());
        ids.push(Uuid::new_v4());
        assert!(ids.0.spilled());
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn it_is_no_bigger_than_a_vec() {
        assert_eq!(
            std::mem::size_of::<ThunkIds>(),
            std::mem::size_of::<Vec<Uuid>>()
        );
    }

    #[test]
    fn it_round_trips_through_json_as_a_list() {
        let ids: ThunkIds = [Uuid::new_v4(), Uuid::new_v4()].into();
        let json = serde_json::to_value(&ids).unwrap();
        assert!(json.is_array());
        let back: ThunkIds = serde_json::from_value(json).unwrap();
        assert_eq!(back, ids);
    }
}
