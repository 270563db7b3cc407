//! [`Weigh`]: how many bytes a key or value holds, for the byte bound of a
//! [`MemoryCache`](crate::MemoryCache)
//! ([`max_bytes`](crate::MemoryCacheBuilder::max_bytes)).
//!
//! A weight is an estimate, not an allocator's count: the value's own size
//! (`size_of_val`) plus what it owns on the heap (a `String`'s or a `Vec`'s
//! capacity, a `Box`'s or an `Arc`'s contents), and for each entry a fixed
//! [`ENTRY_OVERHEAD_BYTES`] for the cache's bookkeeping. It is computed once,
//! when an entry is stored, never on a get.

use std::borrow::Cow;
use std::mem::size_of;
use std::sync::Arc;

/// The bytes a cache entry costs beyond its key's and its value's weights:
/// moka's node, hash-table slot and deque links, and the key's `Arc` (an
/// estimate for 64-bit targets).
pub const ENTRY_OVERHEAD_BYTES: usize = 128;

/// The memory a value holds, in bytes: its inline size plus what it owns on
/// the heap. Implemented for strings, byte and other vectors, boxes, `Arc`s,
/// options, tuples, the primitive types and [`serde_json::Value`]; implement
/// it for your own types, or give the builder a closure instead
/// ([`max_bytes_with`](crate::MemoryCacheBuilder::max_bytes_with)).
///
/// # Examples
///
/// ```
/// use pr_cache::Weigh;
///
/// struct Quote {
///     symbol: String,
///     price: f64,
/// }
///
/// impl Weigh for Quote {
///     fn weigh(&self) -> usize {
///         std::mem::size_of::<Self>() + self.symbol.capacity()
///     }
/// }
///
/// let q = Quote { symbol: "ACME".to_owned(), price: 1.0 };
/// assert_eq!(q.weigh(), std::mem::size_of::<Quote>() + 4);
/// assert_eq!("ACME".to_owned().weigh(), std::mem::size_of::<String>() + 4);
/// ```
pub trait Weigh {
    /// Bytes held: inline size plus owned heap memory.
    fn weigh(&self) -> usize;
}

macro_rules! inline_only {
    ($($t:ty),* $(,)?) => {
        $(impl Weigh for $t {
            #[inline]
            fn weigh(&self) -> usize {
                size_of::<Self>()
            }
        })*
    };
}

inline_only!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    std::time::Duration,
    std::time::SystemTime,
    std::time::Instant,
    std::net::IpAddr,
    std::net::SocketAddr,
);

impl Weigh for str {
    fn weigh(&self) -> usize {
        self.len()
    }
}

impl Weigh for String {
    fn weigh(&self) -> usize {
        size_of::<Self>() + self.capacity()
    }
}

impl<T: Weigh> Weigh for [T] {
    fn weigh(&self) -> usize {
        self.iter().map(Weigh::weigh).sum()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> usize {
        // Elements count their own inline size; the spare capacity is
        // counted at the element's size.
        size_of::<Self>()
            + self.as_slice().weigh()
            + (self.capacity() - self.len()) * size_of::<T>()
    }
}

impl<T: Weigh + ?Sized> Weigh for Box<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + (**self).weigh()
    }
}

/// The contents are counted in full for each `Arc` (a cache cannot know
/// whether the rest of the program still holds them).
impl<T: Weigh + ?Sized> Weigh for Arc<T> {
    fn weigh(&self) -> usize {
        // The pointer, and the strong and weak counts beside the contents.
        size_of::<Self>() + 2 * size_of::<usize>() + (**self).weigh()
    }
}

impl<T: Weigh + ToOwned + ?Sized> Weigh for Cow<'_, T>
where
    T::Owned: Weigh,
{
    fn weigh(&self) -> usize {
        match self {
            // Borrowed data is not the cache's to count.
            Cow::Borrowed(_) => size_of::<Self>(),
            Cow::Owned(o) => o.weigh(),
        }
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weigh(&self) -> usize {
        match self {
            Some(v) => size_of::<Self>() - size_of::<T>() + v.weigh(),
            None => size_of::<Self>(),
        }
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weigh(&self) -> usize {
        size_of::<Self>() - size_of::<A>() - size_of::<B>() + self.0.weigh() + self.1.weigh()
    }
}

impl<A: Weigh, B: Weigh, C: Weigh> Weigh for (A, B, C) {
    fn weigh(&self) -> usize {
        size_of::<Self>() - size_of::<A>() - size_of::<B>() - size_of::<C>()
            + self.0.weigh()
            + self.1.weigh()
            + self.2.weigh()
    }
}

impl Weigh for serde_json::Value {
    fn weigh(&self) -> usize {
        use serde_json::Value;
        size_of::<Self>()
            + match self {
                Value::Null | Value::Bool(_) | Value::Number(_) => 0,
                Value::String(s) => s.capacity(),
                Value::Array(items) => items.iter().map(Weigh::weigh).sum(),
                // Each member's key, and a map node's links (an estimate).
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| k.weigh() + v.weigh() + 2 * size_of::<usize>())
                    .sum(),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_count_inline_and_heap_bytes() {
        let word = size_of::<usize>();
        assert_eq!(7_u64.weigh(), 8);
        assert_eq!("abc".weigh(), 3);
        assert_eq!(String::from("abc").weigh(), 3 * word + 3);
        let mut bytes = Vec::with_capacity(10);
        bytes.extend_from_slice(b"abcd");
        assert_eq!(bytes.weigh(), 3 * word + 10);
        assert_eq!(vec!["ab".to_owned()].weigh(), 3 * word + (3 * word + 2));
        let shared: Arc<str> = Arc::from("abcd");
        assert_eq!(shared.weigh(), 2 * word + 2 * word + 4);
        assert_eq!(Some(String::new()).weigh(), size_of::<Option<String>>());
        assert_eq!(None::<String>.weigh(), size_of::<Option<String>>());
        assert_eq!(
            (1_u8, String::from("xy")).weigh(),
            size_of::<(u8, String)>() + 2
        );
        let json: serde_json::Value = serde_json::json!({"k": "vvvv", "n": [1, 2]});
        assert!(json.weigh() > 4 * size_of::<serde_json::Value>());
    }
}
