//! The binary's allocator: mimalloc for small blocks, the system's for large ones.
//!
//! A search makes millions of runs, and each allocates and frees its world's small parts (store
//! entries, tasks, handler futures) by the dozen: mimalloc's thread-local free lists make
//! `explore` about 10% faster than glibc's malloc (`default` × `key-in-transaction` at three
//! faults, 36.7 s → 33.0 s on two cores). Large blocks (a run's trace, its per-operation tables)
//! stay with the system's allocator, which hands out fresh zeroed pages from the kernel where
//! mimalloc would clear them itself and grows them in place where mimalloc would copy: with
//! mimalloc for every block, workload W cost 0.1% more instructions per operation, all of it in
//! `memset` and `memcpy` of those blocks.
//!
//! Not part of the library (which forbids `unsafe`): the binary and the benches include it.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of this many bytes or more go to the system's allocator.
const LARGE: usize = 256 * 1024;

/// mimalloc below [`LARGE`] bytes, the system's allocator from it on. Which allocator owns a
/// block follows from its size alone, and every call names the block's size (the `Layout` it
/// was allocated with), so a block is always freed or resized by the allocator that made it.
pub struct Allocator;

fn large(size: usize) -> bool {
    size >= LARGE
}

// SAFETY: every method forwards to `System` or `MiMalloc`, both sound `GlobalAlloc`s, with the
// caller's own arguments, so each forwarded call meets that allocator's contract exactly as the
// caller met ours. The only thing added is the choice, and it is a function of the block's size:
// `alloc`/`alloc_zeroed` with `layout` and `dealloc` with the same `layout` (the contract's
// requirement) pick the same allocator. `realloc` keeps the block with its allocator when old
// and new sizes fall on the same side of `LARGE`; when they do not, it allocates the new block
// from the other allocator, copies the smaller of the two sizes (both blocks are valid for it),
// and frees the old block with the allocator and layout it was made with.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; see above.
        unsafe {
            if large(layout.size()) {
                System.alloc(layout)
            } else {
                mimalloc::MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; see above.
        unsafe {
            if large(layout.size()) {
                System.alloc_zeroed(layout)
            } else {
                mimalloc::MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated with `layout`, so by the allocator its size picks.
        unsafe {
            if large(layout.size()) {
                System.dealloc(ptr, layout)
            } else {
                mimalloc::MiMalloc.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (from, to) = (large(layout.size()), large(new_size));
        // SAFETY: same side: forwarded as is. Across: `new` is a fresh block of `new_size`
        // bytes with the old alignment (`from_size_align_unchecked` is sound: the caller
        // guarantees `new_size`, rounded up to `layout.align()`, does not overflow `isize`);
        // both blocks hold at least `min(old, new)` bytes and do not overlap; the old block is
        // freed with the layout it was allocated with, by its own allocator.
        unsafe {
            match (from, to) {
                (true, true) => System.realloc(ptr, layout, new_size),
                (false, false) => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
                _ => {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}
