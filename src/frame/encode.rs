//! Client frames: the header [`encode_header`] writes and the masking
//! [`apply_mask`] applies (RFC 6455 §5.2, §5.3).

use super::OpCode;

/// Writes a masked client frame header into `out` (at least
/// [`header_len`]`(payload_len)` bytes, at most `MAX_HEADER`)
/// and returns its length.
#[inline]
pub fn encode_header(
    out: &mut [u8],
    op: OpCode,
    fin: bool,
    payload_len: usize,
    mask: [u8; 4],
) -> usize {
    let n = header_len(payload_len);
    encode_header_before(out, n, op, fin, payload_len, mask);
    n
}

/// Writes a masked client frame header that ends at `end` in `buf` (where
/// its payload starts) and returns where it starts: a frame built in the
/// headroom before its payload. One test of the length picks the header's
/// size and its bytes, each size written as one fixed-size copy.
#[inline(always)]
pub fn encode_header_before(
    buf: &mut [u8],
    end: usize,
    op: OpCode,
    fin: bool,
    payload_len: usize,
    mask: [u8; 4],
) -> usize {
    let b0 = (if fin { 0x80 } else { 0 }) | op as u8;
    let [m0, m1, m2, m3] = mask;
    if payload_len < 126 {
        let start = end - 6;
        buf[start..end].copy_from_slice(&[b0, 0x80 | payload_len as u8, m0, m1, m2, m3]);
        start
    } else if payload_len <= u16::MAX as usize {
        let start = end - 8;
        let [l0, l1] = (payload_len as u16).to_be_bytes();
        buf[start..end].copy_from_slice(&[b0, 0x80 | 126, l0, l1, m0, m1, m2, m3]);
        start
    } else {
        let start = end - 14;
        let l = (payload_len as u64).to_be_bytes();
        buf[start] = b0;
        buf[start + 1] = 0x80 | 127;
        buf[start + 2..start + 10].copy_from_slice(&l);
        buf[start + 10..end].copy_from_slice(&mask);
        start
    }
}

/// Sets RSV1 in a header [`encode_header`] wrote: the first frame of a
/// compressed message (permessage-deflate, RFC 7692 6).
pub fn mark_compressed(header: &mut [u8]) {
    header[0] |= 0x40;
}

/// The header length [`encode_header`] writes for this payload length.
#[inline]
pub fn header_len(payload_len: usize) -> usize {
    match payload_len {
        0..=125 => 6,
        126..=65535 => 8,
        _ => 14,
    }
}

/// XORs `data` with the mask, 32 bytes at a time.
///
/// Built with `--cfg wsloop_no_avx2`, only the baseline (SSE2) version is
/// compiled: what a CPU without AVX2 runs, for the benchmark to measure on
/// a CPU that has it (`bench/run`'s `callgrind-noavx2` cell).
#[cfg_attr(
    not(wsloop_no_avx2),
    multiversion::multiversion(targets("x86_64+avx2"))
)]
pub fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    // 32 bytes at a time against a 32-byte key (a multiple of 4, so the key
    // stays in phase): the compiler turns each block into vector XORs, with
    // AVX2 (one 32-byte XOR per block) where the CPU has it, chosen once at
    // run time by `multiversion`, else SSE2. Eight blocks per turn of the
    // loop while they last, so its bookkeeping is paid once per 256 bytes.
    let mut key = [0u8; 32];
    for k in key.chunks_exact_mut(4) {
        k.copy_from_slice(&mask);
    }
    let mut wide = data.chunks_exact_mut(256);
    for eight in &mut wide {
        for block in eight.chunks_exact_mut(32) {
            xor_block(block, &key);
        }
    }
    let mut blocks = wide.into_remainder().chunks_exact_mut(32);
    for block in &mut blocks {
        xor_block(block, &key);
    }
    for (d, k) in blocks.into_remainder().iter_mut().zip(key) {
        *d ^= k;
    }
}

/// XORs a 32-byte block with the key.
#[inline(always)]
fn xor_block(block: &mut [u8], key: &[u8; 32]) {
    let block: &mut [u8; 32] = block.try_into().expect("32 bytes");
    for (d, k) in block.iter_mut().zip(key) {
        *d ^= k;
    }
}
