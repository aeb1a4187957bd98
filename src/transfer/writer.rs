//! Writes the export format ([`super::format`]) to any `Write`, frame by frame.

use std::io::{self, Write};

use super::format::{
    FileRecord, FrameKind, GroupOffsets, HEADER_LEN, MAGIC, MAX_FRAME_LEN, PartitionSummary,
    TopicDecl, Trailer, VERSION,
};
use super::payload;

/// A file being written. The caller keeps the frame order of the format (topics, groups,
/// records by partition, then [`FileWriter::finish`]); the reader checks it.
#[derive(Debug)]
pub(crate) struct FileWriter<W: Write> {
    out: W,
    /// CRC-32 of every byte written so far: the trailer's `file_crc`.
    file_crc: crc32fast::Hasher,
    written: u64,
    /// Reused for every payload, so writing a record allocates nothing once warmed up.
    scratch: Vec<u8>,
}

impl<W: Write> FileWriter<W> {
    /// Writes the header.
    pub(crate) fn new(out: W) -> io::Result<Self> {
        let mut writer =
            Self { out, file_crc: crc32fast::Hasher::new(), written: 0, scratch: Vec::new() };
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&VERSION.to_be_bytes());
        writer.write_all(&header)?;
        debug_assert_eq!(writer.written, HEADER_LEN);
        Ok(writer)
    }

    pub(crate) fn topic(&mut self, topic: &TopicDecl) -> io::Result<()> {
        self.frame(FrameKind::Topic, |out| payload::encode_topic(topic, out))
    }

    pub(crate) fn group(&mut self, group: &GroupOffsets) -> io::Result<()> {
        self.frame(FrameKind::Group, |out| payload::encode_group(group, out))
    }

    pub(crate) fn record(&mut self, record: &FileRecord) -> io::Result<()> {
        self.frame(FrameKind::Record, |out| payload::encode_record(record, out))
    }

    /// Writes the trailer and returns the output, flushed, with the file's length.
    pub(crate) fn finish(mut self, partitions: Vec<PartitionSummary>) -> io::Result<(W, u64)> {
        let trailer = Trailer { partitions, file_crc: self.file_crc.clone().finalize() };
        self.frame(FrameKind::Trailer, |out| payload::encode_trailer(&trailer, out))?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn frame(&mut self, kind: FrameKind, encode: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        let mut payload = std::mem::take(&mut self.scratch);
        payload.clear();
        encode(&mut payload);
        let result = self.write_frame(kind, &payload);
        self.scratch = payload;
        result
    }

    fn write_frame(&mut self, kind: FrameKind, payload: &[u8]) -> io::Result<()> {
        let length = u32::try_from(payload.len()).ok().filter(|len| *len <= MAX_FRAME_LEN);
        let Some(length) = length else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {} frame of {} bytes exceeds the format's limit of {MAX_FRAME_LEN} bytes",
                    kind.name(),
                    payload.len()
                ),
            ));
        };
        let mut head = [0u8; 5];
        head[0] = kind as u8;
        head[1..].copy_from_slice(&length.to_be_bytes());
        let mut frame_crc = crc32fast::Hasher::new();
        frame_crc.update(&head);
        frame_crc.update(payload);
        self.write_all(&head)?;
        self.write_all(payload)?;
        self.write_all(&frame_crc.finalize().to_be_bytes())?;
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.file_crc.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }
}
