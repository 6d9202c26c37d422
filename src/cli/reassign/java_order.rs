//! The iteration order of a default-sized `java.util.HashSet`, for the few places where
//! Kafka prints a HashSet as it iterates (the brokers and topics whose throttles are cleared,
//! the duplicates in a file): entries by bucket (`spread(hashCode) & (capacity - 1)`), then
//! in insertion order. The capacity starts at 16 and doubles past 3/4 full, or when a bucket
//! would hold a 9th entry while the table is smaller than 64 (treeification resizes first).

/// Java's `hashCode()` of the values Kafka puts in those sets.
pub trait JavaHash {
    fn java_hash(&self) -> i32;
}

impl JavaHash for i32 {
    fn java_hash(&self) -> i32 {
        *self
    }
}

impl JavaHash for String {
    /// `String.hashCode`: over UTF-16 code units, `h = 31 * h + c`.
    fn java_hash(&self) -> i32 {
        self.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
    }
}

impl JavaHash for (String, i32) {
    /// `TopicPartition.hashCode`: `31 * (31 + partition) + topic.hashCode()`.
    fn java_hash(&self) -> i32 {
        31i32.wrapping_mul(31i32.wrapping_add(self.1)).wrapping_add(self.0.java_hash())
    }
}

fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// The distinct `items` in the order a `new HashSet<>()` filled with them iterates.
pub fn hash_set_order<T: JavaHash + PartialEq + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut entries: Vec<(u32, T)> = Vec::new();
    let mut cap: u32 = 16;
    for item in items {
        if entries.iter().any(|(_, e)| *e == item) {
            continue;
        }
        let h = spread(item.java_hash());
        let in_bucket = entries.iter().filter(|(eh, _)| eh & (cap - 1) == h & (cap - 1)).count();
        entries.push((h, item));
        if in_bucket >= 8 && cap < 64 {
            cap *= 2;
        }
        if entries.len() as u32 > cap / 4 * 3 {
            cap *= 2;
        }
    }
    // A stable sort keeps insertion order inside a bucket, as the resize split does.
    entries.sort_by_key(|(h, _)| h & (cap - 1));
    entries.into_iter().map(|(_, t)| t).collect()
}

/// Java's `AbstractCollection.toString`: `[a, b]`.
pub fn java_set_string<T: std::fmt::Display>(items: &[T]) -> String {
    format!("[{}]", items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

/// Kafka's `ToolsUtils.duplicates`: the elements seen more than once, as a HashSet iterates.
pub fn duplicates<T: JavaHash + PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut seen: Vec<&T> = Vec::new();
    let mut dups = Vec::new();
    for i in items {
        if seen.contains(&i) {
            dups.push(i.clone());
        } else {
            seen.push(i);
        }
    }
    hash_set_order(dups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hashes_are_javas() {
        assert_eq!("foo".to_string().java_hash(), 101574);
        assert_eq!("".to_string().java_hash(), 0);
        // Overflow wraps: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!("polygenelubricants".to_string().java_hash(), i32::MIN);
        assert_eq!(("foo".to_string(), 0).java_hash(), 31 * 31 + 101574);
    }

    #[test]
    fn small_ints_iterate_ascending_modulo_the_capacity() {
        assert_eq!(hash_set_order(vec![3, 1, 2]), vec![1, 2, 3]);
        // 16 and 0 share bucket 0 of 16: insertion order inside it.
        assert_eq!(hash_set_order(vec![16, 5, 0]), vec![16, 0, 5]);
        assert_eq!(hash_set_order(vec![102, 100, 101]), vec![100, 101, 102]);
        // 12 entries fit a table of 16; the 13th resizes it to 32.
        let v: Vec<i32> = (0..12).map(|i| i * 3).collect();
        assert_eq!(hash_set_order(v), vec![0, 33, 18, 3, 21, 6, 24, 9, 27, 12, 30, 15]);
        let v: Vec<i32> = (0..13).map(|i| i * 3).collect();
        assert_eq!(hash_set_order(v), vec![0, 33, 3, 36, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
        // A 9th entry in one bucket of a table under 64 doubles it (treeifyBin).
        let v: Vec<i32> = (0..9).map(|i| i * 16).collect();
        assert_eq!(hash_set_order(v), vec![0, 32, 64, 96, 128, 16, 48, 80, 112]);
    }

    #[test]
    fn topic_names_iterate_in_hash_order() {
        // "bar" = 97299, spread 97298, bucket 2; "foo" = 101574 → 7; "baz" = 97307 → 10.
        let order = hash_set_order(vec!["foo".to_string(), "bar".to_string()]);
        assert_eq!(order, vec!["bar".to_string(), "foo".to_string()]);
        let order = hash_set_order(vec!["baz".to_string(), "foo".to_string()]);
        assert_eq!(order, vec!["foo".to_string(), "baz".to_string()]);
    }

    #[test]
    fn duplicates_are_reported_once() {
        assert_eq!(duplicates(&[5, 2, 3, 4, 5, 5]), vec![5]);
        assert_eq!(java_set_string(&duplicates(&[1, 1, 2, 2])), "[1, 2]");
        assert!(duplicates::<i32>(&[1, 2]).is_empty());
    }
}
