//! The process's memory: mimalloc as the allocator, without transparent huge pages.

/// mimalloc instead of the system allocator: the hot paths (decoding records, building rows
/// and batches) allocate many small short-lived buffers, and glibc's malloc spent about a
/// quarter of the projections' CPU time on them (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process and the processes it starts.
///
/// mimalloc asks the kernel for huge pages in its arenas and hands memory it has not used for
/// a second back to the kernel. Under load it takes such memory back several times a second,
/// and the first touch of each 2 MiB then faults in a huge page that the kernel zeroes there
/// and then, inside whatever task touched it: 6 to 7 ms of CPU in one poll of an HTTP request
/// or of the command processor; without them the `commands` p99 fell by about half (BENCHMARKS.md). With
/// 4 KiB pages a fault costs microseconds. The setting is the process's, so it also covers
/// memory mimalloc has already reserved.
pub(crate) fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(%error, "transparent huge pages stay on for this process");
    }
}
