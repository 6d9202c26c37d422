//! Size-prefixed Kafka frames, shared by the broker and the client: a frame body is read
//! into uninitialised capacity, so no buffer is zeroed just to be overwritten (a memset per
//! byte received shows up at GB/s).

use bytes::BytesMut;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Reads exactly `len` bytes.
pub async fn read_body<R: AsyncRead + Unpin>(r: &mut R, len: usize) -> io::Result<BytesMut> {
    let mut buf = BytesMut::with_capacity(len);
    while buf.len() < len {
        let want = (len - buf.len()) as u64;
        if (&mut *r).take(want).read_buf(&mut buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf)
}

/// Appends an unsigned varint (protobuf style, as Kafka's compact lengths and record
/// fields use). Written here because kafka-protocol keeps its encoders private.
pub fn put_uvarint(buf: &mut impl bytes::BufMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Bytes `put_uvarint` writes for `v`.
pub fn uvarint_size(v: u64) -> usize {
    ((64 - v.leading_zeros() as usize).max(1)).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_sizes_match_encoding() {
        for v in [0u64, 1, 127, 128, 300, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(b.len(), uvarint_size(v), "{v}");
        }
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
    }
}
