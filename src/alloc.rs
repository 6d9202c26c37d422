//! The process allocator. Decoders (kafka-protocol's arrays, record batches) size vectors
//! from counts read off the wire before checking that the bytes exist; a 14-byte request
//! can ask for a 10 GB vector, and a failed allocation aborts the process. Huge requests
//! are therefore served by `mmap(MAP_NORESERVE)`: address space only, never committed
//! unless written, so a lying count costs nothing and the decoder then fails cleanly on
//! the missing bytes. Everything else goes to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are reserved lazily.
const LAZY_THRESHOLD: usize = 256 << 20;
const PAGE: usize = 4096;

pub struct GuardedAlloc;

fn lazy(layout: &Layout) -> bool {
    layout.size() >= LAZY_THRESHOLD && layout.align() <= PAGE
}

unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping with no fixed address has no preconditions.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED { std::ptr::null_mut() } else { p as *mut u8 }
}

unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if lazy(&layout) {
            return unsafe { map(layout.size()) };
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if lazy(&layout) {
            // Fresh anonymous pages are zero.
            return unsafe { map(layout.size()) };
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if lazy(&layout) {
            // SAFETY: `ptr` came from `map` with this size.
            unsafe { libc::munmap(ptr as *mut libc::c_void, layout.size()) };
            return;
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !lazy(&layout) && !lazy(&new_layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// Hands freed heap pages back to the kernel (glibc's `malloc_trim`). Bursts — a follower
/// that stalls acks=all for seconds while produce requests pile up in purgatory, a
/// coordinator loading its partition — leave glibc holding their peak; trimmed now and
/// then, RSS follows what is in use instead of ratcheting up with every burst. A no-op
/// where the allocator is not glibc's.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only walks the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's malloc arenas (8 per core by default): with tokio's workers and the
/// blocking pool all allocating, each arena keeps its own free memory, so fewer arenas
/// means less memory held idle. A no-op where the allocator is not glibc's.
pub fn limit_arenas(max: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, max);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = max;
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lying_array_length_does_not_abort() {
        use kafka_protocol::messages::MetadataRequest;
        use kafka_protocol::protocol::Decodable;
        // Metadata v8 body: topics array claiming 2^31-1 entries, then nothing.
        let mut body = bytes::Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(MetadataRequest::decode(&mut body, 8).is_err());
        let v: Vec<u64> = Vec::with_capacity(1 << 33);
        assert!(v.capacity() >= 1 << 33);
    }
}
