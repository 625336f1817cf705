//! TLV records as TS encodes optional packed-c parameters (`components/common/tlv`): a
//! big-endian u16 tag, a big-endian u16 value length, then the value; records follow each
//! other with tags in ascending order (TS's encoder refuses a tag below the previous one).

/// Bytes of a record header.
pub const HEADER_LEN: usize = 4;

/// One decoded record, borrowing its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The tag.
    pub tag: u16,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Why a record could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Not enough room left in the buffer.
    NoSpace,
    /// The tag is below the previous record's.
    TagOrder,
    /// The value is longer than a u16 length can say.
    TooLong,
}

/// Writes records into a buffer, in ascending tag order.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    prev_tag: u16,
}

impl<'a> Writer<'a> {
    /// Starts writing at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            prev_tag: 0,
        }
    }

    /// Appends a record; on error nothing is written.
    pub fn put(&mut self, tag: u16, value: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(value.len()).map_err(|_| EncodeError::TooLong)?;
        if tag < self.prev_tag {
            return Err(EncodeError::TagOrder);
        }
        let end = self
            .pos
            .checked_add(HEADER_LEN + value.len())
            .filter(|e| *e <= self.buf.len())
            .ok_or(EncodeError::NoSpace)?;
        let out = &mut self.buf[self.pos..end];
        out[0..2].copy_from_slice(&tag.to_be_bytes());
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out[HEADER_LEN..].copy_from_slice(value);
        self.pos = end;
        self.prev_tag = tag;
        Ok(())
    }

    /// Returns the bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Tells whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

/// Iterates over the records of a buffer; stops at the first record that does not fit.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads records from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { rest: buf }
    }

    /// Returns the record with `tag`, skipping smaller tags; `None` once a larger tag (the
    /// records are ascending) or the end is reached. Later calls continue after it.
    pub fn find(&mut self, tag: u16) -> Option<Record<'a>> {
        let mut probe = self.clone();
        while let Some(r) = probe.next() {
            if r.tag == tag {
                *self = probe;
                return Some(r);
            }
            if r.tag > tag {
                return None;
            }
        }
        None
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let h = self.rest.get(..HEADER_LEN)?;
        let tag = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let value = self.rest.get(HEADER_LEN..HEADER_LEN + len)?;
        self.rest = &self.rest[HEADER_LEN + len..];
        Some(Record { tag, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_big_endian_and_ascending() {
        let mut b = [0u8; 16];
        let mut w = Writer::new(&mut b);
        w.put(1, &[0xAA, 0xBB]).unwrap();
        w.put(0x0203, &[0xCC]).unwrap();
        assert_eq!(w.put(1, &[]), Err(EncodeError::TagOrder));
        assert_eq!(w.put(0x300, &[0; 8]), Err(EncodeError::NoSpace));
        assert_eq!(w.len(), 11);
        assert_eq!(b[..11], [0, 1, 0, 2, 0xAA, 0xBB, 2, 3, 0, 1, 0xCC]);
        let all: Vec<_> = Reader::new(&b[..11]).collect();
        assert_eq!(
            all,
            [
                Record {
                    tag: 1,
                    value: &[0xAA, 0xBB]
                },
                Record {
                    tag: 0x203,
                    value: &[0xCC]
                }
            ]
        );
    }

    #[test]
    fn truncated_records_end_the_iteration_and_find_stops_past_the_tag() {
        // A header claiming 5 bytes with only 2 present.
        let b = [0, 1, 0, 5, 1, 2];
        assert_eq!(Reader::new(&b).next(), None);
        assert_eq!(Reader::new(&b[..3]).next(), None);
        let good = [0, 1, 0, 0, 0, 3, 0, 1, 7, 0, 5, 0, 0];
        let mut r = Reader::new(&good);
        assert_eq!(r.find(2), None);
        assert_eq!(
            r.find(3),
            Some(Record {
                tag: 3,
                value: &[7]
            })
        );
        assert_eq!(r.find(5), Some(Record { tag: 5, value: &[] }));
        assert_eq!(r.find(1), None);
    }
}
