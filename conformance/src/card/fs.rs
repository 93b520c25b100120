//! The card's elementary files: transparent, linear-record and cyclic-record EFs with fixed
//! storage allocated at personalisation, so that writing a record never allocates.

/// How an EF stores its bytes.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A transparent (binary) EF.
    Transparent(Vec<u8>),
    /// A linear file of fixed-length records, all present from personalisation.
    Linear {
        /// Record length.
        rec_len: usize,
        /// `count * rec_len` bytes, record 1 first.
        data: Vec<u8>,
    },
    /// A cyclic file: record 1 is the most recent; a new record overwrites the oldest.
    Cyclic {
        /// Record length.
        rec_len: usize,
        /// `capacity * rec_len` bytes of slots.
        data: Vec<u8>,
        /// Slot of the most recent record.
        newest: usize,
        /// Records written so far, at most the capacity.
        len: usize,
    },
}

/// What a file is used for beyond plain reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Read-only to terminals.
    Plain,
    /// Written by UPDATE CAPP DATA CACHE during a composite purchase; `lock_at` is the offset
    /// of the record's lock byte, if records can be locked.
    Capp {
        /// Offset of the lock flag in a record.
        lock_at: Option<usize>,
    },
}

/// One elementary file of the application.
#[derive(Debug, Clone)]
pub(crate) struct Ef {
    /// File identifier, e.g. 0x0018; its low five bits are the short file identifier.
    pub(crate) fid: u16,
    pub(crate) body: Body,
    pub(crate) role: Role,
}

impl Ef {
    pub(crate) fn transparent(fid: u16, data: Vec<u8>) -> Ef {
        Ef {
            fid,
            body: Body::Transparent(data),
            role: Role::Plain,
        }
    }

    pub(crate) fn linear(fid: u16, records: &[Vec<u8>], role: Role) -> Ef {
        let rec_len = records.first().map_or(0, Vec::len);
        Ef {
            fid,
            body: Body::Linear {
                rec_len,
                data: records.concat(),
            },
            role,
        }
    }

    pub(crate) fn cyclic(fid: u16, rec_len: usize, capacity: usize, role: Role) -> Ef {
        Ef {
            fid,
            body: Body::Cyclic {
                rec_len,
                data: vec![0; rec_len * capacity],
                newest: 0,
                len: 0,
            },
            role,
        }
    }

    /// The short file identifier.
    pub(crate) fn sfi(&self) -> u8 {
        (self.fid & 0x1F) as u8
    }

    /// The record length of a record file.
    pub(crate) fn rec_len(&self) -> Option<usize> {
        match &self.body {
            Body::Transparent(_) => None,
            Body::Linear { rec_len, .. } | Body::Cyclic { rec_len, .. } => Some(*rec_len),
        }
    }

    pub(crate) fn is_cyclic(&self) -> bool {
        matches!(self.body, Body::Cyclic { .. })
    }

    /// Record `n` (1-based; for cyclic files 1 is the most recent).
    pub(crate) fn record(&self, n: u8) -> Option<&[u8]> {
        let n = usize::from(n);
        if n == 0 {
            return None;
        }
        match &self.body {
            Body::Transparent(_) => None,
            Body::Linear { rec_len, data } => data.get((n - 1) * rec_len..n * rec_len),
            Body::Cyclic {
                rec_len,
                data,
                newest,
                len,
            } => {
                if n > *len {
                    return None;
                }
                let capacity = data.len() / rec_len;
                let slot = (newest + capacity - (n - 1)) % capacity;
                Some(&data[slot * rec_len..(slot + 1) * rec_len])
            }
        }
    }

    /// Number of records present.
    pub(crate) fn record_count(&self) -> usize {
        match &self.body {
            Body::Transparent(_) => 0,
            Body::Linear { rec_len, data } => data.len() / rec_len.max(&1),
            Body::Cyclic { len, .. } => *len,
        }
    }

    /// Overwrites record `n` of a linear file. The caller has checked length and range.
    pub(crate) fn write_record(&mut self, n: u8, record: &[u8]) {
        if let Body::Linear { rec_len, data } = &mut self.body {
            let start = (usize::from(n) - 1) * *rec_len;
            data[start..start + *rec_len].copy_from_slice(record);
        }
    }

    /// Appends a record to a cyclic file, overwriting the oldest when full. The caller has
    /// checked the length.
    pub(crate) fn append(&mut self, record: &[u8]) {
        if let Body::Cyclic {
            rec_len,
            data,
            newest,
            len,
        } = &mut self.body
        {
            let capacity = data.len() / *rec_len;
            if *len > 0 {
                *newest = (*newest + 1) % capacity;
            }
            let start = *newest * *rec_len;
            data[start..start + *rec_len].copy_from_slice(record);
            *len = (*len + 1).min(capacity);
        }
    }

    /// Whether record `n` has its lock flag set.
    pub(crate) fn is_locked(&self, n: u8) -> bool {
        match self.role {
            Role::Capp {
                lock_at: Some(offset),
            } => self
                .record(n)
                .and_then(|r| r.get(offset))
                .is_some_and(|&flag| flag != 0),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyclic_record_one_is_the_newest_and_the_oldest_is_overwritten() {
        let mut ef = Ef::cyclic(0x0018, 2, 3, Role::Plain);
        assert_eq!(ef.record(1), None);
        for i in 1..=4u8 {
            ef.append(&[i, i]);
        }
        assert_eq!(ef.record_count(), 3);
        assert_eq!(ef.record(1), Some(&[4, 4][..]));
        assert_eq!(ef.record(3), Some(&[2, 2][..]));
        assert_eq!(ef.record(4), None);
        assert_eq!(ef.record(0), None);
    }

    #[test]
    fn linear_records_are_numbered_from_one_and_lock_flags_are_read_at_their_offset() {
        let mut ef = Ef::linear(
            0x0017,
            &[vec![1, 0x2E, 0], vec![2, 0x2E, 1]],
            Role::Capp { lock_at: Some(2) },
        );
        assert_eq!(ef.sfi(), 0x17);
        assert!(!ef.is_locked(1));
        assert!(ef.is_locked(2));
        ef.write_record(1, &[1, 0x2E, 9]);
        assert!(ef.is_locked(1));
        assert_eq!(ef.record(3), None);
    }
}
