//! CPU time and peak memory of a process, read from `/proc` (Linux). Reading the files needs
//! no unsafe code, unlike getrusage.

use std::path::Path;

/// Clock ticks per second of the times in `/proc/PID/stat`: USER_HZ, which Linux fixes at 100
/// for user space on every architecture it ships.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// What a process has used so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessUsage {
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    /// The resident set's high-water mark (VmHWM).
    pub peak_rss_bytes: u64,
}

impl ProcessUsage {
    /// This process.
    pub fn current() -> anyhow::Result<Self> {
        Self::read(Path::new("/proc/self"))
    }

    /// Another process, by id (a server started as a child).
    pub fn of_pid(pid: u32) -> anyhow::Result<Self> {
        Self::read(&Path::new("/proc").join(pid.to_string()))
    }

    fn read(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))
        };
        Ok(Self {
            cpu_seconds: parse_cpu_seconds(&read("stat")?)?,
            peak_rss_bytes: parse_peak_rss_bytes(&read("status")?)?,
        })
    }

    /// The resident set of a process now (`VmRSS`), in bytes.
    pub fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
        let path = Path::new("/proc").join(pid.to_string()).join("status");
        let status = std::fs::read_to_string(&path)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
        parse_status_kib(&status, "VmRSS")
    }

    /// Resets this process's peak resident set to its current size, so the next reading's peak
    /// covers only what follows (a phase that filled a log does not count towards the one that
    /// reads it). Linux's `clear_refs` with 5; where that is refused the peak covers the whole
    /// run, which only overstates it.
    pub fn reset_peak() {
        if let Err(error) = std::fs::write("/proc/self/clear_refs", "5") {
            tracing::debug!(%error, "cannot reset the peak resident set size");
        }
    }

    /// CPU used since `earlier`; the peak is the later reading (it never goes down).
    pub fn since(self, earlier: ProcessUsage) -> ProcessUsage {
        ProcessUsage {
            cpu_seconds: (self.cpu_seconds - earlier.cpu_seconds).max(0.0),
            peak_rss_bytes: self.peak_rss_bytes,
        }
    }
}

/// User plus system seconds from the content of `/proc/PID/stat`. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so fields are counted after
/// the last `)`: utime and stime are fields 14 and 15.
pub fn parse_cpu_seconds(stat: &str) -> anyhow::Result<f64> {
    let after_name = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .ok_or_else(|| anyhow::anyhow!("/proc stat has no `(command)` field"))?;
    // After the name come field 3 (state) onwards; utime is field 14, the 12th from here.
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = |name: &str| -> anyhow::Result<u64> {
        let text = fields
            .next()
            .ok_or_else(|| anyhow::anyhow!("/proc stat ends before its `{name}` field"))?;
        text.parse()
            .map_err(|_| anyhow::anyhow!("/proc stat field `{name}` is `{text}`, not a tick count"))
    };
    let user = ticks("utime")?;
    let system = ticks("stime")?;
    Ok((user + system) as f64 / CLOCK_TICKS_PER_SECOND)
}

/// The `VmHWM` line of `/proc/PID/status` (in kB), in bytes.
pub fn parse_peak_rss_bytes(status: &str) -> anyhow::Result<u64> {
    parse_status_kib(status, "VmHWM")
}

/// A `NAME:  N kB` line of `/proc/PID/status`, in bytes.
fn parse_status_kib(status: &str, name: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .ok_or_else(|| anyhow::anyhow!("/proc status has no `{name}` line"))?;
    let kilobytes = line.trim().trim_end_matches("kB").trim();
    let kilobytes: u64 = kilobytes
        .parse()
        .map_err(|_| anyhow::anyhow!("/proc status `{name}` is `{kilobytes}`, not a kB count"))?;
    Ok(kilobytes.saturating_mul(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_come_from_utime_and_stime_even_with_a_tricky_name() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194304 1234 0 0 0 250 75 0 0 20 0 \
                    3 0 100 12345678 900 18446744073709551615";
        assert!((parse_cpu_seconds(stat).unwrap() - 3.25).abs() < 1e-9);
    }

    #[test]
    fn peak_rss_is_vmhwm_in_bytes() {
        let status =
            "Name:\tnagare\nVmPeak:\t  200000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_peak_rss_bytes(status).unwrap(), 51200 * 1024);
    }

    #[test]
    fn malformed_proc_content_is_an_error_naming_the_field() {
        assert!(parse_cpu_seconds("no parentheses").is_err());
        let short = parse_cpu_seconds("1 (x) S 1 2").unwrap_err().to_string();
        assert!(short.contains("utime"), "{short}");
        let bad = parse_peak_rss_bytes("VmHWM:\t lots kB\n").unwrap_err().to_string();
        assert!(bad.contains("VmHWM"), "{bad}");
        assert!(parse_peak_rss_bytes("Name: x\n").is_err());
    }

    #[test]
    fn this_process_reads_from_the_real_proc() {
        let before = ProcessUsage::current().unwrap();
        // Some work so the CPU time can only grow.
        let sum: u64 = (0..2_000_000u64).map(|n| n % 7).sum();
        assert!(sum > 0);
        let after = ProcessUsage::current().unwrap();
        assert!(after.peak_rss_bytes > 1024 * 1024, "a running test uses over 1 MiB");
        assert!(after.cpu_seconds >= before.cpu_seconds);
        assert!(after.since(before).cpu_seconds >= 0.0);
        let by_pid = ProcessUsage::of_pid(std::process::id()).unwrap();
        assert!(by_pid.peak_rss_bytes > 0);
    }
}
